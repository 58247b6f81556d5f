"""The one error type for expected failures (bad usage, bad config).

It is raised anywhere and caught once, at the CLI boundary, which turns it into exit code 2.
Problems inside checked files are never raised: they become findings.
"""

from __future__ import annotations


class GuardError(Exception):
    """An expected failure the user can fix: a bad flag, a bad config file, a missing path."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return f"{where}{self.message}"


def safe_traceback(exc: BaseException) -> str:
    """A traceback for --debug without the exception's message: where it failed, never what a
    message may quote (a value from a checked file, a secret). Frames show code, not data."""
    import traceback

    frames = "".join(traceback.format_tb(exc.__traceback__))
    return (f"Traceback (most recent call last):\n{frames}{type(exc).__module__}."
            f"{type(exc).__qualname__} (message withheld: it may quote file content)\n")
