"""Expand the paths a user names into the files to check.

Inside a git work tree a directory means what git would commit: tracked files plus untracked
ones that are not ignored (one `git ls-files` call); a directory git ignores entirely is
walked, since the user named it. Elsewhere the directory is walked, skipping `.git` and not
following symlinked directories. Files named explicitly are taken whatever their suffix, but
`exclude` globs apply to them too, so a pre-commit run honours the config. A symlink (or a
named path through a symlinked directory) that leads outside the repository is skipped with a
warning on stderr (`confine.py`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_guard import confine, globs
from gitops_guard.errors import GuardError

_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


@dataclass(frozen=True, slots=True)
class Candidate:
    path: Path  # absolute, not resolved through symlinks
    display: str  # relative to the working directory, forward slashes
    # What to check instead of the file on disk (`--staged`: the index blob); None: read it.
    content: bytes | None = None


def find_git_root(start: Path) -> Path | None:
    """The work tree containing `start`, found by looking for `.git` (no subprocess)."""
    current = start if start.is_dir() else start.parent
    for directory in (current, *current.parents):
        if (directory / ".git").exists():
            return directory
    return None


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, cwd)).as_posix()


def discover(paths: Sequence[str], *, cwd: Path, wanted: Callable[[str], bool],
             exclude: Sequence[str] = (), exclude_root: Path | None = None) -> list[Candidate]:
    """Files to check, sorted, without duplicates.

    `wanted(name)` says whether a file found in a directory is one some check reads; failing
    that, `wanted` is asked about the file's absolute path (forward slashes), so a check can
    want a file by the directory it is in (`.kube/config`). An absolute path never starts with
    a dot, so a check that looks at name prefixes (`.env*`) does not mistake it.
    `exclude` globs are relative to `exclude_root` (the config file's directory).
    """
    found: dict[Path, Candidate] = {}
    root = exclude_root or cwd
    for raw in paths or ["."]:
        path = Path(os.path.normpath(cwd / raw))
        named = not path.is_dir()
        if not named:
            limit = confine.boundary(path, path)
            if not confine.inside(path, limit):  # a symlinked directory in the repository
                _warn_outside(path, limit, cwd)
                continue
            files: Iterable[Path] = (f for f in _directory_files(path)
                                     if wanted(f.name) or wanted(f.as_posix()))
        elif os.path.lexists(path):
            files = (path,)
            limit = confine.boundary(path, path.parent)
        else:
            raise GuardError(f"no such file or directory: {raw}")
        for file in files:
            if file in found or (exclude and globs.match_any(exclude, display_path(file, root))):
                continue
            # Found in a directory, only a symlink can lead elsewhere (directories are not
            # followed); a named path may go through a symlinked directory too.
            if (named or file.is_symlink()) and not confine.inside(file, limit):
                _warn_outside(file, limit, cwd)
                continue
            found[file] = Candidate(file, display_path(file, cwd))
    return sorted(found.values(), key=lambda c: c.display)


def warn(message: str) -> None:
    """A note on stderr that does not change the exit code (the report stays clean)."""
    print(f"gitops-guard: warning: {message}", file=sys.stderr)


def _warn_outside(path: Path, limit: Path, cwd: Path) -> None:
    warn(f"{display_path(path, cwd)}: a symlink leading outside the repository "
         f"({display_path(limit, cwd)}); not read")


def _directory_files(directory: Path) -> list[Path]:
    if find_git_root(directory) is not None:
        listed = _git_files(directory)
        if listed:
            return listed
    return list(_walk(directory))


def _git_files(directory: Path) -> list[Path]:
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"],
            capture_output=True, check=False, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return []
    if result.returncode != 0:
        return []
    files = []
    for name in result.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not name:
            continue
        path = directory / name
        # Deleted-but-tracked files and submodules (directories) are listed too.
        if path.is_symlink() or path.is_file():
            files.append(path)
    return files


def _walk(directory: Path) -> Iterable[Path]:
    for current, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        base = Path(current)
        for name in files:
            yield base / name
