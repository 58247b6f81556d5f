"""The example repository in examples/: exactly its seven deliberate mistakes (errors: four
broken manifests, two leaked secrets, one workload that breaks the team's own policy), plus a
warning for each custom resource whose CRD the repository does not carry (Flux, Argo CD).

The CLI is run in-process from the repository root, as a user would run
`gitops-guard check examples --format json`. The expected findings are written out here and
must also match the table in examples/README.md, so the README stays true.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitops_guard.cli import main
from gitops_guard.documents import FileKind
from gitops_guard.loader import load_file

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"

DEV_PATCH = "examples/apps/web/overlays/dev/deployment-patch.yaml"
PROD_PATCH = "examples/apps/web/overlays/prod/deployment-patch.yaml"
METRICS_SERVICE = "examples/apps/web/overlays/prod/metrics-service.yaml"
FEATURE_FLAGS = "examples/apps/web/overlays/staging/feature-flags.yaml"
BASE_SECRET = "examples/apps/web/base/secret.yaml"
CLEANUP_JOB = "examples/apps/web/base/cleanup-cronjob.yaml"
STAGING_PATCH = "examples/apps/web/overlays/staging/deployment-patch.yaml"

# (rule, path, line) of every finding of `gitops-guard check examples`, sorted as reported.
EXPECTED = [
    ("require-component-label", CLEANUP_JOB, 5),
    ("GG-SECRET-001", BASE_SECRET, 10),
    ("GG-MANIFEST-001", DEV_PATCH, 19),
    ("GG-MANIFEST-002", PROD_PATCH, 30),
    ("GG-MANIFEST-003", METRICS_SERVICE, 3),
    ("GG-SECRET-002", STAGING_PATCH, 18),
    ("GG-MANIFEST-005", FEATURE_FLAGS, 5),
]
MANIFEST_MISTAKES = [entry for entry in EXPECTED if entry[0].startswith("GG-MANIFEST")]

# Custom resources of controllers whose CRDs live in the cluster, not in this repository.
MISSING_SCHEMAS = [
    ("GG-SCHEMA-003", "examples/clusters/prod/argocd-web.yaml", 4),
    ("GG-SCHEMA-003", "examples/clusters/prod/infrastructure.yaml", 3),
    ("GG-SCHEMA-003", "examples/clusters/prod/web.yaml", 3),
    ("GG-SCHEMA-003", "examples/infrastructure/ingress-nginx/helmrelease.yaml", 2),
    ("GG-SCHEMA-003", "examples/infrastructure/ingress-nginx/helmrepository.yaml", 2),
]
BACKUP_SCHEDULE = "examples/apps/web/base/backupschedule.yaml"

# The `resource` field of each finding. The syntax error has no object; the Service without
# apiVersion is still named by its kind and name (apiVersion is "").
EXPECTED_RESOURCES: dict[str, dict[str, Any] | None] = {
    CLEANUP_JOB: {"apiVersion": "batch/v1", "kind": "CronJob", "namespace": None,
                  "name": "web-session-cleanup"},
    BASE_SECRET: {"apiVersion": "v1", "kind": "Secret", "namespace": None, "name": "web-db"},
    STAGING_PATCH: {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": None,
                    "name": "web"},
    DEV_PATCH: None,
    PROD_PATCH: {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": None,
                 "name": "web"},
    METRICS_SERVICE: {"apiVersion": "", "kind": "Service", "namespace": None,
                      "name": "web-metrics"},
    FEATURE_FLAGS: {"apiVersion": "v1", "kind": "ConfigMap", "namespace": None, "name": None},
}

HELM_TEMPLATES = [
    "examples/charts/web/templates/deployment.yaml",
    "examples/charts/web/templates/service.yaml",
]

# The one-line fix of each deliberate mistake: (path, wrong text, right text).
FIXES = [
    (DEV_PATCH, "\n             memory: 64Mi\n", "\n              memory: 64Mi\n"),
    (PROD_PATCH, "\n  replicas: 6\n", "\n"),
    (METRICS_SERVICE, "\nkind: Service\n", "\napiVersion: v1\nkind: Service\n"),
    (FEATURE_FLAGS, "\nmetadata:\n", "\nmetadata:\n  name: web-feature-flags\n"),
    (CLEANUP_JOB, "  name: web-session-cleanup\n",
     "  name: web-session-cleanup\n  labels: {app.kubernetes.io/component: job}\n"),
    # Flux substitutes ${...} from a Secret the cluster already has (postBuild.substituteFrom).
    (BASE_SECRET, "username: storefront", "username: ${WEB_DB_USERNAME}"),
    (BASE_SECRET, "password: demo-only-not-a-real-password", "password: ${WEB_DB_PASSWORD}"),
    (STAGING_PATCH, "value: postgresql://web:St4ging-Db-Passw0rd@db.staging.internal:5432/"
     "storefront", "valueFrom: {secretKeyRef: {name: web-db, key: url}}"),
]

MARKER = "# deliberate mistake:"
_TABLE_ROW = re.compile(
    r"^\| `(?P<path>[^`]+)` \| (?P<line>\d+) \| (?P<rule>GG-[A-Z]+-\d{3}|[a-z0-9-]+) \|")


def run_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             *paths: str) -> tuple[int, dict[str, Any]]:
    monkeypatch.chdir(REPO_ROOT)
    capsys.readouterr()
    code = main(["check", *paths, "--format", "json"])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, json.loads(captured.out)


def structured_files(root: Path) -> int:
    """The files a run reads: YAML and JSON, plus the text files the secrets check scans."""
    from gitops_guard.checks import CHECKS

    return sum(1 for path in root.rglob("*") if path.is_file()
               and any(check.wants(path.name) for check in CHECKS.values()))


def checked_files() -> int:
    """What `check examples` reads: examples/.gitops-guard.yaml applies (it sits above the
    checked directory), so the config itself and the policy-test fixtures it excludes are not
    among the files."""
    excluded = [EXAMPLES / ".gitops-guard.yaml",
                *(EXAMPLES / "policies" / "tests").iterdir()]
    return structured_files(EXAMPLES) - len(excluded)


def readme_mistakes() -> list[tuple[str, str, int]]:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    section = text.split("## Deliberate mistakes", 1)[1]
    rows = []
    for line in section.splitlines():
        match = _TABLE_ROW.match(line)
        if match:
            rows.append((match["rule"], f"examples/{match['path']}", int(match["line"])))
    return rows


def test_examples_report_exactly_the_deliberate_mistakes(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(monkeypatch, capsys, "examples")

    assert code == 1
    findings = [f for f in out["findings"] if f["severity"] == "error"]
    assert [(f["rule"], f["path"], f["line"]) for f in findings] == EXPECTED
    assert {(f["rule"], f["path"], f["line"]) for f in findings} == set(EXPECTED)
    for finding in findings:
        assert type(finding["column"]) is int
        assert finding["column"] >= 1
        assert finding["check"] == ("secrets" if "SECRET" in finding["rule"] else
                                    "manifest" if "MANIFEST" in finding["rule"] else "policy")
        assert finding["severity"] == "error"
    assert {f["path"]: f["resource"] for f in findings} == EXPECTED_RESOURCES
    assert out["suppressed"] == []
    assert out["internal_errors"] == []
    syntax = next(f for f in findings if f["rule"] == "GG-MANIFEST-001")
    assert out["errors"] == [{"path": DEV_PATCH, "line": 19, "message": syntax["message"]}]


def test_leaked_secrets_are_caught_and_never_printed(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO_ROOT)
    capsys.readouterr()
    code = main(["secrets", "scan", "examples"])
    out = capsys.readouterr().out
    assert code == 1
    assert "GG-SECRET-001" in out and "GG-SECRET-002" in out
    assert "URL with a password: (19 chars)" in out
    for value in ("demo-only-not-a-real-password", "St4ging-Db-Passw0rd"):
        assert value not in out


def test_custom_resources_without_a_crd_are_warnings(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out = run_json(monkeypatch, capsys, "examples")
    warnings = [(f["rule"], f["path"], f["line"]) for f in out["findings"]
                if f["severity"] == "warning"]
    assert warnings == MISSING_SCHEMAS


@pytest.mark.parametrize("version", ["1.35", "1.36", "1.37"])
def test_schema_check_on_every_bundled_version(
        version: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO_ROOT)
    capsys.readouterr()
    code = main(["schema", "examples", "--kubernetes-version", version, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # the syntax error in the dev patch
    assert [(f["rule"], f["path"], f["line"]) for f in out["findings"]] == [
        MANIFEST_MISTAKES[0], *MISSING_SCHEMAS]


def test_the_custom_resource_is_validated_against_the_crd_in_the_repo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    path = tmp_path / BACKUP_SCHEDULE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("retention: 14", "retention: 1.5")
                    .replace("bucket: backups-prod", "bukket: backups-prod"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["schema", "examples", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["rule"], f["line"], f["message"]) for f in out["findings"]
            if f["path"] == BACKUP_SCHEDULE] == [
        ("GG-SCHEMA-001", 10, "spec.retention: expected integer or string, got number 1.5"),
        ("GG-SCHEMA-002", 13, 'spec.storage: unknown field "bukket"; did you mean "bucket"?'),
    ]


def test_examples_summary_is_consistent(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(monkeypatch, capsys, "examples")

    assert code == 1
    summary = out["summary"]
    assert summary == {
        "files": checked_files(),
        # One document per file, except the dev patch (not YAML), the two Helm templates and
        # the README (text, scanned for secrets).
        "documents": checked_files() - 4,
        "findings": len(EXPECTED) + len(MISSING_SCHEMAS),
        "errors": len(EXPECTED),
        "warnings": len(MISSING_SCHEMAS),
        "infos": 0,
        "suppressed": 0,
        "files_with_errors": 1,
        "fail_on": "error",
        "failed": True,
    }
    assert summary["findings"] == len(out["findings"])
    assert summary["errors"] == sum(f["severity"] == "error" for f in out["findings"])
    assert summary["files_with_errors"] == len(out["errors"])


def test_helm_chart_templates_are_labelled_not_checked(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for display in HELM_TEMPLATES:
        source = load_file(REPO_ROOT / display, display, 1 << 20)
        assert source.kind is FileKind.HELM_TEMPLATE, display
        assert source.documents == []
        assert source.error is None

    code, out = run_json(monkeypatch, capsys, "examples")
    assert code == 1
    assert [f for f in out["findings"] if f["path"].startswith("examples/charts/")] == []

    code, out = run_json(monkeypatch, capsys, "examples/charts/web")
    assert code == 0
    assert out["findings"] == []
    # Chart.yaml, values.yaml and the two templates are all found; only the first two parse.
    assert (out["summary"]["files"], out["summary"]["documents"]) == (4, 2)


def test_base_has_only_its_plaintext_secret(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # Run from inside examples/, as a hook in a repository laid out like it: its config names
    # the CRD directory, so the custom resource is validated although only base/ is checked.
    monkeypatch.chdir(EXAMPLES)
    capsys.readouterr()
    code = main(["check", "apps/web/base", "--format", "json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)

    assert (code, captured.err) == (1, "")
    assert [(f["rule"], f["path"]) for f in out["findings"]] == [
        ("require-component-label", "apps/web/base/cleanup-cronjob.yaml"),
        ("GG-SECRET-001", "apps/web/base/secret.yaml")]
    assert (out["summary"]["files"], out["summary"]["documents"]) == (7, 7)

    # From the repository root too: the config above the checked directory applies.
    code, out = run_json(monkeypatch, capsys, "examples/apps/web/base")
    assert code == 1
    assert [(f["rule"], f["path"]) for f in out["findings"]] == [
        ("require-component-label", CLEANUP_JOB), ("GG-SECRET-001", BASE_SECRET)]


def test_readme_table_matches_the_findings(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rows = readme_mistakes()
    assert rows == EXPECTED

    _code, out = run_json(monkeypatch, capsys, "examples")
    assert [(f["rule"], f["path"], f["line"]) for f in out["findings"]
            if f["severity"] == "error"] == rows


def test_each_mistake_is_marked_on_the_line_above() -> None:
    marked = []
    for path in sorted(EXAMPLES.rglob("*")):
        if not path.is_file() or path.suffix not in (".yaml", ".yml"):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, text in enumerate(lines, start=1):
            if text.strip().startswith(MARKER):
                marked.append((path.relative_to(REPO_ROOT).as_posix(), number + 1))
    assert marked == sorted((path, line) for _rule, path, line in EXPECTED)


def test_examples_are_clean_once_the_mistakes_are_fixed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Also proves nothing else is wrong behind the syntax error, which hides the rest of its
    # file.
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy)
    for display, wrong, right in FIXES:
        path = tmp_path / display
        text = path.read_text(encoding="utf-8")
        assert text.count(wrong) == 1, display
        path.write_text(text.replace(wrong, right), encoding="utf-8")

    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["check", "examples", "--format", "json"])
    out = json.loads(capsys.readouterr().out)

    assert code == 0
    assert [(f["rule"], f["path"], f["line"]) for f in out["findings"]] == MISSING_SCHEMAS
    assert out["errors"] == []
    assert out["summary"]["files"] == checked_files()
