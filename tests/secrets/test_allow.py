"""Silencing secret findings: inline markers (ours and other tools'), config allowlists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, write
from tests.secrets.fakes import TOKENS

GITHUB = TOKENS["github-classic-token"]


def run(run_cli: Callable[..., CliRun], root: Path, files: dict[str, str],
        *args: str) -> tuple[int, dict[str, Any]]:
    write(root, files)
    result = run_cli("secrets", "scan", "--format", "json", *args, cwd=root)
    return result.code, result.json() if result.out else {}


@pytest.mark.parametrize(("text", "via"), [
    (f"token: {GITHUB}  # gitops-guard: ignore[GG-SECRET-002] revoked, kept for the docs\n",
     "comment"),
    (f"# gitops-guard: ignore[GG-SECRET-*] revoked test token\ntoken: {GITHUB}\n", "comment"),
    (f"token: {GITHUB}  # gitleaks:allow\n", "comment"),
    (f"token: {GITHUB}  # pragma: allowlist secret\n", "comment"),
    (f"# pragma: allowlist nextline secret\ntoken: {GITHUB}\n", "comment"),
    (f"other: x  # pragma: allowlist nextline secret\ntoken: {GITHUB}\n", "comment"),
])
def test_inline_markers(tmp_path: Path, run_cli: Callable[..., CliRun], text: str,
                        via: str) -> None:
    code, out = run(run_cli, tmp_path, {"values.yaml": text})
    assert (code, out["findings"]) == (0, [])
    assert [s["suppressed_by"] for s in out["suppressed"]] == [via]


@pytest.mark.parametrize("text", [
    # a trailing marker covers its own line only
    f"other: x  # gitleaks:allow\ntoken: {GITHUB}\n",
    f"other: x  # pragma: allowlist secret\ntoken: {GITHUB}\n",
    # detect-secrets' nextline marker covers the next line, not its own
    f"token: {GITHUB}  # pragma: allowlist nextline secret\n",
    # other tools' markers only silence secret findings
    f"token: {GITHUB}  # gitops-guard: ignore[GG-MANIFEST-002] wrong rule\n",
])
def test_markers_that_do_not_apply(tmp_path: Path, run_cli: Callable[..., CliRun],
                                   text: str) -> None:
    code, out = run(run_cli, tmp_path, {"values.yaml": text})
    assert code == 1 and len(out["findings"]) == 1


def test_foreign_markers_do_not_silence_other_checks(tmp_path: Path,
                                                     run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                "metadata:  # gitleaks:allow\n  labels: {a: b}\n"})
    result = run_cli("check", "--checks", "manifest", "--format", "json", cwd=tmp_path)
    assert [f["rule"] for f in result.json()["findings"]] == ["GG-MANIFEST-005"]


CONFIGS = {
    "allow_paths": "secrets: {allow_paths: ['fixtures/']}\n",
    "allow_regexes": "secrets: {allow_regexes: ['^ghp_', 'test-fixture']}\n",
    "stopwords": "secrets: {stopwords: [fixture]}\n",
    "disabled family": "secrets: {disabled_rules: [github-classic-token]}\n",
    "disabled rule": "secrets: {disabled_rules: [GG-SECRET-002]}\n",
    "rules off": "rules: {GG-SECRET-002: off}\n",
}


@pytest.mark.parametrize("name", ["disabled rule", "rules off"])
def test_rules_are_disabled_in_text_files_too(tmp_path: Path, run_cli: Callable[..., CliRun],
                                              name: str) -> None:
    files = {".gitops-guard.yaml": CONFIGS[name],
             "app.env": f"TOKEN={GITHUB}\nDATABASE_URL=postgres://app:Sup3r-S3cret@db/app\n"}
    code, out = run(run_cli, tmp_path, files)
    assert (code, out["findings"]) == (0, [])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_allowlists(tmp_path: Path, run_cli: Callable[..., CliRun], name: str) -> None:
    files = {".gitops-guard.yaml": CONFIGS[name],
             "fixtures/values.yaml": f"note: {GITHUB}\n",
             "fixtures/more.yaml": "db: postgres://app:fixture-pass-1@db/app  # test-fixture\n"}
    code, out = run(run_cli, tmp_path, files)
    rules = sorted(f["rule"] for f in out["findings"])
    expected = {
        "allow_paths": [],
        "allow_regexes": [],
        "stopwords": ["GG-SECRET-002"],  # the token has no stopword; the password has
        "disabled family": ["GG-SECRET-002"],  # the URL password is another family
        "disabled rule": [],
        "rules off": [],
    }[name]
    assert rules == expected
    assert code == (1 if expected else 0)


@pytest.mark.parametrize(("config", "message"), [
    ("secrets: {disabled_rules: [github-token]}\n", "neither a GG-SECRET rule id nor a token"),
    ("secrets: {allow_regexes: ['(unclosed']}\n", "is not a regular expression"),
    ("secrets: {stopwords: [ab]}\n", "secrets.stopwords[0]"),
])
def test_bad_settings_exit_2(tmp_path: Path, run_cli: Callable[..., CliRun], config: str,
                             message: str) -> None:
    write(tmp_path, {".gitops-guard.yaml": config, "values.yaml": "a: b\n"})
    result = run_cli("secrets", "scan", cwd=tmp_path)
    assert result.code == 2
    assert message in result.err
