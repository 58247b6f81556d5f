"""Writing files so that a reader never sees half of one, and a killed writer leaves nothing.

The new content goes to a file beside the target, which is then renamed over it. Where the
system allows (Linux: O_TMPFILE, and /proc to link it), that file has no name while it is
written: a process killed before the rename (SIGKILL: nothing runs after it) leaves no file
behind, not even a plaintext one from `sops decrypt -i`. It gets a name only for the rename,
in the moment between two consecutive system calls. Elsewhere a named temp file is written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

TEMP_SUFFIX = ".tmp"
_ATTEMPTS = 100
_TOKEN_BYTES = 6
_T = TypeVar("_T")


def write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` in one step. Raises OSError; leaves no temp file behind."""
    write_bytes(path, text.encode("utf-8"), mode=mode, durable=False)


def write_bytes(path: Path, data: bytes, mode: int | None = None, *, durable: bool = True) -> None:
    """Replace `path` with `data` in one step, keeping the mode of the file it replaces (or
    `mode`, or 0644 for a new file). `durable`: fsync the file and its directory, so a crash
    right after leaves either the old file or the new one, never an empty one.

    On any failure or interrupt the original is untouched and no temp file is left."""
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
    fd = _open_anonymous(path.parent)
    temp: Path | None = None
    try:
        if fd is None:
            fd, temp = _open_named(path)
        _write_all(fd, data)
        if durable:
            os.fsync(fd)
        # Created 0600; widened only now that it holds the whole new content.
        os.fchmod(fd, mode)
        if temp is None:
            temp = _link(fd, path)
        temp.replace(path)
        temp = None
    except BaseException:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink()
        raise
    finally:
        if fd is not None:
            os.close(fd)
    if durable:
        _fsync_directory(path.parent)


def temp_name(path: Path, token: str) -> Path:
    """The name a temp file for `path` takes: hidden, beside it, ending in `.tmp`."""
    return path.with_name(f".{path.name}.{token}{TEMP_SUFFIX}")


def leftovers(path: Path) -> list[Path]:
    """Temp files of `path` that a killed write left (see the module docstring for when)."""
    try:
        names = [entry.name for entry in path.parent.iterdir()]
    except OSError:
        return []
    prefix = f".{path.name}."
    return sorted(path.with_name(name) for name in names
                  if name.startswith(prefix) and name.endswith(TEMP_SUFFIX)
                  and _is_token(name[len(prefix):-len(TEMP_SUFFIX)]))


def _is_token(text: str) -> bool:
    return len(text) == _TOKEN_BYTES * 2 and all(c in "0123456789abcdef" for c in text)


def _open_anonymous(directory: Path) -> int | None:
    """A file without a name in `directory`, open for writing, or None where the system or
    the file system has no O_TMPFILE (then a named temp file is used)."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not Path("/proc/self/fd").is_dir():
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as error:
        # Not supported here (old kernel, a file system without it): fall back. Anything
        # else (no permission, disk full) is the caller's error.
        if error.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP):
            return None
        raise


def _open_named(path: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    return _claim_name(path, lambda temp: os.open(temp, flags, 0o600))


def _link(fd: int, path: Path) -> Path:
    """Give the anonymous file `fd` a temp name beside `path`: linkat through /proc, which
    needs no privilege (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH)."""
    # A directory fd makes os.link call linkat(AT_SYMLINK_FOLLOW); plain link() would try
    # to link the /proc entry itself. O_PATH: only search permission is needed, as for O_TMPFILE.
    directory = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return _claim_name(path, lambda temp: os.link(
            f"/proc/self/fd/{fd}", temp.name, dst_dir_fd=directory, follow_symlinks=True))[1]
    finally:
        os.close(directory)


def _claim_name(path: Path, claim: Callable[[Path], _T]) -> tuple[_T, Path]:
    """What `claim` returns for the first free random temp name of `path`, and that name
    (`claim` creates it, raising FileExistsError when it is taken)."""
    for _ in range(_ATTEMPTS):
        temp = temp_name(path, os.urandom(_TOKEN_BYTES).hex())
        try:
            return claim(temp), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temp file name", str(path.parent))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform or file system allows it.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
