"""`gitops-guard install-hooks`: the plain git hooks of `hooks/`, for teams without pre-commit.

The scripts ship in the wheel as `gitops_guard/git_hooks/` (pyproject force-include) and are
found there, else in the checkout's `hooks/`. They go where git runs hooks from
(`git rev-parse --git-path hooks`, which honours core.hooksPath and linked worktrees). A hook
is ours when it carries `MARKER`: ours is replaced by the current version, anyone else's only
with --force, and then kept beside it as NAME.orig.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TextIO

from gitops_guard import atomic
from gitops_guard.discovery import display_path
from gitops_guard.errors import GuardError

PACKAGE_HOOKS = Path(__file__).resolve().parent / "git_hooks"
SOURCE_HOOKS = Path(__file__).resolve().parent.parent / "hooks"
MARKER = "# gitops-guard-hook:"
PRE_COMMIT, PRE_PUSH = "pre-commit", "pre-push"


def hooks_directory() -> Path:
    """The shipped hooks and CI templates: in the installed package, else the checkout."""
    return PACKAGE_HOOKS if PACKAGE_HOOKS.is_dir() else SOURCE_HOOKS


def git_hooks_path(cwd: Path) -> Path:
    """Where git runs this repository's hooks from."""
    try:
        result = subprocess.run(["git", "rev-parse", "--git-path", "hooks"], cwd=cwd,
                                capture_output=True, check=False)
    except FileNotFoundError:
        raise GuardError("install-hooks writes git hooks, but git is not installed") from None
    if result.returncode != 0:
        raise GuardError(f"install-hooks writes git hooks, but {cwd} is not inside a git "
                         "repository")
    # Relative to the working directory, or absolute (an absolute core.hooksPath).
    return Path(os.path.normpath(cwd / os.fsdecode(result.stdout.strip())))


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):  # no hook there (yet)
        return None
    except OSError as exc:
        raise GuardError(f"cannot read the existing hook: {exc.strerror}",
                         path=str(path)) from None


def install_hooks(cwd: Path, *, force: bool, pre_push: bool, stream: TextIO) -> int:
    names = (PRE_COMMIT, PRE_PUSH) if pre_push else (PRE_COMMIT,)
    target_dir = git_hooks_path(cwd)
    source_dir = hooks_directory()
    wanted = {name: (source_dir / name).read_text(encoding="utf-8") for name in names}
    existing = {name: _read(target_dir / name) for name in names}
    # Every hook is judged before any is written: a refusal leaves the directory as it was.
    foreign = [name for name in names
               if existing[name] is not None and MARKER not in str(existing[name])]
    if foreign and not force:
        shown = ", ".join(display_path(target_dir / name, cwd) for name in foreign)
        raise GuardError(f"{shown}: a hook that is not gitops-guard's is already installed; "
                         "add a call to gitops-guard to it yourself (see hooks/ in the "
                         "gitops-guard sources), or run again with --force to replace it "
                         "(it is kept as NAME.orig)")
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            target = target_dir / name
            shown = display_path(target, cwd)
            old = existing[name]
            if old == wanted[name] and os.access(target, os.X_OK):
                stream.write(f"{name}: already installed ({shown})\n")
                continue
            if name in foreign:
                atomic.write_text(target_dir / f"{name}.orig", str(old),
                                  mode=target.stat().st_mode & 0o777)
            atomic.write_text(target, wanted[name], mode=0o755)
            verb = "replaced" if name in foreign else "updated" if old is not None else \
                "installed"
            stream.write(f"{name}: {verb} {shown}\n")
    except OSError as exc:
        raise GuardError(f"cannot write the hook: {exc.strerror}",
                         path=str(exc.filename or target_dir)) from None
    return 0
