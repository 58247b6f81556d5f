"""Fixtures of the attack tests: a private $TMPDIR, age keys, the planted repository."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

from gitops_guard.sops import keys
from tests.conftest import CliRun, git
from tests.security import corpus
from tests.security.leaks import Planted, Sandbox, Snapshot

REPO_ROOT = Path(__file__).resolve().parents[2]
# The installed command beside this interpreter (.venv/bin/gitops-guard).
GUARD = Path(sys.executable).with_name("gitops-guard")


class AgeKey(NamedTuple):
    identity: str  # AGE-SECRET-KEY-1...
    recipient: str  # age1...
    file: Path  # the identity, 0600, as SOPS_AGE_KEY_FILE names it


def age_key(directory: Path, name: str) -> AgeKey:
    identity, recipient = keys.generate_age_identity()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"# public key: {recipient}\n{identity}\n")
    path.chmod(0o600)
    return AgeKey(identity, recipient, path)


def identity_body(identity: str) -> str:
    """What follows the public `AGE-SECRET-KEY-1` marker."""
    return identity.removeprefix("AGE-SECRET-KEY-1")


@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty $TMPDIR for the test and every process it starts; no SOPS variables
    from the machine (keys come only from what the test sets)."""
    tmpdir = tmp_path / "TMPDIR"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() caches its answer
    for name in list(os.environ):
        if name.startswith(("SOPS_", "GNUPGHOME", "EDITOR")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-empty"))
    return tmpdir


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AgeKey:
    """The age key that opens the repository's SOPS files, named by SOPS_AGE_KEY_FILE."""
    found = age_key(tmp_path / "keys", "age.txt")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(found.file))
    return found


class PlantedRepo(NamedTuple):
    repo: Path
    planted: Planted
    sandbox: Sandbox


@pytest.fixture
def planted_repo(tmp_path: Path, key: AgeKey, private_tmpdir: Path) -> PlantedRepo:
    """The corpus in a git work tree (no commits), with the sandbox that watches it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    planted = corpus.build(repo, key.recipient)
    planted.add("age identity", identity_body(key.identity))
    sandbox = Sandbox((tmp_path, Path(os.environ["HOME"])), private_tmpdir, planted)
    return PlantedRepo(repo, planted, sandbox)


def no_leaks(sandbox: Sandbox, before: Snapshot, outputs: Mapping[str, str]) -> None:
    leaks = sandbox.leaks(before, outputs)
    assert leaks == [], "planted secrets in the output:\n" + "\n".join(leaks)
    assert sandbox.leftovers() == []


def run_process(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
                ) -> CliRun:
    """The installed `gitops-guard` as a real process: its stderr is the process's own."""
    if not GUARD.is_file():
        pytest.skip(f"gitops-guard is not installed beside {sys.executable}")
    completed = subprocess.run([str(GUARD), *argv], cwd=cwd, capture_output=True, text=True,
                               env={**os.environ, **(env or {})}, check=False, timeout=120)
    return CliRun(completed.returncode, completed.stdout, completed.stderr)


def run_python(code: str, argv: Sequence[str], cwd: Path) -> CliRun:
    """`python -c CODE ARGV...` with this interpreter (the project's venv)."""
    completed = subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd,
                               capture_output=True, text=True, env=dict(os.environ),
                               check=False, timeout=120)
    return CliRun(completed.returncode, completed.stdout, completed.stderr)


RunCli = Callable[..., CliRun]
