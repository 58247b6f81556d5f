"""The finding model: what checks say (`Problem`) and what the engine reports (`Finding`).

A check only says *what* is wrong and *where in the document* (a JSON pointer). The engine adds
the file, the line and column, the resource, the severity from config, and a fingerprint.
"""

from __future__ import annotations

import enum
import hashlib
from typing import NamedTuple


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Rule(NamedTuple):
    """Metadata of one rule, shown in SARIF, in the docs and by `gitops-guard explain`."""

    id: str
    name: str
    severity: Severity
    summary: str
    # Findings of some rules (plaintext secrets) must not be silenced by a comment in the file.
    inline_suppressible: bool = True
    # For `explain`: why the problem matters, how to fix it, which in-file suppressions can
    # reach its findings (a file-level finding has no object to annotate, one without a line
    # no comment), and a note on waiving it. Written next to each check's rules.
    why: str = ""
    fix: str = ""
    inline: tuple[str, ...] = ("annotation", "comment")
    waive: str = ""


class Problem(NamedTuple):
    """What a check yields: a rule, a message, and where in the document it is.

    `pointer` is a JSON pointer into the document. `at_key` asks for the position of the
    mapping key rather than its value (an unknown field, a duplicate key). Text checks that
    know the position already pass `line`/`column` (1-based). `identity` is extra material for
    the fingerprint (e.g. a hash of a secret, never the secret itself). `severity` is set only
    when the check's own settings decide it (`missing_schemas: error`); `rules:` in the config
    still wins.
    """

    rule: str
    message: str
    pointer: str = ""
    at_key: bool = False
    line: int | None = None
    column: int | None = None
    identity: str = ""
    severity: Severity | None = None


class ResourceRef(NamedTuple):
    api_version: str
    kind: str
    namespace: str | None
    name: str | None

    def label(self) -> str:
        name = self.name or "?"
        if self.namespace:
            name = f"{self.namespace}/{name}"
        return f"{self.kind}/{name}"


class Finding(NamedTuple):
    check: str
    rule: str
    severity: Severity
    path: str  # relative to the working directory, with forward slashes
    line: int | None
    column: int | None
    message: str
    resource: ResourceRef | None
    pointer: str
    fingerprint: str
    # The check's identity for the finding (a secret's SHA-256, never the secret), for baselines.
    identity: str = ""


class SuppressedFinding(NamedTuple):
    finding: Finding
    reason: str
    # "annotation", "comment" or "waiver"
    via: str


def fingerprint(rule: str, repo_path: str, resource: ResourceRef | None, pointer: str,
                identity: str = "", document: str | None = None) -> str:
    """A finding's identity that survives edits: no line numbers, no secret values.

    `document` (where the document sits in its file) only counts for objects without a name,
    which nothing else tells apart.
    """
    where = ""
    if resource is not None:
        where = "/".join((resource.api_version, resource.kind, resource.namespace or "",
                          resource.name or ""))
    if document is not None:
        where += f"#{document}"
    material = "\x1f".join((rule, repo_path, where, pointer, identity))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]
