"""Writing files so that a reader never sees half of one: a temp file beside it, then rename."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` in one step. Raises OSError; leaves no temp file behind."""
    write_bytes(path, text.encode("utf-8"), mode=mode, durable=False)


def write_bytes(path: Path, data: bytes, mode: int | None = None, *, durable: bool = True) -> None:
    """Replace `path` with `data` in one step, keeping the mode of the file it replaces (or
    `mode`, or 0644 for a new file). `durable`: fsync the file and its directory, so a crash
    right after leaves either the old file or the new one, never an empty one.

    On any failure or interrupt the original is untouched and the temp file is removed."""
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
    # The temp file is created 0600 by mkstemp and only widened once it holds the new content.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        Path(temp).chmod(mode)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform or file system allows it.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
