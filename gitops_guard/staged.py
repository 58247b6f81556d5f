"""`--staged`: check the files and contents of the git index, not of the working tree.

A plain git pre-commit hook must judge what the commit will hold, so an unstaged edit can
neither hide a bad staged file nor fail a good one. The index lists the files (`git ls-files
--stage`, read by `promotion.gitdata.index_files`, which keeps regular files at stage 0); their
contents are the index blobs, read through one `git cat-file --batch`. Each `Candidate` carries
its blob, so the loader never opens the working-tree file. Git's own environment is honoured:
inside `git commit -a` or `git commit PATH` a hook gets `GIT_INDEX_FILE` naming the index of
the commit being made, and every git call here reads that one.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_guard import globs
from gitops_guard.discovery import Candidate, display_path
from gitops_guard.errors import GuardError
from gitops_guard.promotion import gitdata


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    # GIT_OPTIONAL_LOCKS=0: a read must never take the index lock that `git commit` holds.
    environ = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False,
                              env=environ)
    except FileNotFoundError:
        raise GuardError("--staged checks what is staged in git, but git is not "
                         "installed") from None


@dataclass(frozen=True)
class StagedIndex:
    """The staged files of one work tree."""

    root: Path  # the work tree, spelled from the working directory (symlinks not resolved)
    blobs: Mapping[str, str]  # root-relative path (forward slashes) -> blob id

    def candidates(self, paths: Sequence[str], *, cwd: Path, wanted: Callable[[str], bool],
                   exclude: Sequence[str] = (),
                   exclude_root: Path | None = None) -> list[Candidate]:
        """The staged files under `paths` (none: the whole index), with their contents.

        As for directories on disk, files under a PATH are kept when some check `wanted`
        their name, and a file named exactly is kept whatever its name; `exclude` globs,
        relative to `exclude_root`, apply to both. A staged deletion is not in the index, so
        it is simply absent.
        """
        chosen: dict[str, str] = {}
        # No PATH: the whole index (what the commit holds), wherever in the tree the run is.
        for raw in paths or [str(self.root)]:
            rel = self._relative(raw, cwd)
            if rel in self.blobs:
                chosen[rel] = self.blobs[rel]
                continue
            prefix = "" if rel == "." else rel + "/"
            under = [name for name in self.blobs if name.startswith(prefix)]
            if not under and not self._known(raw, rel, cwd):
                raise GuardError(f"no such file or directory in the index or the working "
                                 f"tree: {raw}")
            # As discovery asks: by name, then by path (a `.kube/config`).
            chosen.update((name, self.blobs[name]) for name in under
                          if wanted(posixpath.basename(name))
                          or wanted((self.root / name).as_posix()))
        root = exclude_root or cwd
        selected: list[tuple[Path, str]] = []
        for name in sorted(chosen):
            path = Path(os.path.normpath(self.root / name))
            if exclude and globs.match_any(exclude, display_path(path, root)):
                continue
            selected.append((path, chosen[name]))
        contents = self._read([blob for _, blob in selected], cwd)
        found = [Candidate(path, display_path(path, cwd), contents[blob])
                 for path, blob in selected]
        return sorted(found, key=lambda c: c.display)

    def has_unstaged_changes(self, path: Path) -> bool:
        """Whether a staged file differs in the working tree (`git diff`, so filters such as
        core.autocrlf count as git counts them). False for a file that is not staged."""
        rel = Path(os.path.relpath(path, self.root)).as_posix()
        if rel not in self.blobs:
            return False
        result = _git(self.root, "diff", "--quiet", "--no-ext-diff", "--", rel)
        return result.returncode == 1

    def _relative(self, raw: str, cwd: Path) -> str:
        target = Path(os.path.normpath(cwd / raw))
        rel = Path(os.path.relpath(target, self.root)).as_posix()
        if rel == ".." or rel.startswith("../"):
            raise GuardError(f"{raw} is outside the git work tree "
                             f"{display_path(self.root, cwd)}: --staged checks staged files")
        return rel

    def _known(self, raw: str, rel: str, cwd: Path) -> bool:
        """A PATH with nothing staged under it: fine when it exists (untracked, or only
        unmerged entries) or was tracked in HEAD (a staged deletion); else a typo."""
        if os.path.lexists(cwd / raw):
            return True
        return _git(self.root, "cat-file", "-e", f"HEAD:{rel}").returncode == 0

    def _read(self, blobs: Sequence[str], cwd: Path) -> dict[str, bytes]:
        contents: dict[str, bytes] = {}
        unique = list(dict.fromkeys(blobs))
        if not unique:
            return contents
        with gitdata.ObjectReader(self.root) as reader:
            reader.prefetch(unique)
            for blob in unique:
                data = reader.read(blob)
                if data is None:
                    raise GuardError(f"git cannot read the staged object {blob} in "
                                     f"{display_path(self.root, cwd)}: is the repository "
                                     "corrupt? (git fsck)")
                contents[blob] = data
        return contents


def read_index(cwd: Path) -> StagedIndex:
    """The index of the work tree containing `cwd`; a GuardError outside one."""
    located = _git(cwd, "rev-parse", "--show-cdup")
    if located.returncode != 0:
        raise GuardError(f"--staged checks what is staged in git, but {cwd} is not inside a "
                         "git work tree")
    root = Path(os.path.normpath(cwd / os.fsdecode(located.stdout.strip())))
    return StagedIndex(root, gitdata.index_files(root))
