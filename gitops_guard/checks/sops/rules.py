"""Rule ids of the sops check (imported cheaply by the registry)."""

from __future__ import annotations

from gitops_guard.findings import Rule, Severity

RULE_NOT_ENCRYPTED = "GG-SOPS-001"
RULE_PLAINTEXT_VALUE = "GG-SOPS-002"
RULE_BAD_METADATA = "GG-SOPS-003"
RULE_STALE_KEYS = "GG-SOPS-004"
RULE_BAD_CONFIG = "GG-SOPS-005"

# Findings of this check are per file, with lines: there is no object to annotate.
_WAIVE = ("Findings of the sops check are about files, not objects, so no annotation can "
          "carry a waiver for them.")
RULES = (
    Rule(RULE_NOT_ENCRYPTED, "SopsRequired", Severity.ERROR,
         "A file that must be SOPS-encrypted (a .sops.yaml creation rule covers it, or a "
         "Secret or .env under sops.paths) is in plain text.",
         why="The repository says this file must be encrypted (a .sops.yaml creation rule "
             "covers it, or sops.paths), yet it is in plain text, so its values are in every "
             "clone of the repository.",
         fix="Encrypt it in place: gitops-guard sops encrypt -i FILE (or sops -e -i FILE). "
             "Rotate the values that were committed in plain text.",
         inline=("comment",), waive=_WAIVE),
    Rule(RULE_PLAINTEXT_VALUE, "SopsPlaintextValue", Severity.ERROR,
         "A value in a SOPS file that its own rule encrypts is in plain text (added after "
         "encryption?).",
         why="A value added in plain text to an encrypted file is exposed, and sops refuses "
             "to decrypt the file, so Flux or the Argo CD plugin cannot apply it.",
         fix="Edit encrypted files with gitops-guard sops edit FILE (or sops FILE), which "
             "re-encrypts every value, instead of editing the ciphertext directly.",
         inline=("comment",), waive=_WAIVE),
    Rule(RULE_BAD_METADATA, "SopsMetadata", Severity.ERROR,
         "The sops metadata is incomplete or invalid: no MAC, no master key, a version sops "
         "refuses, a malformed ENC value.",
         why="With incomplete or invalid sops metadata the file cannot be decrypted, or "
             "nothing proves its values were not changed (without a MAC; Flux does not check "
             "it either).",
         fix="Encrypt the plaintext again with gitops-guard sops encrypt, or restore the sops "
             "block from git history; do not edit the sops block by hand.",
         inline=("comment",), waive=_WAIVE),
    Rule(RULE_STALE_KEYS, "SopsKeysDiffer", Severity.WARNING,
         "The file's master keys differ from those its .sops.yaml creation rule names "
         "(run `gitops-guard sops updatekeys`).",
         why="The file is still encrypted for its old keys: a recipient added to the rule "
             "cannot decrypt it, and one removed from the rule still can.",
         fix="Run gitops-guard sops updatekeys FILE (or sops updatekeys FILE) with a key "
             "that can open it.",
         inline=("comment",), waive=_WAIVE),
    Rule(RULE_BAD_CONFIG, "SopsConfig", Severity.ERROR,
         "The .sops.yaml cannot be used: invalid YAML, a path_regex or selector that does not "
         "compile, or a malformed rule.",
         why="A .sops.yaml that cannot be used covers nothing: the files it should govern "
             "are not checked, and sops cannot encrypt new files with it.",
         fix="Fix the rule at the reported line: valid YAML, one selector per rule, regular "
             "expressions in RE2 syntax (no lookaround).",
         inline=("comment",), waive=_WAIVE),
)
