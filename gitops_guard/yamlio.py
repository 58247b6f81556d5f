"""YAML parsing as the Kubernetes API server reads it, keeping the node tree for line lookups.

Kubernetes decodes manifests with sigs.k8s.io/yaml, which runs go-yaml v2 (YAML 1.1 scalars) and
then converts to JSON. We match it: `yes`/`on`/`y` are booleans, `0755` is octal, timestamps stay
strings, sexagesimal numbers (`1:30`) are strings, non-string keys become strings.

One parse per document: libyaml composes the node tree (C), a small builder turns nodes into
data, and the tree is kept so any JSON pointer can be mapped to a line later without parsing
again. PyYAML's generic constructor is not used: it is slower and silently overwrites
duplicate keys.

Every position this module gives (node marks, duplicate keys, parse errors) is a file position:
lines counted by `\\n`, as editors, git, `grep -n` and CI annotations count them, columns in
characters from the start of that line. The YAML parsers also end a line at a lone `\\r`,
U+0085, U+2028 and U+2029; text holding one (rare) has its positions translated (`LineMap`).
A lone `\\r` (the old Mac line end) ends no line for git, `grep -n` or CI annotations (some
editors break there), so none for us either; `\\r\\n` is one line break to everyone.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import yaml
from yaml.composer import Composer
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    CParser = None  # type: ignore[assignment,misc]

HAS_LIBYAML = CParser is not None

# Documents whose aliases expand past this many nodes are rejected (billion laughs). Real
# manifests use a handful of anchors; the limit is far above any honest use.
MAX_EXPANDED_NODES = 200_000

_TAG = "tag:yaml.org,2002:"
STR_TAG, MAP_TAG, SEQ_TAG = _TAG + "str", _TAG + "map", _TAG + "seq"
NULL_TAG, BOOL_TAG, INT_TAG, FLOAT_TAG = _TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float"
MERGE_TAG = _TAG + "merge"


class ParseFailure(Exception):
    """The text is not YAML we accept. `kind`: syntax, tab, too-deep, too-complex."""

    def __init__(self, kind: str, message: str, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column


class DuplicateKey(NamedTuple):
    key: str
    line: int
    column: int
    first_line: int
    key_node: Node


class ParsedDocument(NamedTuple):
    node: Node | None  # its marks (and its children's) are file positions, 0-based
    data: Any
    duplicates: tuple[DuplicateKey, ...]


# -- scalar resolution (go-yaml v2) ----------------------------------------------------------

_IMPLICIT: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


def _implicit(tag: str, pattern: str, first: str) -> re.Pattern[str]:
    regexp = re.compile(pattern)
    for char in first:
        _IMPLICIT.setdefault(char, []).append((tag, regexp))
    return regexp


_BOOL = _implicit(BOOL_TAG, r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False"
                            r"|FALSE|on|On|ON|off|Off|OFF)$", "yYnNtTfFoO")
_implicit(INT_TAG, r"^[-+]?(?:0|[1-9][0-9_]*|0[0-7_]+|0[xX][0-9a-fA-F_]+|0[bB][01_]+"
                   r"|0[oO][0-7_]+)$", "-+0123456789")
_implicit(FLOAT_TAG, r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
                     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789.")
_NULL = _implicit(NULL_TAG, r"^(?:~|null|Null|NULL)$", "~nN")
_implicit(MERGE_TAG, r"^<<$", "<")


class KubeResolver(BaseResolver):
    """Implicit tags as go-yaml v2 resolves plain scalars (called by the composer)."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                if not value:
                    return NULL_TAG
                for tag, regexp in _IMPLICIT.get(value[0], ()):
                    if regexp.match(value):
                        return tag
            return STR_TAG
        return SEQ_TAG if kind is SequenceNode else MAP_TAG


