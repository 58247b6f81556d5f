"""Documents to YAML text, as sops' YAML store writes them through go-yaml v3.

sops turns its tree into yaml.v3 nodes (`appendTreeBranch`): comments before a key become the
key's head comment (the mapping's head comment before the first key), comments after the last
entry the foot comment of the last key or item, and an inline comment the line comment of a
value. (sops' tree holds an inline comment just before its entry; ours holds it just after, and
one with no entry before it goes on the first value, as in sops.) Each scalar goes through
`Node.Encode`, which picks its style; the encoder then turns nodes into events (a key's foot
comment travels as the next event's "tail"), and the emitter writes them.

One departure: comments after a sequence's last item that is a non-empty block collection go
to that collection's last entry, not on the collection's node. yaml.v3 writes a block
collection's own foot comment nowhere near it: it waits for the next scalar, or lands between
the next key and its `[]`/`{}` value, where nothing can read the file back. yaml.v3's parser
puts such a comment on the innermost last entry, so files sops reads are written as it writes
them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import yaml_scalar
from gitops_guard.sops.stores.yaml_emitter import (
    DOC_END,
    DOC_START,
    DOUBLE,
    LITERAL,
    MAP_END,
    MAP_START,
    PLAIN,
    SCALAR,
    SEQ_END,
    SEQ_START,
    Event,
    analyze_scalar,
    emit,
    select_style,
)
from gitops_guard.sops.values import Comment, Mapping, Sequence, Timestamp, Value


@dataclass
class _Node:
    kind: str  # MAP_START, SEQ_START or SCALAR
    value: str = ""
    tag: str = ""
    style: str = PLAIN
    children: list[_Node] = field(default_factory=list)  # a mapping's keys and values, paired
    head: str = ""
    line: str = ""
    foot: str = ""


def emit_documents(documents: list[Mapping], indent: int) -> bytes:
    """The file yaml.v3's Encoder (SetIndent(indent)) writes for these documents."""
    events: list[Event] = []
    try:
        for document in documents:
            events.append(Event(DOC_START))
            _events(_mapping(document), "", events)
            events.append(Event(DOC_END))
    except RecursionError:
        raise GuardError("the document nests too deeply to be written") from None
    return emit(events, indent).encode("utf-8", "surrogateescape")


def _events(node: _Node, tail: str, out: list[Event]) -> None:
    """yaml.v3 encoder.node(): a key's foot comment is handed on as the next event's tail."""
    if node.kind == SCALAR:
        out.append(Event(SCALAR, node.value, node.tag, node.style, node.head, node.line,
                         node.foot, tail))
    elif node.kind == SEQ_START:
        out.append(Event(SEQ_START, head=node.head))
        for item in node.children:
            _events(item, "", out)
        out.append(Event(SEQ_END, line=node.line, foot=node.foot))
    else:
        out.append(Event(MAP_START, head=node.head, tail=tail))
        tail = ""
        for key, value in zip(node.children[::2], node.children[1::2], strict=True):
            foot, key.foot = key.foot, ""
            _events(key, tail, out)
            tail = foot
            _events(value, "", out)
        out.append(Event(MAP_END, line=node.line, foot=node.foot, tail=tail))


def _mapping(mapping: Mapping) -> _Node:
    node = _Node(MAP_START)
    pending = _Pending()
    for item in mapping:
        if isinstance(item, Comment):
            pending.take(item, node.children[-1] if node.children else None)
            continue
        key, value = _scalar(item.key), _value(item.value)
        pending.place(key if node.children else node, value)
        node.children += (key, value)
    pending.finish(node, node.children[-2] if node.children else None)
    return node


def _sequence(sequence: Sequence) -> _Node:
    node = _Node(SEQ_START)
    pending = _Pending()
    for item in sequence:
        if isinstance(item, Comment):
            pending.take(item, node.children[-1] if node.children else None)
            continue
        child = _value(item)
        pending.place(child if node.children else node, child)
        node.children.append(child)
    pending.finish(node, node.children[-1] if node.children else None)
    return node


