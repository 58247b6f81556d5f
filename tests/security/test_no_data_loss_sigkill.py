"""`gitops-guard sops encrypt -i` killed with SIGKILL at random points, as a real process.

Nothing runs on SIGKILL (no `finally`, no cleanup), so this checks the design itself: the new
file is written beside the old one and renamed over it. The run is timed once; then each kill
lands at a seeded random moment, most of them around the moment the file is written (from the
timed run's modification time, corrected after each kill), the rest anywhere in the run.
After each: the file is the original byte for byte, or a complete SOPS file that decrypts to
the original plaintext; its mode (0600 or 0640) is kept; nothing beside it or in $TMPDIR holds
plaintext. The temp file is written without a name (O_TMPFILE) and named only for the rename:
one left by a kill in that instant (`.credentials.bin.*.tmp`, complete, the target's mode) is
counted and removed. A kill at each step of the write (tests/security/selfkill.py) covers the
moments the random kills rarely hit.
"""

from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitops_guard import atomic
from tests.security.conftest import REPO_ROOT, RunCli
from tests.security.inplace import (
    COMMANDS,
    PASSWORD,
    Setup,
    mode_of,
    outcome,
    plaintext_copies,
    prepare,
)
from tests.security.writesteps import REPLACED, STEPS

ITERATIONS = 30
SEED = 9
STEP = 0.003  # seconds
# A binary file (one value) of 4 MB: encrypting it is quick, writing the 5.5 MB result takes
# several milliseconds, so a kill can land while the temp file is written.
NAME = "credentials.bin"
PLAINTEXT = "".join(f"LINE{i:06d}=value-{PASSWORD}\n" for i in range(120_000)).encode()
COMMAND = COMMANDS["encrypt -i"]


def environment(setup: Setup) -> dict[str, str]:
    # No bytecode caches: a kill while Python writes one would leave a stray file in the tree.
    return {**os.environ, "SOPS_AGE_KEY_FILE": str(setup.first.file),
            "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}


def start(setup: Setup) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gitops_guard", "sops", *COMMAND.argv(setup)],
                            cwd=setup.folder, env=environment(setup),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def restore(setup: Setup) -> None:
    setup.target.write_bytes(setup.original)
    setup.target.chmod(setup.mode)


def timed_run(setup: Setup) -> tuple[float, float]:
    """(seconds until the file is written, seconds the whole run takes), then restore."""
    began = time.time()
    process = start(setup)
    _, err = process.communicate(timeout=60)
    took = time.time() - began
    assert process.returncode == 0, err.decode()
    written = setup.target.stat().st_mtime - began
    restore(setup)
    return max(0.0, written), took


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, private_tmpdir: Path) -> None:
    setups = [prepare(tmp_path / f"{mode:o}", tmp_path / f"keys-{mode:o}", COMMAND, mode,
                      PLAINTEXT, NAME) for mode in (0o600, 0o640)]
    written, took = timed_run(setups[0])
    rng = random.Random(SEED)  # noqa: S311 - when to kill, not a secret
    seen: collections.Counter[str] = collections.Counter()
    # Where the write happens moves with the machine's load: a kill that came too early moves
    # the estimate later, one that came too late earlier (by steps that double while the
    # direction holds, so a slower machine is caught up with), and kills cluster there.
    estimate, step, direction = max(0.0, written - 0.004), STEP, 0
    for iteration in range(ITERATIONS):
        setup = setups[iteration % 2]
        aimed = rng.random() < 0.7
        delay = (max(0.0, estimate + rng.uniform(-0.01, 0.01)) if aimed
                 else rng.uniform(0.0, took * 1.2))
        process = start(setup)
        time.sleep(delay)
        process.kill()  # SIGKILL; a no-op when it already finished
        _, err = process.communicate(timeout=60)
        killed = process.returncode == -9
        assert killed or process.returncode == 0, err.decode()
        where = f"iteration {iteration}, kill after {delay * 1000:.0f} ms"
        state = outcome(setup, COMMAND)
        assert state in ("original", "new"), f"{where}: a partial or corrupt file"
        assert mode_of(setup.target) == setup.mode, where
        assert plaintext_copies(setup, private_tmpdir) == [], where
        assert list(private_tmpdir.iterdir()) == [], where
        leftovers = sorted(p for p in setup.folder.iterdir() if p.name not in (NAME, ".sops.yaml"))
        # Only a kill between naming the complete temp file and the rename leaves one.
        assert leftovers == atomic.leftovers(setup.target), where
        for path in leftovers:
            assert killed and mode_of(path) == setup.mode, where
            path.unlink()
        seen[state] += 1
        seen["killed" if killed else "finished"] += 1
        seen["temp file left"] += bool(leftovers)
        if state == "new":
            restore(setup)
        if aimed and not leftovers:
            now = 1 if state == "original" else -1
            step = step * 2 if now == direction else STEP
            estimate, direction = max(0.0, estimate + now * step), now
    print(f"SIGKILL loop: {dict(seen)}; write at {written * 1000:.0f} ms of {took * 1000:.0f}")
    # Kills landed both before the file was replaced and after.
    assert seen["original"] and seen["new"], dict(seen)


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_a_run_that_is_not_killed_replaces_the_file(tmp_path: Path, mode: int) -> None:
    """The control for the loop: left alone, the process writes the complete new file."""
    setup = prepare(tmp_path / "folder", tmp_path / "keys", COMMAND, mode, PLAINTEXT, NAME)
    process = start(setup)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert outcome(setup, COMMAND) == "new" and mode_of(setup.target) == mode


