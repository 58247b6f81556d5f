"""No output format ever contains a secret value: every format, run on files full of planted
secrets, is searched for any 8-character piece of any of them."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_guard.checks.secrets.tokens import find_tokens
from tests.conftest import CliRun, write
from tests.secrets.fakes import TOKENS

PASSWORDS = ["Sup3r-S3cret-Passw0rd", "Adm1n-Pa55-2026", "Mai1-Pa55w0rd-x"]
ENCODED = base64.b64encode(TOKENS["github-classic-token"].encode()).decode()
LINES = [f"  {family.replace('-', '_')}: {token!r}" for family, token in sorted(TOKENS.items())]
FILES = {
    "values.yaml": "all:\n" + "\n".join(LINES) + f"\n  password: {PASSWORDS[0]}\n",
    "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n"
                   f"  token: {ENCODED}\n"
                   f"stringData:\n  password: {PASSWORDS[1]}\n",
    ".env": f"SMTP_PASSWORD={PASSWORDS[2]}\nNPM_TOKEN={TOKENS['npm-token']}\n",
}


def planted() -> list[str]:
    """The secret part of every planted value, without the format's public prefix (a report
    may show `ghp_` or `AGE-SECRET-KEY-1`, never what follows)."""
    secrets = list(PASSWORDS)
    for token in TOKENS.values():
        for match in find_tokens(token):
            body = match.secret
            for marker in match.family.markers:
                if body.lower().startswith(marker):
                    body = body[len(marker):]
            if body.startswith("-----BEGIN"):
                body = body.split("-----", 2)[2]  # the PEM header names the format only
            if body.startswith("https://hooks.slack.com/services/"):
                body = body[len("https://hooks.slack.com/services/"):]
            secrets.append(body)
    return secrets


def pieces(secret: str) -> set[str]:
    """Every 8-character window of a secret."""
    return {secret[i:i + 8] for i in range(0, max(1, len(secret) - 7))}


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github"])
def test_no_format_shows_a_secret(tmp_path: Path, run_cli: Callable[..., CliRun],
                                  fmt: str) -> None:
    write(tmp_path, FILES)
    report = tmp_path / "report.out"
    to_stdout = run_cli("secrets", "scan", "--format", fmt, cwd=tmp_path)
    to_file = run_cli("secrets", "scan", "--format", fmt, "--output", str(report), cwd=tmp_path)
    assert to_stdout.code == 1 and to_file.code == 1
    output = to_stdout.out + to_stdout.err + to_file.out + to_file.err + report.read_text()
    assert "GG-SECRET-002" in output
    leaks = sorted({piece for secret in planted() for piece in pieces(secret)
                    if piece in output})
    assert leaks == []


def test_every_planted_secret_is_found(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, FILES)
    result = run_cli("secrets", "scan", "--format", "json", cwd=tmp_path)
    found = result.json()["findings"]
    # one per token family in values.yaml, the password, the Secret and its decoded token,
    # and the two .env lines
    assert len([f for f in found if f["path"] == "values.yaml"]) == len(TOKENS) + 1
    assert [f["rule"] for f in found if f["path"] == "secret.yaml"] == [
        "GG-SECRET-001", "GG-SECRET-002"]
    assert [f["rule"] for f in found if f["path"] == ".env"] == ["GG-SECRET-003",
                                                                 "GG-SECRET-002"]
