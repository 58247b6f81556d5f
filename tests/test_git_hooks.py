"""The plain git hooks of `hooks/` and `gitops-guard install-hooks`, on real repositories.

`install-hooks` runs in-process through `main(argv)`; the installed hooks then run for real:
`git commit` and `git push` call them, and the pre-push hook is also fed crafted stdin lines.
The hooks call the `gitops-guard` of the environment running the tests (first on PATH).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gitops_guard.install_hooks import hooks_directory
from tests.conftest import GOOD_CONFIGMAP, NAMELESS_CONFIGMAP, REPO_ROOT, CliRun, git, write
from tests.promotion.test_scenarios import ENVIRONMENTS, WEB

RunCli = Callable[..., CliRun]
BIN = Path(sys.executable).parent
ZERO = "0" * 40
SHIPPED = {name: (REPO_ROOT / "hooks" / name).read_text(encoding="utf-8")
           for name in ("pre-commit", "pre-push")}
needs_executable = pytest.mark.skipif(
    not (BIN / "gitops-guard").is_file(),
    reason=f"no gitops-guard executable beside {sys.executable} (pip install -e . first)")


def hook_env(**extra: str) -> dict[str, str]:
    """The test's environment with this venv's gitops-guard first on PATH."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITOPS_GUARD"):
        env.pop(name, None)
    return {**env, **extra}


def run(cwd: Path, *args: str, env: dict[str, str] | None = None,
        stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=env or hook_env(), input=stdin,
                          capture_output=True, text=True, check=False, timeout=300)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- install-hooks -----------------------------------------------------------------------------

def test_the_hooks_are_found_in_the_checkout() -> None:
    assert hooks_directory() == REPO_ROOT / "hooks"
    for text in SHIPPED.values():
        assert text.startswith("#!/bin/sh\n# gitops-guard-hook: ")


def test_install_then_reinstall(git_repo: Path, run_cli: RunCli) -> None:
    result = run_cli("install-hooks", cwd=git_repo)
    assert (result.code, result.out, result.err) == (0, (
        "pre-commit: installed .git/hooks/pre-commit\n"
        "pre-push: installed .git/hooks/pre-push\n"), "")
    for name, text in SHIPPED.items():
        assert (git_repo / ".git/hooks" / name).read_text(encoding="utf-8") == text
        assert mode(git_repo / ".git/hooks" / name) == 0o755
    # Idempotent: ours is left alone when current, updated when an older version.
    result = run_cli("install-hooks", cwd=git_repo)
    assert (result.code, result.out) == (0, (
        "pre-commit: already installed (.git/hooks/pre-commit)\n"
        "pre-push: already installed (.git/hooks/pre-push)\n"))
    (git_repo / ".git/hooks/pre-push").write_text(SHIPPED["pre-push"] + "# old\n",
                                                  encoding="utf-8")
    result = run_cli("install-hooks", cwd=git_repo)
    assert (result.code, result.out) == (0, (
        "pre-commit: already installed (.git/hooks/pre-commit)\n"
        "pre-push: updated .git/hooks/pre-push\n"))
    assert (git_repo / ".git/hooks/pre-push").read_text(encoding="utf-8") == SHIPPED["pre-push"]


def test_no_pre_push_and_a_subdirectory(git_repo: Path, run_cli: RunCli) -> None:
    (git_repo / "apps").mkdir()
    result = run_cli("install-hooks", "--no-pre-push", cwd=git_repo / "apps")
    assert (result.code, result.out) == (0, "pre-commit: installed ../.git/hooks/pre-commit\n")
    assert not (git_repo / ".git/hooks/pre-push").exists()


FOREIGN = "#!/bin/sh\necho 'the team lint'\n"


@pytest.mark.parametrize(("foreign", "args", "named"), [
    (("pre-commit",), (), ".git/hooks/pre-commit"),
    (("pre-push",), (), ".git/hooks/pre-push"),
    (("pre-commit", "pre-push"), (), ".git/hooks/pre-commit, .git/hooks/pre-push"),
])
def test_a_foreign_hook_is_refused(git_repo: Path, run_cli: RunCli, foreign: tuple[str, ...],
                                   args: tuple[str, ...], named: str) -> None:
    for name in foreign:
        write(git_repo, {f".git/hooks/{name}": FOREIGN})
    result = run_cli("install-hooks", *args, cwd=git_repo)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"gitops-guard: error: {named}: a hook that is not gitops-guard's is already "
        "installed; add a call to gitops-guard to it yourself (see hooks/ in the gitops-guard "
        "sources), or run again with --force to replace it (it is kept as NAME.orig)\n")
    # Nothing was written, not even the hook that was free.
    assert sorted(p.name for p in (git_repo / ".git/hooks").iterdir()
                  if not p.name.endswith(".sample")) == sorted(foreign)


