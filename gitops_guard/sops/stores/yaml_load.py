"""YAML text to documents, as sops' YAML store reads them through go-yaml v3.

libyaml (through PyYAML) parses; scalars are typed as yaml.v3 types them (`yaml_scalar`); and
comments, which PyYAML drops, are recovered from the text between events and placed where sops
puts yaml.v3's head, line and foot comments:

- a comment before an entry goes before it, in the collection holding it; one between a key and
  its nested block goes first into that block; one before a sequence's `- ` stays in the
  sequence;
- a comment after the last entry of nested blocks goes to the innermost block it is indented
  at least as deep as, else to the collection the next entry belongs to;
- a comment on the line of a key whose value starts on a later line goes before that pair;
- a comment on the line of a value is `Comment(text, inline=True)` right after its pair or item,
  except after a flow collection that is a mapping's value (`a: [1] # c`), where it goes first
  into that collection, as yaml.v3 hangs it on the collection's node. A block scalar (`|`, `>`)
  ends at the start of the line after it: a comment there stands on its own line.

Aliases are expanded; a `<<` merge key stays an ordinary `<<` key holding the merged mapping,
because sops walks yaml.v3's nodes and never merges.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import NamedTuple

import yaml

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import yaml_scalar
from gitops_guard.sops.values import Comment, Mapping, Pair, Scalar, Sequence, Timestamp, Value
from gitops_guard.yamlio import LineMap

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# Aliases may expand to at most this many copied entries per file (billion laughs).
MAX_ALIAS_ENTRIES = 200_000
# Collections may nest this deep; real files stay far below, and writing recurses per level.
MAX_DEPTH = 256

_GAP_TOKEN = re.compile(r"#([^\r\n\x85\u2028\u2029]*)|-(?=[ \t\r\n\x85\u2028\u2029]|\Z)")
_BREAK = re.compile(r"[\r\n\x85\u2028\u2029]")
_BLOCK_HEADER_COMMENT = re.compile(r"[|>][-+0-9]*[ \t]+#([^\r\n\x85\u2028\u2029]*)")
_QUOTED_STYLES = frozenset("'\"|>")

# What the next event is to the collection on top of the stack.
_ROOT, _KEY, _VALUE, _ITEM, _END = "root", "key", "value", "item", "end"
# What the last text-consuming event was, for comments on its line.
_OTHER = "other"


class _Event(NamedTuple):
    """A parser event with what the builder needs (PyYAML's marks are optional in its types)."""

    kind: str  # the PyYAML event class name
    start: int
    end: int
    line: int  # of the start, 1-based
    column: int  # of the start, 1-based
    end_column: int  # 0-based
    value: str = ""
    tag: str = ""
    style: str = ""  # PyYAML's scalar style character; "" for plain
    anchor: str = ""
    flow: bool = False
    explicit: bool = False

    @classmethod
    def of(cls, raw: yaml.Event, lines: LineMap | None) -> _Event:
        start, end = raw.start_mark, raw.end_mark
        if start is None or end is None:  # pragma: no cover - the parser always sets them
            raise GuardError("invalid YAML: an event without a position")
        if lines is not None:  # file lines and columns, as the comment gaps count them
            start, end = lines.mark(start), lines.mark(end)
        return cls(type(raw).__name__, start.index, end.index, start.line + 1, start.column + 1,
                   end.column, getattr(raw, "value", None) or "", getattr(raw, "tag", None) or "",
                   getattr(raw, "style", None) or "", getattr(raw, "anchor", None) or "",
                   bool(getattr(raw, "flow_style", False)), bool(getattr(raw, "explicit", False)))


class _Frame:
    __slots__ = ("anchor", "flow", "indent", "key", "key_index", "keys", "node")

    def __init__(self, node: Mapping | Sequence, indent: int, flow: bool, anchor: str) -> None:
        self.node = node
        self.indent = indent
        self.flow = flow
        self.anchor = anchor
        self.key: str | None = None  # a mapping's key waiting for its value
        self.key_index = 0  # where that key's pair goes, for comments on the key's line
        self.keys: dict[str, int] = {}  # key -> line it was first defined on


def load_documents(data: bytes) -> list[Mapping]:
    """Every document of a YAML stream; each must be a mapping (a null document is empty)."""
    text = _decode(data)
    builder = _Builder(text)
    # The parser also breaks lines at U+0085, U+2028, U+2029 and a lone CR; files count `\n`.
    lines = LineMap.of(text)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(_Event.of(event, lines))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        if mark is not None and lines is not None:
            mark = lines.mark(mark)
        raise GuardError(f"invalid YAML: {exc.problem}", line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line_start = text.rfind("\n", 0, exc.position) + 1
        raise GuardError(f"invalid YAML: {exc.reason}", line=text.count("\n", 0, line_start) + 1,
                         column=exc.position - line_start + 1) from None
    except yaml.YAMLError:  # pragma: no cover - libyaml reports everything above
        raise GuardError("invalid YAML") from None
    return builder.documents


def _decode(data: bytes) -> str:
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))  # yaml.v3 reads UTF-16 with a BOM
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = None if utf16 else data[:exc.start].count(b"\n") + 1
        raise GuardError(f"the file is not valid {'UTF-16' if utf16 else 'UTF-8'}",
                         line=line) from None


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.documents: list[Mapping] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, Value] = {}
        self.root: Mapping | None = None
        self.pending: list[Comment] = []  # comments waiting for the next document's root
        self.closed: list[_Frame] = []  # block collections ended since the last text
        self.prev_end = 0  # end of the last text-consuming event
        self.scanned = 0  # text before this has been searched for comments
        self.prev_kind = _OTHER
        self.prev_owner: _Frame | None = None
        self.prev_flow: Mapping | Sequence | None = None  # just read, as a key's value
        self.budget = MAX_ALIAS_ENTRIES
        self.handlers: dict[str, Callable[[_Event], None]] = {
            "DocumentStartEvent": self._document_start, "DocumentEndEvent": self._document_end,
            "StreamEndEvent": self._stream_end, "MappingStartEvent": self._start,
            "SequenceStartEvent": self._start, "MappingEndEvent": self._end,
            "SequenceEndEvent": self._end, "ScalarEvent": self._scalar, "AliasEvent": self._alias,
        }

    def feed(self, event: _Event) -> None:
        handler = self.handlers.get(event.kind)
        if handler is not None:
            handler(event)

    # -- events --------------------------------------------------------------------------

    def _document_start(self, event: _Event) -> None:
        self._gap(event.start, _END)
        if event.explicit:
            self._consumed(event.end, _OTHER, None)
        self.anchors = {}

    def _document_end(self, event: _Event) -> None:
        self._gap(event.start, _END)
        if event.explicit:
            self._consumed(event.end, _OTHER, None)
        self.documents.append(self.root if self.root is not None else Mapping())
        self.root = None

    def _stream_end(self, event: _Event) -> None:
        self._gap(event.start, _END)
        if self.pending and self.documents:  # comments after a final `...`
            self.documents[-1].extend(self.pending)

    def _scalar(self, event: _Event) -> None:
        parent = self._top()
        role = self._role(parent)
        self._gap(event.start, role, parent=parent)
        value = _typed(event)
        if event.anchor:
            self.anchors[event.anchor] = value
        # A block scalar's text ends with the line it last covers: nothing is on its line.
        block = event.style in ("|", ">")
        if parent is None:
            if value is not None:
                raise _error("a YAML document must be a mapping", event)
            self._set_root(Mapping())
        elif role == _KEY:
            self._key(parent, value, event)
            self._consumed(event.end, _KEY, None if block else parent)
        else:
            self._attach(parent, value)
            header = _header_comment(self.text, event) if block else None
            if header is not None:
                parent.node.append(Comment(header, inline=True))
            if event.start != event.end or role != _VALUE:  # an empty value: key's line open
                self._consumed(event.end, _VALUE, None if block else parent)

    def _alias(self, event: _Event) -> None:
        parent = self._top()
        role = self._role(parent)
        self._gap(event.start, role, parent=parent)
        # Anchors are per document, so an alias can never be a document's root.
        if parent is None or event.anchor not in self.anchors:
            raise _error("an alias refers to an unknown anchor", event)
        value = self._copy(self.anchors[event.anchor], event)
        if role == _KEY:
            self._key(parent, value, event)
            self._consumed(event.end, _KEY, parent)
        else:
            self._attach(parent, value)
            self._consumed(event.end, _VALUE, parent)

    # -- structure -----------------------------------------------------------------------

    def _start(self, event: _Event) -> None:
        parent = self._top()
        role = self._role(parent)
        if role == _KEY:
            raise _error("mapping keys must be strings", event)
        if len(self.stack) >= MAX_DEPTH:
            raise _error(f"collections nest more than {MAX_DEPTH} levels deep", event)
        node = Mapping() if event.kind == "MappingStartEvent" else Sequence()
        # A block collection's own column is its first entry's (after any anchor or tag).
        frame = _Frame(node, event.column - 1 if event.flow else event.end_column, event.flow,
                       event.anchor)
        if role == _ROOT:
            if not isinstance(node, Mapping):
                raise _error("a YAML document must be a mapping", event)
            self._set_root(node)
        gap_end = event.start if event.flow else event.end
        self._gap(gap_end, role, parent=parent, new=frame)
        self.stack.append(frame)
        self._consumed(event.end, _OTHER, None)

    def _end(self, event: _Event) -> None:
        frame = self.stack[-1]
        if frame.flow:
            self._gap(event.start, _END, parent=frame)
        else:
            self.closed.append(frame)
        self.stack.pop()
        if frame.anchor:
            self.anchors[frame.anchor] = frame.node
        parent = self._top()
        if parent is not None:
            self._attach(parent, frame.node)
        if frame.flow:
            self._consumed(event.end, _VALUE, parent)
            if parent is not None and isinstance(parent.node, Mapping):
                self.prev_flow = frame.node

    def _top(self) -> _Frame | None:
        return self.stack[-1] if self.stack else None

    @staticmethod
    def _role(parent: _Frame | None) -> str:
        if parent is None:
            return _ROOT
        if isinstance(parent.node, Mapping):
            return _KEY if parent.key is None else _VALUE
        return _ITEM

    def _set_root(self, root: Mapping) -> None:
        root.extend(self.pending)
        self.pending = []
        self.root = root

    def _key(self, parent: _Frame, key: Value, event: _Event) -> None:
        if not isinstance(key, str) or isinstance(key, Timestamp):  # a Go time is no string
            raise _error("mapping keys must be strings", event)
        if key in parent.keys:
            raise _error(f"duplicate mapping key (first defined on line {parent.keys[key]})",
                         event)
        parent.keys[key] = event.line
        parent.key = key
        parent.key_index = len(parent.node)

    @staticmethod
    def _attach(parent: _Frame, value: Value) -> None:
        if isinstance(parent.node, Sequence):
            parent.node.append(value)
        elif parent.key is not None:
            parent.node.append(Pair(parent.key, value))
            parent.key = None

    def _copy(self, value: Value, event: _Event) -> Value:
        """A fresh copy of an anchored value, within the alias expansion budget."""
        if not isinstance(value, (Mapping, Sequence)):
            return value
        self.budget -= len(value)
        if self.budget < 0:
            raise _error("aliases expand to too many values", event)
        if isinstance(value, Mapping):
            return Mapping(Pair(item.key, self._copy(item.value, event))
                           if isinstance(item, Pair) else item for item in value)
        return Sequence(item if isinstance(item, Comment) else self._copy(item, event)
                        for item in value)

    # -- comments ------------------------------------------------------------------------

    def _consumed(self, end: int, kind: str, owner: _Frame | None) -> None:
        self.prev_end = max(self.prev_end, end)
        self.scanned = max(self.scanned, end)
        self.prev_kind = kind if owner is not None else _OTHER
        self.prev_owner = owner
        self.prev_flow = None

    def _gap(self, end: int, role: str, *, parent: _Frame | None = None,
             new: _Frame | None = None) -> None:
        """Place the comments between the last consumed text and the next event at `end`."""
        start = self.scanned
        comments: list[tuple[int, str]] = []
        dash = -1
        for match in _GAP_TOKEN.finditer(self.text, start, max(start, end)):
            if match.group(1) is not None:
                comments.append((match.start(), match.group(1)))
            else:
                dash = match.start()
        self.scanned = max(start, end)
        for position, body in comments:
            if not self._on_previous_line(position, body):
                self._target(position, role, parent, new, before_dash=position < dash) \
                    .append(Comment(body))
        self.closed.clear()

    def _on_previous_line(self, position: int, body: str) -> bool:
        """A comment on the line of the last key or value: it belongs to that entry."""
        owner = self.prev_owner
        if owner is None or _BREAK.search(self.text, self.prev_end, position):
            return False
        if self.prev_kind == _KEY:  # the value starts on a later line
            owner.node.insert(owner.key_index, Comment(body))
            owner.key_index += 1
        elif self.prev_flow is not None:  # yaml.v3: the line comment of the collection's node
            self.prev_flow.insert(0, Comment(body))
        else:
            owner.node.append(Comment(body, inline=True))
        self.prev_owner = None  # a line holds one comment
        return True

    def _target(self, position: int, role: str, parent: _Frame | None, new: _Frame | None,
                *, before_dash: bool) -> Mapping | Sequence | list[Comment]:
        # Comments before the next entry (or its `- `) may close nested blocks above them.
        if role in (_KEY, _END) or (role == _ITEM and before_dash):
            column = position - self.text.rfind("\n", 0, position) - 1
            for frame in self.closed:
                if frame.indent <= column:
                    return frame.node
        if new is not None and not (role == _ITEM and before_dash):
            return new.node
        if parent is not None:
            return parent.node
        if self.closed:
            return self.closed[-1].node
        return self.root if self.root is not None else self.pending


