"""A typed face for pyrage, which ships neither type stubs nor a py.typed marker.

Only what `keys` needs. Identities and recipients are opaque handles: their `str()` of an
identity is the secret key, so nothing outside this module should ever format one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NewType, cast

import pyrage  # type: ignore[import-untyped]

Identity = NewType("Identity", object)
Recipient = NewType("Recipient", object)

# Every failure pyrage raises; none of their messages carries key material.
ERRORS: tuple[type[Exception], ...] = (
    pyrage.IdentityError, pyrage.RecipientError, pyrage.EncryptError, pyrage.DecryptError,
)


def x25519_identity(secret: str) -> tuple[Identity, str]:
    """The identity for an `AGE-SECRET-KEY-1...` string, and its `age1...` recipient."""
    identity = pyrage.x25519.Identity.from_str(secret)
    return Identity(identity), str(identity.to_public())


def x25519_recipient(text: str) -> Recipient:
    return Recipient(pyrage.x25519.Recipient.from_str(text))


def ssh_identity(private_key: bytes) -> Identity:
    return Identity(pyrage.ssh.Identity.from_buffer(private_key))


def ssh_recipient(text: str) -> Recipient:
    return Recipient(pyrage.ssh.Recipient.from_str(text))


def generate_x25519() -> tuple[str, str]:
    """A fresh (secret, recipient) pair as age-keygen writes them."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def encrypt_armored(plaintext: bytes, recipient: Recipient) -> str:
    return cast(bytes, pyrage.encrypt(plaintext, [recipient], armored=True)).decode("ascii")


def decrypt(ciphertext: bytes, identities: Sequence[Identity]) -> bytes:
    return cast(bytes, pyrage.decrypt(ciphertext, list(identities)))
