"""The INI store: sections of string values, read and written as go-ini (gopkg.in/ini.v1) does.

Each section is a top-level key whose value is a mapping; keys before the first section
belong to go-ini's `DEFAULT` section (written back without a header). A comment before a
section becomes the section's first item; a comment before a key, or after its value on the
same line, is stored *after* that key (sops' layout), and both are written back in front as
`; <text>`. go-ini pads keys so `=` lines up within a section and puts a blank line between
sections. Metadata is a last `[sops]` section of flattened, sorted keys with newlines escaped
as `\\n` (sops >= 3.13.2; the `\"\"\"` multi-line values of 3.13.0/3.13.1 are read too).

go-ini's reading rules kept here: `=` or `:` ends a key; a value is trimmed, loses an inline
`#`/`;` comment and one pair of surrounding quotes, may be `\"\"\"`- or backtick-quoted (also over
several lines), and continues on the next line after a trailing backslash. A repeated section
or key merges into the first (the later value wins).

Writing quotes keys and values as go-ini's writer does whenever its reader gives them back
(so files match Go sops byte for byte); where it would not (a value ending in a backslash or
surrounded by one pair of quotes, a key starting with `[`, `#`, `;` or, first in the file, a
byte-order mark), the first other quoting it reads back is used, and a key or value no quoting
can hold is refused with GuardError naming the key (never the value: it may be a secret).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import EmitOptions
from gitops_guard.sops.stores.flat import encode_text, go_text, metadata_items, metadata_tree
from gitops_guard.sops.values import Comment, Mapping, Pair, Sequence

METADATA_SECTION = "sops"
DEFAULT_SECTION = "DEFAULT"
# unicode.IsSpace: Python's own whitespace also has \x1c-\x1f, which Go does not trim.
_GO_SPACE = ("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
             "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_BOMS = (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")  # go-ini drops UTF-16 marks untranslated


@dataclass
class _Key:
    value: str
    comment: str = ""


@dataclass
class _Section:
    comment: str = ""
    keys: dict[str, _Key] = field(default_factory=dict)


# -- reading ---------------------------------------------------------------------------------


def load_plain(data: bytes) -> list[Mapping]:
    return [_tree(_parse(data))]


def load_encrypted(data: bytes) -> tuple[list[Mapping], Mapping | None]:
    sections = _parse(data)
    found = sections.pop(METADATA_SECTION, None)
    if found is None:
        return [_tree(sections)], None
    flat = [(name, key.value) for name, key in found.keys.items()]
    return [_tree(sections)], metadata_tree(flat)


def _tree(sections: dict[str, _Section]) -> Mapping:
    """sops' tree of go-ini's sections: comments stripped of `;`/`#` and leading spaces."""
    tree = Mapping()
    for name, section in sections.items():
        items = Mapping()
        if section.comment:
            items.append(Comment(_strip_comment(section.comment)))
        for key_name, key in section.keys.items():
            items.append(Pair(key_name, key.value))
            if key.comment:
                items.append(Comment(_strip_comment(key.comment)))
        tree.append(Pair(name, items))
    return tree


def _strip_comment(comment: str) -> str:
    if comment.startswith(";"):
        return comment.lstrip("; ")
    if comment.startswith("#"):
        return comment.lstrip("# ")
    return comment  # pragma: no cover - go-ini comments start with one of them


class _Reader:
    """The file's lines, each with its `\\n` (the last has none); "" once past the end."""

    def __init__(self, text: str) -> None:
        self._lines = text.split("\n")
        self.number = 0

    @property
    def at_end(self) -> bool:
        return self.number >= len(self._lines)

    def next_line(self) -> str:
        if self.at_end:
            return ""
        self.number += 1
        line = self._lines[self.number - 1]
        return line if self.at_end else line + "\n"