def test_force_replaces_a_foreign_hook_and_keeps_it(git_repo: Path, run_cli: RunCli) -> None:
    write(git_repo, {".git/hooks/pre-commit": FOREIGN})
    (git_repo / ".git/hooks/pre-commit").chmod(0o750)
    result = run_cli("install-hooks", "--force", cwd=git_repo)
    assert (result.code, result.out) == (0, (
        "pre-commit: replaced .git/hooks/pre-commit\n"
        "pre-push: installed .git/hooks/pre-push\n"))
    assert (git_repo / ".git/hooks/pre-commit").read_text(encoding="utf-8") == \
        SHIPPED["pre-commit"]
    assert (git_repo / ".git/hooks/pre-commit.orig").read_text(encoding="utf-8") == FOREIGN
    assert mode(git_repo / ".git/hooks/pre-commit.orig") == 0o750


@pytest.mark.parametrize(("hooks_path", "cwd", "shown"), [
    (".githooks", "", ".githooks"),
    (".githooks", "apps", "../.githooks"),
    ("ci/hooks", "", "ci/hooks"),
    ("ABSOLUTE", "", "../shared-hooks"),  # shown relative to the working directory
])
def test_core_hooks_path_is_honoured(git_repo: Path, run_cli: RunCli, tmp_path: Path,
                                     hooks_path: str, cwd: str, shown: str) -> None:
    if hooks_path == "ABSOLUTE":
        hooks_path = str(tmp_path / "shared-hooks")
    git(git_repo, "config", "core.hooksPath", hooks_path)
    (git_repo / cwd).mkdir(exist_ok=True)
    result = run_cli("install-hooks", cwd=git_repo / cwd)
    assert (result.code, result.out) == (0, (
        f"pre-commit: installed {shown}/pre-commit\npre-push: installed {shown}/pre-push\n"))
    target = Path(os.path.normpath(git_repo / cwd / shown))
    assert sorted(p.name for p in target.iterdir()) == ["pre-commit", "pre-push"]
    assert not (git_repo / ".git/hooks/pre-commit").exists()


def test_unreadable_and_unwritable_hook_places(git_repo: Path, run_cli: RunCli) -> None:
    (git_repo / ".git/hooks/pre-commit").mkdir()
    result = run_cli("install-hooks", cwd=git_repo)
    assert (result.code, result.err) == (2, (
        f"gitops-guard: error: {git_repo}/.git/hooks/pre-commit: cannot read the existing "
        "hook: Is a directory\n"))
    write(git_repo, {"not-a-directory": ""})
    git(git_repo, "config", "core.hooksPath", "not-a-directory/hooks")
    result = run_cli("install-hooks", cwd=git_repo)
    assert (result.code, result.err) == (2, (
        f"gitops-guard: error: {git_repo}/not-a-directory/hooks: cannot write the hook: "
        "Not a directory\n"))


