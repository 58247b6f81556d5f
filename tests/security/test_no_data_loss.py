"""In-place SOPS writes interrupted at each step of gitops_guard/atomic.py's write path.

Every command that replaces a file (`encrypt -i`, `decrypt -i`, `rotate -i`, `updatekeys -y`)
meets a failure (disk full: OSError ENOSPC, exit 2) or an interrupt (Ctrl-C, exit 130) at each
step: creating the temp file, opening it, writing (half the bytes land), flushing, fsync, chmod,
the rename, and the directory fsync after it. Before the rename the original must be untouched;
after it the new file is complete. Either way: the file's mode (0600 or 0640) is kept, no temp
file is left, no plaintext copy exists beside the file or in $TMPDIR.

tests/sops/test_commands.py interrupts `encrypt -i` before the write (wrapping the key,
encrypting values, emitting); this extends it to every write step and every in-place command.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from tests.security.conftest import RunCli
from tests.security.inplace import (
    COMMANDS,
    NAME,
    mode_of,
    outcome,
    plaintext_copies,
    prepare,
)

Failure = Callable[[], BaseException]
FAILURES: dict[str, tuple[Failure, int]] = {
    "disk full": (lambda: OSError(errno.ENOSPC, "No space left on device"), 2),
    "Ctrl-C": (lambda: KeyboardInterrupt(), 130),
}


class _HalfWritten:
    """A file object whose write lands half the bytes and then fails (or whose flush fails)."""

    def __init__(self, real: IO[bytes], fail: Failure, at: str) -> None:
        self.real, self.fail, self.at = real, fail, at

    def __enter__(self) -> _HalfWritten:
        return self

    def __exit__(self, *_: object) -> None:
        self.real.close()

    def write(self, data: bytes) -> int:
        if self.at == "write":
            self.real.write(data[:len(data) // 2])
            self.real.flush()
            raise self.fail()
        return self.real.write(data)

    def flush(self) -> None:
        if self.at == "flush":
            raise self.fail()
        self.real.flush()

    def fileno(self) -> int:
        return self.real.fileno()


class WritePath:
    """Patches the calls atomic.write_bytes makes, failing one step, and only for temp files
    in `folder` (everything else the command does runs for real)."""

    def __init__(self, mp: pytest.MonkeyPatch, folder: Path, step: str, fail: Failure) -> None:
        self.folder, self.step, self.fail = folder, step, fail
        self.fds: set[int] = set()
        self.temps: set[Path] = set()
        real_mkstemp, real_fdopen, real_fsync = tempfile.mkstemp, os.fdopen, os.fsync
        real_chmod, real_replace, real_open = Path.chmod, Path.replace, os.open

        def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
            ours = Path(kwargs.get("dir") or ".") == folder
            if ours and step == "create the temp file":
                raise fail()
            fd, name = real_mkstemp(*args, **kwargs)
            if ours:
                self.fds.add(fd)
                self.temps.add(Path(name))
            return fd, name

        def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
            if fd not in self.fds:
                return real_fdopen(fd, *args, **kwargs)
            if step == "open it":
                raise fail()
            handle = real_fdopen(fd, *args, **kwargs)
            return _HalfWritten(handle, fail, {"write half of it": "write",
                                               "flush it": "flush"}.get(step, ""))

        def fsync(fd: int) -> None:
            if fd in self.fds and step == "fsync it":
                raise fail()
            real_fsync(fd)

        def chmod(path: Path, *args: Any, **kwargs: Any) -> None:
            if path in self.temps and step == "set its mode":
                raise fail()
            real_chmod(path, *args, **kwargs)

        def replace(path: Path, target: Any) -> Path:
            if path in self.temps and step == "rename it over the file":
                raise fail()
            return real_replace(path, target)

        def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if Path(path) == folder and step == "fsync the directory":
                raise fail()
            return real_open(path, flags, *args, **kwargs)

        mp.setattr(tempfile, "mkstemp", mkstemp)
        mp.setattr(os, "fdopen", fdopen)
        mp.setattr(os, "fsync", fsync)
        mp.setattr(Path, "chmod", chmod)
        mp.setattr(Path, "replace", replace)
        mp.setattr(os, "open", open_)


# Each step, and whether the new file is in place when it fails.
STEPS = {
    "create the temp file": False,
    "open it": False,
    "write half of it": False,
    "flush it": False,
    "fsync it": False,
    "set its mode": False,
    "rename it over the file": False,
    "fsync the directory": True,
}


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_an_interrupted_write_loses_nothing(tmp_path: Path, private_tmpdir: Path,
                                            run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
                                            name: str, step: str, failure: str) -> None:
    command = COMMANDS[name]
    make_failure, failed_code = FAILURES[failure]
    replaced = STEPS[step]
    for mode in (0o600, 0o640):
        setup = prepare(tmp_path / f"{mode:o}", tmp_path / f"keys-{mode:o}", command, mode)
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(setup.first.file))
        listing = sorted(p.name for p in setup.folder.iterdir())
        with pytest.MonkeyPatch.context() as mp:
            WritePath(mp, setup.folder, step, make_failure)
            result = run_cli("sops", *command.argv(setup), cwd=setup.folder)
        # A directory that cannot be fsynced is no failure: the file is already in place.
        expected_code = 0 if replaced and failure == "disk full" else failed_code
        assert result.code == expected_code, result.err
        if expected_code == 2:
            assert f"{NAME}: cannot write: No space left on device" in result.err
        assert "Traceback" not in result.err and "bug" not in result.err
        assert outcome(setup, command) == ("new" if replaced else "original")
        assert mode_of(setup.target) == mode
        assert sorted(p.name for p in setup.folder.iterdir()) == listing
        assert plaintext_copies(setup, private_tmpdir) == []
        assert list(private_tmpdir.iterdir()) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_uninterrupted_write_is_complete(tmp_path: Path, private_tmpdir: Path,
                                             run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
                                             name: str) -> None:
    """The baseline the interrupted runs are judged against: each command, left alone,
    replaces the file with its complete result and keeps the mode."""
    command = COMMANDS[name]
    for mode in (0o600, 0o640):
        setup = prepare(tmp_path / f"{mode:o}", tmp_path / f"keys-{mode:o}", command, mode)
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(setup.first.file))
        listing = sorted(p.name for p in setup.folder.iterdir())
        assert run_cli("sops", *command.argv(setup), cwd=setup.folder).code == 0
        assert outcome(setup, command) == "new"
        assert mode_of(setup.target) == mode
        assert sorted(p.name for p in setup.folder.iterdir()) == listing
        assert list(private_tmpdir.iterdir()) == []
