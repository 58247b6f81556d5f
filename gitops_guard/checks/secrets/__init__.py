"""secrets: plaintext credentials, found the way a GitOps repository holds them.

Structure decides, not entropy: a plaintext `kind: Secret`, a token inside base64 Secret
data, a password in Helm values, a literal in container `env`, a kustomize secretGenerator
literal are found; SOPS values, sealed data and ExternalSecret references never are.

FAIL (GG-SECRET-001 plaintext Secret, GG-SECRET-002 GitHub token decoded from base64)::

    apiVersion: v1
    kind: Secret
    metadata: {name: ci}
    data:
      token: Z2hwXzAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg==

PASS::

    password: ${DB_PASSWORD}
    existingSecret: db-credentials
"""

from __future__ import annotations

from gitops_guard.checks.base import Check, lazily
from gitops_guard.checks.secrets import formats
from gitops_guard.checks.secrets.rules import RULES
from gitops_guard.documents import DocRole, FileKind

_TEXT_SUFFIXES = (".yaml", ".yml", ".json", ".env", ".ini", ".properties", ".conf", ".cfg",
                  ".tfvars", ".tf", ".toml", ".sh", ".bash", ".zsh", ".md", ".txt", ".pem",
                  ".key", ".p12", ".pfx", ".jks", ".keystore", ".npmrc", ".pypirc", ".netrc",
                  ".crt")
_TEXT_NAMES = ("credentials", "id_rsa", "id_ecdsa", "id_ed25519", "id_dsa",
               ".git-credentials", ".envrc")


def wants(name: str) -> bool:
    """A file name, or (discovery asks again with it) the file's path: kubeconfigs and docker
    configs are wanted by the name or place `formats` knows them by, e.g. `.kube/config`."""
    lowered = name.lower()
    return (lowered.endswith(_TEXT_SUFFIXES) or lowered in _TEXT_NAMES
            or lowered.startswith(".env") or formats.of(name) is not None)


CHECK = Check(
    name="secrets",
    description="Plaintext credentials in manifests, values, env, kubeconfigs and text files.",
    rules=RULES,
    # The rules and their regular expressions load only when the check runs.
    check_document=lazily("gitops_guard.checks.secrets.state", "check_document"),
    check_file=lazily("gitops_guard.checks.secrets.state", "check_file"),
    prepare=lazily("gitops_guard.checks.secrets.state", "prepare"),
    roles=frozenset({DocRole.RESOURCE, DocRole.INCOMPLETE, DocRole.KUSTOMIZATION, DocRole.SOPS,
                     DocRole.DATA}),
    file_kinds=frozenset({FileKind.YAML, FileKind.JSON, FileKind.TEXT,
                          FileKind.HELM_TEMPLATE}),
    wants=wants,
    config_schema={
        "type": "object",
        "additionalProperties": False,
        "description": "settings of the secrets check (docs/secrets.md)",
        "properties": {
            "allow_paths": {"type": "array", "items": {"type": "string", "minLength": 1},
                            "description": "path globs the secrets check skips (as exclude)"},
            "allow_regexes": {"type": "array", "items": {"type": "string", "minLength": 1},
                              "description": "Python regexes: a secret is not reported when "
                                             "one matches it or its line"},
            "stopwords": {"type": "array", "items": {"type": "string", "minLength": 3},
                          "description": "a secret containing one of these (any case) is not "
                                         "reported"},
            "disabled_rules": {"type": "array", "items": {"type": "string", "minLength": 1},
                               "description": "GG-SECRET rule ids or token families "
                                              "(github-classic-token, ...) not looked for"},
        },
    },
)

__all__ = ["CHECK", "RULES"]
