"""The go-yaml v3 (v3.0.1) emitter, for the events sops' YAML store produces.

A port of the logic of `emitterc.go` (itself derived from libyaml), limited to what sops ever
asks for: block mappings and sequences, `{}`/`[]` for empty ones, scalars in plain, quoted and
literal styles, comments, and no anchors. yaml.v3 never folds long lines (its width is
unlimited), so there is no line folding here either.

Comments travel as yaml.v3 moves them: each event sets pending comment buffers that the state
handlers write when they reach them, so a comment can surface later than where it was attached,
exactly as it does in Go.

Where v3.0.1 writes text that reads back as something else, or not at all, this emitter departs
from it (text that v3.0.1 writes and reads back unchanged is written the same):
- a literal block that starts with a line break keeps it (v3.0.1 lets that break end the
  `|` header line, go-yaml issue 701);
- a block scalar's indentation indicator is its real offset from the enclosing collection, not
  the configured indent (inside a `- ` item they differ, and v3.0.1's text does not parse), and
  it is written before a leading tab too (without it no parser reads the first line);
- comments still pending when an empty `[]`/`{}` value starts are written after it, not between
  `key:` or `- ` and the `[]` (which then stands on a line of its own where nothing reads it);
- a head comment that would land right after an enclosing item's `- ` follows the item's own
  `- ` instead, so that reading it back attaches it to the same collection (v3.0.1's placement
  moves it one level out on every read and write).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import NamedTuple

PLAIN, SINGLE, DOUBLE, LITERAL = "plain", "single", "double", "literal"
DOC_START, DOC_END = "doc-start", "doc-end"
MAP_START, MAP_END, SEQ_START, SEQ_END = "map-start", "map-end", "seq-start", "seq-end"
SCALAR = "scalar"

_BREAKS = frozenset("\r\n\x85\u2028\u2029")
_FIRST_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_ESCAPES = MappingProxyType({
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\u2028": "L", "\u2029": "P"})

# Emitter states (the handler that takes the next event).
_FIRST_DOC, _NEXT_DOC, _CONTENT, _END = "first-doc", "next-doc", "content", "end"
_FLOW_SEQ, _FLOW_MAP = "flow-seq-first", "flow-map-first"
_SEQ_FIRST, _SEQ_ITEM = "seq-first", "seq-item"
_MAP_FIRST, _MAP_KEY = "map-first", "map-key"
_MAP_SIMPLE_VALUE, _MAP_VALUE = "map-simple-value", "map-value"


class Event(NamedTuple):
    kind: str
    value: str = ""
    tag: str = ""  # an explicit short tag to write (`!!binary`, `!!merge`); "" for none
    style: str = PLAIN
    head: str = ""
    line: str = ""
    foot: str = ""
    tail: str = ""


class ScalarFacts(NamedTuple):
    """yaml_emitter_analyze_scalar's verdict: which styles can hold the value."""

    multiline: bool
    block_plain: bool
    single: bool
    block: bool


def is_printable(char: str) -> bool:
    code = ord(char)
    return (char == "\n" or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF
            or (0xE000 <= code <= 0xFFFD and code != 0xFEFF))


def analyze_scalar(value: str) -> ScalarFacts:
    """Which styles may carry `value` (emitterc.go yaml_emitter_analyze_scalar)."""
    if not value:
        return ScalarFacts(False, True, True, False)
    block_ind = value.startswith(("---", "..."))
    breaks = special = tabs = False
    lead_space = lead_break = trail_space = trail_break = break_space = space_break = False
    prev_space = prev_break = False
    preceded_by_ws = True
    last = len(value) - 1
    for i, char in enumerate(value):
        followed_by_ws = i == last or value[i + 1] in " \t"
        if i == 0:
            if char in _FIRST_INDICATORS or (char in "?:-" and followed_by_ws):
                block_ind = True
        elif (char == ":" and followed_by_ws) or (char == "#" and preceded_by_ws):
            block_ind = True
        if char == "\t":
            tabs = True
        elif not is_printable(char):
            special = True
        if char == " ":
            lead_space = lead_space or i == 0
            trail_space = trail_space or i == last
            break_space = break_space or prev_break
            prev_space, prev_break = True, False
        elif char in _BREAKS:
            breaks = True
            lead_break = lead_break or i == 0
            trail_break = trail_break or i == last
            space_break = space_break or prev_space
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded_by_ws = char in " \t\0" or char in _BREAKS
    plain = not (lead_space or lead_break or trail_space or trail_break or break_space
                 or space_break or tabs or special or breaks)
    return ScalarFacts(
        multiline=breaks,
        block_plain=plain and not block_ind,
        single=not (break_space or space_break or tabs or special),
        block=not (trail_space or space_break or special),
    )


