"""The keyring the commands use: age identities and gpg from this machine's environment."""

from __future__ import annotations

from collections.abc import Mapping as EnvMapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_guard.errors import GuardError
from gitops_guard.sops import keys
from gitops_guard.sops.age_identities import KeyEnvironment
from gitops_guard.sops.metadata import AgeKey, KeyGroup, Metadata, PgpKey


@dataclass(frozen=True)
class LocalKeyring:
    """Unwraps with the identities sops would find here; wraps for recipients (no secrets)."""

    environ: EnvMapping[str, str]
    home: Path

    def unwrap(self, metadata: Metadata) -> bytes:
        return keys.unwrap_key_groups(metadata.key_groups, metadata.shamir_threshold,
                                      KeyEnvironment(self.environ, self.home))

    def wrap(self, data_key: bytes, groups: tuple[KeyGroup, ...],
             threshold: int) -> tuple[KeyGroup, ...]:
        return keys.wrap_key_groups(data_key, groups, threshold, self.environ)


def groups_from_recipients(age: Sequence[str], pgp: Sequence[str]) -> tuple[KeyGroup, ...]:
    """One key group from --age / --pgp values (validated, not yet wrapped)."""
    for recipient in age:
        keys.parse_age_recipient(recipient)  # a clear error for a typo, before any work
    if not age and not pgp:
        raise GuardError("no recipients given")
    unique_age = list(dict.fromkeys(age))
    unique_pgp = list(dict.fromkeys(keys.normalize_fingerprint(fp) for fp in pgp))
    return (KeyGroup(age=tuple(AgeKey(recipient, "") for recipient in unique_age),
                     pgp=tuple(PgpKey(fp, "", "") for fp in unique_pgp)),)
