"""Every credential family: found where it is real, not where it only looks alike."""

from __future__ import annotations

import pytest

from gitops_guard.checks.secrets.tokens import FAMILIES, find_tokens, may_contain_tokens
from tests.secrets.fakes import ALNUM, PEM_BODY, TOKENS, chars


def families(text: str) -> list[str]:
    return [match.family.name for match in find_tokens(text)]


def test_at_least_thirty_families_and_a_fake_for_each() -> None:
    names = [family.name for family in FAMILIES]
    assert len(names) >= 30 and len(names) == len(set(names))
    assert sorted(TOKENS) == sorted(names)


@pytest.mark.parametrize("family", sorted(TOKENS))
def test_each_family_is_found_alone_and_in_context(family: str) -> None:
    token = TOKENS[family]
    assert families(token) == [family]
    assert families(f"config:\n  value: {token}\n  other: x\n") == [family]
    assert may_contain_tokens(token.lower())


@pytest.mark.parametrize(("text", "reason"), [
    ("AKIAIOSFODNN7EXAMPLE", "AWS's documented example key"),
    ("AKIA" + "EXAMPLE" + "ABCDEFGHJ", "an EXAMPLE key"),
    ("ghp" + "_" + chars(ALNUM, 20), "too short"),
    ("xghp" + "_" + chars(ALNUM, 36) + "x", "inside a longer word"),
    ("pk" + "_live_" + chars(ALNUM, 24), "Stripe publishable key"),
    ("eyJ" + chars(ALNUM, 20) + ".eyJ" + chars(ALNUM, 20) + "." + chars(ALNUM, 20),
     "JWT-shaped, but the header is not JSON"),
    ("-----BEGIN CERTIFICATE-----\n" + PEM_BODY + "\n-----END CERTIFICATE-----", "certificate"),
    ("-----BEGIN PUBLIC KEY-----\n" + PEM_BODY + "\n-----END PUBLIC KEY-----", "public key"),
    ("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----", "no key body"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + chars(ALNUM, 43) + " ci@example.com",
     "SSH public key"),
    ("age1" + chars("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58), "age recipient (public)"),
    ("postgres://app:${DB_PASSWORD}@db:5432/app", "variable"),
    ("postgres://app:$(DB_PASSWORD)@db:5432/app", "variable"),
    ("postgres://app:<password>@db:5432/app", "placeholder"),
    ("https://user:****@example.com", "masked"),
    ("postgres://app@db.internal:5432/app", "no password"),
    ("https://example.com:8443/path", "a port, not a password"),
    ("sha256:" + chars("0123456789abcdef", 64), "image digest"),
    ("5f6c2a7e-9c1b-4c51-8f8a-2b8a1c9d0e3f", "UUID"),
    ("Server=db;Database=x;Password=${DB_PASSWORD};", "variable in a connection string"),
    ("key" + "-" + "not-a-mailgun-key", "not hex"),
    ("SKIPPED_TESTS_0123456789abcdef0123456789abcdef", "SK followed by other text"),
    ("token: disabled", "a word"),
    ("AGE-SECRET-KEY-1" + "B" * 58, "not bech32 characters"),
])
def test_look_alikes_are_not_found(text: str, reason: str) -> None:
    assert families(text) == [], reason


def test_overlapping_matches_are_reported_once() -> None:
    url = "https://user:" + TOKENS["github-classic-token"] + "@github.com/org/repo.git"
    assert families(url) == ["github-classic-token"]


def test_several_in_one_text_in_order_of_families() -> None:
    text = f"a: {TOKENS['npm-token']}\nb: {TOKENS['github-classic-token']}\n"
    assert families(text) == ["github-classic-token", "npm-token"]


def test_disabled_families() -> None:
    text = TOKENS["npm-token"]
    assert [m.family.name for m in find_tokens(text, disabled=frozenset({"npm-token"}))] == []
