"""The progress bar: when it may show (a terminal; never in hooks, CI or with --quiet), how it
draws, and that a real run feeds it as files complete."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_guard import progress
from gitops_guard.cli import main
from gitops_guard.progress import SILENCING_VARIABLES, ProgressBar, wanted
from tests.conftest import GOOD_CONFIGMAP, write


class FakeTty(io.StringIO):
    """A terminal as far as the bar can tell: isatty() is true, writes are kept."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pipe() -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    read_fd, write_fd = os.pipe()
    reader, writer = os.fdopen(read_fd, "r"), os.fdopen(write_fd, "w")
    yield reader, writer
    for stream in (reader, writer):
        if not stream.closed:
            stream.close()


@pytest.mark.parametrize(("tty", "environ", "quiet", "shown"), [
    (True, {}, False, True),
    (True, {}, True, False),  # --quiet
    (False, {}, False, False),  # a pipe or a file
    (True, {"PRE_COMMIT": "1"}, False, False),  # a pre-commit hook, even under its pty
    (True, {"CI": "true"}, False, False),
    (True, {"GITHUB_ACTIONS": "true"}, False, False),
    (True, {"GITLAB_CI": "true"}, False, False),
    (True, {"CI": "false"}, False, True),  # set, but saying no
    (True, {"CI": "0"}, False, True),
    (True, {"CI": ""}, False, True),
    (True, {"TERM": "dumb"}, False, False),
    (True, {"TERM": "xterm-256color"}, False, True),
])
def test_when_the_bar_may_show(tty: bool, environ: dict[str, str], quiet: bool,
                               shown: bool) -> None:
    stream = FakeTty() if tty else io.StringIO()
    assert wanted(stream, environ, quiet) is shown


def test_a_real_pipe_is_not_a_terminal(pipe: tuple[io.TextIOWrapper, io.TextIOWrapper]) -> None:
    assert wanted(pipe[1], {}, quiet=False) is False


def test_a_closed_stream_is_not_a_terminal(
        pipe: tuple[io.TextIOWrapper, io.TextIOWrapper]) -> None:
    pipe[1].close()  # isatty() on it raises ValueError
    assert wanted(pipe[1], {}, quiet=False) is False


def test_silencing_variables_are_the_documented_ones() -> None:
    assert SILENCING_VARIABLES == ("PRE_COMMIT", "CI", "GITHUB_ACTIONS", "GITLAB_CI")


def test_the_bar_waits_then_draws_then_erases_itself() -> None:
    clock, stream = Clock(), FakeTty()
    bar = ProgressBar(stream, delay=2.0, interval=0.1, clock=clock)
    clock.now += 1.9
    bar.update(10, 40)
    assert stream.getvalue() == ""  # a short run never shows it
    clock.now += 0.2
    bar.update(10, 40)
    assert stream.getvalue() == "\r[#######.......................] 10/40 files  25% 2s"
    clock.now += 0.05
    bar.update(11, 40)  # too soon to redraw
    assert stream.getvalue().count("\r[") == 1
    clock.now += 0.01
    bar.update(40, 40)  # the last file is always drawn
    assert stream.getvalue().endswith("\r[##############################] 40/40 files 100% 2s")
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")
    bar.close()  # once is enough
    assert stream.getvalue().count("\x1b[K") == 1


def test_a_bar_that_never_drew_writes_nothing_on_close() -> None:
    stream = FakeTty()
    bar = ProgressBar(stream, delay=2.0, clock=Clock())
    bar.update(1, 1)
    bar.close()
    assert stream.getvalue() == ""


def test_a_broken_stream_does_not_fail_the_run() -> None:
    clock, stream = Clock(), FakeTty()
    bar = ProgressBar(stream, delay=0, clock=clock)
    stream.close()
    bar.update(1, 2)  # no exception


@pytest.fixture
def many_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, {f"cm{i}.yaml": GOOD_CONFIGMAP for i in range(5)})
    monkeypatch.chdir(tmp_path)
    for name in SILENCING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setattr(progress, "DELAY", 0.0)  # every run is "long" here
    return tmp_path


def test_a_run_draws_on_a_terminal(many_files: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    stderr = FakeTty()
    monkeypatch.setattr(sys, "stderr", stderr)
    assert main(["check", "--checks", "manifest", "--jobs", "1"]) == 0
    drawn = stderr.getvalue()
    assert "\r[##############################] 5/5 files 100%" in drawn
    assert drawn.count(" files ") >= 1
    assert drawn.endswith("\r\x1b[K")  # erased before the report
    assert capsys.readouterr().out.startswith("no problems (5 files")


def test_a_run_into_a_pipe_draws_nothing(many_files: Path, monkeypatch: pytest.MonkeyPatch,
                                         pipe: tuple[io.TextIOWrapper, io.TextIOWrapper]
                                         ) -> None:
    reader, writer = pipe
    monkeypatch.setattr(sys, "stderr", writer)
    assert main(["check", "--checks", "manifest"]) == 0
    writer.close()
    assert reader.read() == ""


@pytest.mark.parametrize(("argv", "environ"), [
    (["check", "--quiet"], {}),
    (["check"], {"PRE_COMMIT": "1"}),
    (["check"], {"GITHUB_ACTIONS": "true"}),
])
def test_hooks_ci_and_quiet_runs_draw_nothing(argv: list[str], environ: dict[str, str],
                                              many_files: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    stderr = FakeTty()
    monkeypatch.setattr(sys, "stderr", stderr)
    assert main([*argv, "--checks", "manifest"]) == 0
    assert stderr.getvalue() == ""
