"""What the loader hands to checks: files, their documents, and how to find a line."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from gitops_guard import pointer as jp
from gitops_guard.findings import ResourceRef


class FileKind(enum.Enum):
    YAML = "yaml"
    JSON = "json"
    HELM_TEMPLATE = "helm-template"  # Go templates are not YAML until rendered
    TEXT = "text"  # any other file a text check may read (.env, kubeconfig, ...)


class DocRole(enum.Enum):
    RESOURCE = "resource"  # has apiVersion and kind: a Kubernetes object
    INCOMPLETE = "incomplete"  # looks like a Kubernetes object but lacks apiVersion or kind
    LIST = "list"  # kind: List (or FooList) whose items are checked as resources
    KUSTOMIZATION = "kustomization"
    SOPS = "sops"  # encrypted by SOPS: a top-level `sops` map with `mac` and `version`
    DATA = "data"  # YAML that is not a Kubernetes object (Helm values, app config)
    EMPTY = "empty"
    NOT_MAPPING = "not-mapping"


class Locator(Protocol):
    def locate(self, tokens: list[str], at_key: bool = False) -> tuple[int, int] | None: ...


class LoadError(NamedTuple):
    """Why a file could not be read or parsed; becomes a GG-MANIFEST finding."""

    rule: str
    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True, slots=True)
class DuplicateKeyAt:
    key: str
    pointer: str  # pointer to the repeated key itself, relative to its document
    line: int
    column: int
    first_line: int


@dataclass(slots=True)
class Document:
    path: Path
    index: int  # position of the document in its file, from 0
    line: int  # first line of the document, 1-based, counted by `\n` (see yamlio)
    data: Any
    role: DocRole
    locator: Locator | None
    # "" for a document, "/items/3" for the fourth item of a List document.
    prefix: str = ""
    duplicates: tuple[DuplicateKeyAt, ...] = ()

    @property
    def resource(self) -> ResourceRef | None:
        data = self.data
        if not isinstance(data, dict):
            return None
        api_version, kind = data.get("apiVersion"), data.get("kind")
        if not isinstance(kind, str):
            return None
        if not isinstance(api_version, str):
            api_version = ""  # named by kind and name all the same, e.g. for waivers
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        name, namespace = metadata.get("name"), metadata.get("namespace")
        return ResourceRef(api_version, kind,
                           namespace if isinstance(namespace, str) else None,
                           name if isinstance(name, str) else None)

    def locate(self, pointer: str, at_key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of a pointer relative to this document: a file line,
        counted by `\\n` as editors, git and CI annotations count, even in YAML (see yamlio).

        Falls back to the deepest part of the pointer that exists, then to the document start.
        """
        if self.locator is not None:
            found = self.locator.locate(jp.split(self.prefix + pointer), at_key)
            if found is not None:
                return found
        return self.line, 1


@dataclass(slots=True)
class SourceFile:
    path: Path  # as the engine resolved it
    display: str  # relative to the working directory, forward slashes
    kind: FileKind
    text: str | None = None
    documents: list[Document] = field(default_factory=list)
    error: LoadError | None = None
    # A template under a Helm chart's templates/ directory (expected, not worth a note).
    chart_template: bool = False


def file_lines(text: str) -> list[str]:
    """A file's lines as findings number them (line N is item N - 1): split at `\\n` alone,
    as editors, git and CI annotations count, the `\\r` of a `\\r\\n` dropped.

    Not `str.splitlines`, which also splits at a lone `\\r`, U+0085, U+2028, U+2029, `\\v`,
    `\\f` and `\\x1c`-`\\x1e`, so its item N - 1 is another line once one of them came before.
    """
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.removesuffix("\r") for line in lines]
    return lines
