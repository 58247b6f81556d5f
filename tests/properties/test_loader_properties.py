"""The manifest loader (loader, yamlio, jsonio) under generated and arbitrary input.

- Data dumped to YAML or JSON loads back as the same data, with the same types.
- For generated nested mappings and lists written by hand, every pointer maps (node_at, then
  `Document.locate`, as the engine places findings) to the line and column it was written at,
  for values and for keys; a repeated key is reported where it was written.
- Lines are file lines, counted by `\\n` as editors, git and CI annotations count them, also
  after a line break only the YAML parser counts (U+0085, U+2028, U+2029, a lone `\\r`) in a
  quoted value, a comment, a block scalar or a key, through both YAML parsers.
- Arbitrary bytes and text never raise: the loader returns a `LoadError` (one of the documented
  GG-MANIFEST rules) as data, and `parse_yaml`/`parse_json` raise only `ParseFailure`.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from yaml.nodes import ScalarNode

from gitops_guard import loader
from gitops_guard import pointer as jp
from gitops_guard.documents import Document, FileKind, SourceFile
from gitops_guard.jsonio import parse_json
from gitops_guard.yamlio import (
    DEFAULT_LOADER,
    PURE_LOADER,
    STR_TAG,
    KubeResolver,
    ParseFailure,
    parse_yaml,
)
from tests.properties.strategies import (
    KubeDumper,
    documents,
    json_like,
    same,
    unicode_text,
    yaml_quoted,
    yamlish_text,
)

LIMIT = 1 << 20
LOAD_RULES = {loader.RULE_SYNTAX, loader.RULE_TAB, loader.RULE_ENCODING, loader.RULE_UNREADABLE,
              loader.RULE_TOO_LARGE, loader.RULE_BINARY, loader.RULE_TOO_COMPLEX}
PARSE_KINDS = {"syntax", "tab", "too-deep", "too-complex"}


def dump_yaml(data: Any, *, unicode: bool, width: int) -> str:
    return yaml.dump(data, Dumper=KubeDumper, allow_unicode=unicode, width=width)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gg-props-") as name:
        yield Path(name)


def load_bytes(workdir: Path, name: str, content: bytes,
               yaml_loader: type[Any] | None = None) -> SourceFile:
    path = workdir / name
    path.write_bytes(content)
    return loader.load_file(path, name, LIMIT, yaml_loader)


BOTH_PARSERS = pytest.mark.parametrize("yaml_loader", [
    pytest.param(DEFAULT_LOADER, id="libyaml"), pytest.param(PURE_LOADER, id="pure-python")])


# -- round trips ------------------------------------------------------------------------------

@given(data=documents(infinity=True), unicode=st.booleans(),
       width=st.sampled_from([20, 80, 10_000]))
@example(data={"y": "y", "octal": "0755", "time": "1:30", "n": "n", "merge": "<<"},
         unicode=True, width=80)
@example(data={"line\u2028sep": "a\x85b\u2029c", "nul": "\x00", "bom": "\ufeffx"},
         unicode=True, width=80)
def test_yaml_dump_loads_back_to_the_same_data(workdir: Path, data: dict[str, Any],
                                               unicode: bool, width: int) -> None:
    text = dump_yaml(data, unicode=unicode, width=width)
    source = load_bytes(workdir, "doc.yaml", text.encode("utf-8"))
    assert source.error is None, (text, source.error)
    assert source.kind is FileKind.YAML
    assert same(source.documents[0].data, data), text
    assert source.documents[0].duplicates == ()
    assert same(parse_yaml(text, PURE_LOADER)[0].data, data), text


@given(data=json_like(), indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans())
def test_json_dump_loads_back_to_the_same_data(workdir: Path, data: Any, indent: int | None,
                                               ascii_only: bool) -> None:
    text = json.dumps(data, indent=indent, ensure_ascii=ascii_only)
    source = load_bytes(workdir, "doc.json", text.encode("utf-8"))
    assert source.error is None, (text, source.error)
    assert same(source.documents[0].data, data), text
    assert parse_json(text) == (data, False)


@given(data=documents())
def test_multi_document_yaml_keeps_each_document(workdir: Path, data: dict[str, Any]) -> None:
    parts = [dump_yaml({"index": index, **data}, unicode=True, width=80) for index in range(3)]
    text = "---\n" + "---\n".join(parts)
    source = load_bytes(workdir, "multi.yaml", text.encode("utf-8"))
    assert source.error is None
    assert [doc.index for doc in source.documents] == [0, 1, 2]
    assert all(same(doc.data, {"index": i, **data}) for i, doc in enumerate(source.documents))


# -- line mapping -----------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
def plain_or_quoted(text: str) -> str:
    resolved = KubeResolver().resolve(ScalarNode, text, (True, False))
    return text if _PLAIN_KEY.match(text) and resolved == STR_TAG else yaml_quoted(text)


def yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return plain_or_quoted(value)


Path_ = tuple[str, ...]


@dataclass
class Written:
    """A hand-written file and where each pointer's key and value start (1-based)."""

    lines: list[str] = field(default_factory=list)
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def here(self) -> tuple[int, int]:
        return len(self.lines), len(self.lines[-1]) + 1

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class BlockYaml(Written):
    """Block-style YAML: compact `- key: v` items, nested blocks indented by `step`."""

    def __init__(self, step: int, preamble: list[str]) -> None:
        super().__init__(lines=list(preamble))
        self.step = step

    def node(self, value: Any, indent: int, path: Path_, inline: bool) -> None:
        """Write `value` (a non-empty collection); `inline`: its first entry continues the
        current line (after `- ` or at the start of a fresh line)."""
        entries = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for position, (key, item) in enumerate(entries):
            if not (inline and position == 0):
                self.lines.append(" " * indent)
            child = (*path, str(key))
            if isinstance(value, dict):
                self.keys[child] = self.here()
                if position == 0:
                    self.values[path] = self.here()
                self.lines[-1] += plain_or_quoted(key) + ":"
                self.leaf_or_block(item, indent + self.step, child, after=" ")
            else:
                if position == 0:
                    self.values[path] = self.here()
                self.lines[-1] += "- "
                self.leaf_or_block(item, indent + 2, child, after="", compact=True)

    def leaf_or_block(self, item: Any, indent: int, path: Path_, after: str,
                      compact: bool = False) -> None:
        if isinstance(item, (dict, list)) and item:
            if compact:
                self.node(item, indent, path, inline=True)
            else:
                self.lines.append(" " * indent)
                self.node(item, indent, path, inline=True)
            return
        self.lines[-1] += after
        self.values[path] = self.here()
        if isinstance(item, dict):
            self.lines[-1] += "{}"
        elif isinstance(item, list):
            self.lines[-1] += "[]"
        else:
            self.lines[-1] += self.scalar(item, path)

    def scalar(self, item: Any, path: Path_) -> str:
        return yaml_scalar(item)


