"""The file formats sops reads and writes: YAML, JSON, dotenv, INI, binary.

Each store module offers the same four functions; `STORES` names them in one place.

- `load_plain(data: bytes) -> list[Mapping]`: the documents of a plaintext file.
- `load_encrypted(data: bytes) -> tuple[list[Mapping], Mapping | None]`: the documents without
  the `sops` metadata, and the metadata as the generic tree it was written as (None: none).
- `emit_plain(documents: list[Mapping], options: EmitOptions) -> bytes`
- `emit_encrypted(documents: list[Mapping], metadata: Mapping, options: EmitOptions) -> bytes`:
  `metadata` is already laid out (key order, NilList for Go's nil lists) as the target sops
  version writes it; the store only places it (`sops:` last key of each YAML document, ...).

A store raises `GuardError` (with the line where it knows it) for input it cannot read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from types import ModuleType
from typing import Protocol

from gitops_guard.sops.values import Mapping

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
_MODULES = {"yaml": "yaml_store", "json": "json_store", "dotenv": "dotenv_store",
            "ini": "ini_store", "binary": "binary_store"}


@dataclass(frozen=True)
class EmitOptions:
    # YAML: spaces per level (sops default 4). JSON: spaces, or -1 for one TAB (sops default).
    indent: int | None = None
    # JSON and binary: a final newline (sops >= 3.10 writes one; 3.9 and older do not).
    final_newline: bool = True


class Store(Protocol):
    load_plain: Callable[[bytes], list[Mapping]]
    load_encrypted: Callable[[bytes], tuple[list[Mapping], Mapping | None]]
    emit_plain: Callable[[list[Mapping], EmitOptions], bytes]
    emit_encrypted: Callable[[list[Mapping], Mapping, EmitOptions], bytes]


def store_for(name: str) -> ModuleType:
    """The store module for a format name (imported when first used)."""
    return importlib.import_module(f"gitops_guard.sops.stores.{_MODULES[name]}")


def format_for_path(path: PurePath) -> str:
    """sops' choice by the end of the name (case-sensitive, so `.env` itself is dotenv):
    .yaml/.yml, .json, .env, .ini; anything else is binary."""
    name = path.name
    for ending, fmt in ((".yaml", "yaml"), (".yml", "yaml"), (".json", "json"),
                        (".env", "dotenv"), (".ini", "ini")):
        if name.endswith(ending):
            return fmt
    return "binary"
