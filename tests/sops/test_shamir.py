"""Shamir secret sharing, checked against the facts sops and Vault publish about it."""

from __future__ import annotations

import itertools
import os
import secrets

import pytest

from gitops_guard.errors import GuardError
from gitops_guard.sops import shamir


def slow_multiply(a: int, b: int) -> int:
    """GF(2^8) multiplication modulo x^8 + x^4 + x^3 + x + 1, written independently."""
    product = 0
    for bit in range(8):
        if b >> bit & 1:
            product ^= a << bit
    for bit in range(15, 7, -1):
        if product >> bit & 1:
            product ^= 0x11B << (bit - 8)
    return product


# The field tests of sops' shamir/shamir_test.go (forked from Vault).
@pytest.mark.parametrize(("a", "b", "product"), [(3, 7, 9), (3, 0, 0), (0, 3, 0)])
def test_multiply_as_sops_tests_it(a: int, b: int, product: int) -> None:
    assert shamir.multiply(a, b) == product


@pytest.mark.parametrize(("a", "b", "quotient"), [(0, 7, 0), (3, 3, 1), (6, 3, 2)])
def test_divide_as_sops_tests_it(a: int, b: int, quotient: int) -> None:
    assert shamir.divide(a, b) == quotient


def test_tables_are_vaults() -> None:
    # The first entries of Vault's tables (generator 0xe5), and 2's inverse in the AES field.
    assert shamir._EXP[:8] == (0x01, 0xE5, 0x4C, 0xB5, 0xFB, 0x9F, 0xFC, 0x12)
    assert shamir._LOG[2:8] == (0xC8, 0x08, 0x91, 0x10, 0xD0, 0x36)
    assert shamir.divide(1, 2) == 0x8D


def test_multiply_is_the_aes_field_everywhere() -> None:
    for a, b in itertools.product(range(256), repeat=2):
        assert shamir.multiply(a, b) == slow_multiply(a, b)


def test_divide_undoes_multiply() -> None:
    for a, b in itertools.product(range(256), range(1, 256)):
        assert shamir.divide(shamir.multiply(a, b), b) == a


def test_divide_by_zero() -> None:
    with pytest.raises(ZeroDivisionError):
        shamir.divide(5, 0)


# Hand-derived: f(x) = 0x2a + x (shares at x = 1, 2) and f(x) = 0x2a + x + x^2, where in
# GF(2^8) 2 + 4 = 6 and 3 * 3 = 5, so f(1) = 0x2a, f(2) = 0x2c, f(3) = 0x2c.
@pytest.mark.parametrize("shares", [
    [b"\x2b\x01", b"\x28\x02"],
    [b"\x28\x02", b"\x2b\x01"],
    [b"\x2a\x01", b"\x2c\x02", b"\x2c\x03"],
    [b"\x2c\x03", b"\x2a\x01", b"\x2c\x02"],
])
def test_combine_fixed_vectors(shares: list[bytes]) -> None:
    assert shamir.combine(shares) == b"\x2a"


@pytest.mark.parametrize(("parts", "threshold"),
                         [(2, 2), (3, 2), (3, 3), (5, 3), (7, 4), (10, 10), (255, 2), (16, 9)])
def test_any_threshold_of_the_shares_combine(parts: int, threshold: int) -> None:
    for _ in range(5):
        secret = os.urandom(32)
        shares = shamir.split(secret, parts, threshold)
        assert len(shares) == parts
        assert all(len(share) == 33 for share in shares)
        xs = [share[-1] for share in shares]
        assert len(set(xs)) == parts and 0 not in xs
        chosen = list(shares)
        secrets.SystemRandom().shuffle(chosen)
        assert shamir.combine(chosen[:threshold]) == secret
        assert shamir.combine(shares) == secret


def test_every_choice_of_three_of_five() -> None:
    # As sops' TestCombine: all 5*4*3 ordered choices.
    secret = b"test"
    shares = shamir.split(secret, 5, 3)
    for chosen in itertools.permutations(shares, 3):
        assert shamir.combine(list(chosen)) == secret


def test_fewer_shares_than_the_threshold_do_not_give_the_secret() -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, 4, 3)
    assert shamir.combine(shares[:2]) != secret


@pytest.mark.parametrize("length", [1, 2, 31, 32, 33, 100])
def test_secrets_of_any_length(length: int) -> None:
    secret = os.urandom(length)
    assert shamir.combine(shamir.split(secret, 3, 2)[1:]) == secret


# The invalid inputs of sops' TestSplit_invalid and TestCombine_invalid.
@pytest.mark.parametrize(("secret", "parts", "threshold", "message"), [
    (b"test", 0, 0, "at least 2"),
    (b"test", 2, 3, "fewer than the threshold"),
    (b"test", 1000, 3, "at most 255"),
    (b"test", 10, 1, "at least 2"),
    (b"", 3, 2, "empty"),
])
def test_split_refuses(secret: bytes, parts: int, threshold: int, message: str) -> None:
    with pytest.raises(GuardError, match=message):
        shamir.split(secret, parts, threshold)


@pytest.mark.parametrize(("shares", "message"), [
    ([], "at least two shares"),
    ([b"foo"], "at least two shares"),
    ([b"foo", b"ba"], "differ in length"),
    ([b"f", b"b"], "at least two bytes"),
    ([b"foo", b"foo"], "same x coordinate"),
])
def test_combine_refuses(shares: list[bytes], message: str) -> None:
    with pytest.raises(GuardError, match=message):
        shamir.combine(shares)
