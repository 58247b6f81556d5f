"""`--staged`: the git index is checked, not the working tree, on real repositories.

Each test stages one version of a file and leaves another in the working tree, then compares
the findings of `--staged` with those of a plain run: (rule, path, line) from the JSON report,
and the exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GOOD_CONFIGMAP, NAMELESS_CONFIGMAP, CliRun, git, write
from tests.schema.test_check import WIDGET, WIDGET_CRD
from tests.secrets.fakes import TOKENS

RunCli = Callable[..., CliRun]
NAMELESS = ("GG-MANIFEST-005", 3)  # NAMELESS_CONFIGMAP's finding: rule, line


def staged(run_cli: RunCli, repo: Path, *args: str, command: str = "check") -> CliRun:
    return run_cli(*command.split(), "--staged", "--format", "json", *args, cwd=repo)


def plain(run_cli: RunCli, repo: Path, *args: str, command: str = "check") -> CliRun:
    return run_cli(*command.split(), "--format", "json", *args, cwd=repo)


def stage(repo: Path, files: dict[str, str]) -> None:
    write(repo, files)
    git(repo, "add", "--", *files)


# -- the staged version is what counts ---------------------------------------------------------

@pytest.mark.parametrize(("staged_text", "working_text", "staged_findings", "plain_findings"), [
    # staged bad, working good: the commit would hold the bad one
    (NAMELESS_CONFIGMAP, GOOD_CONFIGMAP, [("GG-MANIFEST-005", "app.yaml", 3)], []),
    # staged good, working bad: an unstaged edit does not fail the commit
    (GOOD_CONFIGMAP, NAMELESS_CONFIGMAP, [], [("GG-MANIFEST-005", "app.yaml", 3)]),
    # a working-tree version that does not even parse is not read
    (NAMELESS_CONFIGMAP, "a: [\n", [("GG-MANIFEST-005", "app.yaml", 3)],
     [("GG-MANIFEST-001", "app.yaml", 2)]),
], ids=["staged-bad", "working-bad", "working-unparsable"])
def test_the_index_not_the_working_tree(git_repo: Path, run_cli: RunCli, staged_text: str,
                                        working_text: str, staged_findings: list[object],
                                        plain_findings: list[object]) -> None:
    stage(git_repo, {"app.yaml": staged_text})
    write(git_repo, {"app.yaml": working_text})
    result = staged(run_cli, git_repo)
    assert (result.findings(), result.code) == (staged_findings, 1 if staged_findings else 0)
    result = plain(run_cli, git_repo)
    assert (result.findings(), result.code) == (plain_findings, 1 if plain_findings else 0)


PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: c, image: nginx, securityContext: {privileged: true}}
"""


@pytest.mark.parametrize(("command", "name", "staged_text", "working_text", "staged_errors",
                          "plain_errors"), [
    # the staged CRD makes the Widget valid; the working tree's would not
    ("schema", "w.yaml", WIDGET_CRD.replace("integer", "string") + "---\n" + WIDGET,
     WIDGET_CRD + "---\n" + WIDGET, [], ["GG-SCHEMA-001"]),
    ("schema", "w.yaml", WIDGET_CRD + "---\n" + WIDGET,
     WIDGET_CRD + "---\n" + WIDGET.replace("big", "1"), ["GG-SCHEMA-001"], []),
    ("secrets scan", "app.env", f"TOKEN={TOKENS['github-classic-token']}\n", "TOKEN=\n",
     ["GG-SECRET-002"], []),
    ("policy check", "pod.yaml", PRIVILEGED_POD, PRIVILEGED_POD.replace("true", "false"),
     ["pss-baseline-privileged"], []),
], ids=["schema-staged-good", "schema-staged-bad", "secrets-scan", "policy-check"])
def test_every_file_command_takes_staged(git_repo: Path, run_cli: RunCli, command: str,
                                         name: str, staged_text: str, working_text: str,
                                         staged_errors: list[str],
                                         plain_errors: list[str]) -> None:
    stage(git_repo, {name: staged_text})
    write(git_repo, {name: working_text})

    def errors(result: CliRun) -> list[str]:
        return [f["rule"] for f in result.json()["findings"] if f["severity"] == "error"]

    assert errors(staged(run_cli, git_repo, command=command)) == staged_errors
    assert errors(plain(run_cli, git_repo, command=command)) == plain_errors


