"""Every output format, from one run over a small repository with known findings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from gitops_guard.reporters.github import annotation, escape_data, escape_property
from tests.conftest import GOOD_CONFIGMAP, SHARED, CliRun, git, write

SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"

REPO = {
    # These tests are about the formats: one check keeps the findings few and known.
    ".gitops-guard.yaml": "checks: [manifest]\n",
    "apps/good.yaml": GOOD_CONFIGMAP,
    "apps/web.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  name: web2
---
apiVersion: v1
kind: ConfigMap
metadata:
  labels: {a: b}
  annotations:
    ignore.gitops-guard.io/GG-MANIFEST-005: generated, see ticket 42
""",
    "apps/broken file.yaml": "a: [\n",
    "apps/empty.yaml": "",
}


@pytest.fixture
def repo(git_repo: Path) -> Path:
    write(git_repo, REPO)
    git(git_repo, "add", ".")
    return git_repo


def test_json_contract(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--format", "json", cwd=repo / "apps")
    assert result.code == 1
    out = result.json()
    assert set(out) == {"version", "tool", "checks", "findings", "suppressed", "errors",
                        "internal_errors", "summary"}
    assert out["version"] == 1
    assert out["tool"]["name"] == "gitops-guard"
    by_rule = {f["rule"]: f for f in out["findings"]}
    assert sorted(by_rule) == ["GG-MANIFEST-001", "GG-MANIFEST-002", "GG-MANIFEST-013"]
    syntax, dup, empty = by_rule["GG-MANIFEST-001"], by_rule["GG-MANIFEST-002"], by_rule[
        "GG-MANIFEST-013"]
    assert dup == {
        "check": "manifest", "rule": "GG-MANIFEST-002", "severity": "error", "path": "web.yaml",
        "line": 6, "column": 3,
        "message": 'duplicate key "name" (first defined at line 4); the API server rejects '
                   "duplicate keys",
        "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "prod",
                     "name": "web2"},
        "pointer": "/metadata/name", "fingerprint": dup["fingerprint"]}
    assert len(dup["fingerprint"]) == 32
    assert (syntax["rule"], syntax["path"], syntax["line"], syntax["resource"]) == (
        "GG-MANIFEST-001", "broken file.yaml", 2, None)
    assert (empty["rule"], empty["severity"], empty["path"]) == (
        "GG-MANIFEST-013", "info", "empty.yaml")
    [suppressed] = out["suppressed"]
    assert suppressed["rule"] == "GG-MANIFEST-005"
    assert suppressed["reason"] == "generated, see ticket 42"
    assert suppressed["suppressed_by"] == "annotation"
    assert out["errors"] == [{"path": "broken file.yaml", "line": 2,
                              "message": syntax["message"]}]
    assert out["summary"] == {"files": 4, "documents": 3, "findings": 3, "errors": 2,
                              "warnings": 0, "infos": 1, "suppressed": 1,
                              "files_with_errors": 1, "fail_on": "error", "failed": True}


