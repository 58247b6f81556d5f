"""Rule ids of the sops check (imported cheaply by the registry)."""

from __future__ import annotations

from gitops_guard.findings import Rule, Severity

RULE_NOT_ENCRYPTED = "GG-SOPS-001"
RULE_PLAINTEXT_VALUE = "GG-SOPS-002"
RULE_BAD_METADATA = "GG-SOPS-003"
RULE_STALE_KEYS = "GG-SOPS-004"
RULE_BAD_CONFIG = "GG-SOPS-005"

RULES = (
    Rule(RULE_NOT_ENCRYPTED, "SopsRequired", Severity.ERROR,
         "A file that must be SOPS-encrypted (a .sops.yaml creation rule covers it, or a "
         "Secret or .env under sops.paths) is in plain text."),
    Rule(RULE_PLAINTEXT_VALUE, "SopsPlaintextValue", Severity.ERROR,
         "A value in a SOPS file that its own rule encrypts is in plain text (added after "
         "encryption?)."),
    Rule(RULE_BAD_METADATA, "SopsMetadata", Severity.ERROR,
         "The sops metadata is incomplete or invalid: no MAC, no master key, a version sops "
         "refuses, a malformed ENC value."),
    Rule(RULE_STALE_KEYS, "SopsKeysDiffer", Severity.WARNING,
         "The file's master keys differ from those its .sops.yaml creation rule names "
         "(run `gitops-guard sops updatekeys`)."),
    Rule(RULE_BAD_CONFIG, "SopsConfig", Severity.ERROR,
         "The .sops.yaml cannot be used: invalid YAML, a path_regex or selector that does not "
         "compile, or a malformed rule."),
)
