"""Repository context: a run on some files of a git work tree (a pre-commit batch) still sees
the CRDs and Namespace labels defined in the repository's other files, and judges each file as
a run on the whole repository would."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_guard import repo_context
from gitops_guard.checks.base import RunInfo
from gitops_guard.config import Config, load_config
from tests.conftest import WIDGET_CRD, CliRun, git, write


# The CRD with `spec.size` of the given type ("integer": as WIDGET_CRD).
def crd(size_type: str) -> str:
    return WIDGET_CRD.replace("size: {type: integer}", f"size: {{type: {size_type}}}")


WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  size: big\n"
NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: apps
  labels: {{pod-security.kubernetes.io/enforce: {level}}}
"""
# Meets every restricted control but allowPrivilegeEscalation; privileged when asked.
POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: apps}}
spec:
  automountServiceAccountToken: false
  securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
  containers:
    - name: web
      image: ghcr.io/acme/web:1.2.0
      securityContext: {{capabilities: {{drop: [ALL]}}, privileged: {privileged}}}
"""
INVALID = ("GG-SCHEMA-001", "apps/widget.yaml", 5)  # "big" is no integer: the CRD was seen
NO_SCHEMA = ("GG-SCHEMA-003", "apps/widget.yaml", 2)  # no CRD seen: no schema for Widget
ESCALATION = "pss-restricted-allow-privilege-escalation"

RunCli = Callable[..., CliRun]


def schema_of_widget(run_cli: RunCli, repo: Path, *extra: str) -> list[tuple[str, str, int]]:
    result = run_cli("schema", "apps/widget.yaml", "--format", "json", *extra, cwd=repo)
    assert result.code in (0, 1), result.err
    return [(rule, path, line) for rule, path, line in result.findings() if line is not None]


def commit(repo: Path) -> None:
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "x")


@pytest.mark.parametrize(("state", "found"), [
    ("committed", True),
    ("staged", True),
    ("untracked", True),  # what the commit may soon hold, as discovery lists it
    ("ignored", False),  # git would never commit it
])
def test_a_crd_elsewhere_validates_a_custom_resource(
        run_cli: RunCli, git_repo: Path, state: str, found: bool) -> None:
    write(git_repo, {"apps/widget.yaml": WIDGET})
    commit(git_repo)
    write(git_repo, {"crds/widget.yaml": crd("integer")})
    if state == "committed":
        commit(git_repo)
    elif state == "staged":
        git(git_repo, "add", "crds")
    elif state == "ignored":
        write(git_repo, {".gitignore": "crds/\n"})
    assert schema_of_widget(run_cli, git_repo) == [INVALID if found else NO_SCHEMA]


def test_config_exclude_and_scope_decide_which_crds_count(run_cli: RunCli,
                                                           git_repo: Path) -> None:
    """The scope is the config file's directory; `exclude` removes files from it."""
    write(git_repo, {"apps/widget.yaml": WIDGET,
                     "vendor/crds/widget.yaml": crd("integer")})
    assert schema_of_widget(run_cli, git_repo) == [INVALID]
    write(git_repo, {".gitops-guard.yaml": "exclude: [vendor/]\n"})
    assert schema_of_widget(run_cli, git_repo) == [NO_SCHEMA]
    # A config below the CRD's directory: the CRD is outside what it governs.
    (git_repo / ".gitops-guard.yaml").unlink()
    write(git_repo, {"apps/.gitops-guard.yaml": "{}\n", "apps/widget.yaml": WIDGET})
    result = run_cli("schema", "widget.yaml", "--format", "json", cwd=git_repo / "apps")
    assert [(rule, line) for rule, _, line in result.findings()] == [("GG-SCHEMA-003", 2)]