# -- a SIGKILL at each step of the write --------------------------------------------------------

def kill_cases() -> list[Any]:
    return [pytest.param(name, step, id=f"{name}-{step}") for name in COMMANDS for step in STEPS]


@pytest.mark.parametrize(("name", "step"), kill_cases())
def test_sigkill_at_each_write_step_loses_nothing(tmp_path: Path, private_tmpdir: Path,
                                                  name: str, step: str) -> None:
    command = COMMANDS[name]
    setup = prepare(tmp_path / "folder", tmp_path / "keys", command, 0o640)
    completed = kill_at(setup, command.argv(setup), step)
    assert completed.returncode == -9, completed.stderr.decode()
    assert outcome(setup, command) == ("new" if step in REPLACED else "original")
    assert mode_of(setup.target) == 0o640
    assert list(private_tmpdir.iterdir()) == []
    # Killed before `rename`, the temp file is the only name the new content has; before
    # `rename` it has none at all: nothing is left beside the file.
    left = [p for p in setup.folder.iterdir() if p.name not in (setup.target.name, ".sops.yaml")]
    if step == "rename":
        assert [path.parent for path in left] == [setup.folder]
        assert left == atomic.leftovers(setup.target)
    else:
        assert left == []
        assert plaintext_copies(setup, private_tmpdir) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_kill_between_naming_and_renaming_leaves_the_complete_file_named(
        tmp_path: Path, private_tmpdir: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    """The one moment no design closes on Linux (there is no atomic "link this anonymous
    file over that name"): between the two consecutive system calls `link` and `rename`.
    What is left then is the complete new file, with the target's mode, under the temp
    name; the next in-place write of that file warns of it."""
    command = COMMANDS[name]
    setup = prepare(tmp_path / "folder", tmp_path / "keys", command, 0o640)
    assert kill_at(setup, command.argv(setup), "rename").returncode == -9
    [left] = atomic.leftovers(setup.target)
    assert outcome(setup, command) == "original"
    assert mode_of(left) == 0o640
    assert left.read_bytes() != setup.original
    restored = prepare(tmp_path / "again", tmp_path / "keys-again", command, 0o640)
    left.rename(restored.folder / left.name.replace(setup.target.name, restored.target.name))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(restored.first.file))
    result = run_cli("sops", *command.argv(restored), cwd=restored.folder)
    assert result.code == 0, result.err
    [warned] = atomic.leftovers(restored.target)
    assert f"gitops-guard: warning: {warned}: a temp file left by an interrupted write" in \
        result.err


def kill_at(setup: Setup, argv: tuple[str, ...], step: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "tests.security.selfkill", step, "sops", *argv],
                          cwd=setup.folder, env=environment(setup), capture_output=True,
                          check=False, timeout=60)
