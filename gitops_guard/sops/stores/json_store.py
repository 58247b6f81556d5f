"""The JSON store: one top-level object, written as Go's json.Marshal plus json.Indent write it.

Reading keeps key order and repeated keys (sops decodes token by token). Numbers follow sops
3.13.2 (UseNumber): an integer literal in int64 range is an int, any other number a float.
Writing escapes strings as Go does (`<`, `>`, `&`, U+2028/U+2029 and control characters as
`\\u00XX`, with `\\b \\f \\n \\r \\t` short forms) and indents with one TAB per level unless
`indent` asks for N spaces. JSON has no comments: Comment items are left out, as sops does.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import EmitOptions
from gitops_guard.sops.values import (
    Comment,
    Mapping,
    NilList,
    Pair,
    Sequence,
    Value,
    format_float,
)

METADATA_KEY = "sops"
_INT64 = range(-(2**63), 2**63)
_SURROGATE = re.compile("[\ud800-\udfff]")
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                  "\t": "\\t"}


class _BadLiteral(ValueError):
    """A number or constant the JSON module read but Go's decoder rejects."""

    def __init__(self, literal: str, message: str) -> None:
        super().__init__(message)
        self.literal = literal
        self.message = message


# -- reading ---------------------------------------------------------------------------------


def load_plain(data: bytes) -> list[Mapping]:
    return [_load(data)]


def load_encrypted(data: bytes) -> tuple[list[Mapping], Mapping | None]:
    document = _load(data)
    content = Mapping()
    metadata: Mapping | None = None
    seen = False
    for item in document:
        if not (isinstance(item, Pair) and item.key == METADATA_KEY):
            content.append(item)
            continue
        if seen:
            raise GuardError("the file has more than one top-level 'sops' key")
        seen = True
        if isinstance(item.value, Mapping):
            metadata = item.value
        elif item.value is not None:  # `"sops": null` is no metadata, as in Go
            raise GuardError("the 'sops' metadata is not a JSON object")
    return [content], metadata


