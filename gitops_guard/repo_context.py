"""Repository context: files a partial run was not given but must still see.

A pre-commit hook gets a few files, in parallel batches of its own. The CRD that validates a
custom resource, or the Namespace whose `pod-security.kubernetes.io/enforce` label sets the
Pod Security level of a Deployment, usually lives in another file. So when a run's PATHs are
files in a git work tree, one `git grep -l` over the YAML and JSON files of the scope (the
config file's directory, else the work-tree root) finds those holding
`CustomResourceDefinition` or that label: git reads the bytes (in parallel), nothing is
parsed. The schema and policy checks' `prepare` then parse only the files found, merged with
the run's own files in the order a whole-scope run would read them, so a file is judged as
`gitops-guard check` on the whole repository would judge it. A PATH that is a directory
(`.`, or `clusters/dev`) keeps the run to what the user chose, as before.

Git decides which files exist, as discovery does: tracked and untracked files, not ignored
ones; with `--staged` the index (`git grep --cached`), whose blobs are then read instead of
the working tree. `exclude` applies. One scan serves every check of a run. It is bounded:
at most `MAX_FILES` files per marker are used, and a git that fails or is missing means no
context (the run goes on as before).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from gitops_guard import globs
from gitops_guard.baseline import FILE_NAME as BASELINE_FILE
from gitops_guard.checks.base import RunInfo
from gitops_guard.discovery import display_path, find_git_root

CRD_MARKER = "CustomResourceDefinition"
NAMESPACE_MARKER = "pod-security.kubernetes.io/enforce"
# git pathspecs: what discovery reads as YAML or JSON, at any depth, in any case. Not the
# `:(icase)` magic: git 2.39 `grep --untracked` matches nothing with it below the top level.
_PATHSPECS = ("*.[yY][aA][mM][lL]", "*.[yY][mM][lL]", "*.[jJ][sS][oO][nN]")
# A repository with more files than this holding one marker gets the first ones only (in path
# order): each is parsed, and a hook must stay quick.
MAX_FILES = 2000
_TIMEOUT = 60.0


@dataclass(frozen=True)
class RepoContext:
    """What the scope holds beyond the run's files."""

    scope: Path | None  # the directory searched; None: no context (not needed or no git)
    crd_files: tuple[Path, ...] = ()
    namespace_files: tuple[Path, ...] = ()
    # With --staged: the index content of each file above, read instead of the working tree.
    contents: Mapping[Path, bytes] = field(default_factory=lambda: MappingProxyType({}))
    truncated: bool = False  # MAX_FILES was reached for a marker


# One scan per run: both checks' `prepare` get the same RunInfo object.
_last: tuple[RunInfo, RepoContext] | None = None


def context(info: RunInfo) -> RepoContext:
    """The scope's files with CRDs and Namespace labels (computed once per run)."""
    global _last
    if _last is not None and _last[0] is info:
        return _last[1]
    found = _scan(info)
    _last = (info, found)
    return found


def with_crds(info: RunInfo) -> RunInfo:
    """`info` whose paths are the run's files plus the scope's files with CRDs."""
    found = context(info)
    return _extended(info, found.crd_files, found.contents)


def with_namespaces(info: RunInfo) -> RunInfo:
    """`info` whose paths are the run's files plus the scope's files with Namespace labels."""
    found = context(info)
    return _extended(info, found.namespace_files, found.contents)


def _extended(info: RunInfo, extra: Sequence[Path], contents: Mapping[Path, bytes]) -> RunInfo:
    if not extra:
        return info
    # The order of a whole-scope run (candidates sorted by display path), so "first CRD wins"
    # and "last Namespace wins" pick what that run would pick.
    paths = sorted(set(info.paths).union(extra), key=lambda p: display_path(p, info.cwd))
    merged = {**contents, **info.contents} if contents else info.contents
    return info._replace(paths=tuple(paths), contents=merged)


def scope_of(info: RunInfo) -> Path | None:
    """The directory whose files form the context, or None when the run gets none: outside a
    git work tree, or when a PATH is a directory (the run is the directory the user chose)."""
    scope = info.config.root
    targets = info.targets or (info.cwd,)
    if any(target.is_dir() for target in targets) or find_git_root(scope) is None:
        return None
    if not any(scope in target.parents for target in targets):
        return None  # nothing checked lies in the scope (a --config from elsewhere)
    return scope


def _scan(info: RunInfo) -> RepoContext:
    scope = scope_of(info)
    if scope is None:
        return RepoContext(None)
    # A --staged run has every candidate's index content; its context is the index too.
    staged = bool(info.contents)
    found = _git(scope, "grep", "-l", "-z", "-I", "-F", "--cached" if staged else "--untracked",
                 "-e", CRD_MARKER, "-e", NAMESPACE_MARKER, "--", *_PATHSPECS)
    if found is None:
        return RepoContext(None)
    config = info.config
    own = {config.path, config.baseline}
    files = [path for path in sorted(Path(os.path.normpath(scope / os.fsdecode(name)))
                                     for name in found.split(b"\0") if name)
             if path not in own and path.name != BASELINE_FILE
             and not (config.exclude and globs.match_any(
                 config.exclude, display_path(path, config.root)))]
    checked = set(info.paths)
    others = [path for path in files if path not in checked]
    contents = _index_contents(scope, others) if staged and others else {}
    crds: list[Path] = []
    namespaces: list[Path] = []
    for path in files:
        try:  # git matched either marker; the few files it found say which
            data = contents[path] if path in contents else info.read_bytes(
                path, config.max_file_size)
        except OSError:
            continue  # gone since, or unreadable: its own check reports it when it is checked
        if CRD_MARKER.encode() in data:
            crds.append(path)
        if NAMESPACE_MARKER.encode() in data:
            namespaces.append(path)
    return RepoContext(scope, tuple(crds[:MAX_FILES]), tuple(namespaces[:MAX_FILES]),
                       MappingProxyType(contents),
                       truncated=max(len(crds), len(namespaces)) > MAX_FILES)


def _index_contents(scope: Path, paths: Sequence[Path]) -> dict[Path, bytes]:
    """The staged blobs of `paths` (one `git ls-files --stage`, one `git cat-file --batch`)."""
    from gitops_guard.promotion import gitdata

    listed = _git(scope, "ls-files", "--stage", "-z", "--",
                  *(Path(os.path.relpath(path, scope)).as_posix() for path in paths))
    blobs: dict[Path, str] = {}
    for entry in (listed or b"").split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        fields = meta.decode("ascii", "replace").split()
        if len(fields) == 3 and fields[2] == "0":  # "<mode> <blob> <stage>"; 0: not in conflict
            blobs[Path(os.path.normpath(scope / os.fsdecode(name)))] = fields[1]
    with gitdata.ObjectReader(scope) as reader:
        reader.prefetch(blobs.values())
        read = {path: reader.read(blob) for path, blob in blobs.items()}
    return {path: data for path, data in read.items() if data is not None}


def _git(scope: Path, *args: str) -> bytes | None:
    """git's output; None when git is missing, fails or hangs (then there is no context)."""
    try:
        # GIT_OPTIONAL_LOCKS=0: a read must never take the index lock a `git commit` holds.
        result = subprocess.run(["git", *args], cwd=scope, capture_output=True, check=False,
                                timeout=_TIMEOUT,
                                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode not in (0, 1):  # git grep: 1 when nothing matched
        return None
    return result.stdout