def _typed(event: _Event) -> Scalar:
    """The Go value yaml.v3 decodes a scalar to (quoted and block scalars are strings)."""
    tag = yaml_scalar.short_tag(event.tag)
    if tag == "!":  # the non-specific tag: plain scalars are still resolved
        tag = ""
    if tag == yaml_scalar.STR or (not tag and event.style in _QUOTED_STYLES):
        return event.value
    try:
        rtag, value = yaml_scalar.resolve(event.value, tag)
    except yaml_scalar.TagMismatch:
        raise _error(f"a value does not match its {tag} tag", event) from None
    if rtag == yaml_scalar.BINARY:
        return _binary(event)
    return value


def _binary(event: _Event) -> Scalar:
    try:
        raw = base64.b64decode(re.sub(r"[\r\n]", "", event.value), validate=True)
    except (binascii.Error, ValueError):
        raise _error("a !!binary value is not valid base64", event) from None
    try:
        return raw.decode("utf-8")  # Go keeps it as a string; valid UTF-8 is just text
    except UnicodeDecodeError:
        return raw


def _header_comment(text: str, event: _Event) -> str | None:
    """The comment on a block scalar's `|`/`>` line, which sits inside the scalar's span."""
    line_end = _BREAK.search(text, event.start, event.end)
    match = _BLOCK_HEADER_COMMENT.search(text, event.start,
                                         line_end.start() if line_end else event.end)
    return match.group(1) if match else None


def _error(message: str, event: _Event) -> GuardError:
    return GuardError(message, line=event.line, column=event.column)
