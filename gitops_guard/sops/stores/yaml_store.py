"""The YAML store: files as the Go `sops` reads and writes them with go-yaml v3.

Reading types scalars as yaml.v3 does (YAML 1.2-ish: `yes` is a string, `0x1F` an int,
unquoted timestamps are times) and keeps comments where sops keeps them. Writing reproduces
yaml.v3's Encoder byte for byte, including its indentation rules and where it puts comments.
See `yaml_load` and `yaml_emit`.
"""

from __future__ import annotations

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import EmitOptions
from gitops_guard.sops.stores.yaml_emit import emit_documents
from gitops_guard.sops.stores.yaml_load import load_documents
from gitops_guard.sops.values import Mapping, Pair, Value

DEFAULT_INDENT = 4
METADATA_KEY = "sops"


def load_plain(data: bytes) -> list[Mapping]:
    return load_documents(data)


def load_encrypted(data: bytes) -> tuple[list[Mapping], Mapping | None]:
    """The documents without their `sops` key, and the first document's `sops` value."""
    documents = load_documents(data)
    metadata: Mapping | None = None
    for document in documents:
        for index, item in enumerate(document):
            if isinstance(item, Pair) and item.key == METADATA_KEY:
                del document[index]
                if metadata is None:
                    metadata = _metadata(item.value)
                break
    return documents, metadata


def _metadata(value: Value) -> Mapping:
    if not isinstance(value, Mapping):
        raise GuardError("the `sops` metadata must be a mapping")
    return value


def emit_plain(documents: list[Mapping], options: EmitOptions) -> bytes:
    return emit_documents(documents, _indent(options))


def emit_encrypted(documents: list[Mapping], metadata: Mapping, options: EmitOptions) -> bytes:
    """Each document with `sops: <metadata>` as its last key, as sops writes every document."""
    signed = [Mapping([*document, Pair(METADATA_KEY, metadata)]) for document in documents]
    return emit_documents(signed, _indent(options))


def _indent(options: EmitOptions) -> int:
    """yaml.v3's rules: 0 means 4; outside 2..9 it falls back to 2; sops rejects negatives."""
    indent = options.indent or DEFAULT_INDENT
    if indent < 0:
        raise GuardError("YAML indentation cannot be negative")
    return indent if 2 <= indent <= 9 else 2
