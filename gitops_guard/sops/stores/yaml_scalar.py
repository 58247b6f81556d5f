"""Plain-scalar typing as go-yaml v3 resolves it (resolve.go), and Go's float text.

Both directions need it: the reader types unquoted scalars with it, and the writer quotes any
string whose plain form would read back as something else.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from types import MappingProxyType

from gitops_guard.sops.values import Scalar, parse_timestamp

NULL, BOOL, STR, INT, FLOAT = "!!null", "!!bool", "!!str", "!!int", "!!float"
TIMESTAMP, BINARY, MERGE = "!!timestamp", "!!binary", "!!merge"
LONG_PREFIX = "tag:yaml.org,2002:"

_RESOLVABLE = frozenset(("", STR, BOOL, INT, FLOAT, NULL, TIMESTAMP))

# resolve.go's exact-text table; only consulted when the first character hints at it.
_SPECIAL: MappingProxyType[str, tuple[str, Scalar]] = MappingProxyType({
    **dict.fromkeys(("true", "True", "TRUE"), (BOOL, True)),
    **dict.fromkeys(("false", "False", "FALSE"), (BOOL, False)),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), (NULL, None)),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), (FLOAT, math.nan)),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), (FLOAT, math.inf)),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), (FLOAT, -math.inf)),
})
_MAP_HINTS = frozenset("yYnNtTfFoO~")
_NUMBER_HINTS = frozenset("+-0123456789")

# strconv.ParseInt(s, 0, 64) syntax; ASCII only (Python's int() also takes other digits).
_GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)\Z")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT = re.compile(r"\.[0-9](_?[0-9])*([eE][-+]?[0-9](_?[0-9])*)?\Z")
_SIGNED_DIGITS = MappingProxyType({2: re.compile(r"[+-]?[01]+\Z"), 8: re.compile(r"[+-]?[0-7]+\Z")})
_BASES = MappingProxyType({"x": 16, "o": 8, "b": 2})
_INT64 = range(-(2**63), 2**63)
_UINT64 = range(2**64)

# A YAML 1.1 sexagesimal float: still quoted on output for other parsers' sake (encode.go).
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_OLD_BOOLS = frozenset(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
                        "n", "N", "no", "No", "NO", "off", "Off", "OFF"))


class TagMismatch(ValueError):
    """The text cannot be read as the type its explicit tag asks for."""


def short_tag(tag: str) -> str:
    return "!!" + tag[len(LONG_PREFIX):] if tag.startswith(LONG_PREFIX) else tag


def resolve(text: str, tag: str = "") -> tuple[str, Scalar]:
    """yaml.v3's resolve(): the tag and value of a scalar; `tag` is the explicit short tag."""
    if tag not in _RESOLVABLE:
        return tag, text
    rtag, value = _implicit(text, tag) if tag != STR else (STR, text)
    if tag in ("", rtag, STR):
        return rtag, value
    if tag == FLOAT and rtag == INT and isinstance(value, int):
        return FLOAT, float(value)
    raise TagMismatch(f"cannot decode {rtag} as {tag}")


def is_plain_safe(text: str) -> bool:
    """Whether yaml.v3 may write this string unquoted: it reads back as the same string."""
    if resolve(text)[0] != STR or text in _OLD_BOOLS:
        return False
    return not (text[:1] in _NUMBER_HINTS and ":" in text and _BASE60.match(text))


def _implicit(text: str, tag: str) -> tuple[str, Scalar]:
    first = text[:1]
    if first and first not in _MAP_HINTS and first not in _NUMBER_HINTS and first != ".":
        return STR, text
    special = _SPECIAL.get(text)
    if special is not None:
        return special
    if first == "." and _DOT_FLOAT.match(text) and not math.isinf(float(text)):
        return FLOAT, float(text)
    if first in _NUMBER_HINTS:
        return _number(text, tag)
    return STR, text


def _number(text: str, tag: str) -> tuple[str, Scalar]:
    if tag in ("", TIMESTAMP):
        stamp = parse_timestamp(text)
        if stamp is not None:
            return TIMESTAMP, stamp
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return INT, number
    if _YAML_FLOAT.match(plain):
        value = float(plain)
        if not math.isinf(value):  # strconv.ParseFloat reports overflow as an error
            return FLOAT, value
    for prefix, base in (("0b", 2), ("-0b", 2), ("0o", 8), ("-0o", 8)):
        if plain.startswith(prefix):
            digits = plain[len(prefix):]
            number = _signed(("-" if prefix[0] == "-" else "") + digits, base)
            if number is not None:
                return INT, number
    return STR, text


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint(text, 0, 64) for what overflows."""
    match = _GO_INT.match(text)
    if match is None:
        return None
    sign, body = match.groups()
    base = _BASES.get(body[1:2].lower(), 8 if body.startswith("0") and len(body) > 1 else 10)
    digits = body[2:] if base != 10 and body[1:2].isalpha() else body
    value = int(digits, base) * (-1 if sign == "-" else 1)
    if value in _INT64 or (not sign and value in _UINT64):
        return value
    return None


def _signed(text: str, base: int) -> int | None:
    """strconv.ParseInt(text, base, 64) for an explicit base (a sign is allowed)."""
    if not _SIGNED_DIGITS[base].match(text):
        return None
    value = int(text, base)
    return value if value in _INT64 else None


def format_float(value: float) -> str:
    """yaml.v3's float text: strconv.FormatFloat(v, 'g', -1, 64) with YAML's inf/nan."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + int(exponent)  # where the decimal point falls in `digits`
    prefix = "-" if sign else ""
    if not -4 <= point - 1 < 6:  # Go uses %e outside this range in shortest mode
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if point <= 0 else '+'}{abs(point - 1):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"