def test_outside_a_git_work_tree_only_the_named_files_count(run_cli: RunCli,
                                                            tmp_path: Path) -> None:
    write(tmp_path, {"apps/widget.yaml": WIDGET, "crds/widget.yaml": crd("integer")})
    assert schema_of_widget(run_cli, tmp_path) == [NO_SCHEMA]
    # Named with it, the CRD counts, as before.
    result = run_cli("schema", "apps/widget.yaml", "crds/widget.yaml", "--format", "json",
                     cwd=tmp_path)
    assert result.findings() == [INVALID]


@pytest.mark.parametrize(("level", "privileged", "errors"), [
    # Restricted there: the missing allowPrivilegeEscalation is an error, not a warning.
    ("restricted", "false", [ESCALATION]),
    # Privileged there: a privileged container is fine (the default, baseline, forbids it).
    ("privileged", "true", []),
    ("baseline", "true", ["pss-baseline-privileged"]),
])
def test_a_namespace_label_elsewhere_sets_the_pod_security_level(
        run_cli: RunCli, git_repo: Path, level: str, privileged: str,
        errors: list[str]) -> None:
    write(git_repo, {"namespaces/apps.yaml": NAMESPACE.format(level=level),
                     "apps/pod.yaml": POD.format(privileged=privileged)})
    commit(git_repo)
    result = run_cli("policy", "check", "apps/pod.yaml", "--format", "json", cwd=git_repo)
    found = [f["rule"] for f in result.json()["findings"] if f["severity"] == "error"]
    assert found == errors
    assert result.code == (1 if errors else 0)


TWO_DEFINITIONS = {
    # The same kind defined twice: a whole-repository run takes the first file by path.
    "crds/a-widget.yaml": crd("string"),
    "crds/b-widget.yaml": crd("integer"),
    # The same Namespace twice: the last file by path wins.
    "clusters/dev/namespace.yaml": NAMESPACE.format(level="privileged"),
    "clusters/prod/namespace.yaml": NAMESPACE.format(level="restricted"),
    "apps/widget.yaml": WIDGET,
    "apps/pod.yaml": POD.format(privileged="false"),
    "apps/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
}


@pytest.mark.parametrize("named", [
    ["apps/widget.yaml"], ["apps/pod.yaml"], ["apps/widget.yaml", "apps/pod.yaml"],
    # Named definitions still take their place in path order among the others.
    ["apps/widget.yaml", "crds/b-widget.yaml"], ["apps/pod.yaml", "clusters/prod/namespace.yaml"],
])
def test_a_partial_run_judges_files_as_the_whole_repository_run(
        run_cli: RunCli, git_repo: Path, named: list[str]) -> None:
    write(git_repo, TWO_DEFINITIONS)
    commit(git_repo)
    whole = run_cli("check", "--format", "json", cwd=git_repo)
    part = run_cli("check", *named, "--format", "json", cwd=git_repo)
    checked = set(named)

    def findings(result: CliRun) -> list[tuple[str, str, str, int]]:
        return sorted((f["path"], f["rule"], f["severity"], f["line"])
                      for f in result.json()["findings"] if f["path"] in checked)

    assert findings(part) == findings(whole)
    assert {f["path"] for f in part.json()["findings"]} <= checked


def test_the_whole_repository_run_sees_the_first_crd_and_the_last_namespace(
        run_cli: RunCli, git_repo: Path) -> None:
    """What the partial runs above are compared with."""
    write(git_repo, TWO_DEFINITIONS)
    result = run_cli("check", "--format", "json", cwd=git_repo)
    rules = {(f["path"], f["rule"], f["severity"]) for f in result.json()["findings"]}
    assert ("apps/widget.yaml", "GG-SCHEMA-001", "error") not in rules  # a-widget: string
    assert ("apps/pod.yaml", ESCALATION, "error") in rules  # prod: restricted


