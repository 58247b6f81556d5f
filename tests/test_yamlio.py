"""YAML as the API server reads it (go-yaml v2 scalars), duplicates, aliases and positions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gitops_guard import yamlio
from gitops_guard.yamlio import ParseFailure, node_at, parse_yaml, pointer_to

LOADERS = [pytest.param(yamlio.DEFAULT_LOADER, id="libyaml"),
           pytest.param(yamlio.PURE_LOADER, id="pure-python")]


def value(text: str, loader: Any = None) -> Any:
    return parse_yaml(f"v: {text}\n", loader)[0].data["v"]


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize(("text", "expected"), [
    # booleans: YAML 1.1 words, including go-yaml's y/n
    ("yes", True), ("No", False), ("on", True), ("OFF", False), ("y", True), ("N", False),
    ("true", True), ("False", False),
    # quoted stays a string
    ('"yes"', "yes"), ("'on'", "on"),
    # integers: octal with a leading 0, 0o, hex, binary, underscores, signs
    ("0755", 493), ("0o17", 15), ("0x1F", 31), ("0b101", 5), ("1_000", 1000), ("-42", -42),
    ("+7", 7), ("0", 0),
    # floats, including forms PyYAML's 1.1 resolver would leave as strings
    ("1.5", 1.5), ("1e3", 1000.0), ("-2.5E-1", -0.25), ("08", 8.0), (".5", 0.5),
    (".inf", math.inf), ("-.Inf", -math.inf),
    # strings where PyYAML would build other types
    ("1:30", "1:30"), ("2024-01-02", "2024-01-02"),
    ("2024-01-02T10:00:00Z", "2024-01-02T10:00:00Z"),
    ("=", "="), ("1.2.3", "1.2.3"), ("v1", "v1"),
    # nulls
    ("~", None), ("null", None), ("", None), ("NULL", None),
    # explicit tags
    ("!!str 123", "123"), ("!!int '12'", 12), ("!!binary aGVsbG8=", "aGVsbG8="),
])
def test_scalars_resolve_like_go_yaml(loader: Any, text: str, expected: Any) -> None:
    assert value(text, loader) == expected
    assert type(value(text, loader)) is type(expected)


def test_nan() -> None:
    assert math.isnan(value(".nan"))


@pytest.mark.parametrize(("text", "message"), [
    ("!!set {a, b}", "unsupported tag"), ("!!omap [a: 1]", "unsupported tag"),
    ("!Ref thing", "unsupported tag"), ("!!python/object:os.system x", "unsupported tag"),
    ("!!bool maybe", "the value is not a valid bool"),
    ("!!null x", "the value is not a valid null"),
    ("!!int 1.5", "the value is not a valid int"),
    ("!!float abc", "the value is not a valid float"),
])
def test_unsupported_tags_and_values_are_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(ParseFailure) as caught:
        parse_yaml(f"a: 1\nv: {text}\n")
    assert caught.value.kind == "syntax"
    assert caught.value.line == 2
    assert message in caught.value.message


@pytest.mark.parametrize(("text", "expected"), [
    ("true: a\n1: b\nnull: c\n2.5: d\n", {"true": "a", "1": "b", "null": "c", "2.5": "d"}),
    ("'yes': a\n", {"yes": "a"}),
])
def test_keys_become_strings(text: str, expected: dict[str, str]) -> None:
    assert parse_yaml(text)[0].data == expected


@pytest.mark.parametrize("loader", LOADERS)
def test_duplicate_keys_are_recorded_with_positions(loader: Any) -> None:
    text = "a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\na: 4\n"
    [doc] = parse_yaml(text, loader)
    assert doc.data == {"a": 4, "b": {"c": 3, "d": 2}}
    found = sorted((d.key, d.line, d.column, d.first_line) for d in doc.duplicates)
    assert found == [("a", 6, 1, 1), ("c", 5, 3, 3)]
    assert [pointer_to(doc.node, d.key_node) for d in sorted(doc.duplicates)] == [["a"],
                                                                                  ["b", "c"]]


def test_merge_keys_follow_yaml_precedence_and_are_not_duplicates() -> None:
    text = """\
base: &base {a: 1, b: 1}
other: &other {b: 2, c: 2}
merged:
  <<: [*base, *other]
  c: 3
