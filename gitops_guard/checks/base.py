"""The contract every check follows.

A check is data plus one or two functions: `check_document` sees each parsed document whose role
it asks for, `check_file` sees each file once (for text checks and file-wide rules). Both yield
`Problem`s and nothing else: locating lines, suppression, severity and reporting are the
engine's job. A check that needs to know the whole run first (CRDs defined in other files) has
`prepare`, called once before any file is checked; what it returns reaches every call as
`context.state`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from gitops_guard.documents import DocRole, Document, FileKind, SourceFile
from gitops_guard.findings import Problem, Rule
from gitops_guard.loader import read_regular

if TYPE_CHECKING:
    from gitops_guard.config import Config


class CheckContext(NamedTuple):
    settings: Mapping[str, Any]  # this check's section of the config file
    config: Config
    file: SourceFile  # the file being checked, for rules that look at sibling documents
    state: Any = None  # what the check's `prepare` returned


class RunInfo(NamedTuple):
    """What `prepare` may look at: the files about to be checked and where the run is."""

    paths: Sequence[Path]
    config: Config
    cwd: Path
    # With --staged: each candidate's index content, to read instead of the working tree.
    contents: Mapping[Path, bytes] = MappingProxyType({})
    # The PATHs as named (absolute; none: the working directory), so `repo_context` can tell
    # whether the run already covers the whole repository.
    targets: Sequence[Path] = ()

    def read_bytes(self, path: Path, limit: int) -> bytes:
        """At most `limit` bytes of a candidate: its staged content, else the file (OSError)."""
        content = self.contents.get(path)
        if content is not None:
            return content[:limit]
        return read_regular(path, limit)  # never a FIFO: it would block the run


DocumentCheck = Callable[[Document, CheckContext], Iterable[Problem]]
FileCheck = Callable[[SourceFile, CheckContext], Iterable[Problem]]
Prepare = Callable[[RunInfo], Any]

STRUCTURED_KINDS = frozenset({FileKind.YAML, FileKind.JSON})
_STRUCTURED_SUFFIXES = (".yaml", ".yml", ".json")


def lazily(module: str, name: str) -> Callable[..., Any]:
    """`module.name`, imported on its first call: the registry imports every check at start-up,
    and a one-file pre-commit run must not pay for validators it never uses."""
    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    return call


def yaml_or_json(name: str) -> bool:
    return name.lower().endswith(_STRUCTURED_SUFFIXES)


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    rules: tuple[Rule, ...]
    check_document: DocumentCheck | None = None
    check_file: FileCheck | None = None
    prepare: Prepare | None = None
    # Which documents `check_document` is given.
    roles: frozenset[DocRole] = frozenset({DocRole.RESOURCE})
    # Which loaded files the check looks at.
    file_kinds: frozenset[FileKind] = STRUCTURED_KINDS
    # Which file names, found while walking a directory, this check wants read.
    wants: Callable[[str], bool] = yaml_or_json
    # Rules defined as data rather than code (policies): given the check's config section and
    # the config root, the rules that section brings (with {} : the built-in ones).
    data_rules: Callable[[Mapping[str, Any], Path], tuple[Rule, ...]] | None = None
    # A check that reads git history rather than the files of a run (promotion): it has its
    # own command and is never part of `check`.
    reads_history: bool = False
    # What the section's JSON schema cannot say (an `after:` naming no environment): given the
    # section, (pointer tokens inside it, message) pairs, reported with the config's lines.
    config_problems: Callable[[Mapping[str, Any]], list[tuple[list[str], str]]] | None = None
    # JSON schema of the check's own section in .gitops-guard.yaml.
    config_schema: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {},
                                 "additionalProperties": False})
