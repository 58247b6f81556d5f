"""JSON: stdlib parsing, duplicate detection and the lazily built position index."""

from __future__ import annotations

import pytest

from gitops_guard.jsonio import JsonIndex, Position, parse_json
from gitops_guard.yamlio import ParseFailure

TEXT = """{
  "apiVersion": "v1",
  "kind": "ConfigMap",
  "metadata": {"name": "web", "labels": {"a/b": "x"}},
  "data": {
\t"list": [1, {"deep": true}, "s,t:r\\"ing"],
\t"empty": {}
  }
}
"""


def test_parse_json() -> None:
    data, duplicated = parse_json(TEXT)
    assert data["data"]["list"][1] == {"deep": True}
    assert duplicated is False


@pytest.mark.parametrize(("tokens", "at_key", "expected"), [
    ([], False, (1, 1)),
    (["kind"], False, (3, 11)),
    (["kind"], True, (3, 3)),
    (["metadata", "name"], False, (4, 24)),
    (["metadata", "labels", "a/b"], False, (4, 49)),
    (["data", "list", "0"], False, (6, 11)),
    (["data", "list", "1", "deep"], False, (6, 23)),
    (["data", "list", "2"], False, (6, 30)),
    (["data", "empty"], False, (7, 11)),
    # a missing leaf falls back to its parent
    (["data", "list", "1", "missing"], False, (6, 14)),
    (["nope"], False, (1, 1)),
])
def test_positions(tokens: list[str], at_key: bool, expected: tuple[int, int]) -> None:
    assert JsonIndex(TEXT).locate(tokens, at_key) == Position(*expected)


def test_duplicates_found_with_positions() -> None:
    text = '{"a": 1,\n "b": {"c": 1, "c": 2},\n "a": 3}'
    data, duplicated = parse_json(text)
    assert duplicated is True
    assert data == {"a": 3, "b": {"c": 2}}
    found = sorted((d.path, d.key, d.first_line) for d in JsonIndex(text).duplicates)
    assert found == [(("a",), Position(3, 2), 1), (("b", "c"), Position(2, 16), 2)]


@pytest.mark.parametrize(("text", "line", "column"), [
    ('{"a": 1,}', 1, 9),
    ('{\n  "a": [1 2]\n}', 2, 11),
    ("", 1, 1),
])
def test_syntax_errors(text: str, line: int, column: int) -> None:
    with pytest.raises(ParseFailure) as caught:
        parse_json(text)
    assert (caught.value.kind, caught.value.line, caught.value.column) == ("syntax", line, column)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_rejected(constant: str) -> None:
    with pytest.raises(ParseFailure, match="not valid JSON"):
        parse_json(f'{{"a": {constant}}}')


def test_deep_json_is_refused() -> None:
    with pytest.raises(ParseFailure) as caught:
        parse_json("[" * 100_000 + "]" * 100_000)
    assert caught.value.kind == "too-deep"