"""
    [doc] = parse_yaml(text)
    assert doc.data["merged"] == {"a": 1, "b": 1, "c": 3}
    assert doc.duplicates == ()


def test_merge_of_a_scalar_is_an_error() -> None:
    with pytest.raises(ParseFailure, match="merge key"):
        parse_yaml("a: &x 1\nb:\n  <<: *x\n")


def test_multiple_documents_and_empty_ones() -> None:
    docs = parse_yaml("---\na: 1\n---\n---\n- x\n")
    assert [d.data for d in docs] == [{"a": 1}, None, ["x"]]
    assert docs[0].node is not None and docs[0].node.start_mark.line == 1


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        prev, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", LOADERS)
def test_alias_bomb_is_refused(loader: Any) -> None:
    with pytest.raises(ParseFailure) as caught:
        parse_yaml(billion_laughs(), loader)
    assert caught.value.kind == "too-complex"
    assert "alias" in caught.value.message


def test_modest_aliases_are_fine_and_shared() -> None:
    [doc] = parse_yaml("x: &x {a: [1, 2]}\nb: *x\nc: *x\n")
    assert doc.data["b"] == doc.data["c"] == {"a": [1, 2]}


def test_y_and_n_keys_are_booleans_as_in_go_yaml() -> None:
    # The API server sees {"true": 1, "false": 2}: a known go-yaml v2 gotcha we reproduce.
    assert parse_yaml("y: 1\nn: 2\n")[0].data == {"true": 1, "false": 2}


@pytest.mark.parametrize("loader", LOADERS)
def test_alias_containing_itself_is_refused(loader: Any) -> None:
    with pytest.raises(ParseFailure) as caught:
        parse_yaml("a: &a [1, *a]\n", loader)
    assert caught.value.kind == "too-complex"


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deep_nesting_is_refused_not_crashed(loader: Any, depth: int) -> None:
    with pytest.raises(ParseFailure) as caught:
        parse_yaml("a: " + "[" * depth + "]" * depth + "\n", loader)
    assert caught.value.kind == "too-deep"


def test_nesting_a_real_manifest_would_use_is_fine() -> None:
    depth = 200
    assert parse_yaml("a: " + "[" * depth + "]" * depth)[0].data is not None


@pytest.mark.parametrize(("text", "line", "column", "kind"), [
    ("a: 1\nb: [1, 2\n", 3, 1, "syntax"),
    ("a: 1\n\tb: 2\n", 2, 1, "tab"),
    ("a:\n  b: 1\n c: 2\n", 3, 2, "syntax"),
    ("key: 'unterminated\n", 2, 1, "syntax"),
])
def test_syntax_errors_have_positions(text: str, line: int, column: int, kind: str) -> None:
    with pytest.raises(ParseFailure) as caught:
        parse_yaml(text)
    assert (caught.value.kind, caught.value.line, caught.value.column) == (kind, line, column)


def test_crlf_line_numbers() -> None:
    [doc] = parse_yaml("a: 1\r\nb:\r\n  c: x\r\n")
    node = node_at(doc.node, ["b", "c"])
    assert node is not None and node.start_mark.line + 1 == 3


MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
          ports:
            - containerPort: 80
"""


@pytest.mark.parametrize(("pointer", "at_key", "position"), [
    ([], False, (1, 1)),
    (["metadata", "name"], False, (4, 9)),
    (["metadata", "name"], True, (4, 3)),
    (["metadata", "labels", "app.kubernetes.io/name"], False, (6, 29)),
    (["spec", "template", "spec", "containers", "0", "image"], False, (12, 18)),
    (["spec", "template", "spec", "containers", "0", "ports", "0", "containerPort"], False,
     (14, 30)),
    # missing parts fall back to the deepest ancestor that exists
    (["spec", "template", "spec", "containers", "0", "resources"], False, (11, 11)),
    (["spec", "template", "spec", "containers", "5"], False, (11, 9)),
    (["metadata", "name", "deeper"], False, (4, 9)),
])
def test_node_at_positions(pointer: list[str], at_key: bool, position: tuple[int, int]) -> None:
    [doc] = parse_yaml(MANIFEST)
    node = node_at(doc.node, pointer, at_key)
    assert node is not None
    assert (node.start_mark.line + 1, node.start_mark.column + 1) == position


def test_node_at_finds_merged_keys() -> None:
    [doc] = parse_yaml("b: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n")
    node = node_at(doc.node, ["m", "x"])
    assert node is not None and node.start_mark.line + 1 == 1


def test_node_at_non_string_keys() -> None:
    [doc] = parse_yaml("data:\n  true: a\n  8080: b\n")
    node = node_at(doc.node, ["data", "8080"])
    assert node is not None and node.start_mark.line + 1 == 3


def test_libyaml_and_pure_python_agree_on_a_manifest() -> None:
    fast = parse_yaml(MANIFEST * 1, yamlio.DEFAULT_LOADER)[0].data
    pure = parse_yaml(MANIFEST * 1, yamlio.PURE_LOADER)[0].data
    assert fast == pure
