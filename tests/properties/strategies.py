"""Shared strategies and helpers for the property-based tests."""

from __future__ import annotations

import math
import re
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from yaml.emitter import Emitter
from yaml.representer import SafeRepresenter
from yaml.serializer import Serializer

from gitops_guard.yamlio import KubeResolver


def budget(divisor: int) -> settings:
    """The current profile's example count divided by `divisor` (for the costlier properties),
    so `GITOPS_GUARD_FUZZ=long` scales them too."""
    return settings(max_examples=max(10, settings().max_examples // divisor))


# -- text ---------------------------------------------------------------------------------------

# Every Unicode character a UTF-8 file can hold (no surrogates), NUL, controls and line
# separators (U+0085, U+2028) included: the loaders must escape or reject them, never crash.
unicode_text = st.text(st.characters(codec="utf-8"), max_size=24)
# Text that reaches the parsers' interesting states more often than random Unicode does.
YAML_ALPHABET = [*"ab01.:-_ \n\t#&*!|>'\"[]{},?%@`~<=\\/", "\r\n", "\ufeff", "é", "\x85"]
yamlish_text = st.lists(st.sampled_from(YAML_ALPHABET), max_size=120).map("".join)

_YAML_PRINTABLE = re.compile("[\t\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def yaml_quoted(text: str) -> str:
    """A double-quoted YAML scalar with every character YAML would fold or refuse escaped."""
    out = []
    for char in text:
        if char in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[char])
        elif _YAML_PRINTABLE.match(char) and char not in "\ufeff\u2028\u2029":
            out.append(char)
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


# -- JSON-like data -----------------------------------------------------------------------------

def scalars(*, infinity: bool) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64),
        st.floats(allow_nan=False, allow_infinity=infinity),
        unicode_text)


def json_like(*, infinity: bool = False, max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Nested dicts (string keys) and lists of scalars, as manifests are."""
    return st.recursive(
        scalars(infinity=infinity),
        lambda children: st.one_of(st.lists(children, max_size=5),
                                   st.dictionaries(unicode_text, children, max_size=5)),
        max_leaves=max_leaves)


def documents(*, infinity: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """A top-level mapping (what a manifest is)."""
    return st.dictionaries(unicode_text, json_like(infinity=infinity), max_size=6)


def same(left: Any, right: Any) -> bool:
    """Equal values of the same types all the way down (`1 == 1.0 == True` does not count)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, float):
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    return bool(left == right)


_LINE_SEPARATORS = frozenset("\x85\u2028\u2029")


class KubeDumper(Emitter, Serializer, SafeRepresenter, KubeResolver):
    """PyYAML's safe dumper, quoting exactly the strings go-yaml v2 would read as another type
    (`y`, `0755`, `1_000`), so a dump is what a careful human writes for Kubernetes."""

    def __init__(self, stream: Any, **kwargs: Any) -> None:
        Emitter.__init__(self, stream, allow_unicode=kwargs.get("allow_unicode"),
                         width=kwargs.get("width"))
        Serializer.__init__(self)
        SafeRepresenter.__init__(self, sort_keys=False)
        KubeResolver.__init__(self)

    def choose_scalar_style(self) -> str:
        # PyYAML writes U+0085/U+2028/U+2029 raw in plain and single-quoted scalars, where YAML
        # folds them into spaces; only its double-quoted style escapes them.
        value = getattr(self.event, "value", None)
        if isinstance(value, str) and not _LINE_SEPARATORS.isdisjoint(value):
            return '"'
        return str(super().choose_scalar_style())