def test_new_untracked_and_deleted_files(git_repo: Path, run_cli: RunCli) -> None:
    stage(git_repo, {"kept.yaml": NAMELESS_CONFIGMAP, "removed.yaml": NAMELESS_CONFIGMAP,
                     "unstaged.yaml": NAMELESS_CONFIGMAP})
    git(git_repo, "commit", "-q", "--no-verify", "-m", "seed")
    stage(git_repo, {"new.yaml": NAMELESS_CONFIGMAP})                   # staged, never committed
    write(git_repo, {"untracked.yaml": NAMELESS_CONFIGMAP})            # never staged
    git(git_repo, "rm", "-q", "removed.yaml")                          # deleted everywhere
    git(git_repo, "rm", "-q", "--cached", "unstaged.yaml")             # deleted, file kept
    result = staged(run_cli, git_repo)
    assert result.findings() == [("GG-MANIFEST-005", "kept.yaml", 3),
                                 ("GG-MANIFEST-005", "new.yaml", 3)]
    assert result.json()["summary"]["files"] == 2
    # Named explicitly, a staged deletion is still absent (it was tracked), not an error.
    for name in ("removed.yaml", "unstaged.yaml", "untracked.yaml"):
        result = staged(run_cli, git_repo, name)
        assert (result.findings(), result.code) == ([], 0), name


# -- which files: PATHs, wants(), exclude ------------------------------------------------------

@pytest.mark.parametrize(("cwd", "paths", "expected"), [
    ("", (), ["a/one.yaml", "b/two.yaml", "top.yaml"]),
    ("", ("a",), ["a/one.yaml"]),
    ("", ("a/", "top.yaml"), ["a/one.yaml", "top.yaml"]),
    ("", ("b/two.yaml",), ["b/two.yaml"]),
    ("", (".",), ["a/one.yaml", "b/two.yaml", "top.yaml"]),
    # paths are relative to the working directory, and so are the findings' paths
    ("a", (), ["../b/two.yaml", "../top.yaml", "one.yaml"]),
    ("a", (".",), ["one.yaml"]),
    ("a", ("../b",), ["../b/two.yaml"]),
    ("b", ("../top.yaml",), ["../top.yaml"]),
])
def test_paths_limit_the_staged_files(git_repo: Path, run_cli: RunCli, cwd: str,
                                      paths: tuple[str, ...], expected: list[str]) -> None:
    stage(git_repo, {"a/one.yaml": NAMELESS_CONFIGMAP, "b/two.yaml": NAMELESS_CONFIGMAP,
                     "top.yaml": NAMELESS_CONFIGMAP})
    result = staged(run_cli, git_repo / cwd, *paths)
    assert [path for _, path, _ in result.findings()] == expected
    assert result.code == 1


def test_wanted_names_and_explicit_files(git_repo: Path, run_cli: RunCli) -> None:
    token = TOKENS["github-classic-token"]
    stage(git_repo, {"notes.xyz": f"token = {token}\n", "app.yaml": GOOD_CONFIGMAP,
                     "README.md": f"token = {token}\n"})
    # In a directory, a file is read when some enabled check wants its name.
    result = staged(run_cli, git_repo, "--checks", "manifest")
    assert (result.json()["summary"]["files"], result.findings()) == (1, [])
    result = staged(run_cli, git_repo, command="secrets scan")
    assert [path for _, path, _ in result.findings()] == ["README.md"]
    # A file named explicitly is read whatever its name.
    result = staged(run_cli, git_repo, "notes.xyz", command="secrets scan")
    assert [path for _, path, _ in result.findings()] == ["notes.xyz"]


def test_exclude_globs_and_own_files(git_repo: Path, run_cli: RunCli) -> None:
    stage(git_repo, {"apps/a.yaml": NAMELESS_CONFIGMAP, "vendor/b.yaml": NAMELESS_CONFIGMAP,
                     ".gitops-guard.yaml": "exclude: ['vendor/**']\n"})
    assert staged(run_cli, git_repo).findings() == [("GG-MANIFEST-005", "apps/a.yaml", 3)]
    # Excluded even when named, as on disk.
    assert staged(run_cli, git_repo, "vendor/b.yaml").findings() == []


def test_symlinks_and_submodules_are_not_files(git_repo: Path, run_cli: RunCli) -> None:
    stage(git_repo, {"real.yaml": GOOD_CONFIGMAP})
    os.symlink("real.yaml", git_repo / "link.yaml")
    git(git_repo, "add", "link.yaml")
    result = staged(run_cli, git_repo)
    assert (result.json()["summary"]["files"], result.code) == (1, 0)


# -- what prepare reads: candidates from the index ---------------------------------------------

def test_crds_among_the_staged_files_come_from_the_index(git_repo: Path,
                                                         run_cli: RunCli) -> None:
    stage(git_repo, {"crds/widget.yaml": WIDGET_CRD, "apps/w.yaml": WIDGET})
    (git_repo / "crds" / "widget.yaml").unlink()  # an unstaged deletion
    result = staged(run_cli, git_repo, command="schema")
    assert result.findings() == [("GG-SCHEMA-001", "apps/w.yaml", 4)]
    # On disk the CRD is gone: no schema for the Widget, only a warning.
    assert [f[0] for f in plain(run_cli, git_repo, command="schema").findings()] == [
        "GG-SCHEMA-003"]


RESTRICTED_NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: restricted}
"""
ROOT_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  containers:
    - {name: c, image: nginx}
"""