def _to_int(text: str) -> int:
    value = text.replace("_", "")
    sign = -1 if value.startswith("-") else 1
    digits = value.lstrip("+-")
    prefix = digits[:2].lower()
    if prefix in ("0x", "0b", "0o"):
        return sign * int(digits[2:], {"0x": 16, "0b": 2, "0o": 8}[prefix])
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _to_float(text: str) -> float:
    value = text.replace("_", "").lower()
    if value.endswith(".inf"):
        return -math.inf if value.startswith("-") else math.inf
    if value == ".nan":
        return math.nan
    return float(value)


def _to_bool(text: str) -> bool:
    if not _BOOL.match(text):  # `!!bool maybe`: go-yaml refuses it, so do we
        raise ValueError(text)
    return text.lower() in ("y", "yes", "true", "on")


def _to_null(text: str) -> None:
    if text and not _NULL.match(text):
        raise ValueError(text)


_SCALARS: dict[str, Callable[[str], Any]] = {
    STR_TAG: str,
    NULL_TAG: _to_null,
    BOOL_TAG: _to_bool,
    INT_TAG: _to_int,
    FLOAT_TAG: _to_float,
    # go-yaml keeps timestamps, and !!binary as its base64 text, as strings.
    _TAG + "timestamp": str,
    _TAG + "binary": str,
    MERGE_TAG: str,
}


def _tag_name(tag: str) -> str:
    """A tag as it may be shown: the standard ones by name. A local tag (`!foo`) is never
    shown: an unquoted value that starts with `!` (a password, say) is read as one."""
    if tag.startswith(_TAG):
        return f"!!{tag[len(_TAG):]}"
    return "a local tag (!...)" if tag.startswith("!") else "a tag"


def scalar_value(node: ScalarNode) -> Any:
    convert = _SCALARS.get(node.tag)
    if convert is None:
        mark = node.start_mark
        raise ParseFailure("syntax", f"unsupported tag: {_tag_name(node.tag)}; Kubernetes "
                           "reads plain YAML types only", mark.line + 1, mark.column + 1)
    try:
        return convert(node.value)
    except ValueError:
        mark = node.start_mark
        # The value is not quoted back: it may be a credential.
        raise ParseFailure("syntax", f"the value is not a valid {node.tag[len(_TAG):]}",
                           mark.line + 1, mark.column + 1) from None


