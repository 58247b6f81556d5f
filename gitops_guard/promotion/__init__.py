"""The promotion check: versions must move through environments in order."""
