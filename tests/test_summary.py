"""`--summary`: findings per check and rule after the report; on stderr for machine formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GOOD_CONFIGMAP, NAMELESS_CONFIGMAP, CliRun, git, write

DUPLICATES = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: flags
data:
  mode: a
  mode: b
  level: 1
  level: 2  # gitops-guard: ignore[GG-MANIFEST-002] the legacy reader takes the last one
"""
LEAKY = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: db
data:
  password: hunter2-Prod
"""

TABLE = """\
CHECK     RULE             ERROR  WARNING  INFO  SUPPRESSED
manifest  (all)                2        0     1           1
          GG-MANIFEST-002      1        0     0           1
          GG-MANIFEST-005      1        0     0           0
          GG-MANIFEST-013      0        0     1           0
secrets   (all)                1        0     0           0
          GG-SECRET-004        1        0     0           0
total                          3        0     1           1
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path, {"dup.yaml": DUPLICATES, "nameless.yaml": NAMELESS_CONFIGMAP,
                     "leaky.yaml": LEAKY, "empty.yaml": "# nothing here\n",
                     "good.yaml": GOOD_CONFIGMAP})
    return tmp_path


def test_text_summary_follows_the_report(repo: Path, run_cli: Callable[..., CliRun]) -> None:
    plain = run_cli("check", "--checks", "manifest,secrets", cwd=repo)
    result = run_cli("check", "--checks", "manifest,secrets", "--summary", cwd=repo)
    assert (result.code, result.err) == (1, "")
    assert result.out == plain.out + "\n" + TABLE


def test_with_quiet_the_table_is_still_printed(repo: Path,
                                               run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--checks", "manifest,secrets", "--summary", "--quiet", cwd=repo)
    assert result.out.endswith("\n" + TABLE)
    assert "GG-MANIFEST-013" not in result.out.split("\n\nCHECK")[0]  # info is not shown


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github"])
def test_machine_formats_keep_stdout_and_get_the_table_on_stderr(
        fmt: str, repo: Path, run_cli: Callable[..., CliRun]) -> None:
    plain = run_cli("check", "--checks", "manifest,secrets", "--format", fmt, cwd=repo)
    result = run_cli("check", "--checks", "manifest,secrets", "--format", fmt, "--summary",
                     cwd=repo)
    assert (result.code, result.out, result.err) == (1, plain.out, TABLE)
    if fmt in ("json", "sarif"):
        json.loads(result.out)


def test_a_report_written_to_a_file_leaves_the_table_on_stderr(
        repo: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--checks", "manifest,secrets", "--summary", "-o", "report.txt",
                     cwd=repo)
    assert (result.out, result.err) == ("", TABLE)
    assert "GG-MANIFEST-005" in (repo / "report.txt").read_text()


def test_a_clean_run_has_only_the_total(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"good.yaml": GOOD_CONFIGMAP})
    result = run_cli("schema", "--summary", cwd=tmp_path)
    assert result.code == 0
    assert result.out.endswith(
        "checked)\n\n"
        "CHECK  RULE  ERROR  WARNING  INFO  SUPPRESSED\n"
        "total            0        0     0           0\n")


@pytest.mark.parametrize("argv", [("secrets", "scan"), ("policy", "check"), ("schema",)])
def test_every_file_command_takes_it(argv: tuple[str, ...], repo: Path,
                                     run_cli: Callable[..., CliRun]) -> None:
    result = run_cli(*argv, "--summary", cwd=repo)
    assert result.code in (0, 1)
    assert "\nCHECK " in result.out
    assert result.out.rstrip().splitlines()[-1].startswith("total")


def test_promotion_audit_takes_it(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    overlay = "images:\n  - {{name: ghcr.io/acme/web, newTag: {}}}\n"
    write(git_repo, {
        ".gitops-guard.yaml": (
            "promotion:\n  environments: [dev, prod]\n  apps:\n    - name: web\n"
            "      locations:\n        - {path: \"overlays/{env}/kustomization.yaml\", "
            "extractor: kustomize-images}\n"),
        "overlays/dev/kustomization.yaml": overlay.format("1.0.0"),
    })
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "dev 1.0.0")
    write(git_repo, {"overlays/prod/kustomization.yaml": overlay.format("2.0.0")})
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "prod 2.0.0, never in dev")
    result = run_cli("promotion", "audit", "--summary", "--format", "json", cwd=git_repo)
    assert result.code == 1
    assert [f["rule"] for f in result.json()["findings"]] == ["PROMO001"]
    assert result.err == (
        "CHECK      RULE      ERROR  WARNING  INFO  SUPPRESSED\n"
        "promotion  (all)         1        0     0           0\n"
        "           PROMO001      1        0     0           0\n"
        "total                    1        0     0           0\n")
