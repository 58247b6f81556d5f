"""What the dotenv and INI stores share: flattened metadata and Go's text form of a value.

Neither format nests, so sops flattens its metadata tree into single keys: mapping keys are
joined with `__map_`, list positions with `__list_<i>` (`age__list_0__map_enc`). Newlines in
values are written as a literal `\\n`, `mac_only_encrypted` and `shamir_threshold` as text, and
the keys are sorted (sops' stores/flatten.go; sorted in dotenv since 3.8, in INI since 3.13).
On reading, `mac_only_encrypted` is a bool (true only for `true`) and `shamir_threshold` an int;
every other metadata value stays a string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from gitops_guard.errors import GuardError
from gitops_guard.sops.values import Comment, Mapping, Pair, Scalar, Sequence, Timestamp, Value

MAP_SEPARATOR = "__map_"
LIST_SEPARATOR = "__list_"
# sops metadata lists (key groups, recipients) are short; a larger index is a corrupt file,
# refused before it allocates a list that long.
MAX_LIST_INDEX = 10_000
_SEPARATORS = re.compile(f"({MAP_SEPARATOR}|{LIST_SEPARATOR})")
_INDEX = re.compile(r"[0-9]+")
_GO_INT = re.compile(r"[+-]?[0-9]+")  # what strconv.Atoi accepts
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[-+]\d\d:\d\d)")

# -- flattening ------------------------------------------------------------------------------


def flatten(tree: Mapping) -> list[tuple[str, Scalar]]:
    """The leaves of `tree` under flattened keys, in tree order.

    Empty mappings and lists vanish and a None leaf stays None, as in Go; comments are dropped.
    """
    leaves: list[tuple[str, Scalar]] = []
    for item in tree:
        if isinstance(item, Pair):
            _flatten_into(leaves, item.key, item.value)
    return leaves


def _flatten_into(leaves: list[tuple[str, Scalar]], prefix: str, value: Value) -> None:
    if isinstance(value, Mapping):
        for item in value:
            if isinstance(item, Pair):
                _flatten_into(leaves, prefix + MAP_SEPARATOR + item.key, item.value)
    elif isinstance(value, Sequence):
        entries = [entry for entry in value if not isinstance(entry, Comment)]
        for index, entry in enumerate(entries):
            _flatten_into(leaves, f"{prefix}{LIST_SEPARATOR}{index}", entry)
    else:
        leaves.append((prefix, value))


def unflatten(items: Iterable[tuple[str, Value]]) -> Mapping:
    """The tree `flatten` came from; keys in order of first appearance, gaps in lists None."""
    root = Mapping()
    for key, value in items:
        tokens = _tokens(key)
        node: Mapping | Sequence = root
        for token, following in zip(tokens, [*tokens[1:], None], strict=True):
            if following is None:
                _assign(node, token, value)
            else:
                node = _child(node, token, following, key)
    return root


def _tokens(key: str) -> list[str | int]:
    parts = _SEPARATORS.split(key)
    tokens: list[str | int] = [parts[0]]
    for separator, text in zip(parts[1::2], parts[2::2], strict=True):
        if separator == MAP_SEPARATOR:
            tokens.append(text)
        elif _INDEX.fullmatch(text) and int(text) < MAX_LIST_INDEX:
            tokens.append(int(text))
        else:
            raise GuardError(f"sops metadata key {key!r} has a bad list index")
    return tokens


def _child(node: Mapping | Sequence, token: str | int, following: str | int,
           key: str) -> Mapping | Sequence:
    """The branch under `token`, created as the kind the next token needs."""
    child = _lookup(node, token)
    if child is None:
        child = Mapping() if isinstance(following, str) else Sequence()
        _assign(node, token, child)
    wanted = Mapping if isinstance(following, str) else Sequence
    if not isinstance(child, wanted):
        raise GuardError(f"sops metadata key {key!r} clashes with another key")
    if isinstance(following, int) and isinstance(child, Sequence):
        child.extend([None] * (following + 1 - len(child)))
    return child


def _lookup(node: Mapping | Sequence, token: str | int) -> Value | Comment:
    if isinstance(node, Mapping):
        return node.get(str(token))
    return node[int(token)]


def _assign(node: Mapping | Sequence, token: str | int, value: Value) -> None:
    if isinstance(node, Sequence):
        node[int(token)] = value
        return
    for index, item in enumerate(node):
        if isinstance(item, Pair) and item.key == token:
            node[index] = Pair(item.key, value)  # Go's map: the last value wins
            return
    node.append(Pair(str(token), value))


# -- the metadata block ----------------------------------------------------------------------


def metadata_items(metadata: Mapping) -> list[tuple[str, str]]:
    """The metadata as sorted `(flat key, text)` lines, as sops >= 3.8 writes them."""
    leaves = dict(flatten(metadata))
    return [(key, _leaf_text(key, leaves[key]).replace("\n", "\\n"))
            for key in sorted(leaves) if leaves[key] is not None]


def _leaf_text(key: str, value: Scalar) -> str:
    if key == "shamir_threshold" and isinstance(value, float):
        return f"{value:.0f}"  # EncodeNonStrings: the JSON round trip in Go made it a float
    return go_text(value)


def metadata_tree(items: Iterable[tuple[str, str]]) -> Mapping:
    """The metadata tree from its flat lines (the last of repeated keys wins, as in Go)."""
    flat: dict[str, Value] = {key: text.replace("\\n", "\n") for key, text in items}
    if "mac_only_encrypted" in flat:
        flat["mac_only_encrypted"] = flat["mac_only_encrypted"] == "true"
    threshold = flat.get("shamir_threshold")
    if isinstance(threshold, str):
        if not _GO_INT.fullmatch(threshold):
            raise GuardError("sops metadata: shamir_threshold is not an integer")
        flat["shamir_threshold"] = int(threshold)
    return unflatten(flat.items())


# -- Go's text of a value --------------------------------------------------------------------


def go_text(value: Scalar) -> str:
    """sops' ValueToString: how the dotenv and INI stores write a value that is not a string."""
    if isinstance(value, Timestamp):
        return _go_time_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_fixed6(value)
    return "<nil>"  # fmt's %v of a nil interface


def _go_fixed6(value: float) -> str:
    """strconv.FormatFloat(v, 'f', 6, 64)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6f}"


def _go_time_text(value: Timestamp) -> str:
    """time.Time.String() of the time yaml.v3 parsed: `2024-01-02 10:00:00 +0000 UTC`."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:  # pragma: no cover - Timestamps are built in this form
        return str(value)
    date, clock, zone = match.groups()
    if zone == "Z":
        return f"{date} {clock} +0000 UTC"
    offset = zone.replace(":", "")  # a fixed zone without a name prints its offset twice
    return f"{date} {clock} {offset} {offset}"


def encode_text(text: str) -> bytes:
    """A file's text as bytes; undecodable input bytes (surrogate escapes) go back as they were."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise GuardError("the text to write is not valid Unicode") from None