class PrettyJson(Written):
    """JSON with one entry per line, as `json.dumps(indent=...)` lays it out."""

    def __init__(self, step: int) -> None:
        super().__init__(lines=[""])
        self.step = step

    def node(self, value: Any, indent: int, path: Path_) -> None:
        self.values[path] = self.here()
        if not isinstance(value, (dict, list)) or not value:
            self.lines[-1] += json.dumps(value, ensure_ascii=False)
            return
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        self.lines[-1] += opening
        entries = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for position, (key, item) in enumerate(entries):
            self.lines.append(" " * (indent + self.step))
            child = (*path, str(key))
            if isinstance(value, dict):
                self.keys[child] = self.here()
                self.lines[-1] += json.dumps(key, ensure_ascii=False) + ": "
            self.node(item, indent + self.step, child)
            if position < len(entries) - 1:
                self.lines[-1] += ","
        self.lines.append(" " * indent + closing)


nested = st.dictionaries(unicode_text, json_like(max_leaves=30), min_size=1, max_size=5)


def assert_every_pointer_is_located(document: Document, written: Written) -> None:
    for path, position in written.values.items():
        pointer = jp.join(*path)
        assert document.locate(pointer) == position, (pointer, written.text)
        # A pointer that goes on past the end falls back to the deepest part that exists.
        assert document.locate(jp.extend(pointer, "missing~/key")) == position
    for path, position in written.keys.items():
        assert document.locate(jp.join(*path), at_key=True) == position, (path, written.text)


@given(data=nested, step=st.integers(2, 4), preamble=st.lists(
    st.sampled_from(["# a comment", "", "---"]), max_size=3).map(
        lambda lines: [line for line in lines if line != "---"] + ["---"]))
def test_yaml_pointers_locate_where_written(workdir: Path, data: dict[str, Any], step: int,
                                            preamble: list[str]) -> None:
    written = BlockYaml(step, preamble)
    written.lines.append("")
    written.node(data, 0, (), inline=True)
    source = load_bytes(workdir, "lines.yaml", written.text.encode("utf-8"))
    assert source.error is None, (written.text, source.error)
    [document] = source.documents
    assert same(document.data, data), written.text
    assert document.line == written.values[()][0]
    assert_every_pointer_is_located(document, written)


