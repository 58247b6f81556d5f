"""Finding any piece of a planted secret in what a run left behind.

A leak is any 8-character window of a planted value, of its base64 form, or of the base64
text a file holds, found in stdout, stderr, a report, or a file the run created or changed
(the repository, $HOME, $TMPDIR). Windows rather than whole values: a report that cut a secret
short, or showed its first 8 characters, still leaks it. Outputs are also read unescaped (JSON,
XML, GitHub workflow-command escapes), so an escaped secret is still found.
"""

from __future__ import annotations

import base64
import html
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

WINDOW = 8
_JSON_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[\"\\/bfnrt])")
_JSON_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
                "t": "\t"}


def _json_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match[1]
        return chr(int(code[1:], 16)) if code[0] == "u" else _JSON_SIMPLE[code]

    return _JSON_ESCAPE.sub(one, text)


def views(text: str) -> Iterator[str]:
    """The text as written, and as each report format's escaping would hide a value."""
    yield text
    yield _json_unescape(text)
    yield html.unescape(text)
    yield urllib.parse.unquote(text)


def windows(value: str) -> Iterator[str]:
    for start in range(0, max(1, len(value) - WINDOW + 1)):
        piece = value[start:start + WINDOW]
        if len(piece) == WINDOW:
            yield piece


def encodings(value: str) -> list[str]:
    raw = value.encode("utf-8")
    return [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]


@dataclass
class Planted:
    """Every planted value by label; what a run may never show."""

    values: dict[str, str] = field(default_factory=dict)
    encoded: dict[str, str] = field(default_factory=dict)  # base64 text written into files

    def add(self, label: str, value: str) -> str:
        assert len(value) >= WINDOW, f"{label}: a planted value needs {WINDOW}+ characters"
        self.values[label] = value
        return value

    def add_encoded(self, label: str, text: str) -> str:
        self.encoded[label] = text
        return text

    def index(self) -> dict[str, str]:
        """Window -> label of the value it comes from."""
        found: dict[str, str] = {}
        for label, value in self.values.items():
            for form, text in (("", value), *((" (base64)", e) for e in encodings(value))):
                for piece in windows(text):
                    found.setdefault(piece, label + form)
        for label, text in self.encoded.items():
            for piece in windows(text):
                found.setdefault(piece, label + " (as written in base64)")
        return found


class Detector:
    def __init__(self, planted: Planted) -> None:
        self.planted = planted
        self._index = planted.index()

    def find(self, text: str) -> list[tuple[str, str]]:
        """(label, window) of every planted piece in `text`, once per label."""
        hits: dict[str, str] = {}
        for view in views(text):
            for start in range(0, max(0, len(view) - WINDOW + 1)):
                label = self._index.get(view[start:start + WINDOW])
                if label is not None:
                    hits.setdefault(label, view[start:start + WINDOW])
        return sorted(hits.items())


# -- files a run leaves behind ------------------------------------------------------------------

Snapshot = dict[Path, tuple[int, int]]


def snapshot(roots: Iterable[Path]) -> Snapshot:
    """Every file under `roots` with its size and modification time."""
    files: Snapshot = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                info = path.stat()
                files[path] = (info.st_size, info.st_mtime_ns)
    return files


def changed(before: Snapshot, roots: Iterable[Path]) -> list[Path]:
    after = snapshot(roots)
    return sorted(path for path, stamp in after.items() if before.get(path) != stamp)


@dataclass
class Sandbox:
    """Where a run may write: the test's directory, $HOME and a fresh, empty $TMPDIR."""

    roots: tuple[Path, ...]
    tmpdir: Path
    planted: Planted  # read when searching, so values planted during a test count

    @property
    def detector(self) -> Detector:
        return Detector(self.planted)

    def start(self) -> Snapshot:
        return snapshot(self.roots)

    def leaks(self, before: Snapshot, outputs: Mapping[str, str]) -> list[str]:
        """Every leak, as `where: label = window`, in `outputs` and in files written since
        `before`."""
        found = []
        detector = self.detector
        texts = dict(outputs)
        for path in changed(before, self.roots):
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
        for where, text in texts.items():
            found += [f"{where}: {label} = {piece!r}" for label, piece in detector.find(text)]
        return found

    def leftovers(self) -> list[str]:
        """What is left in $TMPDIR (it started empty)."""
        return sorted(str(p.relative_to(self.tmpdir)) for p in self.tmpdir.rglob("*"))
