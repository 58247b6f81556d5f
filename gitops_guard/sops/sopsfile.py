"""Whole-file operations: load, decrypt (verifying the MAC), encrypt, emit.

Independent of where keys come from (a `Keyring`) and of the command line, so the commands,
the check and the golden tests share one path through the format.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import Protocol

from gitops_guard.errors import GuardError
from gitops_guard.sops import cipher
from gitops_guard.sops import metadata as meta
from gitops_guard.sops.metadata import KeyGroup, Metadata
from gitops_guard.sops.stores import EmitOptions, store_for
from gitops_guard.sops.tree import Stash, decrypt_documents, encrypt_documents
from gitops_guard.sops.values import Mapping


class Keyring(Protocol):
    def unwrap(self, metadata: Metadata) -> bytes:
        """The data key, from whichever master key this machine can open."""

    def wrap(self, data_key: bytes, groups: tuple[KeyGroup, ...],
             threshold: int) -> tuple[KeyGroup, ...]:
        """`groups` with each age and PGP entry's `enc` set to the data key (or its share)."""


@dataclass(frozen=True)
class Encrypted:
    documents: list[Mapping]
    metadata: Metadata


@dataclass(frozen=True)
class Plain:
    documents: list[Mapping]
    data_key: bytes
    metadata: Metadata
    stash: Stash  # IVs of the values as read, so unchanged values re-encrypt identically


def load_plain(data: bytes, fmt: str) -> list[Mapping]:
    return store_for(fmt).load_plain(data)  # type: ignore[no-any-return]


def load_encrypted(data: bytes, fmt: str, display: str) -> Encrypted | None:
    """The file as sops stored it; None when it has no sops metadata (plain text)."""
    try:
        documents, tree = store_for(fmt).load_encrypted(data)
    except GuardError as exc:
        raise GuardError(exc.message, path=display, line=exc.line, column=exc.column) from None
    if tree is None:
        return None
    try:
        return Encrypted(documents, meta.from_tree(tree, "sops metadata"))
    except GuardError as exc:
        raise GuardError(exc.message, path=display) from None


def decrypt(encrypted: Encrypted, keyring: Keyring, display: str, *,
            verify_mac: bool = True) -> Plain:
    metadata = encrypted.metadata
    try:
        data_key = keyring.unwrap(metadata)
    except GuardError as exc:
        exc.path = exc.path or display
        raise
    try:
        documents, mac, stash = decrypt_documents(
            encrypted.documents, data_key, metadata.effective_selector,
            metadata.mac_only_encrypted)
    except GuardError as exc:
        raise GuardError(exc.message, path=display) from None
    aad = meta.mac_additional_data(metadata.lastmodified)
    if not metadata.mac:
        if verify_mac:
            raise GuardError("has no MAC, so its integrity cannot be verified (decrypt with "
                             "--ignore-mac to read it anyway)", path=display)
        return Plain(documents, data_key, metadata, stash)
    try:
        stored, iv = cipher.decrypt(metadata.mac, data_key, aad)
    except GuardError:
        if verify_mac:
            raise GuardError("the MAC does not decrypt: the file or its lastmodified was "
                             "changed outside sops", path=display) from None
        return Plain(documents, data_key, metadata, stash)
    stash[(aad, "str", str(stored).encode())] = iv
    if verify_mac and stored != mac:
        raise GuardError("MAC mismatch: the file was changed outside sops (a value added, "
                         "removed or edited), so it is not trusted", path=display)
    return Plain(documents, data_key, metadata, stash)


def encrypt(documents: list[Mapping], metadata: Metadata, data_key: bytes, *,
            stash: Stash | None = None, now: datetime.datetime | None = None,
            keep_lastmodified: bool = False) -> Encrypted:
    """Encrypt the selected values and seal the MAC; lastmodified becomes now (or is kept)."""
    if not keep_lastmodified:
        metadata = metadata.touched(now)
    encrypted, mac = encrypt_documents(documents, data_key, metadata.effective_selector,
                                       metadata.mac_only_encrypted, stash)
    aad = meta.mac_additional_data(metadata.lastmodified)
    iv = (stash or {}).get((aad, "str", mac.encode()))
    return Encrypted(encrypted, replace(metadata, mac=cipher.encrypt(mac, data_key, aad, iv)))


def emit_encrypted(encrypted: Encrypted, fmt: str, options: EmitOptions,
                   layout: str | None = None) -> bytes:
    tree = meta.to_tree(encrypted.metadata, layout)
    return store_for(fmt).emit_encrypted(encrypted.documents, tree, options)  # type: ignore[no-any-return]


def emit_plain(documents: list[Mapping], fmt: str, options: EmitOptions) -> bytes:
    return store_for(fmt).emit_plain(documents, options)  # type: ignore[no-any-return]