def go_key(key: object) -> str:
    """The string sigs.k8s.io/yaml makes of a mapping key."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float) and key.is_integer() and abs(key) < 1e21:
        return str(int(key))
    return str(key)


class _Builder:
    """Turns a node tree into dicts, lists and scalars, noting duplicate keys."""

    def __init__(self, shared: bool, merges: bool) -> None:
        # Only documents with anchors can share nodes; only they pay for the memo. Only text
        # with `<<` can hold merge keys; only it pays for looking for them.
        self.memo: dict[int, Any] | None = {} if shared else None
        self.merges = merges
        self.duplicates: list[DuplicateKey] = []

    def build(self, node: Node) -> Any:
        memo = self.memo
        if memo is not None and id(node) in memo:
            return memo[id(node)]
        cls = node.__class__
        if cls is ScalarNode:
            return scalar_value(node)  # type: ignore[arg-type]
        if node.tag != (SEQ_TAG if cls is SequenceNode else MAP_TAG):
            mark = node.start_mark
            raise ParseFailure("syntax", f"unsupported tag: {_tag_name(node.tag)}; Kubernetes "
                               "reads plain YAML types only", mark.line + 1, mark.column + 1)
        if cls is SequenceNode:
            value: Any = [self.build(child) for child in node.value]
        else:
            value = self._mapping(node)  # type: ignore[arg-type]
        if memo is not None:
            memo[id(node)] = value
        return value

    def _mapping(self, node: MappingNode) -> dict[str, Any]:
        result: dict[str, Any] = {}
        pairs = node.value
        if self.merges and any(key_node.tag == MERGE_TAG for key_node, _ in pairs):
            for key_node, value_node in merged_pairs(node):
                result[self._key(key_node)] = self.build(value_node)
            pairs = [(k, v) for k, v in pairs if k.tag != MERGE_TAG]
        first: dict[str, Node] = {}
        for key_node, value_node in pairs:
            key = self._key(key_node)
            earlier = first.get(key)
            if earlier is None:
                first[key] = key_node
            else:
                mark = key_node.start_mark
                self.duplicates.append(DuplicateKey(key, mark.line + 1, mark.column + 1,
                                                    earlier.start_mark.line + 1, key_node))
            result[key] = self.build(value_node)
        return result

    def _key(self, node: Node) -> str:
        if node.__class__ is ScalarNode:
            return node.value if node.tag == STR_TAG else go_key(scalar_value(node))
        mark = node.start_mark
        raise ParseFailure("syntax", "a mapping key is itself a mapping or a list",
                           mark.line + 1, mark.column + 1)


def merged_pairs(node: MappingNode) -> list[tuple[Node, Node]]:
    """The pairs a mapping takes from its `<<` merge keys, lowest precedence first."""
    pairs: list[tuple[Node, Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag != MERGE_TAG:
            continue
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        # Earlier sources win, so they are applied last.
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                mark = source.start_mark
                raise ParseFailure("syntax", "a merge key (<<) must name a mapping",
                                   mark.line + 1, mark.column + 1)
            pairs.extend(merged_pairs(source))
            pairs.extend((k, v) for k, v in source.value if k.tag != MERGE_TAG)
    return pairs


class _PureLoader(Reader, Scanner, Parser, Composer, KubeResolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        KubeResolver.__init__(self)


if CParser is not None:
    class _FastLoader(CParser, KubeResolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            KubeResolver.__init__(self)

    DEFAULT_LOADER: type[Any] = _FastLoader
else:  # pragma: no cover
    DEFAULT_LOADER = _PureLoader

PURE_LOADER: type[Any] = _PureLoader


class TextResolver(BaseResolver):
    """Every plain scalar as the text written (only null and merge keys resolved): for tools
    that read versions, where `newTag: 1.10` must stay "1.10". Cheaper than KubeResolver,
    which the composer calls for every scalar."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0] and (not value or value in _NULL_WORDS):
                return NULL_TAG
            if implicit[0] and value == "<<":
                return MERGE_TAG
            return STR_TAG
        return SEQ_TAG if kind is SequenceNode else MAP_TAG


_NULL_WORDS = frozenset({"~", "null", "Null", "NULL"})