class _Pending:
    """Comments waiting for the next entry, placed as sops' appendTreeBranch places them."""

    def __init__(self) -> None:
        self.heads: list[str] = []
        self.inlines: list[str] = []  # inline comments seen before any entry

    def take(self, comment: Comment, previous: _Node | None) -> None:
        # An inline comment belongs on the line of the value before it.
        if comment.inline and previous is not None:
            _add(previous, "line", [comment.text])
        else:
            (self.inlines if comment.inline else self.heads).append(comment.text)

    def place(self, head_owner: _Node, value: _Node) -> None:
        """Before an entry: the collection takes the first entry's head comments."""
        _add(head_owner, "head", self.heads)
        _add(value, "line", self.inlines)

    def finish(self, node: _Node, last: _Node | None) -> None:
        texts = self.heads + self.inlines
        if last is None:
            _add(node, "head", texts)
        else:
            _add(_foot_owner(last) if node.kind == SEQ_START else last, "foot", texts)


def _foot_owner(item: _Node) -> _Node:
    """Whose foot comment is written right after `item`, a sequence's last item.

    A scalar's or a `[]`/`{}`'s own. For a block collection, its last entry's, going down while
    that entry is a block collection too and has no foot comment yet (one written later would
    otherwise come before it); a key's foot is written after its value, as the mapping ends.
    """
    node = item
    while node.kind != SCALAR and node.children:
        last, value = node.children[-2 if node.kind == MAP_START else -1], node.children[-1]
        if last.foot or value.kind == SCALAR or not value.children:
            return last
        node = value
    return node


def _add(node: _Node, where: str, texts: list[str]) -> None:
    """sops' addComments*: `#`-prefixed lines joined; new head lines go before old ones."""
    if texts:
        text = "#" + "\n#".join(texts)
        old = getattr(node, where)
        if old:
            text = f"{text}\n{old}" if where == "head" else f"{old}\n{text}"
        setattr(node, where, text)
        texts.clear()


def _value(value: Value) -> _Node:
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, Sequence):
        return _sequence(value)
    return _scalar(value)


def _scalar(value: object) -> _Node:
    """Node.Encode(value): the node yaml.v3 builds for a Go value (style from a first emit)."""
    if value is None:
        return _Node(SCALAR, "null")
    if isinstance(value, bool):
        return _Node(SCALAR, "true" if value else "false")
    if isinstance(value, int):
        return _Node(SCALAR, str(value))
    if isinstance(value, float):
        return _Node(SCALAR, yaml_scalar.format_float(value))
    if isinstance(value, Timestamp):
        return _Node(SCALAR, str(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bytes):
        try:
            return _string(value.decode("utf-8"))
        except UnicodeDecodeError:
            return _binary(value)
    raise TypeError(f"cannot write a value of type {type(value).__name__} to YAML")


def _string(text: str) -> _Node:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # raw bytes kept in a str (surrogateescape): not UTF-8
        return _binary(text.encode("utf-8", "surrogateescape"))
    style = LITERAL if "\n" in text else PLAIN if yaml_scalar.is_plain_safe(text) else DOUBLE
    # Node.Encode writes the value once at the document root and parses it back; the node
    # keeps the style that write chose. (v3.0.1 loses a literal block's first line break there
    # and again when writing the file; this emitter keeps it, see yaml_emitter.)
    style = select_style(analyze_scalar(text), text, style, simple_key=False)
    # Parsing back gives a plain `<<` the merge tag, which the second write keeps.
    tag = yaml_scalar.MERGE if style == PLAIN and text == "<<" else ""
    return _Node(SCALAR, text, tag, style)


def _binary(raw: bytes) -> _Node:
    """encodeBase64: 70-character lines, each ending in a newline once there are several."""
    encoded = base64.b64encode(raw).decode("ascii")
    if len(encoded) >= 70:
        encoded = "".join(encoded[i:i + 70] + "\n" for i in range(0, len(encoded), 70))
        return _Node(SCALAR, encoded, yaml_scalar.BINARY, LITERAL)
    return _Node(SCALAR, encoded, yaml_scalar.BINARY, PLAIN)
