"""JSON parsing (stdlib, fast) and a position index built only when a finding needs a line."""

from __future__ import annotations

import bisect
import json
import re
from typing import Any, NamedTuple

from gitops_guard.yamlio import ParseFailure


class Position(NamedTuple):
    line: int  # 1-based
    column: int  # 1-based


class JsonEntry(NamedTuple):
    key: Position | None
    value: Position


class JsonDuplicate(NamedTuple):
    path: tuple[str, ...]
    key: Position
    first_line: int


def parse_json(text: str) -> tuple[Any, bool]:
    """Return the data and whether some object repeats a key."""
    duplicated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicated
        result = dict(items)
        if len(result) != len(items):
            duplicated = True
        return result

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise ParseFailure("syntax", exc.msg, exc.lineno, exc.colno) from None
    except ValueError as exc:
        raise ParseFailure("syntax", str(exc)) from None
    except RecursionError:
        raise ParseFailure("too-deep", "the document nests too deeply to be read") from None
    return data, duplicated


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


class JsonIndex:
    """Where each value (and key) of a JSON text starts, by pointer path."""

    def __init__(self, text: str) -> None:
        self.entries: dict[tuple[str, ...], JsonEntry] = {}
        self.duplicates: list[JsonDuplicate] = []
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self._build(text)

    def _position(self, offset: int) -> Position:
        line = bisect.bisect_right(self._line_starts, offset)
        return Position(line, offset - self._line_starts[line - 1] + 1)

    def _build(self, text: str) -> None:
        # Each frame: [path, is_object, next_index, pending_key, key_position, seen_keys]
        stack: list[list[Any]] = []
        expect_key = False
        for match in _TOKEN.finditer(text):
            token = match.group()
            if token in (",", ":"):
                if token == "," and stack and stack[-1][1]:
                    expect_key = True
                continue
            if token in ("}", "]"):
                if stack:
                    stack.pop()
                expect_key = False
                continue
            if expect_key and token.startswith('"'):
                frame = stack[-1]
                key = json.loads(token)
                position = self._position(match.start())
                first = frame[5].get(key)
                if first is not None:
                    self.duplicates.append(JsonDuplicate((*frame[0], key), position, first))
                else:
                    frame[5][key] = position.line
                frame[3], frame[4] = key, position
                expect_key = False
                continue
            path, key_position = self._value_path(stack)
            self.entries[path] = JsonEntry(key_position, self._position(match.start()))
            if token in ("{", "["):
                stack.append([path, token == "{", 0, None, None, {}])
                expect_key = token == "{"

    @staticmethod
    def _value_path(stack: list[list[Any]]) -> tuple[tuple[str, ...], Position | None]:
        if not stack:
            return (), None
        frame = stack[-1]
        if frame[1]:
            return (*frame[0], frame[3]), frame[4]
        index = frame[2]
        frame[2] += 1
        return (*frame[0], str(index)), None

    def locate(self, tokens: list[str], at_key: bool = False) -> Position | None:
        """Position of the pointer, or of its deepest existing ancestor."""
        for length in range(len(tokens), -1, -1):
            entry = self.entries.get(tuple(tokens[:length]))
            if entry is not None:
                if at_key and length == len(tokens) and entry.key is not None:
                    return entry.key
                return entry.value
        return None
