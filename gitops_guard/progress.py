"""A progress bar on stderr for long runs in a terminal, and only there.

Never in hooks or CI logs: pre-commit runs hooks under a pty when colour is on, so a TTY alone
does not mean a person is watching; the variables pre-commit and CI systems set decide. Short
runs never show it: it starts drawing only after `DELAY` seconds, and it erases itself before
the report is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TextIO

DELAY = 2.0  # seconds before the bar appears
INTERVAL = 0.1  # at most this often it is redrawn
WIDTH = 30
# Set by pre-commit, by CI systems in general, by GitHub Actions and by GitLab CI.
SILENCING_VARIABLES = ("PRE_COMMIT", "CI", "GITHUB_ACTIONS", "GITLAB_CI")
_FALSE = ("", "0", "false", "no")


def wanted(stream: TextIO, environ: Mapping[str, str], quiet: bool) -> bool:
    """Whether a run may show a progress bar on `stream`."""
    if quiet or environ.get("TERM") == "dumb":
        return False
    if any(environ.get(name, "").strip().lower() not in _FALSE for name in SILENCING_VARIABLES):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


class ProgressBar:
    """`update(done, total)` as files complete; `close()` before anything else is printed."""

    def __init__(self, stream: TextIO, *, delay: float = DELAY, interval: float = INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._delay = delay
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._last_draw: float | None = None
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        now = self._clock()
        elapsed = now - self._start
        if elapsed < self._delay or total <= 0:
            return
        if self._last_draw is not None and now - self._last_draw < self._interval \
                and done < total:
            return
        self._last_draw = now
        filled = WIDTH * min(done, total) // total
        percent = 100 * min(done, total) // total
        line = (f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} files "
                f"{percent:3d}% {int(elapsed)}s")
        self._write(line)
        self._drawn = True

    def close(self) -> None:
        """Erase the bar, so the report starts on a clean line."""
        if self._drawn:
            self._write("\r\x1b[K")
            self._drawn = False

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a bar that cannot be drawn is no reason to fail the run


def for_run(stream: TextIO, environ: Mapping[str, str], quiet: bool) -> ProgressBar | None:
    return ProgressBar(stream, delay=DELAY) if wanted(stream, environ, quiet) else None
