"""A real git repository in a temp dir, for promotion scenarios.

Commits carry the committer and author time the test chooses (ISO 8601 strings), so soak times
are exact. Identity comes from the environment (`isolated_env` in tests/conftest.py sets it);
defaults fill in when it is missing so the helper also works on its own.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
             "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


class GitError(RuntimeError):
    """A git command the test ran failed: the message holds the command and git's stderr."""


class GitRepo:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def init(cls, root: Path, branch: str = "main") -> GitRepo:
        root.mkdir(parents=True, exist_ok=True)
        repo = cls(root)
        repo.git("init", "-q", "-b", branch)
        # Whatever the machine's git config says, commits are plain and bytes are kept as is.
        repo.git("config", "commit.gpgsign", "false")
        repo.git("config", "core.autocrlf", "false")
        return repo

    def git(self, *args: str, when: str | None = None, cwd: Path | None = None) -> str:
        env = {**_IDENTITY, **os.environ}
        # Inside a git hook these would point every command at the outer repository.
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            env.pop(name, None)
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
        result = subprocess.run(["git", *args], cwd=cwd or self.root, env=env,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed ({result.returncode}): "
                           f"{result.stderr.strip()}")
        return result.stdout

    # -- the working tree ----------------------------------------------------------------

    def write(self, files: Mapping[str, str]) -> None:
        """Write files (repo-relative posix paths) into the working tree; nothing is staged."""
        for name, text in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def read(self, name: str) -> str:
        return (self.root / name).read_text(encoding="utf-8")

    def delete(self, *names: str) -> None:
        """Remove files or directories from the working tree and the index (`git rm -r`)."""
        self.git("rm", "-r", "-q", "--", *names)

    def move(self, source: str, target: str) -> None:
        """`git mv` a file or directory; the target's parent directories are created."""
        (self.root / target).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", "--", source, target)

    def stage(self, *names: str) -> None:
        """Stage the named paths, or every change in the working tree when none are named."""
        self.git("add", "-A", "--", *(names or (".",)))

    def staged(self, name: str) -> str:
        """The staged (index) content of a file."""
        return self.git("show", f":{name}")

    # -- history ---------------------------------------------------------------------------

    def commit(self, message: str, when: str, *, files: Mapping[str, str] | None = None,
               trailers: Sequence[tuple[str, str]] = (), allow_empty: bool = False) -> str:
        """Write `files`, stage everything, commit at `when`; the full sha of the commit.

        `trailers` go in a last paragraph of the message as `Key: value` lines.
        """
        if files:
            self.write(files)
        self.stage()
        text = message
        if trailers:
            text += "\n\n" + "\n".join(f"{key}: {value}" for key, value in trailers)
        self.git("commit", "-q", *(["--allow-empty"] if allow_empty else []),
                 "-m", text, when=when)
        return self.rev()

    def rev(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}").strip()

    def committed_at(self, rev: str = "HEAD") -> str:
        """The committer time of `rev` in strict ISO 8601."""
        return self.git("log", "-1", "--format=%cI", rev).strip()

    def trailers(self, rev: str = "HEAD") -> str:
        """The trailers git itself parses from the message of `rev`."""
        return self.git("log", "-1", "--format=%(trailers:only,unfold)", rev).strip()

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("branch", name, start)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def merge(self, branch: str, when: str, message: str | None = None) -> str:
        """Merge `branch` into the current branch with a merge commit (no fast-forward)."""
        self.git("merge", "--no-ff", "-q", "-m", message or f"Merge branch '{branch}'", branch,
                 when=when)
        return self.rev()

    def revert(self, rev: str, when: str) -> str:
        self.git("revert", "--no-edit", rev, when=when)
        return self.rev()

    def clone(self, target: Path, depth: int | None = None) -> GitRepo:
        """Clone through a file:// URL (git ignores --depth for plain local paths)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        self.git("clone", "-q", *([f"--depth={depth}"] if depth else []),
                 self.root.resolve().as_uri(), str(target), cwd=target.parent)
        return GitRepo(target)

    def shallow_clone(self, target: Path, depth: int = 1) -> GitRepo:
        return self.clone(target, depth=depth)

    def is_shallow(self) -> bool:
        return self.git("rev-parse", "--is-shallow-repository").strip() == "true"
