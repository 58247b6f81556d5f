"""The steps gitops_guard/atomic.py takes to replace a file, each announced as it comes.

`watch(set_attr, folder, on_step)` wraps the os calls of the write so that `on_step(step)` runs
just before each step, and only for the temp file in `folder` and that directory: everything
else the command does runs untouched. `on_step` may raise (an injected failure) or kill the
process; the step then never happens. `write` is the exception: half the bytes land first, so
a failure or kill there leaves a half-written temp file.

With O_TMPFILE (Linux) the temp file has no name until `link`; without it (`named=True`: as on
systems that lack it) it is created named and there is no `link` step.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEPS = ("create", "write", "fsync", "chmod", "link", "rename", "fsync directory")
NAMED_STEPS = tuple(step for step in STEPS if step != "link")
# The steps after which the new file is in place.
REPLACED = frozenset({"fsync directory"})

SetAttr = Callable[[Any, str, Any], None]


def watch(set_attr: SetAttr, folder: Path, on_step: Callable[[str], None], *,
          named: bool = False) -> None:
    fds: set[int] = set()
    temps: set[Path] = set()
    real_open, real_write, real_fsync = os.open, os.write, os.fsync
    real_fchmod, real_link, real_replace = os.fchmod, os.link, Path.replace
    tmpfile = getattr(os, "O_TMPFILE", 0)

    folder = Path(os.path.realpath(folder))

    def real(path: Any) -> Path:
        # The command may name its file relative to the current directory.
        return Path(os.path.realpath(path))

    def is_folder(path: Any) -> bool:
        return real(path) == folder

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        creates = (tmpfile and flags & tmpfile == tmpfile and is_folder(path)) or (
            flags & os.O_EXCL and real(path).parent == folder and str(path).endswith(".tmp"))
        if creates:
            on_step("create")
        elif is_folder(path) and not flags & (os.O_PATH | tmpfile):
            on_step("fsync directory")
        fd = real_open(path, flags, *args, **kwargs)
        if creates:
            fds.add(fd)
            if not tmpfile or flags & tmpfile != tmpfile:
                temps.add(real(path))
        return fd

    def write(fd: int, data: Any) -> int:
        if fd not in fds:
            return real_write(fd, data)
        half = len(data) // 2
        written = real_write(fd, data[:half])
        on_step("write")
        return written + real_write(fd, data[half:])

    def fsync(fd: int) -> None:
        if fd in fds:
            on_step("fsync")
        real_fsync(fd)

    def fchmod(fd: int, mode: int) -> None:
        if fd in fds:
            on_step("chmod")
        real_fchmod(fd, mode)

    def link(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        ours = str(source).startswith("/proc/self/fd/")
        if ours:
            on_step("link")
        real_link(source, target, *args, **kwargs)
        if ours:  # the name is relative to the folder's fd (dst_dir_fd)
            temps.add(folder / Path(target).name)

    def replace(path: Path, target: Any) -> Path:
        if real(path) in temps:
            on_step("rename")
        return real_replace(path, target)

    set_attr(os, "open", open_)
    set_attr(os, "write", write)
    set_attr(os, "fsync", fsync)
    set_attr(os, "fchmod", fchmod)
    set_attr(os, "link", link)
    set_attr(Path, "replace", replace)
    if named and tmpfile:
        set_attr(os, "O_TMPFILE", 0)
