"""sops: what must be encrypted is, completely, and the way its own rule says.

Files a `.sops.yaml` creation rule covers (when the rule would encrypt something in them), and
Secrets and `.env` files under `sops.paths`, must carry sops metadata. In a SOPS file every
value its own selector picks must be `ENC[...]`; the metadata must have a MAC and a master key;
its master keys should be those the creation rule names. `encrypted_regex: ^(data|stringData)$`
(the usual Flux setup) leaves `kind` and `metadata` clear, and that is correct.

FAIL (GG-SOPS-002: `extra` was added after encryption)::

    stringData:
        password: ENC[AES256_GCM,data:...,type:str]
        extra: plain
    sops:
        encrypted_regex: ^(data|stringData)$
        ...
"""

from __future__ import annotations

from gitops_guard.checks.base import Check, lazily
from gitops_guard.checks.sops.rules import RULES
from gitops_guard.documents import FileKind


def wants(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith((".yaml", ".yml", ".json", ".env", ".ini")) or \
        lowered.startswith(".env")


CHECK = Check(
    name="sops",
    description="SOPS files are encrypted where they must be, completely, under their rule.",
    rules=RULES,
    check_file=lazily("gitops_guard.checks.sops.state", "check_file"),
    prepare=lazily("gitops_guard.checks.sops.state", "prepare"),
    roles=frozenset(),
    file_kinds=frozenset({FileKind.YAML, FileKind.JSON, FileKind.TEXT}),
    wants=wants,
    config_schema={
        "type": "object",
        "additionalProperties": False,
        "description": "settings of the sops check (docs/sops.md)",
        "properties": {
            "paths": {"type": "array", "items": {"type": "string", "minLength": 1},
                      "description": "globs: Secrets and .env files under these must be "
                                     "SOPS-encrypted"},
            "creation_rules": {"type": "boolean", "default": True,
                               "description": "files a .sops.yaml creation rule covers must "
                                              "be encrypted, with the rule's keys"},
        },
    },
)

__all__ = ["CHECK", "RULES"]