def _load(data: bytes) -> Mapping:
    # Bytes that are not UTF-8 become surrogate escapes; inside strings they turn into U+FFFD
    # (one per byte, as Go's decoder does), elsewhere the JSON module rejects them.
    text = data.decode("utf-8", "surrogateescape")
    try:
        value = json.loads(text, object_pairs_hook=_mapping, parse_int=_integer,
                           parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise GuardError(f"invalid JSON: {error.msg}", line=error.lineno,
                         column=error.colno) from None
    except _BadLiteral as error:
        line, column = _position(text, _literal_offset(text, error.literal))
        raise GuardError(f"invalid JSON: {error.message}", line=line, column=column) from None
    except RecursionError:
        raise GuardError("invalid JSON: nested too deeply") from None
    if not isinstance(value, Mapping):
        offset = len(text) - len(text.lstrip(" \t\r\n"))
        line, column = _position(text, offset)
        raise GuardError("sops only supports JSON files whose top level is an object",
                         line=line, column=column)
    return value


def _mapping(pairs: list[tuple[str, Any]]) -> Mapping:
    return Mapping(Pair(_text(key), _value(value)) for key, value in pairs)


def _value(value: Any) -> Value:
    """Lists and strings as the model holds them (objects arrive already converted)."""
    if isinstance(value, Mapping):  # a list subclass, already converted
        return value
    if isinstance(value, list):
        return Sequence(_value(item) for item in value)
    if isinstance(value, str):
        return _text(value)
    return value  # type: ignore[no-any-return]


def _text(text: str) -> str:
    """Lone surrogates (undecodable bytes, unpaired `\\ud800` escapes) are U+FFFD in Go."""
    return _SURROGATE.sub("\ufffd", text)


def _integer(literal: str) -> int | float:
    # More than 19 digits cannot be an int64; it also keeps int() away from huge literals.
    if len(literal) <= 20 and int(literal) in _INT64:
        return int(literal)
    return _float(literal)


def _float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        raise _BadLiteral(literal, "number out of range")
    return number


def _constant(name: str) -> NoReturn:
    raise _BadLiteral(name, f"{name} is not a JSON value")


def _literal_offset(text: str, literal: str) -> int:
    """Where a rejected literal stands outside the strings of `text` (0 if not found)."""
    pattern = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\w.+-])(' + re.escape(literal) + r")(?![\w.])")
    for match in pattern.finditer(text):
        if match.group(1) is not None:
            return match.start(1)
    return 0  # pragma: no cover - the literal came from this text


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# -- writing ---------------------------------------------------------------------------------


def emit_plain(documents: list[Mapping], options: EmitOptions) -> bytes:
    return _emit(_document(documents), options)


def emit_encrypted(documents: list[Mapping], metadata: Mapping, options: EmitOptions) -> bytes:
    document = Mapping([*_document(documents), Pair(METADATA_KEY, metadata)])
    return _emit(document, options)


def _document(documents: list[Mapping]) -> Mapping:
    if not documents:
        raise GuardError("there is no document to write")
    return documents[0]  # sops writes the first document; JSON holds only one


def _emit(document: Mapping, options: EmitOptions) -> bytes:
    text = encode_value(document, _indent_unit(options.indent))
    if options.final_newline:
        text += "\n"
    return text.encode("utf-8")  # every character that could not be encoded is escaped


def _indent_unit(indent: int | None) -> str:
    if indent is None or indent == -1:
        return "\t"
    if indent < -1:
        raise GuardError("JSON indentation must be -1 (a TAB) or a number of spaces")
    return " " * indent


def encode_value(value: Value, indent: str, depth: int = 0) -> str:
    """`value` as json.Indent lays out what json.Marshal wrote."""
    if isinstance(value, Mapping):
        members = [f"{quote(item.key)}: {encode_value(item.value, indent, depth + 1)}"
                   for item in value if isinstance(item, Pair)]
        return _container("{", members, "}", indent, depth)
    if isinstance(value, NilList):
        return "null"  # a Go nil slice in the metadata
    if isinstance(value, Sequence):
        members = [encode_value(item, indent, depth + 1) for item in value
                   if not isinstance(item, Comment)]
        return _container("[", members, "]", indent, depth)
    return _scalar(value)


def _container(opening: str, members: list[str], closing: str, indent: str, depth: int) -> str:
    if not members:
        return opening + closing
    inner = "\n" + indent * (depth + 1)
    return f"{opening}{inner}{(',' + inner).join(members)}\n{indent * depth}{closing}"


def _scalar(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_json_float(value)
    if isinstance(value, bytes):
        return quote(value.decode("utf-8", "surrogateescape"))
    if isinstance(value, str):  # a Timestamp too: Go marshals a time as its RFC 3339 text
        return quote(value)
    raise GuardError(f"cannot write a value of type {type(value).__name__} as JSON")


def quote(text: str) -> str:
    """A JSON string as Go's json.Marshal writes it (HTML-safe)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if "\ud800" <= char <= "\udfff":
        return "\\ufffd"  # an invalid byte (or lone surrogate) in a Go string
    return f"\\u{ord(char):04x}"


def format_json_float(value: float) -> str:
    """A float64 as encoding/json writes it: like ES6, `e` form below 1e-6 or from 1e21."""
    if math.isnan(value) or math.isinf(value):
        raise GuardError("NaN and infinity cannot be written as JSON")
    magnitude = abs(value)
    if magnitude == 0 or 1e-6 <= magnitude < 1e21:
        return format_float(value)
    # Python's repr has Go's shortest digits and uses the e form in this whole range;
    # Go then shortens a two-digit negative exponent: 1e-07 -> 1e-7.
    text = repr(value)
    if text[-4:-1] == "e-0":
        text = text[:-2] + text[-1]
    return text