@pytest.mark.skipif(not SARIF_SCHEMA.is_file(), reason="../shared/schemas is not present")
def test_sarif_validates_and_uses_repo_relative_uris(repo: Path,
                                                     run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--format", "sarif", cwd=repo / "apps")
    assert result.code == 1
    sarif = json.loads(result.out)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    [run] = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    rule_ids = [rule["id"] for rule in rules]
    assert rule_ids == sorted(rule_ids)
    assert "GG-MANIFEST-002" in rule_ids
    # Code scanning shows the rule's why and fix beside each alert.
    from gitops_guard.catalog import rule_catalog

    duplicate = rule_catalog()["GG-MANIFEST-002"]
    [entry] = [rule for rule in rules if rule["id"] == "GG-MANIFEST-002"]
    assert entry["fullDescription"] == {"text": duplicate.why}
    assert entry["help"] == {
        "text": f"{duplicate.fix}\n\nMore: gitops-guard explain GG-MANIFEST-002"}
    assert duplicate.why and duplicate.fix
    by_rule = {r["ruleId"]: r for r in run["results"]}
    dup = by_rule["GG-MANIFEST-002"]
    assert rule_ids[dup["ruleIndex"]] == "GG-MANIFEST-002"
    location = dup["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "apps/web.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 6, "startColumn": 3}
    assert set(dup["partialFingerprints"]) == {"gitopsGuard/v1"}
    assert by_rule["GG-MANIFEST-001"]["locations"][0]["physicalLocation"][
        "artifactLocation"]["uri"] == "apps/broken%20file.yaml"
    assert by_rule["GG-MANIFEST-013"]["level"] == "note"
    assert by_rule["GG-MANIFEST-005"]["suppressions"] == [
        {"kind": "inSource", "justification": "generated, see ticket 42"}]
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_fingerprint_survives_line_changes(repo: Path,
                                                 run_cli: Callable[..., CliRun]) -> None:
    first = json.loads(run_cli("check", "--format", "sarif", "apps/web.yaml", cwd=repo).out)
    text = (repo / "apps" / "web.yaml").read_text()
    (repo / "apps" / "web.yaml").write_text("# a comment\n\n" + text)
    second = json.loads(run_cli("check", "--format", "sarif", "apps/web.yaml", cwd=repo).out)

    def prints(sarif: dict[str, object]) -> list[tuple[int, str]]:
        return [(r["locations"][0]["physicalLocation"]["region"]["startLine"],  # type: ignore[index]
                 r["partialFingerprints"]["gitopsGuard/v1"])  # type: ignore[index]
                for r in sarif["runs"][0]["results"]]  # type: ignore[index]

    [(line1, print1), *_] = prints(first)
    [(line2, print2), *_] = prints(second)
    assert (line1, line2) == (6, 8)
    assert print1 == print2


def test_junit(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--format", "junit", cwd=repo / "apps")
    assert result.code == 1
    root = ET.fromstring(result.out)
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert sorted(suites) == ["broken file.yaml", "empty.yaml", "good.yaml", "web.yaml"]
    web = suites["web.yaml"]
    cases = {case.get("name"): case for case in web.findall("testcase")}
    assert sorted(cases) == ["ConfigMap/?", "Deployment/prod/web2"]
    failure = cases["Deployment/prod/web2"].find("failure")
    assert failure is not None and failure.get("type") == "GG-MANIFEST-002"
    assert failure.text == ('web.yaml:6:3 error GG-MANIFEST-002 duplicate key "name" (first '
                            "defined at line 4); the API server rejects duplicate keys")
    good = suites["good.yaml"]
    assert [(c.get("name"), list(c)) for c in good.findall("testcase")] == [
        ("ConfigMap/good", [])]
    broken = suites["broken file.yaml"]
    assert broken.get("errors") == "1" and broken.find("testcase/error") is not None
    empty_case = suites["empty.yaml"].find("testcase")
    assert empty_case is not None and empty_case.find("failure") is None
    out = empty_case.find("system-out")
    assert out is not None and "GG-MANIFEST-013" in (out.text or "")
    assert root.get("tests") == "5"
    assert root.get("failures") == "1"
    assert root.get("errors") == "1"


def test_github_annotations(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--format", "github", cwd=repo / "apps")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("::error file=apps/broken file.yaml,line=2,col=1,"
                               "title=GG-MANIFEST-001::")
    assert lines[1] == "::notice file=apps/empty.yaml,line=1,col=1,title=GG-MANIFEST-013::" \
                       "file holds no documents"
    assert lines[2] == ('::error file=apps/web.yaml,line=6,col=3,title=GG-MANIFEST-002::'
                        'duplicate key "name" (first defined at line 4); the API server '
                        "rejects duplicate keys (Deployment/prod/web2)")
    assert lines[-1] == "gitops-guard: 2 errors, 0 warnings, 1 notice in 4 files; 1 suppressed"


@pytest.mark.parametrize(("text", "data", "prop"), [
    ("100%", "100%25", "100%25"),
    ("a\nb\rc", "a%0Ab%0Dc", "a%0Ab%0Dc"),
    ("x:y,z", "x:y,z", "x%3Ay%2Cz"),
])
def test_github_escaping(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop


def test_github_annotation_escapes_paths_and_messages() -> None:
    from gitops_guard.findings import Finding, Severity

    finding = Finding("manifest", "GG-MANIFEST-001", Severity.WARNING, "a,b.yaml", None, None,
                      "50% broken\nreally", None, "", "f")
    assert annotation(finding, "dir:x/a,b.yaml") == (
        "::warning file=dir%3Ax/a%2Cb.yaml,title=GG-MANIFEST-001::50%25 broken%0Areally")


def test_text_report(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--color", "never", cwd=repo / "apps")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "broken file.yaml"
    assert lines[1].split()[:3] == ["2:1", "error", "GG-MANIFEST-001"]
    assert "web.yaml" in lines
    assert lines[-1] == ("failed: 2 errors, 1 info in 3 files (4 files, 3 documents checked; "
                         "1 suppressed; 1 file could not be read or parsed)")
    assert "\x1b[" not in result.out


def test_text_colour_when_forced(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--color", "always", cwd=repo / "apps")
    assert "\x1b[31merror  \x1b[0m" in result.out


def test_quiet_shows_only_failing_findings(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--quiet", cwd=repo / "apps")
    assert result.code == 1
    assert "GG-MANIFEST-013" not in result.out
    assert "GG-MANIFEST-002" in result.out
    assert "failed:" not in result.out


def test_quiet_and_clean_prints_nothing(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"good.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", "--quiet", cwd=tmp_path)
    assert (result.code, result.out, result.err) == (0, "", "")


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github"])
def test_output_file(repo: Path, run_cli: Callable[..., CliRun], fmt: str) -> None:
    target = repo / "reports" / f"report.{fmt}"
    target.parent.mkdir()
    result = run_cli("check", "apps", "--format", fmt, "--output", str(target), cwd=repo)
    assert result.code == 1
    assert result.out == ""
    written = target.read_text(encoding="utf-8")
    assert "GG-MANIFEST-002" in written
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp files left
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_output_to_a_missing_directory_is_a_usage_error(repo: Path,
                                                        run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "apps", "--output", "nope/report.json", cwd=repo)
    assert result.code == 2
    assert "cannot write report" in result.err
