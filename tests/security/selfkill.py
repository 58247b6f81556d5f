"""`python -m tests.security.selfkill STEP ARGV...`: run `gitops-guard ARGV...`, and SIGKILL
the process itself right after STEP of atomic.write_bytes — a deterministic kill at a chosen
point of the write, where the random kills of the loop rarely land.

STEP: `created` (the temp file exists, empty), `half-written` (half its bytes are on disk),
`synced` (all of it, fsynced), `chmodded` (with its final mode), `renamed` (over the target).
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from gitops_guard.cli import main

STEPS = ("created", "half-written", "synced", "chmodded", "renamed")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Half:
    def __init__(self, real: IO[bytes]) -> None:
        self.real = real

    def __enter__(self) -> _Half:
        return self

    def __exit__(self, *_: object) -> None:
        self.real.close()

    def write(self, data: bytes) -> int:
        self.real.write(data[:len(data) // 2])
        self.real.flush()
        os.fsync(self.real.fileno())
        die()
        return 0

    def flush(self) -> None:
        self.real.flush()

    def fileno(self) -> int:
        return self.real.fileno()


def install(step: str) -> None:
    fds: set[int] = set()
    temps: set[Path] = set()
    real_mkstemp, real_fdopen, real_fsync = tempfile.mkstemp, os.fdopen, os.fsync
    real_chmod, real_replace = Path.chmod, Path.replace

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        fds.add(fd)
        temps.add(Path(name))
        if step == "created":
            die()
        return fd, name

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)
        return _Half(handle) if fd in fds and step == "half-written" else handle

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if fd in fds and step == "synced":
            die()

    def chmod(path: Path, *args: Any, **kwargs: Any) -> None:
        real_chmod(path, *args, **kwargs)
        if path in temps and step == "chmodded":
            die()

    def replace(path: Path, target: Any) -> Path:
        result = real_replace(path, target)
        if path in temps and step == "renamed":
            die()
        return result

    tempfile.mkstemp = mkstemp  # type: ignore[assignment]
    os.fdopen = fdopen
    os.fsync = fsync  # type: ignore[assignment]
    Path.chmod = chmod  # type: ignore[method-assign,assignment]
    Path.replace = replace  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in STEPS:
        sys.exit(f"usage: python -m tests.security.selfkill {{{','.join(STEPS)}}} ARGV...")
    install(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
