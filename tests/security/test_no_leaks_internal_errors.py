"""An internal error (a bug) shows no secret either.

The promise: no planted value in any output, --debug included. Without --debug an internal
error is named by its exception type only (engine.InternalError.summary, the CLI's one-line
pointer). With --debug the traceback shows where it happened (frames and the exception type);
Python prints no local variables, so a secret held in one stays unseen — but the exception's
message, which may quote the value that broke the code (`int('…')`), is withheld
(errors.safe_traceback: frames and the exception's type only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from gitops_guard.checks import CHECKS
from gitops_guard.documents import Document
from gitops_guard.findings import Problem
from gitops_guard.sops import cipher
from tests.conftest import write
from tests.security.conftest import AgeKey, PlantedRepo, RunCli, no_leaks, run_python

FORMATS = ("text", "json", "sarif", "junit", "github")


def int_of_secret_values(document: Document, context: Any) -> Iterator[Problem]:
    """A check with a bug: it takes Secret values for numbers. ValueError: invalid literal
    for int() with base 10: '<the value>'."""
    data = document.data
    if isinstance(data, dict) and data.get("kind") == "Secret":
        for value in (data.get("stringData") or {}).values():
            int(value)
    return iter(())


def holds_secret_values(document: Document, context: Any) -> Iterator[Problem]:
    """A bug whose message says nothing, with the secrets in a local variable."""
    data = document.data
    if isinstance(data, dict) and data.get("kind") == "Secret":
        values = list((data.get("stringData") or {}).values())
        if values:
            raise RuntimeError("the check lost its place")
    return iter(())


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CHECKS, "secrets", dataclasses.replace(
        CHECKS["secrets"], check_document=int_of_secret_values, check_file=None))


def shows_the_crash(err: str, exception: str = "ValueError") -> bool:
    return (f"internal error in check secrets on secrets/plain.yaml ({exception})" in err
            and "this is a bug" in err)


@pytest.mark.usefixtures("crashing")
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_crashing_check_shows_no_secret(planted_repo: PlantedRepo, run_cli: RunCli,
                                          fmt: str) -> None:
    before = planted_repo.sandbox.start()
    result = run_cli("secrets", "scan", "--format", fmt, "-j", "1", cwd=planted_repo.repo)
    assert result.code == 3 and shows_the_crash(result.err)
    assert "Traceback" not in result.err
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


@pytest.mark.usefixtures("crashing")
def test_the_debug_traceback_of_a_crashing_check_shows_no_secret(
        planted_repo: PlantedRepo, run_cli: RunCli) -> None:
    before = planted_repo.sandbox.start()
    result = run_cli("secrets", "scan", "--debug", "-j", "1", cwd=planted_repo.repo)
    assert result.code == 3 and shows_the_crash(result.err)
    assert "Traceback" in result.err and "int_of_secret_values" in result.err
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


def test_the_debug_traceback_shows_no_local_variable(planted_repo: PlantedRepo,
                                                     run_cli: RunCli,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CHECKS, "secrets", dataclasses.replace(
        CHECKS["secrets"], check_document=holds_secret_values, check_file=None))
    before = planted_repo.sandbox.start()
    result = run_cli("secrets", "scan", "--debug", "-j", "1", cwd=planted_repo.repo)
    assert result.code == 3 and shows_the_crash(result.err, "RuntimeError")
    assert "Traceback" in result.err and "the check lost its place" in result.err
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


@pytest.mark.usefixtures("crashing")
@pytest.mark.parametrize("debug", [
    pytest.param(False, id="plain"), pytest.param(True, id="--debug")])
def test_a_crash_during_baseline_create_shows_no_secret(planted_repo: PlantedRepo,
                                                        run_cli: RunCli, debug: bool) -> None:
    before = planted_repo.sandbox.start()
    result = run_cli("secrets", "baseline", "create", "-j", "1", *(["--debug"] * debug),
                     cwd=planted_repo.repo)
    assert result.code == 3 and "The baseline was not written" in result.err
    assert not (planted_repo.repo / ".gitops-guard-baseline.json").exists()
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


@pytest.mark.parametrize("debug", [
    pytest.param(False, id="plain"), pytest.param(True, id="--debug")])
def test_a_crash_outside_the_checks_shows_no_secret(
        planted_repo: PlantedRepo, key: AgeKey, run_cli: RunCli,
        monkeypatch: pytest.MonkeyPatch, debug: bool) -> None:
    """`sops encrypt` with a bug in the cipher: the CLI's last-resort handler (exit 3)."""
    secret = planted_repo.planted.add("plaintext being encrypted", "Ce9wKx4mTq2vLn7b")
    write(planted_repo.repo, {"enc/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n"
                                             f"  name: db\nstringData:\n  password: {secret}\n"})
    sandbox = planted_repo.sandbox

    def int_of_plaintext(value: Any, *_: Any, **__: Any) -> Any:
        return int(value)

    monkeypatch.setattr(cipher, "encrypt", int_of_plaintext)
    before = sandbox.start()
    result = run_cli("sops", "encrypt", "--age", key.recipient, "enc/db.yaml",
                     *(["--debug"] * debug), cwd=planted_repo.repo)
    assert result.code == 3 and "internal error (ValueError); this is a bug" in result.err
    assert ("Traceback" in result.err) == debug
    no_leaks(sandbox, before, {"stdout": result.out, "stderr": result.err})


SCRIPT = """\
import dataclasses, sys
from gitops_guard.checks import CHECKS
from gitops_guard.cli import main
from tests.security.test_no_leaks_internal_errors import int_of_secret_values

CHECKS["secrets"] = dataclasses.replace(CHECKS["secrets"], check_document=int_of_secret_values,
                                        check_file=None)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("debug", [
    pytest.param(False, id="plain"), pytest.param(True, id="--debug")])
def test_a_crashing_check_in_a_real_process_shows_no_secret(planted_repo: PlantedRepo,
                                                            debug: bool) -> None:
    before = planted_repo.sandbox.start()
    result = run_python(SCRIPT, ["secrets", "scan", "-j", "1", *(["--debug"] * debug)],
                        planted_repo.repo)
    assert result.code == 3 and shows_the_crash(result.err), result.err
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})
