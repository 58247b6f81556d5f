"""In-place SOPS writes interrupted at each step of gitops_guard/atomic.py's write path.

Every command that replaces a file (`encrypt -i`, `decrypt -i`, `rotate -i`, `updatekeys -y`)
meets a failure (disk full: OSError ENOSPC, exit 2) or an interrupt (Ctrl-C, exit 130) at each
step (tests/security/writesteps.py): creating the temp file, writing (half the bytes land),
fsync, chmod, naming it (O_TMPFILE), the rename, and the directory fsync after it; with
O_TMPFILE and with a named temp file, as on systems without it. Before the rename the
original must be untouched; after it the new file is complete. Either way: the file's mode
(0600 or 0640) is kept, no temp file is left, no plaintext copy exists beside the file or in
$TMPDIR.

tests/sops/test_commands.py interrupts `encrypt -i` before the write (wrapping the key,
encrypting values, emitting); this extends it to every write step and every in-place command.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

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
from tests.security.writesteps import NAMED_STEPS, REPLACED, STEPS, watch

Failure = Callable[[], BaseException]
FAILURES: dict[str, tuple[Failure, int]] = {
    "disk full": (lambda: OSError(errno.ENOSPC, "No space left on device"), 2),
    "Ctrl-C": (lambda: KeyboardInterrupt(), 130),
}


# Each step of the write (tests/security/writesteps.py), with and without O_TMPFILE.
CASES = [pytest.param(step, named, id=f"{step}{'-named' if named else ''}")
         for named in (False, True) for step in (NAMED_STEPS if named else STEPS)]


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize(("step", "named"), CASES)
@pytest.mark.parametrize("name", list(COMMANDS))
def test_an_interrupted_write_loses_nothing(tmp_path: Path, private_tmpdir: Path,
                                            run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
                                            name: str, step: str, named: bool,
                                            failure: str) -> None:
    command = COMMANDS[name]
    make_failure, failed_code = FAILURES[failure]
    replaced = step in REPLACED

    def on_step(current: str) -> None:
        if current == step:
            raise make_failure()

    for mode in (0o600, 0o640):
        setup = prepare(tmp_path / f"{mode:o}", tmp_path / f"keys-{mode:o}", command, mode)
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(setup.first.file))
        listing = sorted(p.name for p in setup.folder.iterdir())
        with pytest.MonkeyPatch.context() as mp:
            watch(mp.setattr, setup.folder, on_step, named=named)
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
