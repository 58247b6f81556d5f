"""The policy engine: Policy files (CEL rules laid out like a ValidatingAdmissionPolicy), loaded,
compiled once and evaluated against Kubernetes objects. The format is docs/policy-format.md.
"""