def _parse(data: bytes) -> dict[str, _Section]:
    for bom in _BOMS:
        if data.startswith(bom):
            data = data[len(bom):]
            break
    reader = _Reader(data.decode("utf-8", "surrogateescape"))
    sections = {DEFAULT_SECTION: _Section()}
    section = sections[DEFAULT_SECTION]
    comments: list[str] = []  # go-ini's comment buffer: lines (with their newlines) pile up
    counter = 1
    while not reader.at_end:
        line = reader.next_line().lstrip(_GO_SPACE)
        number = reader.number
        if not line:
            continue
        if line[0] in "#;":
            comments.append(line)
        elif line[0] == "[":
            section = _section(sections, line, comments, number)
            comments, counter = [], 1
        else:
            name, offset = _key_name(line, number)
            if name == "-":  # go-ini's auto-increment keys
                name, counter = f"#{counter}", counter + 1
            value = _value(line[offset:], reader, comments, number)
            _set_key(section, name, value, number).comment = "".join(comments).strip(_GO_SPACE)
            comments = []
    return sections


def _section(sections: dict[str, _Section], line: str, comments: list[str],
             number: int) -> _Section:
    close = line.rfind("]")
    if close == -1:
        raise GuardError("INI section header has no closing ']'", line=number)
    name = line[1:close]
    if not name:
        raise GuardError("INI section has an empty name", line=number)
    section = sections.setdefault(name, _Section())
    section.comment = "".join([*comments, _comment_part(line[close + 1:])]).strip(_GO_SPACE)
    return section


def _set_key(section: _Section, name: str, value: str, number: int | None) -> _Key:
    """go-ini's NewKey: a repeated key keeps its place and takes the new value."""
    if not name:
        raise GuardError("INI key has an empty name", line=number)
    key = section.keys.get(name)
    if key is None:
        key = section.keys[name] = _Key(value)
    key.value = value
    return key


def _comment_part(text: str) -> str:
    """What follows a `#` or `;` (go-ini's cleanComment)."""
    index = _index_any(text, "#;")
    return "" if index == -1 else text[index:]


def _index_any(text: str, chars: str) -> int:
    return min((index for index in map(text.find, chars) if index != -1), default=-1)


def _key_name(line: str, number: int) -> tuple[str, int]:
    """The key and where its value starts (go-ini's readKeyName)."""
    quote = ""
    if line.startswith('"'):
        quote = '"""' if len(line) > 6 and line.startswith('"""') else '"'
    elif line.startswith("`"):
        quote = "`"
    start = len(quote)
    end = line.find(quote, start) if quote else 0
    if end == -1:
        raise GuardError("INI key has no closing quote", line=number)
    delimiter = _index_any(line[end + start:], "=:")
    if delimiter == -1:
        raise GuardError("INI line is neither a section, a comment nor `key = value`",
                         line=number)
    if not quote:
        return line[:delimiter].strip(_GO_SPACE), delimiter + 1
    return line[start:end].strip(_GO_SPACE), end + start + delimiter + 1


def _value(text: str, reader: _Reader, comments: list[str], number: int) -> str:
    """A key's value (go-ini's readValue with the default options sops uses)."""
    line = text.lstrip(_GO_SPACE)
    if not line:
        return ""
    quote = ""
    if len(line) > 3 and line.startswith('"""'):
        quote = '"""'
    elif line.startswith("`"):
        quote = "`"
    if quote:
        end = line.rfind(quote, len(quote))
        if end == -1:
            return _multiline(line[len(quote):], quote, reader, comments, number)
        return line[len(quote):end]
    line = line.strip(_GO_SPACE)
    if line.endswith("\\"):
        return _continued(line[:-1], reader)
    inline = _index_any(line, "#;")
    if inline != -1:
        comments.append(line[inline:])
        line = line[:inline].strip(_GO_SPACE)
    if _surrounded(line, "'") or _surrounded(line, '"'):
        line = line[1:-1]
    return line


def _multiline(value: str, quote: str, reader: _Reader, comments: list[str],
               number: int) -> str:
    while True:
        line = reader.next_line()
        end = line.rfind(quote)
        if end != -1:
            comment = _comment_part(line[end:])
            if comment:
                comments.append(comment.strip(_GO_SPACE))
            return value + line[:end]
        value += line
        if reader.at_end:
            raise GuardError("INI value has no closing quote", line=number)