@given(data=nested, step=st.sampled_from([1, 2, 4]))
def test_json_pointers_locate_where_written(workdir: Path, data: dict[str, Any],
                                            step: int) -> None:
    written = PrettyJson(step)
    written.node(data, 0, ())
    source = load_bytes(workdir, "lines.json", written.text.encode("utf-8"))
    assert source.error is None, (written.text, source.error)
    [document] = source.documents
    assert same(document.data, data)
    assert_every_pointer_is_located(document, written)


@given(data=nested, where=st.data())
def test_a_repeated_key_is_reported_where_it_was_written(workdir: Path, data: dict[str, Any],
                                                         where: st.DataObject) -> None:
    written = BlockYaml(2, [])
    written.lines.append("")
    written.node(data, 0, (), inline=True)
    first = where.draw(st.sampled_from(sorted(data)), label="repeated key")
    first_line = written.keys[(first,)][0]
    written.lines.append(f"{plain_or_quoted(first)}: again")
    source = load_bytes(workdir, "dup.yaml", written.text.encode("utf-8"))
    [document] = source.documents
    assert document.data[first] == "again"
    [duplicate] = document.duplicates
    assert (duplicate.key, duplicate.pointer, duplicate.line, duplicate.column,
            duplicate.first_line) == (first, jp.join(first), len(written.lines), 1, first_line)


# -- file lines after breaks only the YAML parser counts ---------------------------------------

# Line breaks to the YAML parsers that are none to editors, git and CI annotations, which count
# `\n` (a lone `\r`, the old Mac line end, included: git and `grep -n` do not count it).
PARSER_ONLY_BREAKS = ["\u2028", "\x85", "\u2029", "\r"]


