"""The document model shared by every store: ordered mappings, sequences, comments, scalars.

A sops tree keeps what the Go implementation keeps: key order, comments as items of the
mapping or sequence they stand in, and Go-typed scalars (str, int, float, bool, time, bytes).
Values are formatted as Go formats them, because those bytes are what the MAC hashes.
"""

from __future__ import annotations

import datetime
import math
import re
from decimal import Decimal
from typing import NamedTuple, TypeAlias


class Comment(NamedTuple):
    """A comment line (text after `#`); `inline` when it followed a value on its line."""

    text: str
    inline: bool = False


class Timestamp(str):
    """A YAML timestamp, held as Go's RFC 3339 (nano) text, the form sops hashes and writes."""

    __slots__ = ()


Scalar: TypeAlias = str | bytes | int | float | bool | Timestamp | None
Value: TypeAlias = "Mapping | Sequence | Scalar"


class Pair(NamedTuple):
    key: str
    value: Value


class Mapping(list[Pair | Comment]):
    """An ordered mapping: pairs and comments in document order."""

    __slots__ = ()

    def get(self, key: str) -> Value:
        for item in self:
            if isinstance(item, Pair) and item.key == key:
                return item.value
        return None

    def keys(self) -> list[str]:
        return [item.key for item in self if isinstance(item, Pair)]


class Sequence(list["Value | Comment"]):
    """A sequence: values and comments in document order."""

    __slots__ = ()


class NilList(Sequence):
    """Go's nil slice in sops metadata (`kms: []` in YAML, `"kms": null` in JSON; sops <= 3.9)."""

    __slots__ = ()


def format_float(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)).normalize(), "f")
    return text


def format_bool(value: bool) -> str:
    return "True" if value else "False"  # sops' Python heritage: not Go's "true"


def parse_go_bool(text: str) -> bool:
    """strconv.ParseBool."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


# yaml.v3's timestamp forms: a date; date `T` time with a zone (Z or +hh:mm); date, one
# space, time without a zone. Anything else (`2024-01-02T10:00:00`) stays a string.
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:"
    r"[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?(Z|[-+]\d{2}:\d{2})"
    r"| (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?)?$")


def parse_timestamp(text: str) -> Timestamp | None:
    """A YAML timestamp as yaml.v3 reads it, as Go's RFC 3339 nano text; None if it is not."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.group(1, 2, 3))
    if match[4] is not None:
        hour, minute, second, fraction, zone = match.group(4, 5, 6, 7, 8)
    elif match[9] is not None:
        (hour, minute, second, fraction), zone = match.group(9, 10, 11, 12), "Z"
    else:
        hour = minute = second = "0"
        fraction, zone = None, "Z"
    try:
        datetime.datetime(year, month, day, int(hour), int(minute), int(second))
    except ValueError:
        return None
    if zone != "Z" and (int(zone[1:3]) > 23 or int(zone[4:]) > 59):
        return None
    nanos = (fraction or "")[:9].rstrip("0")
    offset = "Z" if zone in ("Z", "+00:00", "-00:00") else zone
    return Timestamp(f"{year:04d}-{month:02d}-{day:02d}T{int(hour):02d}:{int(minute):02d}:"
                     f"{int(second):02d}{'.' + nanos if nanos else ''}{offset}")


def to_bytes(value: Scalar) -> bytes:
    """sops' ToBytes: what the MAC hashes and what a value encrypts to."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        return format_bool(value).encode()
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return format_float(value).encode()
    if isinstance(value, str):  # Timestamp included: it is already Go's text
        return value.encode("utf-8", "surrogateescape")
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def type_name(value: Scalar | Comment) -> str:
    """The `type:` of an ENC value."""
    if isinstance(value, Comment):
        return "comment"
    if isinstance(value, Timestamp):
        return "time"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, (str, bytes)):
        return "str"
    raise TypeError(f"cannot encrypt a value of type {type(value).__name__}")
