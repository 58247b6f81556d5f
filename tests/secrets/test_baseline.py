"""The baseline of known secrets: create, update, audit; known is not failed; edits that move
lines do not re-raise; no secret and no line number is ever stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliRun, write
from tests.secrets.fakes import TOKENS

GITHUB = TOKENS["github-classic-token"]
NPM = TOKENS["npm-token"]
FILES = {
    "values.yaml": f"app:\n  token: {GITHUB}\n  password: Sup3r-S3cret\n",
    "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b-value}\n",
}


@pytest.fixture
def repo(git_repo: Path) -> Path:
    write(git_repo, {**FILES, ".gitops-guard.yaml": "checks: [secrets]\n"})
    return git_repo


def test_create_stores_hashes_not_secrets(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("secrets", "baseline", "create", cwd=repo)
    assert (result.code, result.out) == (0, "wrote .gitops-guard-baseline.json: 3 known secrets\n")
    text = (repo / ".gitops-guard-baseline.json").read_text(encoding="utf-8")
    assert GITHUB not in text and "Sup3r-S3cret" not in text
    document = json.loads(text)
    assert document["version"] == 1
    assert [(e["path"], e["rule"]) for e in document["findings"]] == [
        ("secret.yaml", "GG-SECRET-001"), ("values.yaml", "GG-SECRET-002"),
        ("values.yaml", "GG-SECRET-003")]
    assert all("line" not in entry for entry in document["findings"])
    assert len(document["findings"][1]["secret_sha256"]) == 64


def test_known_secrets_are_reported_as_known_not_failed(repo: Path,
                                                        run_cli: Callable[..., CliRun]) -> None:
    run_cli("secrets", "baseline", "create", cwd=repo)
    result = run_cli("check", "--format", "json", cwd=repo)
    assert result.code == 0
    out = result.json()
    assert out["findings"] == []
    assert sorted(s["suppressed_by"] for s in out["suppressed"]) == ["baseline"] * 3


def test_line_moves_do_not_re_raise(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    run_cli("secrets", "baseline", "create", cwd=repo)
    write(repo, {"values.yaml": "# moved\n\nother: x\n" + FILES["values.yaml"]})
    assert run_cli("check", cwd=repo).code == 0
    assert run_cli("secrets", "baseline", "audit", cwd=repo).code == 0


def test_a_new_secret_fails_and_audit_reports_it(repo: Path,
                                                 run_cli: Callable[..., CliRun]) -> None:
    run_cli("secrets", "baseline", "create", cwd=repo)
    write(repo, {"more.yaml": f"npm: {NPM}\n"})
    result = run_cli("check", "--format", "json", cwd=repo)
    assert result.code == 1
    assert [(f["rule"], f["path"]) for f in result.json()["findings"]] == [
        ("GG-SECRET-002", "more.yaml")]
    audit = run_cli("secrets", "baseline", "audit", cwd=repo)
    assert audit.code == 1
    assert audit.out.splitlines() == [
        "new: more.yaml:1 GG-SECRET-002 npm access token: npm_…(40 chars)",
        "3 known, 0 stale, 1 new"]


def test_stale_entries_and_update(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    run_cli("secrets", "baseline", "create", cwd=repo)
    write(repo, {"values.yaml": f"app:\n  token: {NPM}\n  password: Sup3r-S3cret\n"})
    audit = run_cli("secrets", "baseline", "audit", cwd=repo)
    assert audit.code == 1
    [stale, new, summary] = audit.out.splitlines()
    assert stale.startswith("stale: values.yaml GG-SECRET-002 ")
    assert GITHUB not in audit.out and NPM not in audit.out
    assert new == "new: values.yaml:2 GG-SECRET-002 npm access token: npm_…(40 chars)"
    assert summary == "2 known, 1 stale, 1 new"
    update = run_cli("secrets", "baseline", "update", cwd=repo)
    assert update.out == "updated .gitops-guard-baseline.json: 2 kept, 1 added, 1 removed\n"
    assert run_cli("secrets", "baseline", "audit", cwd=repo).code == 0


def test_reasons_survive_update(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    run_cli("secrets", "baseline", "create", cwd=repo)
    path = repo / ".gitops-guard-baseline.json"
    document = json.loads(path.read_text())
    document["findings"][1]["reason"] = "revoked in INC-42, history rewrite pending"
    path.write_text(json.dumps(document))
    run_cli("secrets", "baseline", "update", cwd=repo)
    assert json.loads(path.read_text())["findings"][1]["reason"] == (
        "revoked in INC-42, history rewrite pending")
    result = run_cli("check", "--format", "json", cwd=repo)
    reasons = {s["rule"]: s["reason"] for s in result.json()["suppressed"]}
    assert reasons["GG-SECRET-002"] == "revoked in INC-42, history rewrite pending"


def test_baseline_named_in_config(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(repo, {".gitops-guard.yaml": "checks: [secrets]\nbaseline: ci/known-secrets.json\n"})
    (repo / "ci").mkdir()
    assert run_cli("secrets", "baseline", "create", cwd=repo).out == (
        "wrote ci/known-secrets.json: 3 known secrets\n")
    assert run_cli("check", cwd=repo).code == 0


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "the baseline is not JSON"),
    ('{"version": 2, "findings": []}', "not a gitops-guard baseline"),
    ('{"version": 1, "findings": [{"rule": "x"}]}', "baseline entry 0 needs"),
])
def test_malformed_baseline_is_a_usage_error(repo: Path, run_cli: Callable[..., CliRun],
                                             text: str, message: str) -> None:
    write(repo, {".gitops-guard-baseline.json": text})
    result = run_cli("check", cwd=repo)
    assert result.code == 2
    assert message in result.err and ".gitops-guard-baseline.json" in result.err


def test_audit_without_a_baseline(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("secrets", "baseline", "audit", cwd=repo)
    assert result.code == 2
    assert "no baseline at .gitops-guard-baseline.json" in result.err


def test_options_may_come_before_paths(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    (repo / "ci").mkdir()
    result = run_cli("secrets", "baseline", "create", "--baseline", "ci/known.json", "values.yaml",
                     cwd=repo)
    assert (result.code, result.out) == (0, "wrote ci/known.json: 2 known secrets\n")


def test_update_and_audit_of_a_path_leave_other_entries_alone(
        repo: Path, run_cli: Callable[..., CliRun]) -> None:
    (repo / "sub").mkdir()
    write(repo, {"sub/more.yaml": f"npm: {NPM}\n"})
    run_cli("secrets", "baseline", "create", cwd=repo)
    audit = run_cli("secrets", "baseline", "audit", "sub", cwd=repo)
    assert (audit.code, audit.out) == (0, "1 known, 0 stale, 0 new\n")
    update = run_cli("secrets", "baseline", "update", "sub", cwd=repo)
    assert update.out == "updated .gitops-guard-baseline.json: 4 kept, 0 added, 0 removed\n"
    # A file deleted inside the PATH is stale, one outside it is not looked at.
    (repo / "sub" / "more.yaml").unlink()
    audit = run_cli("secrets", "baseline", "audit", "sub", cwd=repo)
    assert audit.code == 1
    assert audit.out.startswith("stale: sub/more.yaml GG-SECRET-002 ")
    assert audit.out.endswith("0 known, 1 stale, 0 new\n")


def test_an_entry_suppressed_another_way_is_not_stale(repo: Path,
                                                      run_cli: Callable[..., CliRun]) -> None:
    run_cli("secrets", "baseline", "create", cwd=repo)
    write(repo, {"values.yaml": f"app:\n  token: {GITHUB}  # gitleaks:allow\n"
                                "  password: Sup3r-S3cret\n"})
    audit = run_cli("secrets", "baseline", "audit", cwd=repo)
    assert (audit.code, audit.out) == (0, "3 known, 0 stale, 0 new\n")
    update = run_cli("secrets", "baseline", "update", cwd=repo)
    assert update.out == "updated .gitops-guard-baseline.json: 3 kept, 0 added, 0 removed\n"


@pytest.mark.parametrize("baseline", ["{not json", None])
def test_runs_without_the_secrets_check_do_not_need_the_baseline(
        repo: Path, run_cli: Callable[..., CliRun], baseline: str | None) -> None:
    if baseline is None:
        write(repo, {".gitops-guard.yaml": "baseline: nope.json\n"})
    else:
        write(repo, {".gitops-guard-baseline.json": baseline})
    assert run_cli("check", "--checks", "manifest", cwd=repo).code == 0
    assert run_cli("check", "--checks", "secrets", cwd=repo).code == 2


def test_a_baseline_path_with_dots_is_still_the_baseline(
        repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(repo, {".gitops-guard.yaml": f"checks: [secrets]\nbaseline: ../{repo.name}/known.json\n"})
    assert run_cli("secrets", "baseline", "create", cwd=repo).code == 0
    # The baseline holds hashes that look like secrets to a naive scan; it is never scanned.
    result = run_cli("check", "--format", "json", cwd=repo)
    assert result.code == 0
    assert all(s["path"] != "known.json" for s in result.json()["suppressed"])


def test_without_a_config_the_baseline_is_at_the_repository_root(
        git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, FILES)
    (git_repo / "apps").mkdir()
    assert run_cli("secrets", "baseline", "create", cwd=git_repo).code == 0
    result = run_cli("secrets", "scan", "..", cwd=git_repo / "apps")
    assert result.code == 0, result.out


def test_a_crashed_check_writes_no_baseline(repo: Path, run_cli: Callable[..., CliRun],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from gitops_guard.checks.secrets import state

    def crash(*_: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(state, "scan_document", crash)
    result = run_cli("secrets", "baseline", "create", cwd=repo)
    assert result.code == 3
    assert "internal error in check secrets" in result.err and "boom" not in result.err
    assert not (repo / ".gitops-guard-baseline.json").exists()


def test_sarif_marks_baseline_suppressions_as_external(repo: Path,
                                                      run_cli: Callable[..., CliRun]) -> None:
    run_cli("secrets", "baseline", "create", cwd=repo)
    sarif = json.loads(run_cli("check", "--format", "sarif", cwd=repo).out)
    kinds = [r["suppressions"][0]["kind"] for r in sarif["runs"][0]["results"]]
    assert kinds == ["external"] * 3
