"""The baseline: secrets a team already knows about, so the gate fails only on new ones.

`.gitops-guard-baseline.json` (beside the config file, or `baseline:` in it) lists findings by
(path, rule, SHA-256 of the secret): never the secret, never a line number, so editing a file
does not re-raise what is known. Findings in it are reported as suppressed ("baseline"), not
failed; `gitops-guard secrets baseline audit` reports entries that no longer match anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from gitops_guard import __version__, atomic
from gitops_guard.errors import GuardError

FILE_NAME = ".gitops-guard-baseline.json"
FORMAT_VERSION = 1
_HASH = "sha256:"


class Entry(NamedTuple):
    path: str  # relative to the baseline file's directory, forward slashes
    rule: str
    secret_sha256: str  # hex digest; "" when the finding is about an object, not one value
    fingerprint: str  # used when there is no secret hash
    reason: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.rule, self.secret_sha256 or "fp:" + self.fingerprint)


def entry_key(path: str, rule: str, identity: str, fingerprint: str) -> tuple[str, str, str]:
    secret = identity[len(_HASH):] if identity.startswith(_HASH) else ""
    return (path, rule, secret or "fp:" + fingerprint)


def make_entry(path: str, rule: str, identity: str, fingerprint: str,
               reason: str = "") -> Entry:
    secret = identity[len(_HASH):] if identity.startswith(_HASH) else ""
    return Entry(path, rule, secret, "" if secret else fingerprint, reason)


class Baseline(NamedTuple):
    path: Path
    entries: tuple[Entry, ...]

    @property
    def root(self) -> Path:
        return self.path.parent

    def by_key(self) -> dict[tuple[str, str, str], Entry]:
        return {entry.key: entry for entry in self.entries}


def load(path: Path, display: str) -> Baseline:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GuardError(f"cannot read the baseline: {exc}", path=display) from None
    except json.JSONDecodeError as exc:
        raise GuardError(f"the baseline is not JSON: {exc.msg}", path=display, line=exc.lineno,
                         column=exc.colno) from None
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION \
            or not isinstance(document.get("findings"), list):
        raise GuardError(f"not a gitops-guard baseline (version {FORMAT_VERSION}, with a "
                         "findings list)", path=display)
    entries = []
    for index, raw in enumerate(document["findings"]):
        fields = ("path", "rule", "secret_sha256", "fingerprint", "reason")
        if not isinstance(raw, dict) or not all(isinstance(raw.get(f, ""), str) for f in fields) \
                or not raw.get("path") or not raw.get("rule"):
            raise GuardError(f"baseline entry {index} needs string path, rule and "
                             "secret_sha256 or fingerprint", path=display)
        entries.append(Entry(raw["path"], raw["rule"], raw.get("secret_sha256", ""),
                             raw.get("fingerprint", ""), raw.get("reason", "")))
    return Baseline(path, tuple(entries))


def write(path: Path, entries: Iterable[Entry]) -> None:
    """Sorted, one entry per line group, written atomically: stable diffs in review."""
    unique = {entry.key: entry for entry in entries}
    document = {
        "version": FORMAT_VERSION,
        "generated_by": f"gitops-guard {__version__}",
        "findings": [
            {key: value for key, value in entry._asdict().items() if value}
            for entry in sorted(unique.values(), key=lambda e: e.key)
        ],
    }
    try:
        atomic.write_text(path, json.dumps(document, indent=2, ensure_ascii=True) + "\n")
    except OSError as exc:
        raise GuardError(f"cannot write the baseline: {exc.strerror}", path=str(path)) from None
