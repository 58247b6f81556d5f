"""One value in, one `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]` out, and back.

AES-256-GCM with a 32-byte IV (sops' nonce size) and the value's tree path as additional data,
so a ciphertext moved to another key no longer decrypts.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitops_guard.errors import GuardError
from gitops_guard.sops.values import (
    Comment,
    Scalar,
    Timestamp,
    parse_go_bool,
    parse_timestamp,
    to_bytes,
    type_name,
)

IV_SIZE = 32
TAG_SIZE = 16
_ENC = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")


class Encrypted(NamedTuple):
    data: bytes
    iv: bytes
    tag: bytes
    type: str


def is_encrypted(text: object) -> bool:
    return isinstance(text, str) and text.startswith("ENC[AES256_GCM,")


TYPES = frozenset({"str", "bytes", "int", "float", "bool", "comment", "time"})


def parse(text: str) -> Encrypted | None:
    """The parts of an ENC value; None when it is not one sops could have written (a 32-byte
    IV, a 16-byte GCM tag, a known type): such a value cannot be decrypted anywhere."""
    match = _ENC.match(text)
    if match is None:
        return None
    try:
        data, iv, tag = (base64.b64decode(part, validate=True) for part in match.group(1, 2, 3))
    except (binascii.Error, ValueError):
        return None
    if len(iv) != IV_SIZE or len(tag) != TAG_SIZE or match[4] not in TYPES:
        return None
    return Encrypted(data, iv, tag, match[4])


def encrypt(value: Scalar | Comment, key: bytes, aad: str, iv: bytes | None = None) -> str:
    """`value` as an ENC string; "" stays "" (sops never encrypts empty values)."""
    plaintext = to_bytes(value.text if isinstance(value, Comment) else value)
    if not plaintext and isinstance(value, (str, bytes, Comment)):
        return ""
    nonce = iv if iv is not None else os.urandom(IV_SIZE)
    sealed = AESGCM(key).encrypt(nonce, plaintext, aad.encode("utf-8", "surrogateescape"))
    data, tag = sealed[:-TAG_SIZE], sealed[-TAG_SIZE:]
    return (f"ENC[AES256_GCM,data:{_b64(data)},iv:{_b64(nonce)},tag:{_b64(tag)},"
            f"type:{type_name(value)}]")


def decrypt(text: str, key: bytes, aad: str) -> tuple[Scalar | Comment, bytes]:
    """The value of an ENC string and its IV (kept so an unchanged value re-encrypts the same).

    Raises GuardError naming the tree path, never the value."""
    if text == "":
        return "", b""
    parts = parse(text)
    where = aad[:-1] or "(top level)"
    if parts is None:
        raise GuardError(f"value at {where} is not a valid sops ENC[AES256_GCM,...] string")
    try:
        plaintext = AESGCM(key).decrypt(parts.iv, parts.data + parts.tag,
                                        aad.encode("utf-8", "surrogateescape"))
    except (InvalidTag, ValueError):
        raise GuardError(f"value at {where} does not decrypt with the data key (tampered, moved "
                         "to another key, or encrypted under another key)") from None
    return _typed(plaintext, parts.type, where), parts.iv


def _typed(plaintext: bytes, kind: str, where: str) -> Scalar | Comment:
    text = plaintext.decode("utf-8", "surrogateescape")
    try:
        if kind == "str":
            return text if _is_utf8(plaintext) else plaintext
        if kind == "bytes":
            return plaintext
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            return parse_go_bool(text)
        if kind == "comment":
            return Comment(text)
        if kind == "time":
            stamp = parse_timestamp(text)
            if stamp is None:
                raise ValueError("not RFC 3339")
            return Timestamp(stamp)
    except ValueError:
        raise GuardError(f"value at {where} has type {kind} but its plaintext is not "
                         f"a valid {kind}") from None
    raise GuardError(f"value at {where} has an unknown type {kind!r}")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
