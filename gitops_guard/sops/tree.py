"""Encrypt and decrypt a tree, and compute its MAC, as sops walks it.

The walk is depth first in document order. A value's additional data is its path of mapping
keys joined by ":" plus ":" (sequence indices are not part of it); a comment uses the path of
the collection it stands in. The MAC is SHA-512 over the Go bytes of every non-null value (or,
with `mac_only_encrypted`, of the encrypted ones), in walk order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

from gitops_guard.errors import GuardError
from gitops_guard.sops import cipher, re2
from gitops_guard.sops.values import (
    Comment,
    Mapping,
    Pair,
    Scalar,
    Sequence,
    Value,
    to_bytes,
    type_name,
)

# sops hashes these 32 bytes (SHA-256 of "sops") first when only encrypted values are in the
# MAC, so the two kinds of MAC never collide.
MAC_ONLY_ENCRYPTED_INIT = hashlib.sha256(b"sops").digest()
SELECTOR_FIELDS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex",
                   "encrypted_regex", "unencrypted_comment_regex", "encrypted_comment_regex")
DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"

Leaf: TypeAlias = Scalar | Comment
# (additional data, type, plaintext bytes) -> IV of the ciphertext it was read from.
Stash = dict[tuple[str, str, bytes], bytes]


@dataclass(frozen=True)
class Selector:
    """Which values are encrypted: at most one of sops' six rules (none: everything)."""

    unencrypted_suffix: str = ""
    encrypted_suffix: str = ""
    unencrypted_regex: str = ""
    encrypted_regex: str = ""
    unencrypted_comment_regex: str = ""
    encrypted_comment_regex: str = ""

    def __post_init__(self) -> None:
        set_fields = [name for name in SELECTOR_FIELDS if getattr(self, name)]
        if len(set_fields) > 1:
            raise GuardError(f"only one of {', '.join(SELECTOR_FIELDS)} may be set; got "
                             f"{' and '.join(set_fields)}")
        for name in SELECTOR_FIELDS[2:]:
            pattern = getattr(self, name)
            if pattern:
                try:
                    re2.compile(pattern)
                except ValueError as exc:
                    raise GuardError(f"{name} {pattern!r} is not a regular expression: "
                                     f"{exc}") from None

    @property
    def field(self) -> tuple[str, str] | None:
        """The rule in use as (name, value)."""
        for name in SELECTOR_FIELDS:
            if getattr(self, name):
                return name, getattr(self, name)
        return None

    def encrypts(self, path: list[str], comments: list[list[str]], is_comment: bool) -> bool:
        """sops' shouldBeEncrypted: by keys on the path, or by the comments above the value."""
        if self.unencrypted_suffix:
            return not any(key.endswith(self.unencrypted_suffix) for key in path)
        if self.encrypted_suffix:
            return any(key.endswith(self.encrypted_suffix) for key in path)
        if self.unencrypted_regex:
            pattern = re2.compile(self.unencrypted_regex)
            return not any(pattern.search(key) for key in path)
        if self.encrypted_regex:
            pattern = re2.compile(self.encrypted_regex)
            return any(pattern.search(key) for key in path)
        if self.unencrypted_comment_regex:
            pattern = re2.compile(self.unencrypted_comment_regex)
            return not any(pattern.search(text) for level in comments for text in level)
        if self.encrypted_comment_regex:
            pattern = re2.compile(self.encrypted_comment_regex)
            # The matching comment line itself stays clear: skip the last comment seen.
            last = (len(comments) - 1, len(comments[-1]) - 1) if comments else (-1, -1)
            return any(pattern.search(text)
                       for i, level in enumerate(comments) for j, text in enumerate(level)
                       if not (is_comment and (i, j) == last))
        return True


def walk_order(items: list[Any]) -> list[int]:
    """Positions in the order sops walks them: an inline comment (`key: v # note`) belongs to
    the entry on its line, which sops' tree holds after the comment, so its comment regexes
    see the note before that entry."""
    order = list(range(len(items)))
    for index in range(1, len(items)):
        item = items[index]
        if isinstance(item, Comment) and item.inline and \
                not isinstance(items[index - 1], Comment):
            order[index - 1], order[index] = order[index], order[index - 1]
    return order