def _continued(value: str, reader: _Reader) -> str:
    while True:
        line = reader.next_line().strip(_GO_SPACE)
        if not line:
            return value
        value += line
        if not value.endswith("\\"):
            return value
        value = value[:-1]


def _surrounded(text: str, quote: str) -> bool:
    return len(text) >= 2 and text[0] == quote == text[-1] and text.find(quote, 1) == len(text) - 1


# -- writing ---------------------------------------------------------------------------------


def emit_plain(documents: list[Mapping], options: EmitOptions) -> bytes:
    return encode_text(_render(_sections(_document(documents))))


def emit_encrypted(documents: list[Mapping], metadata: Mapping, options: EmitOptions) -> bytes:
    sections = _sections(_document(documents))
    section = sections.setdefault(METADATA_SECTION, _Section())
    for name, text in metadata_items(metadata):
        _set_key(section, name, text, None)
    return encode_text(_render(sections))


def _document(documents: list[Mapping]) -> Mapping:
    if not documents:
        raise GuardError("there is no document to write")
    return documents[0]  # sops writes the first document; INI holds only one


def _sections(tree: Mapping) -> dict[str, _Section]:
    """go-ini's file as sops fills it: DEFAULT first, repeated names merged."""
    sections = {DEFAULT_SECTION: _Section()}
    for item in tree:
        if isinstance(item, Comment):
            continue  # sops drops comments outside sections
        if not isinstance(item.value, Mapping):
            raise GuardError(f"INI section {item.key!r} must be a mapping of keys")
        if not item.key:
            raise GuardError("INI section has an empty name")
        if "\n" in item.key:  # `[a` and `b]` would be two broken lines
            raise GuardError(f"INI section {item.key!r} cannot be written: go-ini reads a "
                             "section name from one line")
        _fill(sections.setdefault(item.key, _Section()), item.value)
    return sections


def _fill(section: _Section, items: Mapping) -> None:
    entries = list(items)
    first = entries[0] if entries else None
    if isinstance(first, Comment):
        section.comment = first.text
        entries = entries[1:]
    last: _Key | None = None
    for entry in entries:
        if isinstance(entry, Comment):
            if last is not None:  # a comment belongs to the key before it
                last.comment = entry.text
        elif isinstance(entry.value, (Mapping, Sequence)):
            raise GuardError(f"INI cannot hold the nested value of {entry.key!r}")
        else:
            last = _set_key(section, entry.key, go_text(entry.value), None)


def _render(sections: dict[str, _Section]) -> str:
    out: list[str] = []
    names = list(sections)
    for index, name in enumerate(names):
        section = sections[name]
        out += _comment_lines(section.comment, trim=False)
        if index == 0 and not section.keys:
            continue  # the DEFAULT section has no header and vanishes when empty
        if index > 0:
            out.append(f"[{name}]\n")
        out += _key_lines(section, at_start=not out)
        if index < len(names) - 1:
            out.append("\n")
    return "".join(out)


def _key_lines(section: _Section, *, at_start: bool) -> list[str]:
    """The section's keys; `at_start`: its first line is the file's first."""
    first = next(iter(section.keys), None)
    if first is not None and section.keys[first].comment:
        at_start = False  # the comment comes first
    shown = {name: _quote_key(name, file_start=at_start and name == first)
             for name in section.keys}
    width = max((_byte_length(text) for text in shown.values()), default=0)
    lines: list[str] = []
    for name, key in section.keys.items():
        lines += _comment_lines(key.comment, trim=True)
        padding = " " * (width - _byte_length(shown[name]))
        lines.append(f"{shown[name]}{padding} = {_quote_value(name, key.value)}\n")
    return lines