if CParser is not None:
    class _TextLoader(CParser, TextResolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            TextResolver.__init__(self)

    TEXT_LOADER: type[Any] = _TextLoader
else:  # pragma: no cover
    class _PureTextLoader(Reader, Scanner, Parser, Composer, TextResolver):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            TextResolver.__init__(self)

    TEXT_LOADER = _PureTextLoader


# -- file lines --------------------------------------------------------------------------------

# Line breaks to the YAML parsers (PyYAML and libyaml alike) that are none to `\n` counting.
_OTHER_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
# Every line break to the YAML parsers (`\r\n` is one).
_PARSER_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _has_other_breaks(text: str) -> bool:
    # Plain substring scans (C speed): the common text, without any, pays only for these.
    return ("\u2028" in text or "\u2029" in text or "\x85" in text
            or ("\r" in text and text.count("\r") != text.count("\r\n")))


_AnyMark = TypeVar("_AnyMark", bound=Any)


class LineMap:
    """Parser positions to file positions, for text with breaks that only the parser counts.

    Built from the (rare) other breaks alone, so its cost does not grow with the line count.
    """

    __slots__ = ("_after", "_shift")

    def __init__(self, text: str) -> None:
        # For each other break, in order: the parser line that starts after it, and how many
        # characters of its file line come before that parser line (added to its columns).
        self._after: list[int] = []
        self._shift: list[int] = []
        newlines = 0
        scanned = 0
        line_start = 0
        for number, match in enumerate(_OTHER_BREAK.finditer(text)):
            start = match.start()
            # Counted from the previous break on, so the whole build stays linear in the text.
            newlines += text.count("\n", scanned, start)
            last_newline = text.rfind("\n", scanned, start)
            if last_newline >= 0:
                line_start = last_newline + 1
            scanned = start
            self._after.append(newlines + number + 1)
            self._shift.append(match.end() - line_start)

    @classmethod
    def of(cls, text: str) -> LineMap | None:
        """The map for `text`, or None when its parser and file positions are the same."""
        return cls(text) if _has_other_breaks(text) else None

    @property
    def first_moved(self) -> int:
        """The first parser line that is not the file line of the same number."""
        return self._after[0]

    def position(self, line: int, column: int) -> tuple[int, int]:
        """The 0-based file (line, column) of a 0-based parser (line, column)."""
        before = bisect_right(self._after, line)  # other breaks that end earlier parser lines
        if before and self._after[before - 1] == line:  # the line starts after one of them
            column += self._shift[before - 1]
        return line - before, column

    def mark(self, mark: _AnyMark) -> _AnyMark | Mark:
        """The file position of a parser mark (PyYAML's `Mark`, or libyaml's, which events
        carry): the mark itself where the two agree."""
        after = self._after
        line = mark.line
        if line < after[0]:
            return mark
        if line > after[-1]:  # after every break, on a line a `\n` starts (most of them)
            line, column = line - len(after), mark.column
        else:
            line, column = self.position(line, mark.column)
        return Mark(mark.name, mark.index, line, column, mark.buffer, mark.pointer)


def _relocate(root: Node, lines: LineMap) -> None:
    """Give every node of a document file positions (aliased nodes once)."""
    first_moved = lines.first_moved
    move = lines.mark
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        end = node.end_mark
        # A node that ends before the first break has all its children before it too.
        if end.line < first_moved or id(node) in seen:
            continue
        seen.add(id(node))
        node.start_mark = move(node.start_mark)
        node.end_mark = move(end)
        if node.__class__ is MappingNode:
            for pair in node.value:
                stack.extend(pair)
        elif node.__class__ is SequenceNode:
            stack.extend(node.value)


# -- parsing -----------------------------------------------------------------------------------

def parse_yaml(text: str, loader_class: type[Any] | None = None) -> list[ParsedDocument]:
    """Parse every document of `text`. Raises ParseFailure with a 1-based position."""
    try:
        # The pure-Python reader checks for control characters as it is built.
        loader = (loader_class or DEFAULT_LOADER)(text)
    except yaml.MarkedYAMLError as exc:
        raise _failure(exc, text) from None
    except yaml.YAMLError as exc:
        raise ParseFailure("syntax", str(exc).splitlines()[0]) from None
    shared = "&" in text and "*" in text
    merges = "<<" in text
    lines = LineMap.of(text)
    documents: list[ParsedDocument] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                documents.append(ParsedDocument(None, None, ()))
                continue
            if lines is not None:
                # Before anything reads a mark: duplicate keys and errors use them too.
                _relocate(node, lines)
            if shared:
                _check_expansion(node)
            builder = _Builder(shared, merges)
            data = builder.build(node)
            documents.append(ParsedDocument(node, data, tuple(builder.duplicates)))
    except yaml.MarkedYAMLError as exc:
        raise _failure(exc, text) from None
    except yaml.YAMLError as exc:  # ReaderError and friends carry no mark
        raise ParseFailure("syntax", str(exc).splitlines()[0]) from None
    except RecursionError:
        raise ParseFailure("too-deep", "the document nests too deeply to be read") from None
    finally:
        loader.dispose()
    return documents


def _failure(exc: yaml.MarkedYAMLError, text: str) -> ParseFailure:
    mark = exc.problem_mark or exc.context_mark
    lines = LineMap.of(text)
    line = column = None
    if mark is not None:
        line, column = _file_position(lines, mark)
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    if "maximum nesting depth" in problem:
        return ParseFailure("too-deep", "the document nests more than 1000 levels deep", line,
                            column)
    if mark is not None and _is_tab_indent(text, mark.line, mark.column):
        return ParseFailure("tab", "a tab character is used for indentation; YAML allows "
                            "only spaces", line, column)
    message = problem
    if exc.context and exc.problem and exc.context_mark is not None:
        context_line = _file_position(lines, exc.context_mark)[0]
        message = f"{problem} ({exc.context} at line {context_line})"
    return ParseFailure("syntax", message, line, column)


def _file_position(lines: LineMap | None, mark: Mark) -> tuple[int, int]:
    """The 1-based file (line, column) of a parser mark."""
    line, column = mark.line, mark.column
    if lines is not None:
        line, column = lines.position(line, column)
    return line + 1, column + 1


def _is_tab_indent(text: str, line: int, column: int) -> bool:
    """Whether a parser position is in a line's indentation of tabs. Indentation is the
    parser's, so lines are split at the parser's breaks (`str.splitlines` knows more)."""
    lines = _PARSER_BREAK.split(text)
    if line >= len(lines):
        return False
    prefix = lines[line][: column + 1]
    return "\t" in prefix and not prefix.strip(" \t")


def _check_expansion(root: Node) -> None:
    """Reject alias bombs and self-containing aliases before building any data.

    Counts the nodes the document would have with every alias expanded, sharing the count of
    nodes reached twice, so the walk itself stays linear in the size of the text.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in children)
            if total > MAX_EXPANDED_NODES:
                raise ParseFailure(
                    "too-complex",
                    f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes (an alias bomb?)",
                    root.start_mark.line + 1, root.start_mark.column + 1)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                mark = child.start_mark
                raise ParseFailure("too-complex", "an alias refers to a node that contains it",
                                   mark.line + 1, mark.column + 1)
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


# -- locating a JSON pointer in a node tree ---------------------------------------------------

def node_at(root: Node | None, tokens: list[str], at_key: bool = False) -> Node | None:
    """The node a pointer names, or the deepest existing ancestor when part of it is missing.

    With `at_key`, the key node of the last token is returned (for unknown or duplicate keys).
    """
    node = root
    if node is None:
        return None
    for position, token in enumerate(tokens):
        last = position == len(tokens) - 1
        if isinstance(node, MappingNode):
            pair = _find_pair(node, token)
            if pair is None:
                return node
            node = pair[0] if (last and at_key) else pair[1]
        elif isinstance(node, SequenceNode):
            if not token.isdigit() or int(token) >= len(node.value):
                return node
            node = node.value[int(token)]
        else:
            return node
    return node


def _find_pair(node: MappingNode, token: str) -> tuple[Node, Node] | None:
    found = None
    for key_node, value_node in node.value:
        if (isinstance(key_node, ScalarNode) and key_node.tag != MERGE_TAG
                and _key_text(key_node) == token):
            found = (key_node, value_node)  # the last one wins, as in the data
    if found is None:
        for key_node, value_node in reversed(merged_pairs(node)):
            if isinstance(key_node, ScalarNode) and _key_text(key_node) == token:
                return key_node, value_node
    return found


def _key_text(node: ScalarNode) -> str:
    if node.tag == STR_TAG:
        return str(node.value)
    try:
        return go_key(scalar_value(node))
    except ParseFailure:
        return str(node.value)


def pointer_to(root: Node | None, target: Node) -> list[str] | None:
    """The JSON pointer tokens that lead from `root` to `target` (a key or value node)."""
    if root is None:
        return None
    stack: list[tuple[Node, list[str]]] = [(root, [])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG or not isinstance(key_node, ScalarNode):
                    continue
                child = [*path, _key_text(key_node)]
                if key_node is target or value_node is target:
                    return child
                stack.append((value_node, child))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                if item is target:
                    return [*path, str(index)]
                stack.append((item, [*path, str(index)]))
    return None
