"""The policy check and `gitops-guard policy ...` as a user runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliRun, write

PRIVILEGED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {namespace}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
          securityContext:
            privileged: true
"""
NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  labels:
    pod-security.kubernetes.io/enforce: {level}
"""
PSS = ("pss-baseline-privileged", "pss-restricted-allow-privilege-escalation")


def policy(run_cli: Callable[..., CliRun], root: Path, *args: str) -> dict[str, str]:
    """rule id -> severity of the PSS findings in a JSON report."""
    result = run_cli("policy", "check", "--format", "json", *args, cwd=root)
    assert result.code in (0, 1), result.err
    return {f["rule"]: f["severity"] for f in result.json()["findings"] if f["rule"] in PSS}


def test_baseline_errors_restricted_warnings(tmp_path: Path,
                                             run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"web.yaml": PRIVILEGED.format(namespace="apps")})
    assert policy(run_cli, tmp_path) == {PSS[0]: "error", PSS[1]: "warning"}
    assert policy(run_cli, tmp_path, "--profile", "restricted") == {PSS[0]: "error",
                                                                     PSS[1]: "error"}


@pytest.mark.parametrize(("level", "expected"), [
    ("restricted", {PSS[0]: "error", PSS[1]: "error"}),
    ("baseline", {PSS[0]: "error", PSS[1]: "warning"}),
    ("privileged", {}),
])
def test_namespace_labels_set_the_level(tmp_path: Path, level: str, expected: dict[str, str],
                                        run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"ns.yaml": NAMESPACE.format(name="apps", level=level),
                     "web.yaml": PRIVILEGED.format(namespace="apps"),
                     "other.yaml": PRIVILEGED.format(namespace="other")})
    result = run_cli("policy", "check", "--format", "json", cwd=tmp_path)
    found = {(f["path"], f["rule"]): f["severity"] for f in result.json()["findings"]
             if f["rule"] in PSS}
    assert {rule: sev for (path, rule), sev in found.items() if path == "web.yaml"} == expected
    assert {rule: sev for (path, rule), sev in found.items() if path == "other.yaml"} == {
        PSS[0]: "error", PSS[1]: "warning"}


SYSCTL = """\
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: {namespace}}}
spec:
  securityContext:
    sysctls: [{{name: net.ipv4.tcp_keepalive_time, value: "600"}}]
  containers: [{{name: c, image: "app:1.0"}}]
"""


@pytest.mark.parametrize(("how", "version", "allowed"), [
    ("flag", "1.28", False), ("flag", "1.29", True), ("config", "1.28", False),
    ("namespace", "v1.28", False), ("namespace", "v1.30", True), ("namespace", "latest", True),
])
def test_the_pss_version(tmp_path: Path, how: str, version: str, allowed: bool,
                         run_cli: Callable[..., CliRun]) -> None:
    files = {"pod.yaml": SYSCTL.format(namespace="apps")}
    args: list[str] = []
    if how == "flag":
        args = ["--pss-version", version]
    elif how == "config":
        files[".gitops-guard.yaml"] = f"policy:\n  pss_version: '{version}'\n"
    else:
        files["ns.yaml"] = NAMESPACE.format(name="apps", level="baseline") + \
            f"    pod-security.kubernetes.io/enforce-version: {version}\n"
    write(tmp_path, files)
    result = run_cli("policy", "check", "--format", "json", *args, cwd=tmp_path)
    rules = {f["rule"] for f in result.json()["findings"]}
    assert ("pss-baseline-sysctls" not in rules) is allowed


@pytest.mark.parametrize(("args", "message"), [
    (["--pss-version", "2.0"], "not a Pod Security Standards version"),
    (["--pss-version", "1.99"], "newer than the newest"),
    (["--profile", "strict"], "invalid choice"),
])
def test_bad_levels_are_usage_errors(tmp_path: Path, args: list[str], message: str,
                                     run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"web.yaml": PRIVILEGED.format(namespace="apps")})
    result = run_cli("policy", "check", *args, cwd=tmp_path)
    assert result.code == 2 and message in result.err


TEAM_POLICY = """\
apiVersion: policy.gitops-guard.io/v1alpha1
kind: Policy
metadata: {name: require-team}
spec:
  id: require-team
  title: Workloads name their team
  severity: error
  match: {podSpec: true}
  validations:
    - expression: "'team' in labels"
      message: no team label