def test_a_staged_run_reads_the_context_from_the_index(run_cli: RunCli,
                                                       git_repo: Path) -> None:
    """With --staged, an unstaged edit of the CRD or the Namespace changes nothing."""
    write(git_repo, {"apps/widget.yaml": WIDGET, "apps/pod.yaml": POD.format(privileged="false"),
                     "crds/widget.yaml": crd("integer"),
                     "namespaces/apps.yaml": NAMESPACE.format(level="restricted")})
    git(git_repo, "add", ".")
    write(git_repo, {"crds/widget.yaml": crd("string"),
                     "namespaces/apps.yaml": NAMESPACE.format(level="privileged")})
    staged = run_cli("check", "--staged", "--checks", "schema,policy", "apps/widget.yaml",
                     "apps/pod.yaml", "--format", "json", cwd=git_repo)
    errors = {(f["path"], f["rule"]) for f in staged.json()["findings"]
              if f["severity"] == "error"}
    assert errors == {("apps/widget.yaml", "GG-SCHEMA-001"), ("apps/pod.yaml", ESCALATION)}
    working = run_cli("check", "--checks", "schema,policy", "apps/widget.yaml",
                      "apps/pod.yaml", "--format", "json", cwd=git_repo)
    assert [f for f in working.json()["findings"] if f["severity"] == "error"] == []


def info_for(repo: Path, *targets: str, config: Config | None = None) -> RunInfo:
    absolute = tuple(repo / target if target != "." else repo for target in targets)
    files = tuple(path for path in absolute if path.is_file())
    return RunInfo(files, config or Config(root=repo), repo, targets=absolute)


@pytest.mark.parametrize(("targets", "scoped"), [
    (["apps/widget.yaml"], True),  # a pre-commit batch
    (["apps/widget.yaml", "apps/pod.yaml"], True),
    (["."], False),  # the whole repository: nothing else to see
    # A directory is the scope the user chose (`policy check clusters/dev`, when two clusters
    # define the same Namespace at different levels): as before, nothing else.
    (["apps"], False),
    (["apps/widget.yaml", "apps"], False),
])
def test_context_is_for_runs_on_files(git_repo: Path, targets: list[str],
                                      scoped: bool) -> None:
    write(git_repo, {"apps/widget.yaml": WIDGET, "apps/pod.yaml": POD.format(privileged="false")})
    info = info_for(git_repo, *targets)
    assert repo_context.scope_of(info) == (git_repo if scoped else None)


def test_the_scope_is_the_config_files_directory(git_repo: Path) -> None:
    write(git_repo, {"apps/.gitops-guard.yaml": "{}\n", "apps/widget.yaml": WIDGET})
    config = load_config(git_repo / "apps" / ".gitops-guard.yaml", git_repo)
    assert repo_context.scope_of(info_for(git_repo, "apps/widget.yaml", config=config)) == \
        git_repo / "apps"
    # Checked files outside what the config governs (--config from elsewhere): no context.
    write(git_repo, {"other/x.yaml": WIDGET})
    assert repo_context.scope_of(info_for(git_repo, "other/x.yaml", config=config)) is None


