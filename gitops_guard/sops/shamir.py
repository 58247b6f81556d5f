"""Shamir secret sharing as sops does it, so files with several key groups round-trip.

sops uses HashiCorp Vault's scheme: each byte of the secret is the constant term of its own
random polynomial over GF(2^8) (the AES field, x^8 + x^4 + x^3 + x + 1), and a share is the
polynomial values at one x, followed by that x as a last byte: len(secret) + 1 bytes. The
x coordinates are distinct and random in 1..255. `combine` interpolates at x = 0 (Lagrange).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from gitops_guard.errors import GuardError

_AES_POLYNOMIAL = 0x11B
_GENERATOR = 0xE5  # the generator Vault's log/exp tables use


def _build_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """exp[i] = g^i and log[g^i] = i; log[0] is unused (zero has no logarithm)."""
    exp = [0] * 255
    log = [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        value = _slow_multiply(value, _GENERATOR)
    return tuple(exp), tuple(log)


def _slow_multiply(a: int, b: int) -> int:
    """Carry-less multiplication reduced by the AES polynomial (only to build the tables)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= _AES_POLYNOMIAL
        b >>= 1
    return product


_EXP, _LOG = _build_tables()


def multiply(a: int, b: int) -> int:
    """a * b in GF(2^8)."""
    if a == 0 or b == 0:
        return 0
    return _EXP[(_LOG[a] + _LOG[b]) % 255]


def divide(a: int, b: int) -> int:
    """a / b in GF(2^8); b must not be zero."""
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(2^8)")
    if a == 0:
        return 0
    return _EXP[(_LOG[a] - _LOG[b]) % 255]


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    """The polynomial at x, by Horner's rule (addition in GF(2^8) is XOR)."""
    result = 0
    for coefficient in reversed(coefficients):
        result = multiply(result, x) ^ coefficient
    return result


def _interpolate_at_zero(xs: Sequence[int], ys: Sequence[int]) -> int:
    """The constant term of the polynomial through the points (Lagrange at x = 0)."""
    result = 0
    for i, (x_i, y_i) in enumerate(zip(xs, ys, strict=True)):
        basis = 1
        for j, x_j in enumerate(xs):
            if i != j:
                # (0 - x_j) / (x_i - x_j); subtraction is XOR too.
                basis = multiply(basis, divide(x_j, x_i ^ x_j))
        result ^= multiply(y_i, basis)
    return result


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    """`parts` shares of `secret`, any `threshold` of which give it back."""
    if parts < threshold:
        raise GuardError(f"Shamir: {parts} parts cannot be fewer than the threshold {threshold}")
    if parts > 255:
        raise GuardError(f"Shamir: at most 255 parts, not {parts}")
    if threshold < 2:
        raise GuardError(f"Shamir: the threshold must be at least 2, not {threshold}")
    if not secret:
        raise GuardError("Shamir: cannot split an empty secret")
    rng = secrets.SystemRandom()
    xs = rng.sample(range(1, 256), parts)
    shares = [bytearray(len(secret) + 1) for _ in range(parts)]
    for share, x in zip(shares, xs, strict=True):
        share[-1] = x
    for index, byte in enumerate(secret):
        coefficients = [byte, *secrets.token_bytes(threshold - 1)]
        for share, x in zip(shares, xs, strict=True):
            share[index] = _evaluate(coefficients, x)
    return [bytes(share) for share in shares]


def combine(shares: Sequence[bytes]) -> bytes:
    """The secret the shares were split from (given at least the threshold of them)."""
    if len(shares) < 2:
        raise GuardError("Shamir: at least two shares are needed to combine")
    length = len(shares[0])
    if length < 2:
        raise GuardError("Shamir: a share must be at least two bytes")
    if any(len(share) != length for share in shares):
        raise GuardError("Shamir: the shares differ in length")
    xs = [share[-1] for share in shares]
    if len(set(xs)) != len(xs):
        raise GuardError("Shamir: two shares have the same x coordinate")
    return bytes(_interpolate_at_zero(xs, [share[index] for share in shares])
                 for index in range(length - 1))
