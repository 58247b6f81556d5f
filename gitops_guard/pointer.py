"""JSON pointers (RFC 6901): the one way findings say where in a document they are."""

from __future__ import annotations

import re
from collections.abc import Iterable

_SIMPLE_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def join(*tokens: str | int) -> str:
    return "".join("/" + escape(str(token)) for token in tokens)


def extend(pointer: str, *tokens: str | int) -> str:
    return pointer + join(*tokens)


def split(pointer: str) -> list[str]:
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def dotted(tokens: Iterable[str | int]) -> str:
    """A human path: `spec.containers[0].image`, `metadata.labels["app.kubernetes.io/name"]`."""
    out = ""
    for token in tokens:
        if isinstance(token, int) or (isinstance(token, str) and token.isdigit()):
            out += f"[{token}]"
        elif _SIMPLE_KEY.match(token):
            out += f".{token}" if out else token
        else:
            quoted = token.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{quoted}"]'
    return out


def dotted_pointer(pointer: str) -> str:
    return dotted(split(pointer))