def test_one_scan_per_run_shared_by_the_checks(run_cli: RunCli, git_repo: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    write(git_repo, {"apps/widget.yaml": WIDGET, "apps/pod.yaml": POD.format(privileged="false"),
                     "crds/widget.yaml": crd("integer"),
                     "namespaces/apps.yaml": NAMESPACE.format(level="restricted")})
    greps: list[list[str]] = []
    real_run = subprocess.run

    def recording(args: list[str], **kwargs: object) -> object:
        if args[:2] == ["git", "grep"]:
            greps.append(args)
        return real_run(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(repo_context.subprocess, "run", recording)
    result = run_cli("check", "apps/widget.yaml", "apps/pod.yaml", "--format", "json",
                     cwd=git_repo)
    assert {("apps/widget.yaml", "GG-SCHEMA-001"), ("apps/pod.yaml", ESCALATION)} <= {
        (f["path"], f["rule"]) for f in result.json()["findings"]}
    assert len(greps) == 1
    info = info_for(git_repo, "apps/pod.yaml")
    assert repo_context.context(info) is repo_context.context(info)
    assert repo_context.context(info) is not repo_context.context(info._replace())


def test_context_is_bounded(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(git_repo, {f"crds/{n}.yaml": crd("integer") for n in "abc"})
    write(git_repo, {"apps/widget.yaml": WIDGET})
    monkeypatch.setattr(repo_context, "MAX_FILES", 2)
    found = repo_context.context(info_for(git_repo, "apps/widget.yaml"))
    assert found.crd_files == (git_repo / "crds/a.yaml", git_repo / "crds/b.yaml")
    assert found.truncated is True


@pytest.mark.parametrize("base", ["", "platform/"])  # the scope: the repository, or below
def test_context_lists_files_by_marker(git_repo: Path, base: str) -> None:
    files: dict[str, str | bytes] = {
        "apps/widget.yaml": WIDGET,
        "crds/widget.yaml": crd("integer"),
        "crds/widget.json": '{"kind": "CustomResourceDefinition"}',
        "ns/apps.YML": NAMESPACE.format(level="baseline"),
        "docs/crds.md": "CustomResourceDefinition pod-security.kubernetes.io/enforce",
        "crds/binary.yaml": b"\x00CustomResourceDefinition\x00"}
    write(git_repo, {f"{base}{name}": content for name, content in files.items()})
    scope = git_repo / base
    found = repo_context.context(info_for(git_repo, f"{base}apps/widget.yaml",
                                          config=Config(root=scope)))
    assert found.scope == scope
    assert found.crd_files == (scope / "crds/widget.json", scope / "crds/widget.yaml")
    assert found.namespace_files == (scope / "ns/apps.YML",)
    assert found.truncated is False


def test_git_that_fails_means_no_context(run_cli: RunCli, tmp_path: Path) -> None:
    """A `.git` that git cannot use: the run goes on with the files it was given."""
    write(tmp_path, {".git": "gitdir: /nonexistent/repo\n", "apps/widget.yaml": WIDGET,
                     "crds/widget.yaml": crd("integer")})
    info = info_for(tmp_path, "apps/widget.yaml")
    assert repo_context.context(info) == repo_context.RepoContext(None)
    assert schema_of_widget(run_cli, tmp_path) == [NO_SCHEMA]


def test_without_git_there_is_no_context(git_repo: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    write(git_repo, {"apps/widget.yaml": WIDGET,
                     "crds/widget.yaml": crd("integer")})
    info = info_for(git_repo, "apps/widget.yaml")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no git on it
    assert repo_context.context(info) == repo_context.RepoContext(None)


def test_a_config_per_cluster_keeps_their_namespaces_apart(run_cli: RunCli,
                                                            git_repo: Path) -> None:
    """Two clusters define `apps` at different levels. With the repository's config the last
    by path applies, as in a whole-repository run; with a cluster's own config (named, as a
    hook entry per cluster would), that cluster's directory is the scope."""
    write(git_repo, {".gitops-guard.yaml": "{}\n", "clusters/dev/.gitops-guard.yaml": "{}\n",
                     "clusters/dev/namespace.yaml": NAMESPACE.format(level="privileged"),
                     "clusters/dev/pod.yaml": POD.format(privileged="true"),
                     "clusters/prod/namespace.yaml": NAMESPACE.format(level="restricted")})
    commit(git_repo)

    def errors(config: str) -> list[str]:
        result = run_cli("policy", "check", "clusters/dev/pod.yaml", "--config", config,
                         "--format", "json", cwd=git_repo)
        return sorted({f["rule"] for f in result.json()["findings"]
                       if f["severity"] == "error"})

    assert "pss-baseline-privileged" in errors(".gitops-guard.yaml")  # prod's restricted
    assert errors("clusters/dev/.gitops-guard.yaml") == []  # dev's privileged
