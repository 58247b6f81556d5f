"""The command line: exit codes, options, the error boundary."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitops_guard import __version__, engine
from gitops_guard.checks import CHECKS
from gitops_guard.documents import Document
from gitops_guard.findings import Problem
from tests.conftest import GOOD_CONFIGMAP, NAMELESS_CONFIGMAP, REPO_ROOT, CliRun, write


def test_version(run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("--version")
    assert (result.code, result.out) == (0, f"gitops-guard {__version__}\n")


@pytest.mark.parametrize(("argv", "message"), [
    ((), "the following arguments are required: COMMAND"),
    (("check", "--format", "xml"), "invalid choice: 'xml'"),
    (("check", "--jobs", "0"), "must be at least 1"),
    (("check", "--jobs", "many"), "not a number: 'many'"),
    (("check", "--checks", ","), "name at least one check"),
    (("check", "--fail-on", "info"), "invalid choice: 'info'"),
    (("lint",), "invalid choice: 'lint'"),
])
def test_usage_errors_exit_2(run_cli: Callable[..., CliRun], argv: tuple[str, ...],
                             message: str) -> None:
    result = run_cli(*argv)
    assert result.code == 2
    assert message in result.err


def test_unknown_check(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "--checks", "manifest,nope", cwd=tmp_path)
    assert result.code == 2
    assert result.err == ("gitops-guard: error: unknown check 'nope'; available: manifest, "
                          "schema, secrets, sops, policy\n")


def test_missing_path(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("check", "missing.yaml", cwd=tmp_path)
    assert (result.code, result.err) == (
        2, "gitops-guard: error: no such file or directory: missing.yaml\n")


def test_config_error_exits_2_with_file_and_line(tmp_path: Path,
                                                 run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".gitops-guard.yaml": "fail_on: error\nexcludes: []\n",
                     "good.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", cwd=tmp_path)
    assert result.code == 2
    assert result.err == ("gitops-guard: error: invalid configuration:\n"
                          "  .gitops-guard.yaml:2:1: unknown key 'excludes'; did you mean "
                          "'exclude'?\n")
    assert result.out == ""


def test_clean_run_exits_0(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"good.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", cwd=tmp_path)
    assert (result.code, result.out) == (0, "no problems (1 file, 1 document checked)\n")


@pytest.mark.parametrize(("config", "flags", "code", "severity"), [
    ("", (), 1, "error"),
    ("rules: {GG-MANIFEST-005: warning}\n", (), 0, "warning"),
    ("rules: {GG-MANIFEST-005: warning}\n", ("--fail-on", "warning"), 1, "warning"),
    ("rules: {GG-MANIFEST-005: warning}\nfail_on: warning\n", (), 1, "warning"),
    ("rules: {GG-MANIFEST-005: warning}\nfail_on: warning\n", ("--fail-on", "error"), 0,
     "warning"),
    ("rules: {GG-MANIFEST-005: info}\n", (), 0, "info"),
    ("rules: {GG-MANIFEST-005: off}\n", (), 0, None),
])
def test_severity_overrides_and_fail_on(tmp_path: Path, run_cli: Callable[..., CliRun],
                                        config: str, flags: tuple[str, ...], code: int,
                                        severity: str | None) -> None:
    write(tmp_path, {".gitops-guard.yaml": config, "cm.yaml": NAMELESS_CONFIGMAP})
    result = run_cli("check", "--format", "json", *flags, cwd=tmp_path)
    assert result.code == code
    assert [f["severity"] for f in result.json()["findings"]] == (
        [severity] if severity else [])


def test_checks_from_config_and_flag(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".gitops-guard.yaml": "checks: [manifest]\n", "cm.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert result.json()["checks"] == ["manifest"]
    result = run_cli("check", "--format", "json", "--checks", "manifest,manifest", cwd=tmp_path)
    assert result.json()["checks"] == ["manifest"]


def test_config_from_flag_and_environment(tmp_path: Path, run_cli: Callable[..., CliRun],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"conf/strict.yaml": "rules: {GG-MANIFEST-005: off}\n",
                     "cm.yaml": NAMELESS_CONFIGMAP})
    assert run_cli("check", cwd=tmp_path).code == 1
    assert run_cli("check", "--config", "conf/strict.yaml", cwd=tmp_path).code == 0
    monkeypatch.setenv("GITOPS_GUARD_CONFIG", "conf/strict.yaml")
    assert run_cli("check", cwd=tmp_path).code == 0


def test_rules_command(run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("rules")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split()[:3] == ["GG-MANIFEST-001", "error", "manifest"]
    assert any(line.startswith("GG-SUPPRESS-002") for line in lines)
    assert len(lines) == len({line.split()[0] for line in lines})


def test_config_schema_command(run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("config-schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"checks", "exclude", "waivers", "rules", "manifest"} <= set(schema["properties"])


def _boom(doc: Document, ctx: object) -> Iterator[Problem]:
    if doc.data.get("metadata", {}).get("name") == "explode":
        raise KeyError("a value from the file that must not be printed")
    yield from ()


def test_a_crashing_check_exits_3_and_other_files_are_still_reported(
        tmp_path: Path, run_cli: Callable[..., CliRun], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CHECKS, "manifest", dataclasses.replace(
        CHECKS["manifest"], check_document=_boom, check_file=None))
    write(tmp_path, {"a.yaml": GOOD_CONFIGMAP.replace("good", "explode"),
                     "b.yaml": "a: [\n"})
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert result.code == 3
    assert [(f["rule"], f["path"]) for f in result.json()["findings"]] == [
        ("GG-MANIFEST-001", "b.yaml")]
    assert result.json()["internal_errors"] == [
        {"path": "a.yaml", "check": "manifest", "error": "KeyError"}]
    assert result.err == ("gitops-guard: internal error in check manifest on a.yaml (KeyError); "
                          "this is a bug, please report it\n")
    assert "must not be printed" not in result.out + result.err
    debug = run_cli("check", "--debug", cwd=tmp_path)
    assert debug.code == 3
    assert "Traceback (most recent call last)" in debug.err
    # The frames show code; the exception's message (what it was given at run time) is withheld.
    assert "KeyError: 'a value" not in debug.out + debug.err
    assert "builtins.KeyError (message withheld" in debug.err


def test_an_unexpected_exception_exits_3_without_traceback(
        tmp_path: Path, run_cli: Callable[..., CliRun], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret-ish detail")

    monkeypatch.setattr(engine, "run", broken)
    result = run_cli("check", cwd=tmp_path)
    assert result.code == 3
    assert result.err == ("gitops-guard: internal error (RuntimeError); this is a bug. Run again "
                          "with --debug for the traceback and report it.\n")
    debug = run_cli("check", "--debug", cwd=tmp_path)
    # Where it failed, and the type; never the message, which may quote a checked file.
    assert "Traceback" in debug.err and "in broken" in debug.err
    assert "builtins.RuntimeError (message withheld" in debug.err
    assert "RuntimeError: secret-ish detail" not in debug.err


def test_keyboard_interrupt_exits_130(tmp_path: Path, run_cli: Callable[..., CliRun],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "run", interrupted)
    result = run_cli("check", cwd=tmp_path)
    assert (result.code, result.err) == (130, "gitops-guard: interrupted\n")


def _cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def test_entry_points(tmp_path: Path) -> None:
    write(tmp_path, {"cm.yaml": NAMELESS_CONFIGMAP})
    module = subprocess.run([sys.executable, "-m", "gitops_guard", "check", "cm.yaml"],
                            cwd=tmp_path, capture_output=True, text=True, env=_cli_env(),
                            check=False)
    assert module.returncode == 1
    assert "GG-MANIFEST-005" in module.stdout
    script = Path(sys.executable).parent / "gitops-guard"
    if script.exists():
        version = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                                 check=False)
        assert version.stdout == f"gitops-guard {__version__}\n"


@pytest.mark.slow
def test_ctrl_c_on_a_parallel_run(tmp_path: Path) -> None:
    """A real SIGINT in the middle of a multi-process run: exit 130, no traceback, no leftovers."""
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO_ROOT / "bench"))
    generate(tmp_path / "corpus" / "0", documents=5_000, per_file=5)
    for copy in range(1, 8):  # 40,000 documents, without paying to generate them all
        shutil.copytree(tmp_path / "corpus" / "0", tmp_path / "corpus" / str(copy))
    # The console script, as users and pre-commit run it.
    script = Path(sys.executable).parent / "gitops-guard"
    if not script.exists():
        pytest.skip("the gitops-guard console script is not installed beside this Python")
    process = subprocess.Popen(
        [str(script), "check", "--jobs", "2", "corpus"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert err == "gitops-guard: interrupted\n"
    assert "Traceback" not in out
    # The workers were killed, not left running.
    assert _processes_running(str(script), "corpus") == []


def _processes_running(*words: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if all(word in command for word in words):
            found.append(int(entry.name))
    return found


def test_secrets_scan_has_no_schema_flags(tmp_path: Path,
                                          run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("secrets", "scan", "--kubernetes-version", "1.36", cwd=tmp_path)
    assert result.code == 2
    assert "unrecognized arguments: --kubernetes-version" in result.err
