"""atomic.write_bytes: the whole new file or the old one, the old mode, nothing left beside.

Interrupted and killed writes: tests/security/test_no_data_loss*.py."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from gitops_guard import atomic

WAYS = {
    "anonymous (O_TMPFILE)": None,
    "named (no O_TMPFILE)": "no flag",
    "named (file system without it)": "EOPNOTSUPP",
}


@pytest.fixture(params=list(WAYS))
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    how = WAYS[request.param]
    if how == "no flag":
        monkeypatch.setattr(os, "O_TMPFILE", 0, raising=False)
    elif how == "EOPNOTSUPP":
        real_open = os.open

        def open_(path: object, flags: int, *args: object, **kwargs: object) -> int:
            if flags & getattr(os, "O_TMPFILE", 0) == getattr(os, "O_TMPFILE", -1):
                raise OSError(errno.EOPNOTSUPP, "Operation not supported")
            return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", open_)
    return str(request.param)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("existing_mode", "given_mode", "expected_mode"), [
    (None, None, 0o644),  # a new file
    (None, 0o600, 0o600),
    (0o640, None, 0o640),  # keeps the mode of the file it replaces
    (0o604, None, 0o604),
    (0o640, 0o600, 0o600),  # a given mode wins
])
def test_the_file_is_replaced_whole_with_its_mode(tmp_path: Path, way: str,
                                                  existing_mode: int | None,
                                                  given_mode: int | None,
                                                  expected_mode: int) -> None:
    path = tmp_path / "secret.yaml"
    if existing_mode is not None:
        path.write_bytes(b"old")
        path.chmod(existing_mode)
    data = os.urandom(300_000)
    atomic.write_bytes(path, data, given_mode)
    assert path.read_bytes() == data
    assert mode_of(path) == expected_mode
    assert [p.name for p in tmp_path.iterdir()] == ["secret.yaml"]


def test_a_failure_removes_the_named_temp_file(tmp_path: Path, way: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fchmod", full)
    with pytest.raises(OSError, match="No space"):
        atomic.write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        atomic.write_bytes(tmp_path / "missing" / "f", b"new")


def test_leftovers_are_only_names_a_write_of_that_file_gives(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    ours = atomic.temp_name(path, "0123456789ab")
    for name in (ours.name, ".secret.yaml.notatoken.tmp", ".secret.yaml.0123456789ab.bak",
                 ".other.yaml.0123456789ab.tmp", "secret.yaml"):
        (tmp_path / name).write_bytes(b"x")
    assert atomic.leftovers(path) == [ours]
    assert atomic.leftovers(tmp_path / "missing" / "f") == []