def test_outside_a_repository(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("install-hooks", cwd=tmp_path)
    assert (result.code, result.err) == (2, (
        f"gitops-guard: error: install-hooks writes git hooks, but {tmp_path} is not inside "
        "a git repository\n"))


# -- the pre-commit hook, through `git commit` -------------------------------------------------

@pytest.fixture
def hooked(git_repo: Path, run_cli: RunCli) -> Path:
    git(git_repo, "config", "commit.gpgsign", "false")
    assert run_cli("install-hooks", cwd=git_repo).code == 0
    return git_repo


def commit(repo: Path, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return run(repo, "git", "commit", "-m", "change", *args, env=env)


def commits(repo: Path) -> int:
    result = run(repo, "git", "rev-list", "--count", "HEAD")
    return int(result.stdout) if result.returncode == 0 else 0


@needs_executable
def test_a_staged_bad_manifest_is_refused(hooked: Path) -> None:
    write(hooked, {"bad.yaml": NAMELESS_CONFIGMAP})
    git(hooked, "add", "bad.yaml")
    result = commit(hooked)
    assert result.returncode == 1
    assert "bad.yaml\n  3:1      error    GG-MANIFEST-005  object has no metadata.name" in \
        result.stdout + result.stderr
    assert commits(hooked) == 0


@needs_executable
def test_an_unstaged_bad_edit_does_not_block(hooked: Path) -> None:
    write(hooked, {"app.yaml": GOOD_CONFIGMAP})
    git(hooked, "add", "app.yaml")
    write(hooked, {"app.yaml": NAMELESS_CONFIGMAP})  # not staged
    result = commit(hooked)
    assert result.returncode == 0, result.stdout + result.stderr
    assert commits(hooked) == 1
    # The note that the promotion check has nothing to do: no `promotion:` section.
    assert "no `promotion:` section in the config; promotion check skipped" in result.stderr
    # The reverse: fix the working tree, but leave the bad version staged.
    git(hooked, "add", "app.yaml")
    write(hooked, {"app.yaml": GOOD_CONFIGMAP})
    assert commit(hooked).returncode == 1
    assert commits(hooked) == 1


@needs_executable
def test_the_index_of_the_commit_being_made(hooked: Path) -> None:
    """`git commit -a` and `git commit PATH` build their own index (GIT_INDEX_FILE)."""
    write(hooked, {"app.yaml": GOOD_CONFIGMAP, "other.yaml": GOOD_CONFIGMAP})
    git(hooked, "add", ".")
    assert commit(hooked).returncode == 0
    write(hooked, {"app.yaml": NAMELESS_CONFIGMAP})  # a bad edit, not staged
    assert commit(hooked, "-a").returncode == 1
    # Committing only other.yaml: app.yaml's bad edit is not part of this commit.
    write(hooked, {"other.yaml": GOOD_CONFIGMAP.replace("value", "changed")})
    result = commit(hooked, "other.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert commits(hooked) == 2


@needs_executable
def test_a_missing_executable_blocks_with_a_message(hooked: Path) -> None:
    write(hooked, {"app.yaml": GOOD_CONFIGMAP})
    git(hooked, "add", "app.yaml")
    result = commit(hooked, env=hook_env(GITOPS_GUARD=str(hooked / "no-such-gitops-guard")))
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"gitops-guard pre-commit hook: '{hooked}/no-such-gitops-guard' was not found. "
        "Install gitops-guard, put it\non PATH or set GITOPS_GUARD to its path (git commit "
        "--no-verify skips this hook).\n")
    # GITOPS_GUARD names the executable when PATH does not have it.
    result = commit(hooked, env={**hook_env(GITOPS_GUARD=str(BIN / "gitops-guard")),
                                 "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr


# -- promotion: the pre-commit and pre-push hooks ----------------------------------------------

def promotion_files(prod: str, staging: str = "1.0.0", dev: str = "1.0.0") -> dict[str, str]:
    section = {"environments": list(ENVIRONMENTS), "apps": list(WEB.apps)}
    return {".gitops-guard.yaml": yaml.safe_dump({"promotion": section}, sort_keys=False),
            **WEB.common, **WEB.at(dev, "dev"), **WEB.at(staging, "staging"),
            **WEB.at(prod, "prod")}


@pytest.fixture
def clone(tmp_path: Path, run_cli: RunCli) -> Path:
    """A clone of a bare remote whose main runs web 1.0.0 everywhere, hooks installed."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    write(seed, promotion_files("1.0.0"))
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "seed")
    git(tmp_path, "clone", "-q", "--bare", str(seed), "remote.git")
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), "work")
    work = tmp_path / "work"
    git(work, "config", "commit.gpgsign", "false")
    assert run_cli("install-hooks", cwd=work).code == 0
    return work


@needs_executable
def test_pre_commit_runs_the_promotion_check_when_configured(clone: Path) -> None:
    write(clone, WEB.at("2.0.0", "prod"))  # staging never ran 2.0.0
    git(clone, "add", ".")
    result = commit(clone)
    assert result.returncode == 1
    assert "PROMO001" in result.stdout + result.stderr
    assert commits(clone) == 1
    git(clone, "reset", "-q", "--hard")
    write(clone, WEB.at("2.0.0", "dev"))  # the first environment takes any version
    git(clone, "add", ".")
    result = commit(clone)
    assert result.returncode == 0, result.stdout + result.stderr


def remote_main(clone: Path) -> str:
    return git(clone.parent / "remote.git", "rev-parse", "main").strip()


@needs_executable
def test_git_push_refuses_a_skipped_stage(clone: Path) -> None:
    before = remote_main(clone)
    write(clone, WEB.at("2.0.0", "prod"))
    git(clone, "commit", "-q", "-a", "--no-verify", "-m", "prod: 2.0.0")  # past pre-commit
    result = run(clone, "git", "push", "-q", "origin", "main")
    assert result.returncode != 0
    assert "PROMO001" in result.stdout + result.stderr
    assert "apps/web/overlays/prod/kustomization.yaml" in result.stdout + result.stderr
    assert remote_main(clone) == before
    # Undo it and promote properly: dev first.
    git(clone, "reset", "-q", "--hard", "origin/main")
    write(clone, WEB.at("2.0.0", "dev"))
    git(clone, "commit", "-q", "-a", "--no-verify", "-m", "dev: 2.0.0")
    result = run(clone, "git", "push", "-q", "origin", "main")
    assert result.returncode == 0, result.stdout + result.stderr
    assert remote_main(clone) == git(clone, "rev-parse", "HEAD").strip()


@needs_executable
def test_pre_push_lines(clone: Path) -> None:
    """The hook fed git's stdin by hand: new branches, deletions, unknown remote commits."""
    main = git(clone, "rev-parse", "HEAD").strip()
    write(clone, WEB.at("2.0.0", "prod"))
    git(clone, "commit", "-q", "-a", "--no-verify", "-m", "prod: 2.0.0")
    bad = git(clone, "rev-parse", "HEAD").strip()
    hook = str(clone / ".git/hooks/pre-push")
    url = str(clone.parent / "remote.git")

    def push(*lines: str) -> subprocess.CompletedProcess[str]:
        return run(clone, hook, "origin", url, stdin="".join(line + "\n" for line in lines))

    cases = [
        # (stdin lines, exit code, PROMO001 reported)
        ([f"refs/heads/main {bad} refs/heads/main {main}"], 1, True),
        ([f"refs/heads/topic {bad} refs/heads/topic {ZERO}"], 1, True),  # new branch
        ([f"refs/heads/main {bad} refs/heads/main {'1' * 40}"], 1, True),  # not in this clone
        ([f"refs/heads/main {main} refs/heads/main {main}"], 0, False),
        ([f"(delete) {ZERO} refs/heads/old {main}"], 0, False),
        ([f"(delete) {ZERO} refs/heads/old {main}",
          f"refs/heads/topic {bad} refs/heads/topic {ZERO}"], 1, True),
        ([], 0, False),
    ]
    for lines, code, reported in cases:
        result = push(*lines)
        assert result.returncode == code, (lines, result.stdout, result.stderr)
        assert ("PROMO001" in result.stdout + result.stderr) == reported, lines
    # No remote default branch known: a note, and the check still runs (against HEAD).
    git(clone, "remote", "set-head", "origin", "-d")
    result = push(f"refs/heads/topic {bad} refs/heads/topic {ZERO}")
    assert ("gitops-guard pre-push hook: refs/heads/topic: the default branch of 'origin' is "
            "unknown (git remote set-head origin --auto); checked against deploy_ref\n"
            ) in result.stderr


# -- promotion check --if-configured -----------------------------------------------------------

@pytest.mark.parametrize(("config", "args", "code", "err"), [
    (None, ("--if-configured",), 0,
     "gitops-guard: no `promotion:` section in the config; promotion check skipped\n"),
    ("fail_on: warning\n", ("--if-configured",), 0,
     "gitops-guard: no `promotion:` section in the config; promotion check skipped\n"),
    # Without the flag, asking for the check with nothing to check is an error.
    ("fail_on: warning\n", (), 2,
     "gitops-guard: error: no `promotion:` section in the config (.gitops-guard.yaml): name "
     "the environments and where each app's version lives (docs/promotion.md)\n"),
    # A broken config is never skipped.
    ("fail_on: sometimes\n", ("--if-configured",), 2,
     "gitops-guard: error: invalid configuration:\n  .gitops-guard.yaml:1:10: fail_on: "
     '"sometimes" is not one of "error" or "warning"\n'),
])
def test_promotion_if_configured(git_repo: Path, run_cli: RunCli, config: str | None,
                                 args: tuple[str, ...], code: int, err: str) -> None:
    if config is not None:
        write(git_repo, {".gitops-guard.yaml": config})
    result = run_cli("promotion", "check", *args, cwd=git_repo)
    assert (result.code, result.out, result.err) == (code, "", err)


def test_install_hooks_without_git(git_repo: Path, run_cli: RunCli, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = run_cli("install-hooks", cwd=git_repo)
    assert (result.code, result.err) == (
        2, "gitops-guard: error: install-hooks writes git hooks, but git is not installed\n")