def file_position(text: str, marker: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line (counted by `\\n`) and column (in characters) of the n-th `marker`."""
    offset = -1
    for _ in range(occurrence):
        offset = text.index(marker, offset + 1)
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


_KIND = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
_DUPLICATE = '  b: "1"\n  b: "2"\n'
# (file text with `@` where the break goes, index of the document with the repeated key `b`)
_SEPARATED = {
    "quoted value": (f'{_KIND}data:\n  note: "para@graph"\n{_DUPLICATE}', 0),
    "single-quoted value": (f"{_KIND}data:\n  note: 'para@graph'\n{_DUPLICATE}", 0),
    "plain value": (f"{_KIND}data:\n  note: para@    graph\n{_DUPLICATE}", 0),
    "comment": (f"{_KIND}data:  # para@# graph\n  note: x\n{_DUPLICATE}", 0),
    "comment line": (f"# para@#   graph\n{_KIND}data:\n{_DUPLICATE}", 0),
    "block scalar": (f"{_KIND}data:\n  note: |\n    para@    graph\n{_DUPLICATE}", 0),
    "folded scalar": (f"{_KIND}data:\n  note: >-\n    para@    graph\n{_DUPLICATE}", 0),
    "key": (f'{_KIND}data:\n  ? "para@graph"\n  : x\n{_DUPLICATE}', 0),
    # A quoted break on the repeated key's own file line: columns count from the `\n`.
    "same line": (f'{_KIND}data: {{note: "para@graph", b: "1", b: "2"}}\n', 0),
    "next document": (f'{_KIND}data:\n  note: "para@graph"\n---\n{_KIND}data:\n{_DUPLICATE}',
                      1),
    "document marker": (f"{_KIND}---  # para@  # graph\n{_KIND}data:\n{_DUPLICATE}", 1),
    "crlf file": (f'{_KIND}data:\n  note: "para@graph"\n{_DUPLICATE}'.replace("\n", "\r\n"),
                  0),
}


@BOTH_PARSERS
@pytest.mark.parametrize("separator", PARSER_ONLY_BREAKS,
                         ids=["U+2028", "U+0085", "U+2029", "lone-CR"])
@pytest.mark.parametrize("case", list(_SEPARATED))
def test_lines_after_a_unicode_line_separator_are_file_lines(
        workdir: Path, case: str, separator: str, yaml_loader: type[Any]) -> None:
    template, index = _SEPARATED[case]
    text = template.replace("@", separator)
    source = load_bytes(workdir, "sep.yaml", text.encode("utf-8"), yaml_loader)
    assert source.error is None, source.error
    document = source.documents[index]
    assert document.data["data"]["b"] == "2"
    first, repeated = file_position(text, "b:"), file_position(text, "b:", 2)
    assert [(d.key, d.pointer, d.line, d.column, d.first_line) for d in document.duplicates] \
        == [("b", "/data/b", *repeated, first[0])]
    assert document.locate("/data/b", at_key=True) == repeated
    assert document.locate("/data/b") == (repeated[0], repeated[1] + 3)
    assert document.line == file_position(text, "apiVersion", index + 1)[0]
    assert document.locate("/kind") == file_position(text, "ConfigMap", index + 1)


@BOTH_PARSERS
@pytest.mark.parametrize("separator", PARSER_ONLY_BREAKS,
                         ids=["U+2028", "U+0085", "U+2029", "lone-CR"])
@pytest.mark.parametrize(("template", "rule"), [
    ('a: "para@graph"\nb: [\n', loader.RULE_SYNTAX),
    ('a: "para@graph"\nb: [1,\n  c: d\n', loader.RULE_SYNTAX),  # "(... at line 2)"
    ('a: "para@graph"\nb: 1\n  c: 2\n', loader.RULE_SYNTAX),
    ('a: {x: "para@graph", y: [}\n', loader.RULE_SYNTAX),  # on the break's file line
    ('# para@graph\nb: c\n', loader.RULE_SYNTAX),  # the parser reads `graph` as content
    ('a: "para@graph"\nb:\n\t- c\n', loader.RULE_TAB),
    ('a: "para@graph"\nb: !!python/name:os.system x\n', loader.RULE_SYNTAX),
    ('a: "para@graph"\nb: !!int nine\n', loader.RULE_SYNTAX),
    ('a: "para@graph"\nb: &x [*x]\n', loader.RULE_TOO_COMPLEX),
])
def test_parse_errors_after_a_unicode_line_separator_are_at_file_lines(
        workdir: Path, separator: str, yaml_loader: type[Any], template: str,
        rule: str) -> None:
    """Reported as for the same file with a plain character in place of the break."""
    text = template.replace("@", separator)
    source = load_bytes(workdir, "bad.yaml", text.encode("utf-8"), yaml_loader)
    plain = load_bytes(workdir, "plain.yaml", template.replace("@", "_").encode("utf-8"),
                       yaml_loader)
    assert source.error is not None
    assert source.error.rule == rule
    if template.startswith("#"):  # without the break, `graph` stays in the comment
        assert (source.error.line, source.error.column) == file_position(text, ": c")
        return
    assert source.error == plain.error
    # After the break, where the parser's lines and the file's differ.
    assert (source.error.line or 0, source.error.column or 0) > file_position(text, separator)


# Whether and where a string value gets a break only the parser counts: the break goes between
# the two halves of the value (written double-quoted, spaces escaped so that folding keeps
# them), or into a comment after any value.
_BREAKS = st.lists(st.tuples(st.sampled_from([None, *PARSER_ONLY_BREAKS]),
                             st.sampled_from(["value", "comment"]), st.integers(0, 30)),
                   min_size=1, max_size=8)
# How a double-quoted scalar folds each break: U+2028/U+2029 are kept, the others are a space.
_FOLDED = {"\u2028": "\u2028", "\u2029": "\u2029", "\x85": " ", "\r": " "}


def _quoted_body(text: str) -> str:
    body = yaml_quoted(text)[1:-1].replace(" ", "\\x20")
    # A part that starts a line must not read as a document marker (`---`, `...`).
    return "\\x" + format(ord(body[0]), "02x") + body[1:] if body[:1] in ("-", ".") else body


class SeparatedYaml(BlockYaml):
    """BlockYaml with parser-only line breaks in string values and in comments after values."""

    def __init__(self, step: int, breaks: list[tuple[str | None, str, int]]) -> None:
        super().__init__(step, [])
        self.breaks = breaks
        self.leaves = 0
        self.changed: dict[Path_, str] = {}  # the value each changed string now loads as

    def scalar(self, item: Any, path: Path_) -> str:
        separator, where, split = self.breaks[self.leaves % len(self.breaks)]
        self.leaves += 1
        if separator is None:
            return yaml_scalar(item)
        if where == "comment" or not isinstance(item, str):
            return f"{yaml_scalar(item)}  # note{separator}# more"
        head, tail = item[:split], item[split:]
        self.changed[path] = head + _FOLDED[separator] + tail
        return f'"{_quoted_body(head)}{separator}{_quoted_body(tail)}"'

    def expected(self, data: Any, path: Path_ = ()) -> Any:
        if path in self.changed:
            return self.changed[path]
        if isinstance(data, dict):
            return {key: self.expected(value, (*path, key)) for key, value in data.items()}
        if isinstance(data, list):
            return [self.expected(value, (*path, str(n))) for n, value in enumerate(data)]
        return data


@BOTH_PARSERS
@given(data=nested, step=st.integers(2, 4), breaks=_BREAKS)
@example(data={"a": "para graph", "b": [1, "x"]}, step=2,
         breaks=[("\u2028", "value", 4), ("\r", "comment", 0), ("\x85", "value", 0)])
def test_yaml_pointers_locate_file_lines_after_parser_only_breaks(
        workdir: Path, yaml_loader: type[Any], data: dict[str, Any], step: int,
        breaks: list[tuple[str | None, str, int]]) -> None:
    """As test_yaml_pointers_locate_where_written, with breaks only the parser counts."""
    written = SeparatedYaml(step, breaks)
    written.lines.append("")
    written.node(data, 0, (), inline=True)
    text = written.text
    source = load_bytes(workdir, "separated.yaml", text.encode("utf-8"), yaml_loader)
    assert source.error is None, (text, source.error)
    [document] = source.documents
    assert same(document.data, written.expected(data)), text
    assert document.line == written.values[()][0]
    assert_every_pointer_is_located(document, written)


# -- arbitrary input --------------------------------------------------------------------------

def assert_loaded_or_reported(source: SourceFile) -> None:
    """Either documents whose every pointer resolves to a position, or a LoadError."""
    if source.error is not None:
        assert source.error.rule in LOAD_RULES
        assert source.error.message
        assert source.error.line is None or source.error.line >= 1
        assert source.error.column is None or source.error.column >= 1
        assert source.documents == []
        return
    assert source.kind in (FileKind.YAML, FileKind.JSON, FileKind.HELM_TEMPLATE)
    # File lines (counted by `\n`), plus one: an empty document at the end of a file without a
    # final newline starts on the line after it (libyaml's end-of-stream mark).
    line_count = (source.text or "").count("\n") + 2
    for document in source.documents:
        assert 1 <= document.line <= line_count
        for pointer in ("", "/0", "/a/0/b", "/~1/~0"):
            line, column = document.locate(pointer)
            assert 1 <= line <= line_count and column >= 1
            line, column = document.locate(pointer, at_key=True)
            assert 1 <= line <= line_count and column >= 1


@given(content=st.binary(max_size=300), suffix=st.sampled_from([".yaml", ".json"]))
@example(content=b"\xef\xbb\xbfa: 1\r\nb: [\r\n", suffix=".yaml")
@example(content=b"a: &x [*x]\n", suffix=".yaml")
@example(content=b"\xff\xfea\x00:\x00", suffix=".json")
@example(content=b"a:\n\t- b\n", suffix=".yaml")
@example(content=b"[" * 5000, suffix=".json")
@example(content=b"[" * 5000, suffix=".yaml")
def test_arbitrary_bytes_load_or_report(workdir: Path, content: bytes, suffix: str) -> None:
    assert_loaded_or_reported(load_bytes(workdir, "fuzz" + suffix, content))


@given(text=st.one_of(yamlish_text, unicode_text), suffix=st.sampled_from([".yaml", ".json"]))
@example(text="a: &a [*a, *a]\nb: *a\n", suffix=".yaml")
@example(text="{{ .Values.x }}: [", suffix=".yaml")
@example(text="a: !!python/object:os.system x", suffix=".yaml")
def test_arbitrary_text_loads_or_reports(workdir: Path, text: str, suffix: str) -> None:
    assert_loaded_or_reported(load_bytes(workdir, "fuzz" + suffix, text.encode("utf-8")))


def assert_parses_or_fails_cleanly(parse: Any, text: str) -> None:
    try:
        parse(text)
    except ParseFailure as failure:
        assert failure.kind in PARSE_KINDS
        assert failure.message


@given(text=st.one_of(yamlish_text, unicode_text))
@example(text="a: b\x1f\n")
@example(text="[" * 2000)
def test_yaml_and_json_parsers_raise_only_parse_failure(text: str) -> None:
    assert_parses_or_fails_cleanly(parse_yaml, text)
    assert_parses_or_fails_cleanly(parse_json, text)


@given(text=st.one_of(yamlish_text, unicode_text))
@example(text="a: b\x1f\n")
def test_pure_python_yaml_parser_raises_only_parse_failure(text: str) -> None:
    assert_parses_or_fails_cleanly(lambda t: parse_yaml(t, PURE_LOADER), text)