"""


def test_a_user_policy_is_loaded_from_the_config_and_can_be_waived(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".gitops-guard.yaml": "policy:\n  paths: [policies/]\n",
                     "policies/team.yaml": TEAM_POLICY,
                     "web.yaml": PRIVILEGED.format(namespace="apps")})
    result = run_cli("policy", "check", "--format", "json", cwd=tmp_path)
    assert ("require-team", "web.yaml", 1) in result.findings()  # the object: its first line
    write(tmp_path, {".gitops-guard.yaml": "policy:\n  paths: [policies/]\nwaivers:\n"
                                           "  - rules: [require-team]\n"
                                           "    reason: the web team is being renamed\n"})
    result = run_cli("policy", "check", "--format", "json", cwd=tmp_path)
    assert "require-team" not in {f["rule"] for f in result.json()["findings"]}
    assert [s["rule"] for s in result.json()["suppressed"]] == ["require-team"]


@pytest.mark.parametrize(("text", "message"), [
    (TEAM_POLICY.replace("'team' in labels", "labels.?team"), "policies/team.yaml:"),
    (TEAM_POLICY.replace("'team' in labels", "labels +"), "policies/team.yaml:"),
    (TEAM_POLICY.replace("  severity: error\n", "  severity: error\n  colour: red\n"),
     "policies/team.yaml:"),
])
def test_a_broken_policy_file_is_a_clear_error(tmp_path: Path, text: str, message: str,
                                                run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".gitops-guard.yaml": "policy:\n  paths: [policies/]\n",
                     "policies/team.yaml": text, "web.yaml": PRIVILEGED.format(namespace="a")})
    result = run_cli("policy", "check", cwd=tmp_path)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(("config", "present", "absent"), [
    ("rules:\n  bp-image-tag: off\n", set(), {"bp-image-tag"}),
    ("rules:\n  bp-replicas: warning\n", {"bp-replicas"}, set()),
    ("policy:\n  packs: {best-practices: false}\n", {"pss-baseline-privileged"},
     {"bp-image-tag", "bp-cpu-requests"}),
    ("", {"bp-image-tag"}, {"bp-replicas"}),
])
def test_switching_rules_and_packs(tmp_path: Path, config: str, present: set[str],
                                   absent: set[str], run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".gitops-guard.yaml": config or "{}\n",
                     "web.yaml": PRIVILEGED.format(namespace="apps").replace(
                         "web:1.0.0", "web:latest")})
    result = run_cli("policy", "check", "--format", "json", cwd=tmp_path)
    rules = {f["rule"] for f in result.json()["findings"]}
    assert present <= rules and not absent & rules


def test_annotations_name_policy_ids(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    text = PRIVILEGED.format(namespace="apps").replace(
        "  namespace: apps\n", "  namespace: apps\n  annotations:\n"
        "    ignore.gitops-guard.io/pss-baseline-privileged: debug image, removed in OPS-12\n")
    write(tmp_path, {"web.yaml": text})
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    rules = {f["rule"] for f in result.json()["findings"]}
    assert "pss-baseline-privileged" not in rules and "GG-SUPPRESS-003" not in rules
    assert "pss-baseline-privileged" in {s["rule"] for s in result.json()["suppressed"]}


def test_an_unknown_policy_id_in_the_config_is_a_config_error(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".gitops-guard.yaml": "rules:\n  pss-baseline-privilegd: off\n",
                     "web.yaml": "a: b\n"})
    result = run_cli("check", cwd=tmp_path)
    assert result.code == 2 and "did you mean 'pss-baseline-privileged'" in result.err


def test_kustomize_patches_are_not_judged_as_whole_objects(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"base/web.yaml": PRIVILEGED.format(namespace="apps").replace(
        "          securityContext:\n            privileged: true\n", ""),
        "overlay/kustomization.yaml": "resources: [../base]\npatches:\n  - path: patch.yaml\n",
        "overlay/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                              "spec:\n  replicas: 3\n"})
    result = run_cli("policy", "check", "--format", "json", cwd=tmp_path)
    assert all(f["path"] != "overlay/patch.yaml" for f in result.json()["findings"])


def test_policy_list(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".gitops-guard.yaml": "policy:\n  paths: [policies/]\n"
                                           "  profile: restricted\n",
                     "policies/team.yaml": TEAM_POLICY})
    lines = run_cli("policy", "list", cwd=tmp_path).out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines}
    assert rows["require-team"][1:4] == ["error", "custom", "on"]
    assert rows["require-team"][4] == "policies/team.yaml:1"
    assert rows["pss-restricted-capabilities"][1] == "error"  # the profile says restricted
    assert "bp-replicas" not in rows
    everything = run_cli("policy", "list", "--all", cwd=tmp_path).out
    assert "bp-replicas" in everything and " off " in everything


def test_rules_lists_policies(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    out = run_cli("rules", cwd=tmp_path).out
    assert "pss-baseline-privileged" in out and "policy" in out


TEST_FILE = """\
policies: [team.yaml]
resources: [objects.yaml]
results:
  - policy: require-team
    resources: [Deployment/apps/web]
    result: {result}
"""


@pytest.mark.parametrize(("result", "code"), [("fail", 0), ("pass", 1)])
def test_policy_test(tmp_path: Path, result: str, code: int,
                     run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"tests/team.yaml": TEAM_POLICY,
                     "tests/objects.yaml": PRIVILEGED.format(namespace="apps"),
                     "tests/gitops-guard-test.yaml": TEST_FILE.format(result=result)})
    run = run_cli("policy", "test", "tests", cwd=tmp_path)
    assert run.code == code
    first = run.out.splitlines()[0]
    assert first.startswith("PASS" if code == 0 else "FAIL")
    assert "require-team on Deployment/apps/web: fail" in first


@pytest.mark.parametrize(("text", "message"), [
    ("policies: [team.yaml]\nresources: [objects.yaml]\nresults: []\n", "results"),
    ("policies: [team.yaml]\nresources: [objects.yaml]\nresults:\n  - policy: x\n"
     "    resources: [a]\n    result: maybe\n", "results.0.result"),
])
def test_a_bad_test_file_is_a_usage_error(tmp_path: Path, text: str, message: str,
                                          run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"tests/gitops-guard-test.yaml": text})
    run = run_cli("policy", "test", "tests", cwd=tmp_path)
    assert run.code == 2 and message in run.err


def test_docs_policies_md_is_current() -> None:
    from gitops_guard.checks.policy.catalog import builtin_directory
    from gitops_guard.policy.docs import render
    from gitops_guard.policy.load import load_policy_files

    root = Path(__file__).resolve().parents[2]
    expected = render(load_policy_files([builtin_directory()]))
    actual = (root / "docs" / "policies.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/policies.md is stale: run scripts/policies_doc.py"
