"""Kustomizations as a graph: what each one includes, which are roots, which files they use.

A root is a kustomization directory that no other kustomization found in the run includes (the
overlays, not their bases); a directory named on the command line is always one. Only what the
files say is read here; `kustomize build` does the rendering.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_guard import pointer as jp
from gitops_guard.discovery import display_path
from gitops_guard.documents import SourceFile
from gitops_guard.kustomize import KUSTOMIZATION_FILES
from gitops_guard.loader import load_file
from gitops_guard.yamlio import ParseFailure, parse_yaml

# What kustomize would fetch: a URL, an scp-style git address, or a repository on a known host.
_REMOTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|git@|(?:github\.com|gitlab\.com|"
                     r"bitbucket\.org|ssh\.dev\.azure\.com|dev\.azure\.com)/)")
_MAX_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """One path a kustomization names (a resource, base, component or patch file)."""

    value: str
    pointer: str  # where it is written in the kustomization, for its line
    path: Path | None  # the local file or directory; None when remote or inline
    remote: bool = False
    target: Mapping[str, Any] = field(default_factory=dict)  # a patch's `target:`
    inline: Any = None  # an inline patch, parsed

    @property
    def is_directory(self) -> bool:
        return self.path is not None and self.path.is_dir()


@dataclass(frozen=True)
class Kustomization:
    file: Path
    source: SourceFile
    data: Mapping[str, Any]
    resources: tuple[Entry, ...]  # `resources:` and the older `bases:`
    components: tuple[Entry, ...]
    patches: tuple[Entry, ...]  # in the order kustomize applies them

    @property
    def directory(self) -> Path:
        return self.file.parent

    @property
    def component(self) -> bool:
        return self.data.get("kind") == "Component"

    def locate(self, pointer: str) -> tuple[int, int]:
        for document in self.source.documents:
            return document.locate(pointer)
        return 1, 1

    def includes(self) -> Iterator[Path]:
        """The local kustomization directories this one builds on."""
        for entry in (*self.resources, *self.components):
            if entry.path is not None and entry.is_directory:
                yield entry.path

    def remote_entries(self) -> Iterator[Entry]:
        yield from (entry for entry in (*self.resources, *self.components) if entry.remote)
        if self.data.get("helmCharts"):
            yield Entry("helmCharts", "/helmCharts", None, remote=True)


class Graph:
    """Kustomizations read once each, by directory."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._read: dict[Path, Kustomization | None] = {}

    def at(self, directory: Path) -> Kustomization | None:
        if directory not in self._read:
            self._read[directory] = _read(directory, self.cwd)
        return self._read[directory]

    def closure(self, root: Kustomization) -> list[Kustomization]:
        """The root and every local kustomization it builds on, outermost first."""
        found: list[Kustomization] = []
        seen: set[Path] = set()
        pending = [root]
        while pending:
            current = pending.pop(0)
            if current.directory in seen:
                continue  # a cycle: kustomize reports it
            seen.add(current.directory)
            found.append(current)
            pending.extend(k for k in map(self.at, current.includes()) if k is not None)
        return found

    def roots(self, candidates: Iterable[Path], named: Sequence[Path]) -> list[Kustomization]:
        """The kustomizations to render among the run's files and the directories named."""
        candidates = list(candidates)
        directories = {p.parent for p in candidates if p.name in KUSTOMIZATION_FILES}
        # `Kustomization` has no suffix, so a directory walk does not list it: look for it.
        directories |= {d for d in {p.parent for p in candidates}
                        if (d / "Kustomization").is_file()}
        directories |= {d for d in named if self.at(d) is not None}
        found = [k for k in map(self.at, sorted(directories)) if k is not None]
        included = {d for k in found for inner in self.closure(k)[1:] for d in [inner.directory]}
        return [k for k in found if not k.component
                and (k.directory in named or k.directory not in included)]


def members(closure: Iterable[Kustomization]) -> set[Path]:
    """The files whose objects a build of this closure contains: resources and patches."""
    files: set[Path] = set()
    for kustomization in closure:
        for entry in (*kustomization.resources, *kustomization.patches):
            if entry.path is not None and not entry.is_directory:
                files.add(entry.path)
    return files


def _read(directory: Path, cwd: Path) -> Kustomization | None:
    file = next((directory / name for name in KUSTOMIZATION_FILES
                 if (directory / name).is_file()), None)
    if file is None:
        return None
    source = load_file(file, display_path(file, cwd), _MAX_SIZE)
    data = source.documents[0].data if source.documents else None
    if not isinstance(data, dict):
        data = {}
    resources = [*_entries(directory, data, "resources"), *_entries(directory, data, "bases")]
    return Kustomization(file, source, data, tuple(resources),
                         tuple(_entries(directory, data, "components")),
                         tuple(_patches(directory, data)))


def _entries(directory: Path, data: Mapping[str, Any], key: str) -> Iterator[Entry]:
    values = data.get(key)
    for index, value in enumerate(values if isinstance(values, list) else []):
        if isinstance(value, str) and value:
            yield _entry(directory, value, jp.join(key, index))


def _entry(directory: Path, value: str, pointer: str, **extra: Any) -> Entry:
    path = Path(os.path.normpath(directory / value))
    if not path.exists() and is_remote(value):
        return Entry(value, pointer, None, remote=True, **extra)
    return Entry(value, pointer, path, **extra)


def is_remote(value: str) -> bool:
    return bool(_REMOTE.match(value)) or "?ref=" in value or "?version=" in value


def _patches(directory: Path, data: Mapping[str, Any]) -> Iterator[Entry]:
    # Roughly kustomize's order: strategic-merge patches, then `patches:`, then JSON 6902.
    for key in ("patchesStrategicMerge", "patches", "patchesJson6902"):
        values = data.get(key)
        for index, value in enumerate(values if isinstance(values, list) else []):
            pointer = jp.join(key, index)
            if isinstance(value, str) and "\n" not in value:
                yield _entry(directory, value, pointer)
                continue
            spec = value if isinstance(value, dict) else {"patch": value}
            target = spec.get("target")
            target = target if isinstance(target, dict) else {}
            if isinstance(spec.get("path"), str):
                yield _entry(directory, spec["path"], jp.join(key, index, "path"),
                             target=target)
            elif isinstance(spec.get("patch"), str):
                try:
                    parsed = [d.data for d in parse_yaml(spec["patch"])]
                except ParseFailure:
                    continue  # kustomize reports it
                inner = pointer if isinstance(value, str) else jp.join(key, index, "patch")
                yield Entry("", inner, None, target=target,
                            inline=parsed[0] if len(parsed) == 1 else parsed)