@dataclass
class _Walk:
    """One pass over the documents with a leaf function; collects the MAC on the way."""

    selector: Selector
    mac_only_encrypted: bool
    on_leaf: Callable[[Leaf, str, bool], Leaf]
    decrypting: bool  # the MAC hashes plaintext: what goes in, or what comes out
    digest: hashlib._Hash = field(default_factory=hashlib.sha512)

    def __post_init__(self) -> None:
        if self.mac_only_encrypted:
            self.digest.update(MAC_ONLY_ENCRYPTED_INIT)

    def mapping(self, node: Mapping, path: list[str], comments: list[list[str]]) -> Mapping:
        comments = [*comments, []]
        out: list[Pair | Comment | None] = [None] * len(node)
        for index in walk_order(node):
            item = node[index]
            if isinstance(item, Comment):
                comments[-1].append(item.text)
                out[index] = cast(Comment, self.leaf(item, path, comments))
                continue
            out[index] = Pair(item.key, self.value(item.value, [*path, item.key], comments))
            comments[-1] = []
        return Mapping(item for item in out if item is not None)

    def sequence(self, node: Sequence, path: list[str], comments: list[list[str]]) -> Sequence:
        comments = [*comments, []]
        out: list[Value | Comment] = list(node)
        for index in walk_order(node):
            item = node[index]
            if isinstance(item, Comment):
                comments[-1].append(item.text)
                out[index] = self.leaf(item, path, comments)
                continue
            out[index] = self.value(item, path, comments)
            comments[-1] = []
        return type(node)(out)

    def value(self, node: Value, path: list[str], comments: list[list[str]]) -> Value:
        if isinstance(node, Mapping):
            return self.mapping(node, path, comments)
        if isinstance(node, Sequence):
            return self.sequence(node, path, comments)
        if node is None:
            return None  # nulls are neither encrypted nor hashed
        return cast(Scalar, self.leaf(node, path, comments))

    def leaf(self, node: Leaf, path: list[str], comments: list[list[str]]) -> Leaf:
        is_comment = isinstance(node, Comment)
        encrypted = self.selector.encrypts(path, comments, is_comment)
        result = self.on_leaf(node, ":".join(path) + ":", encrypted)
        if not is_comment and (not self.mac_only_encrypted or encrypted):
            plain = result if self.decrypting else node
            if not isinstance(plain, Comment):
                self.digest.update(to_bytes(plain))
        return result

    @property
    def mac(self) -> str:
        return self.digest.hexdigest().upper()


def encrypt_documents(documents: list[Mapping], key: bytes, selector: Selector,
                      mac_only_encrypted: bool, stash: Stash | None = None
                      ) -> tuple[list[Mapping], str]:
    """The documents with every selected value encrypted, and the MAC of the plaintext."""
    reuse = stash or {}

    def on_leaf(node: Leaf, aad: str, encrypted: bool) -> Leaf:
        if not encrypted:
            return node
        if isinstance(node, str) and cipher.is_encrypted(node):
            raise GuardError(f"value at {aad[:-1] or '(top level)'} is already encrypted")
        plain = node.text if isinstance(node, Comment) else node
        iv = reuse.get((aad, type_name(node), to_bytes(plain)))
        text = cipher.encrypt(node, key, aad, iv)
        if isinstance(node, Comment):
            if selector.unencrypted_comment_regex and re2.compile(
                    selector.unencrypted_comment_regex).search(text):
                raise GuardError("an encrypted comment matches unencrypted_comment_regex, so "
                                 "it could never be decrypted; choose a stricter regex")
            return Comment(text, node.inline)
        return text

    walk = _Walk(selector, mac_only_encrypted, on_leaf, decrypting=False)
    return [walk.mapping(document, [], []) for document in documents], walk.mac


def decrypt_documents(documents: list[Mapping], key: bytes, selector: Selector,
                      mac_only_encrypted: bool) -> tuple[list[Mapping], str, Stash]:
    """The plaintext documents, the MAC they hash to, and the IVs to re-encrypt them with."""
    stash: Stash = {}

    def on_leaf(node: Leaf, aad: str, encrypted: bool) -> Leaf:
        if not encrypted:
            return node
        if isinstance(node, Comment):
            if not cipher.is_encrypted(node.text):
                return node  # a clear comment in an encrypted file stays as it is
            value, iv = cipher.decrypt(node.text, key, aad)
            text = value.text if isinstance(value, Comment) else str(value)
            stash[(aad, "comment", text.encode("utf-8", "surrogateescape"))] = iv
            return Comment(text, node.inline)
        if not isinstance(node, str) or (node and not cipher.is_encrypted(node)):
            raise GuardError(f"value at {aad[:-1] or '(top level)'} should be encrypted but is "
                             "in plain text (added after the file was encrypted?)")
        value, iv = cipher.decrypt(node, key, aad)
        if isinstance(value, Comment):
            raise GuardError(f"value at {aad[:-1] or '(top level)'} is an encrypted comment "
                             "where a value belongs")
        if iv:
            stash[(aad, type_name(value), to_bytes(value))] = iv
        return value

    walk = _Walk(selector, mac_only_encrypted, on_leaf, decrypting=True)
    plain = [walk.mapping(document, [], []) for document in documents]
    return plain, walk.mac, stash