def test_namespace_levels_come_from_the_index(git_repo: Path, run_cli: RunCli) -> None:
    stage(git_repo, {"ns.yaml": RESTRICTED_NAMESPACE, "pod.yaml": ROOT_POD})
    write(git_repo, {"ns.yaml": RESTRICTED_NAMESPACE.replace("restricted", "privileged")})

    def errors(result: CliRun) -> set[str]:
        return {f["rule"] for f in result.json()["findings"] if f["severity"] == "error"}

    assert "pss-restricted-run-as-non-root" in errors(
        staged(run_cli, git_repo, command="policy check"))
    assert errors(plain(run_cli, git_repo, command="policy check")) == set()


# -- errors and warnings -----------------------------------------------------------------------

def test_outside_a_git_work_tree_is_a_usage_error(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path, {"app.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", "--staged", cwd=tmp_path)
    assert (result.code, result.out) == (2, "")
    assert result.err == (f"gitops-guard: error: --staged checks what is staged in git, but "
                          f"{tmp_path} is not inside a git work tree\n")


@pytest.mark.parametrize(("path", "message"), [
    ("missing.yaml", "no such file or directory in the index or the working tree: "
                     "missing.yaml"),
    ("../elsewhere", "../elsewhere is outside the git work tree .: --staged checks staged "
                     "files"),
])
def test_bad_paths_are_usage_errors(git_repo: Path, run_cli: RunCli, path: str,
                                    message: str) -> None:
    stage(git_repo, {"app.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", "--staged", path, cwd=git_repo)
    assert (result.code, result.err) == (2, f"gitops-guard: error: {message}\n")


def test_unstaged_config_changes_are_warned_about(git_repo: Path, run_cli: RunCli) -> None:
    stage(git_repo, {".gitops-guard.yaml": "fail_on: warning\n", "app.yaml": GOOD_CONFIGMAP})
    assert run_cli("check", "--staged", cwd=git_repo).err == ""
    write(git_repo, {".gitops-guard.yaml": "fail_on: error\n"})
    result = run_cli("check", "--staged", cwd=git_repo)
    assert result.err == ("gitops-guard: warning: .gitops-guard.yaml has unstaged changes; "
                          "--staged reads it from the working tree\n")
    assert result.code == 0


def test_an_empty_index_checks_nothing(git_repo: Path, run_cli: RunCli) -> None:
    write(git_repo, {"app.yaml": NAMELESS_CONFIGMAP})
    result = staged(run_cli, git_repo)
    assert (result.code, result.json()["summary"]["files"]) == (0, 0)


def test_an_untracked_config_is_no_warning(git_repo: Path, run_cli: RunCli) -> None:
    write(git_repo, {".gitops-guard.yaml": "fail_on: warning\n"})
    stage(git_repo, {"app.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", "--staged", cwd=git_repo)
    assert (result.code, result.err) == (0, "")


def test_without_git_on_path(git_repo: Path, run_cli: RunCli, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    stage(git_repo, {"app.yaml": GOOD_CONFIGMAP})
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = run_cli("check", "--staged", cwd=git_repo)
    assert (result.code, result.err) == (
        2, "gitops-guard: error: --staged checks what is staged in git, but git is not "
           "installed\n")


def test_a_missing_object_is_a_clear_error(git_repo: Path, run_cli: RunCli) -> None:
    stage(git_repo, {"app.yaml": GOOD_CONFIGMAP})
    blob = git(git_repo, "rev-parse", ":app.yaml").strip()
    (git_repo / ".git/objects" / blob[:2] / blob[2:]).unlink()
    result = run_cli("check", "--staged", cwd=git_repo)
    assert (result.code, result.err) == (
        2, f"gitops-guard: error: git cannot read the staged object {blob} in .: is the "
           "repository corrupt? (git fsck)\n")


def test_staged_contents_reach_worker_processes(git_repo: Path, run_cli: RunCli) -> None:
    names = [f"apps/cm-{index:02}.yaml" for index in range(60)]  # enough to fork workers
    stage(git_repo, dict.fromkeys(names, NAMELESS_CONFIGMAP))
    write(git_repo, dict.fromkeys(names, GOOD_CONFIGMAP))
    result = staged(run_cli, git_repo, "--jobs", "2", "--checks", "manifest")
    assert result.findings() == [("GG-MANIFEST-005", name, 3) for name in names]


def test_unstaged_baseline_changes_are_warned_about(git_repo: Path, run_cli: RunCli) -> None:
    stage(git_repo, {"app.yaml": GOOD_CONFIGMAP})
    assert run_cli("secrets", "baseline", "create", cwd=git_repo).code == 0
    git(git_repo, "add", ".gitops-guard-baseline.json")
    assert run_cli("secrets", "scan", "--staged", cwd=git_repo).err == ""
    write(git_repo, {".gitops-guard-baseline.json": (
        git_repo / ".gitops-guard-baseline.json").read_text(encoding="utf-8") + "\n"})
    result = run_cli("secrets", "scan", "--staged", cwd=git_repo)
    assert result.err == ("gitops-guard: warning: .gitops-guard-baseline.json has unstaged "
                          "changes; --staged reads it from the working tree\n")
