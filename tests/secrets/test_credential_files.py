"""Credential files found by name or place (`.kube/config`, `kubeconfig`, `.dockercfg`): by
directory discovery on disk and in git, by both commands, and when named as pre-commit names
them. Which findings each file gives is in test_structure.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_guard.checks.secrets import wants
from gitops_guard.checks.secrets.formats import Format, of
from tests.conftest import CliRun, git, write
from tests.secrets.test_structure import DOCKERCFG, KUBECONFIG

FILES: dict[str, str | bytes] = {
    ".kube/config": KUBECONFIG, "kubeconfig": KUBECONFIG, "prod.kubeconfig": KUBECONFIG,
    ".dockercfg": DOCKERCFG, "config": KUBECONFIG, "app/config": KUBECONFIG}
# A kubeconfig gives a key (line 12), a token (15) and a password (19); `config` elsewhere is
# not read; the .dockercfg's auth is at line 3.
EXPECTED = sorted([(rule, path, line) for path in (".kube/config", "kubeconfig", "prod.kubeconfig")
                   for rule, line in (("GG-SECRET-002", 12), ("GG-SECRET-002", 15),
                                      ("GG-SECRET-003", 19))]
                  + [("GG-SECRET-002", ".dockercfg", 3)])


@pytest.mark.parametrize(("name", "expected"), [
    ("kubeconfig", Format.KUBECONFIG),
    ("Prod.Kubeconfig", Format.KUBECONFIG),
    ("kubeconfig.yaml", Format.KUBECONFIG),
    ("/repo/.kube/config", Format.KUBECONFIG),
    ("/repo/.docker/config.json", Format.DOCKER_CONFIG),
    ("/repo/pull.dockerconfigjson", Format.DOCKER_CONFIG),
    (".dockercfg", Format.DOCKERCFG),
    ("config", None),  # a bare name has no directory: nothing known
    ("/repo/kube/config", None),
    ("/repo/.kube/config.yaml", None),  # YAML already; `kind: Config` decides
    ("/repo/config.json", None),  # JSON already; `auths` decides
])
def test_formats_by_name_or_place(name: str, expected: Format | None) -> None:
    assert of(name) is expected


@pytest.mark.parametrize(("name", "wanted"), [
    ("config", False),
    ("/repo/.kube/config", True),
    ("prod.kubeconfig", True),
    (".dockercfg", True),
    ("/repo/app/config", False),
    # discovery asks again with the absolute path: a `.env*` directory is no `.env` file
    ("/repo/.env.d/config", False),
    (".env.d", True),
])
def test_wants(name: str, wanted: bool) -> None:
    assert wants(name) is wanted


@pytest.mark.parametrize("command", [("secrets", "scan"), ("check", "--checks", "secrets"),
                                     ("check",)])
@pytest.mark.parametrize("in_git", [False, True], ids=["directory", "git"])
def test_a_directory_scan_finds_them(tmp_path: Path, run_cli: Callable[..., CliRun],
                                     command: tuple[str, ...], in_git: bool) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write(root, FILES)
    if in_git:  # committed: `git ls-files` lists `.kube/config` like any other file
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "credentials")
    result = run_cli(*command, "--format", "json", ".", cwd=root)
    assert result.code == 1, result.err
    assert sorted(result.findings()) == EXPECTED


def test_ignored_by_git_is_not_committed(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".gitignore": ".kube/\n", ".kube/config": KUBECONFIG})
    result = run_cli("secrets", "scan", "--format", "json", ".", cwd=git_repo)
    assert (result.code, result.findings()) == (0, [])


def test_named_files_as_pre_commit_passes_them(git_repo: Path,
                                               run_cli: Callable[..., CliRun]) -> None:
    """Named, `config` outside `.kube/` is read too, but as text: only known formats (the
    token on line 15), not the kubeconfig's key and password."""
    write(git_repo, FILES)
    git(git_repo, "add", "-A")
    names = sorted(FILES)
    for args in (names, ["--staged", *names]):
        result = run_cli("check", "--format", "json", *args, cwd=git_repo)
        assert sorted(result.findings()) == sorted(
            [*EXPECTED, ("GG-SECRET-002", "app/config", 15), ("GG-SECRET-002", "config", 15)])


def test_a_staged_run_without_paths_finds_them(git_repo: Path,
                                               run_cli: Callable[..., CliRun]) -> None:
    """The plain git pre-commit hook: `check --staged`, every staged file, by name or place."""
    write(git_repo, FILES)
    git(git_repo, "add", "-A")
    result = run_cli("check", "--staged", "--checks", "secrets", "--format", "json",
                     cwd=git_repo)
    assert result.code == 1, result.err
    assert sorted(result.findings()) == EXPECTED