def select_style(facts: ScalarFacts, value: str, style: str, *, simple_key: bool) -> str:
    """The style actually written for a requested one, in block context (no flow here).

    A multi-line value is never a simple key, so yaml.v3's "multi-line key: double" rule can't
    apply here.
    """
    if style == PLAIN and (not facts.block_plain or (not value and simple_key)):
        style = SINGLE
    if style == SINGLE and not facts.single:
        style = DOUBLE
    if style == LITERAL and (not facts.block or simple_key):
        style = DOUBLE
    return style


def emit(events: list[Event], best_indent: int) -> str:
    """The text yaml.v3's Encoder writes for these document events (STREAM-START/END implied)."""
    return _Emitter(events, best_indent).run()


class _Emitter:
    def __init__(self, events: list[Event], best_indent: int) -> None:
        self.events = list(events)  # a copy: comments may be moved onto a later event
        self.pos = 0
        self.best_indent = best_indent
        self.out: list[str] = []
        self.state = _FIRST_DOC
        self.states: list[str] = []
        self.indent = -1
        self.indents: list[int] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.foot_indent = -1
        self.simple_key = False
        self.head = self.line = self.foot = self.tail = self.key_line = ""
        self.tag = ""
        self.facts = analyze_scalar("")

    def run(self) -> str:
        handlers: dict[str, Callable[[Event], None]] = {
            _FIRST_DOC: lambda e: self._document_start(first=True),
            _NEXT_DOC: lambda e: self._document_start(first=False),
            _CONTENT: self._document_content,
            _END: self._document_end,
            _FLOW_SEQ: self._flow_sequence,
            _FLOW_MAP: self._flow_mapping,
            _SEQ_FIRST: lambda e: self._sequence_item(e, first=True),
            _SEQ_ITEM: lambda e: self._sequence_item(e, first=False),
            _MAP_FIRST: lambda e: self._mapping_key(e, first=True),
            _MAP_KEY: lambda e: self._mapping_key(e, first=False),
            _MAP_SIMPLE_VALUE: lambda e: self._mapping_value(e, simple=True),
            _MAP_VALUE: lambda e: self._mapping_value(e, simple=False),
        }
        for pos, event in enumerate(self.events):
            self.pos = pos
            self._analyze(event)
            handlers[self.state](event)
        return "".join(self.out)

    # -- output primitives ---------------------------------------------------------------

    def _put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def _put_break(self) -> None:
        self.out.append("\n")
        self.column = 0
        self.indention = True

    def _write_break(self, char: str) -> None:
        if char == "\n":
            self._put_break()
        else:  # other line breaks are copied as they are
            self.out.append(char)
            self.column = 0
            self.indention = True

    def _write_indent(self) -> None:
        indent = max(self.indent, 0)
        if (not self.indention or self.column > indent
                or (self.column == indent and not self.whitespace)):
            self._put_break()
        if self.foot_indent == indent:  # a foot comment just above: keep a blank line after it
            self._put_break()
        if self.column < indent:
            self._put(" " * (indent - self.column))
        self.whitespace = True
        self.foot_indent = -1

    def _write_indicator(self, text: str, need_space: bool, is_space: bool,
                         is_indention: bool) -> None:
        if need_space and not self.whitespace:
            self._put(" ")
        self._put(text)
        self.whitespace = is_space
        self.indention = self.indention and is_indention

    def _write_comment(self, comment: str) -> None:
        breaks = pound = False
        for char in comment:
            if char in _BREAKS:
                self._write_break(char)
                breaks, pound = True, False
                continue
            if breaks:
                self._write_indent()
            if not pound:
                if char != "#":
                    self._put("# ")
                pound = True
            self._put(char)
            self.indention = breaks = False
        if not breaks:
            self._put_break()
        self.whitespace = True

    # -- comments ------------------------------------------------------------------------

    def _analyze(self, event: Event) -> None:
        # Buffers are only ever overwritten, never cleared here: what a handler does not
        # write stays pending for a later one, as in yaml.v3.
        for name in ("head", "line", "foot", "tail"):
            text = getattr(event, name)
            if text:
                setattr(self, name, text)
        self.tag = event.tag
        if event.kind == SCALAR:
            self.facts = analyze_scalar(event.value)

    def _head_comment(self) -> None:
        if self.tail:
            self._write_indent()
            self._write_comment(self.tail)
            self.tail = ""
            self.foot_indent = max(self.indent, 0)
        if self.head:
            self._write_indent()
            self._write_comment(self.head)
            self.head = ""

    def _line_comment(self) -> None:
        if self.line:
            if not self.whitespace:
                self._put(" ")
            self._write_comment(self.line)
            self.line = ""

    def _foot_comment(self) -> None:
        if self.foot:
            self._write_indent()
            self._write_comment(self.foot)
            self.foot = ""
            self.foot_indent = max(self.indent, 0)

    # -- states --------------------------------------------------------------------------

    def _increase_indent(self, flow: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = self.best_indent if flow else 0
        elif self.states[-1] == _SEQ_ITEM:
            self.indent += 2  # right after "- "
        else:
            self.indent = self.best_indent * ((self.indent + self.best_indent) // self.best_indent)

    def _pop_indent(self) -> None:
        self.indent = self.indents.pop()

    def _pop_state(self) -> None:
        self.state = self.states.pop()

    def _document_start(self, *, first: bool) -> None:
        if not first:
            self._write_indent()
            self._write_indicator("---", True, False, False)
            self._write_indent()
        # (A document's own head comment would go here; sops never sets one, and a pending
        # head comment is always written by the previous root mapping's end.)
        self.state = _CONTENT

    def _document_content(self, event: Event) -> None:
        self.states.append(_END)
        self._head_comment()
        self._node(event)
        self._line_comment()
        self._foot_comment()

    def _document_end(self, event: Event) -> None:
        self.foot_indent = 0
        self._foot_comment()
        self.foot_indent = -1
        self._write_indent()
        self.state = _NEXT_DOC

    def _flow_sequence(self, event: Event) -> None:
        # Only empty collections are written in flow style: this always sees the end event.
        self._write_indicator("[", True, True, False)
        self._increase_indent(flow=True)
        self._pop_indent()
        if self.column == 0:
            self._write_indent()
        self._write_indicator("]", False, False, False)
        self._line_comment()
        self._foot_comment()
        self._pop_state()

    def _flow_mapping(self, event: Event) -> None:
        self._write_indicator("{", True, True, False)
        self._increase_indent(flow=True)
        self._head_comment()  # comments of an empty mapping land inside its braces
        self._pop_indent()
        self._write_indicator("}", False, False, False)
        self._line_comment()
        self._foot_comment()
        self._pop_state()

    def _sequence_item(self, event: Event, *, first: bool) -> None:
        if first:
            self._increase_indent(flow=False)
        if event.kind == SEQ_END:
            self._pop_indent()
            self._pop_state()
            return
        after_dash = self._after_dash(event)
        if not after_dash:
            self._head_comment()
        self._write_indent()
        self._write_indicator("-", True, False, True)
        if after_dash:
            self._put(" ")
            self._write_comment(self.head)
            self.head = ""
        self.states.append(_SEQ_ITEM)
        self._node(event)
        self._comments_after_value(event)

    def _after_dash(self, event: Event) -> bool:
        """Whether a pending head comment would follow an enclosing item's `- ` (`- - x`).

        Read back, a comment after a dash belongs to the collection that dash opens, one level
        out from this item: so it goes after this item's own dash, which opens it. Only for a
        block collection, whose entries start on a new line; tails never reach an item.
        """
        return (bool(self.head) and not self.tail and self._mid_line()
                and self.states[-1] == _SEQ_ITEM
                and event.kind in (MAP_START, SEQ_START) and not self._empty(event))

    def _mid_line(self) -> bool:
        """Right after an indicator that starts a line's content."""
        return self.indention and self.column > 0

    def _mapping_key(self, event: Event, *, first: bool) -> None:
        if first:
            self._increase_indent(flow=False)
        self._head_comment()
        if event.kind == MAP_END:
            self._pop_indent()
            self._pop_state()
            return
        self._write_indent()
        if self.line:
            self.key_line, self.line = self.line, ""
        if self._simple_key(event):
            self.states.append(_MAP_SIMPLE_VALUE)
            self._node(event, simple_key=True)
        else:
            self._write_indicator("?", True, False, True)
            self.states.append(_MAP_VALUE)
            self._node(event)

    def _mapping_value(self, event: Event, *, simple: bool) -> None:
        if simple:
            self._write_indicator(":", False, False, False)
        else:
            self._write_indent()
            self._write_indicator(":", True, False, True)
        if self.key_line and not self._empty(event):
            if event.kind == SCALAR:
                if not self.line:
                    self.line, self.key_line = self.key_line, ""
            else:  # a block follows: write it now
                self.line, self.key_line = self.key_line, self.line
                self._line_comment()
                self.line, self.key_line = self.key_line, ""
        self.states.append(_MAP_KEY)
        self._node(event)
        self._comments_after_value(event)

    def _comments_after_value(self, event: Event) -> None:
        """After a value's first event: pending line and foot comments (and, for a mapping
        value, the key's line comment), here, or after the `[]`/`{}` an empty value is."""
        if not self._empty(event):
            self._line_comment()
            self._foot_comment()
            return
        # yaml.v3 writes them now, leaving the `[]` alone on the next line: move them onto the
        # end event, whose handler writes them after the closing bracket.
        end = self.events[self.pos + 1]
        line = _joined(self.key_line, self.line, end.line)
        self.events[self.pos + 1] = end._replace(line=line, foot=_joined(self.foot, end.foot))
        self.key_line = self.line = self.foot = ""

    def _empty(self, event: Event) -> bool:
        """A collection with no entries, which is written in flow style."""
        return (event.kind in (MAP_START, SEQ_START)
                and self.events[self.pos + 1].kind in (MAP_END, SEQ_END))

    def _simple_key(self, event: Event) -> bool:
        if event.kind != SCALAR or self.facts.multiline:
            return False
        return len(event.tag) + len(event.value.encode("utf-8", "surrogatepass")) <= 128

    def _node(self, event: Event, *, simple_key: bool = False) -> None:
        self.simple_key = simple_key
        if event.kind == SCALAR:
            self._scalar(event)
            return
        empty = self._empty(event)
        if event.kind == SEQ_START:
            self.state = _FLOW_SEQ if empty else _SEQ_FIRST
        else:
            self.state = _FLOW_MAP if empty else _MAP_FIRST

    def _scalar(self, event: Event) -> None:
        style = select_style(self.facts, event.value, event.style, simple_key=self.simple_key)
        if self.tag:
            if not self.whitespace:
                self._put(" ")
            self._put(self.tag)
            self.whitespace = self.indention = False
        self._increase_indent(flow=True)
        {PLAIN: self._plain, SINGLE: self._single, DOUBLE: self._double,
         LITERAL: self._literal}[style](event.value)
        self._pop_indent()
        self._pop_state()

    # -- scalars -------------------------------------------------------------------------

    def _plain(self, value: str) -> None:
        if value and not self.whitespace:
            self._put(" ")
        self._put(value)  # a plain scalar never holds a line break
        if value:
            self.whitespace = False
        self.indention = False

    def _single(self, value: str) -> None:
        # Never a "\n" here (such strings ask for a literal block); U+2028/9 can occur.
        self._write_indicator("'", True, False, False)
        breaks = False
        for char in value:
            if char in _BREAKS:
                self._write_break(char)
                breaks = True
                continue
            if breaks:
                self._write_indent()
            self._put("''" if char == "'" else char)
            self.indention = breaks = False
        self._write_indicator("'", False, False, False)
        self.whitespace = self.indention = False

    def _double(self, value: str) -> None:
        self._write_indicator('"', True, False, False)
        for char in value:
            if is_printable(char) and char not in _BREAKS and char not in '"\\\ufeff':
                self._put(char)
                continue
            short = _ESCAPES.get(char)
            code = ord(char)
            if short is not None:
                self._put("\\" + short)
            elif code <= 0xFF:
                self._put(f"\\x{code:02X}")
            elif code <= 0xFFFF:
                self._put(f"\\u{code:04X}")
            else:
                self._put(f"\\U{code:08X}")
        self._write_indicator('"', False, False, False)
        self.whitespace = self.indention = False

    def _literal(self, value: str) -> None:
        self._write_indicator("|", True, False, False)
        self._block_hints(value)
        if self.line:
            self._line_comment()
        else:  # v3.0.1 leaves this to the value's first break, and loses a leading one
            self._put_break()
        self.whitespace = True
        breaks = True
        for char in value:
            if char in _BREAKS:
                self._write_break(char)
                breaks = True
                continue
            if breaks:
                self._write_indent()
            self._put(char)
            self.indention = breaks = False

    def _block_hints(self, value: str) -> None:
        # v3.0.1 omits the indicator before a tab, and parsers then refuse the first line.
        if value[:1] in (" ", "\t") or value[:1] in _BREAKS:
            # A parser counts the indicator from the enclosing collection's indentation.
            offset = self.indent - max(self.indents[-1], 0)
            self._write_indicator(str(offset), False, False, False)
        if value[-1:] not in _BREAKS:
            chomp = "-"
        elif len(value) == 1 or value[-2] in _BREAKS:
            chomp = "+"
        else:
            chomp = ""
        if chomp:
            self._write_indicator(chomp, False, False, False)


def _joined(*comments: str) -> str:
    return "\n".join(comment for comment in comments if comment)