def _comment_lines(comment: str, *, trim: bool) -> list[str]:
    """`; text` lines; go-ini trims key comments, not section comments."""
    if not comment:
        return []
    lines = []
    for line in comment.split("\n"):
        if not line:
            lines.append(";\n")  # go-ini panics on an empty comment line; keep it a comment
        elif line[0] in "#;":
            lines.append(f"{line[0]} {line[1:].strip(_GO_SPACE)}\n")
        else:
            lines.append(f"; {line.strip(_GO_SPACE) if trim else line}\n")
    return lines


def _quote_key(name: str, *, file_start: bool = False) -> str:
    """go-ini's quoting of a key if its reader gives the key back, else the first that does.

    `file_start`: the key is the file's first line, where go-ini drops a byte-order mark.
    """
    _check_key(name)
    for shown in (_go_ini_key(name), f"`{name}`", f'"{name}"', f'"""{name}"""'):
        if _reads_back_as_key(shown, name) and not (file_start and _has_bom(shown)):
            return shown
    # Each quote ends at the first of its kind: a backtick ends `...`, a `"` ends "...", and
    # a key ending in `"` or holding `"""` ends """...""" early.
    raise GuardError(f"INI key {name!r} cannot be written: it holds a backtick and a double "
                     "quote that would end any go-ini quote early")


def _check_key(name: str) -> None:
    """Keys that go-ini reads back changed however they are quoted."""
    why = ""
    if "\n" in name:
        why = "go-ini reads a key from one line"
    elif name.strip(_GO_SPACE) != name:
        why = "go-ini trims the spaces at the ends of a key"
    elif name == "-":
        why = "go-ini reads it as an auto-increment key (#1, #2, ...)"
    if why:
        raise GuardError(f"INI key {name!r} cannot be written: {why}")


def _go_ini_key(name: str) -> str:
    """How go-ini's writer (File.writeToBuffer) quotes a key."""
    if '"' in name or _index_any(name, "=:") != -1:
        return f"`{name}`"
    return f'"""{name}"""' if "`" in name else name


def _reads_back_as_key(shown: str, name: str) -> bool:
    """Whether go-ini's reader gets `name` from the line `<shown> = ...` (readKeyName)."""
    if shown[0] in "#;[":
        return False  # a comment or a section header, not a key
    try:
        found, _ = _key_name(f"{shown} = ", 0)
    except GuardError:
        return False
    return found == name


def _has_bom(text: str) -> bool:
    return encode_text(text).startswith(_BOMS)


def _quote_value(name: str, value: str) -> str:
    """go-ini's quoting of a value if its reader gives the value back, else the first that does.

    Go sops writes what go-ini writes, so that form comes first: files stay byte-identical
    to Go's wherever Go's output can be read back at all.
    """
    for shown in (_go_ini_value(value), f"`{value}`", f'"""{value}"""'):
        if _reads_back_as_value(shown, value):
            return shown
    # Only a multi-line value fails both: its quote would close on an earlier line. The
    # message names the key, never the value (it may be a secret).
    raise GuardError(f"INI value of key {name!r} cannot be written: a line before its last "
                     "holds a backtick and one holds '\"\"\"', which would end any go-ini "
                     "quote early")


def _go_ini_value(value: str) -> str:
    """How go-ini's writer (File.writeToBuffer) quotes a value."""
    if "\n" in value or "`" in value:
        return f'"""{value}"""'
    if "#" in value or ";" in value:
        return f"`{value}`"
    return f'"{value}"' if value.strip(_GO_SPACE) != value else value


def _reads_back_as_value(shown: str, value: str) -> bool:
    """Whether go-ini's reader (readValue) gets `value` from `key = <shown>`, from exactly the
    lines it is written on: a continuation or an unclosed quote would take the next key's."""
    reader = _Reader(shown + "\n")
    comments: list[str] = []
    try:
        found = _value(reader.next_line(), reader, comments, 1)
    except GuardError:
        return False
    return found == value and not comments and reader.number == shown.count("\n") + 1


def _byte_length(text: str) -> int:
    return len(encode_text(text))  # a lone surrogate is a GuardError, as for the whole file
