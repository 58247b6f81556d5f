"""The binary store: the whole file is the one value `data`; encrypted, a JSON envelope.

The envelope is written like the JSON store writes (`stores.json_binary.indent`, TAB by
default; a final newline since sops 3.10). Text that is not UTF-8 is held as bytes, so it is
encrypted and written back byte for byte.
"""

from __future__ import annotations

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import EmitOptions, json_store
from gitops_guard.sops.values import Mapping, Pair

DATA_KEY = "data"


def load_plain(data: bytes) -> list[Mapping]:
    try:
        value: str | bytes = data.decode("utf-8")
    except UnicodeDecodeError:
        value = data
    return [Mapping([Pair(DATA_KEY, value)])]


def load_encrypted(data: bytes) -> tuple[list[Mapping], Mapping | None]:
    return json_store.load_encrypted(data)


def emit_plain(documents: list[Mapping], options: EmitOptions) -> bytes:
    """The `data` value, verbatim (options do not apply to raw bytes)."""
    if len(documents) != 1:
        raise GuardError("a binary file holds exactly one document")
    for item in documents[0]:
        if isinstance(item, Pair) and item.key == DATA_KEY:
            if isinstance(item.value, bytes):
                return item.value
            if isinstance(item.value, str):
                return item.value.encode("utf-8", "surrogateescape")
            raise GuardError("the 'data' value of a binary file must be a string")
    raise GuardError("a binary file needs a 'data' key")


def emit_encrypted(documents: list[Mapping], metadata: Mapping, options: EmitOptions) -> bytes:
    return json_store.emit_encrypted(documents, metadata, options)
