"""Attack tests: no planted secret ever reaches an output, no interrupted write loses a file."""
