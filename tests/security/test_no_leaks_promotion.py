"""`promotion check|audit|status` read location files out of git history; the values files
beside the versions hold passwords and tokens, one commit holds a file that does not parse on
a password's line, and the staged change breaks another. No report shows any of them."""

from __future__ import annotations

import dataclasses
import datetime
import os
from pathlib import Path

import pytest

from tests.conftest import CliRun
from tests.promotion.gitrepo import GitRepo
from tests.secrets.fakes import TOKENS
from tests.security import corpus
from tests.security.conftest import RunCli, no_leaks, run_process
from tests.security.leaks import Planted, Sandbox

FORMATS = ("text", "json", "sarif", "junit", "github")
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
CONFIG = """\
promotion:
  environments:
    - dev
    - {name: prod, min_soak: 1h}
  apps:
    - name: web
      locations:
        - path: "envs/{env}/values.yaml"
          extractor: helm-values
"""
VALUES = """\
image:
  repository: ghcr.io/acme/web
  tag: {tag}
db:
  password: {password}
apiToken: {token}
"""
BROKEN = """\
image:
  repository: ghcr.io/acme/web
  tag: {tag}
db:
  password: "{password}
apiToken: [x
"""


def at(hours: float) -> str:
    return (T0 + datetime.timedelta(hours=hours)).isoformat()


def values(planted: Planted, label: str, tag: str, password: str, *,
           broken: bool = False) -> str:
    planted.add(label, password)
    return (BROKEN if broken else VALUES).format(tag=tag, password=password,
                                                  token=TOKENS["github-classic-token"])


@dataclasses.dataclass
class History:
    repo: GitRepo
    sandbox: Sandbox


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, Planted]:
    """The repository, built once: every command only reads it (the index included)."""
    planted = Planted()
    corpus.plant_tokens(planted)
    with pytest.MonkeyPatch.context() as mp:  # no git config of the machine's user
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        repo = GitRepo.init(tmp_path_factory.mktemp("history") / "repo")
        dev, prod = "envs/dev/values.yaml", "envs/prod/values.yaml"
        repo.commit("web 1.0.0 everywhere", at(0), files={
            ".gitops-guard.yaml": CONFIG,
            dev: values(planted, "dev values, first", "1.0.0", "Pd1xQw7kLm3vRt9z"),
            prod: values(planted, "prod values, first", "1.0.0", "Pp2wZx8nKq4tVb6m")})
        repo.commit("dev 1.1.0", at(1), files={
            dev: values(planted, "dev values, second", "1.1.0", "Pd3cMv9rTq5wXk2n")})
        repo.commit("prod values broken", at(1.2), files={
            prod: values(planted, "prod values that do not parse", "1.1.0",
                         "Pb4nHs2xWq8kLc5v", broken=True)})
        repo.commit("prod 1.1.0 too early", at(1.5), files={
            prod: values(planted, "prod values, second", "1.1.0", "Pp5tRk3mWx9qZc7d")})
        repo.branch("feature")
        repo.checkout("feature")
        repo.commit("prod 1.2.0, never in dev", at(4), files={
            prod: values(planted, "feature branch values", "1.2.0", "Pf6vLq2wNx8mTk4b")})
        repo.checkout("main")
        repo.write({
            dev: values(planted, "staged dev values that do not parse", "1.3.0",
                        "Ps7kXw3qMv9tLb2n", broken=True),
            prod: values(planted, "staged prod values", "1.3.0", "Ps8mTq4wKx2vNc6z")})
        repo.stage()
    return repo, planted


@pytest.fixture
def history(built: tuple[GitRepo, Planted], private_tmpdir: Path) -> History:
    repo, planted = built
    return History(repo, Sandbox((repo.root.parent, Path(os.environ["HOME"])), private_tmpdir,
                                 planted))


NOW = ("--now", at(5))
RUNS: dict[str, tuple[tuple[str, ...], int, str]] = {
    "check (staged)": (("check", *NOW), 1, "PROMO011"),
    "check --base --head": (("check", "--base", "main", "--head", "feature", *NOW), 1,
                            "PROMO001"),
    "audit": (("audit",), 1, "PROMO002"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(RUNS))
def test_promotion_reports_show_no_secret(history: History, run_cli: RunCli, name: str,
                                          fmt: str) -> None:
    argv, code, shown = RUNS[name]
    root = history.repo.root
    before = history.sandbox.start()
    to_stdout = run_cli("promotion", *argv, "--format", fmt, "--debug", cwd=root)
    report = root.parent / f"report.{fmt}"
    to_file = run_cli("promotion", *argv, "--format", fmt, "--debug", "--output", str(report),
                      cwd=root)
    assert (to_stdout.code, to_file.code) == (code, code), to_stdout.err
    assert shown in to_stdout.out and shown in report.read_text()
    no_leaks(history.sandbox, before, {"stdout": to_stdout.out, "stderr": to_stdout.err,
                                       "stdout (--output)": to_file.out,
                                       "stderr (--output)": to_file.err})


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_promotion_status_shows_no_secret(history: History, run_cli: RunCli,
                                          fmt: str) -> None:
    before = history.sandbox.start()
    result = run_cli("promotion", "status", "--format", fmt, *NOW, "--debug",
                     cwd=history.repo.root)
    assert result.code == 0 and "1.1.0" in result.out
    no_leaks(history.sandbox, before, {"stdout": result.out, "stderr": result.err})


@pytest.mark.parametrize("argv", [("check", "--debug", *NOW), ("audit", "--format", "sarif",
                                                                 "--debug")],
                         ids=lambda argv: argv[0])
def test_promotion_as_a_real_process_shows_no_secret(history: History,
                                                     argv: tuple[str, ...]) -> None:
    before = history.sandbox.start()
    result: CliRun = run_process(("promotion", *argv), history.repo.root)
    assert result.code == 1, result.err
    no_leaks(history.sandbox, before, {"stdout": result.out, "stderr": result.err})
