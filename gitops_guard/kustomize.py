"""What kustomization files say about other files.

A strategic-merge patch (`patches: [{path: ...}]`, `patchesStrategicMerge:`) is a partial object:
it names only the fields it changes. Checks that validate whole objects must know which files
are patches, or every patch "misses" its required fields. The kustomization that names a patch
sits in the patch's directory or above it, so looking up from each checked file finds it even
when a pre-commit hook passes only the patch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gitops_guard.discovery import find_git_root
from gitops_guard.loader import load_file

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# How far above a file to look for the kustomization that names it as a patch.
_MAX_LEVELS = 4
_MAX_SIZE = 1024 * 1024


def patch_files(paths: Iterable[Path]) -> frozenset[Path]:
    """The files among (or near) `paths` that kustomizations use as strategic-merge patches."""
    kustomizations: set[Path] = set()
    visited: set[Path] = set()
    for path in paths:
        stop = find_git_root(path)
        directory = path.parent
        for _ in range(_MAX_LEVELS):
            if directory not in visited:  # each path still walks all its own levels
                visited.add(directory)
                for name in KUSTOMIZATION_FILES:
                    if (directory / name).is_file():
                        kustomizations.add(directory / name)
            if directory == stop or directory.parent == directory:
                break
            directory = directory.parent
    patches: set[Path] = set()
    for kustomization in kustomizations:
        patches.update(_named_patches(kustomization))
    return frozenset(patches)


def _named_patches(kustomization: Path) -> set[Path]:
    source = load_file(kustomization, kustomization.name, _MAX_SIZE)
    found: set[Path] = set()
    for document in source.documents:
        data = document.data
        if not isinstance(data, dict):
            continue
        for entry in _list(data.get("patchesStrategicMerge")):
            if isinstance(entry, str) and "\n" not in entry:  # a path, not an inline patch
                found.add(_resolve(kustomization.parent, entry))
        for entry in _list(data.get("patches")):
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                found.add(_resolve(kustomization.parent, entry["path"]))
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _resolve(base: Path, relative: str) -> Path:
    return Path(os.path.normpath(base / relative))
