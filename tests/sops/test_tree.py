"""Values, the walk, selection and the MAC: sops' rules, table by table."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from gitops_guard.errors import GuardError
from gitops_guard.sops import cipher
from gitops_guard.sops.tree import Selector, decrypt_documents, encrypt_documents
from gitops_guard.sops.values import (
    Comment,
    Mapping,
    NilList,
    Pair,
    Sequence,
    Timestamp,
    format_float,
    parse_go_bool,
    parse_timestamp,
    to_bytes,
)

KEY = bytes(range(32))


def doc(**pairs: Any) -> Mapping:
    return Mapping(Pair(key, value) for key, value in pairs.items())


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1"), (0.1, "0.1"), (1e16, "10000000000000000"), (1e21, "1000000000000000000000"),
    (-0.0, "-0"), (3.14, "3.14"), (1e-7, "0.0000001"), (123456789.125, "123456789.125"),
    (float("inf"), "+Inf"), (float("-inf"), "-Inf"), (float("nan"), "NaN"),
])
def test_floats_format_as_go(value: float, text: str) -> None:
    assert format_float(value) == text


@pytest.mark.parametrize(("value", "expected"), [
    ("text", b"text"), ("", b""), (b"\xff\x00", b"\xff\x00"), (True, b"True"),
    (False, b"False"), (0, b"0"), (-12, b"-12"), (2.5, b"2.5"),
    (Timestamp("2024-01-02T03:04:05Z"), b"2024-01-02T03:04:05Z"),
])
def test_to_bytes(value: Any, expected: bytes) -> None:
    assert to_bytes(value) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-11-12T13:33:42Z", "2024-11-12T13:33:42Z"),
    ("2024-1-2", "2024-01-02T00:00:00Z"),
    ("2024-01-02 10:00:00", "2024-01-02T10:00:00Z"),
    ("2024-01-02T10:00:00.500+02:00", "2024-01-02T10:00:00.5+02:00"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43.1-05:00"),
    ("2024-01-02T10:00:00+00:00", "2024-01-02T10:00:00Z"),
    ("2024-01-02T10:00:00", None),  # yaml.v3: a T form needs a zone
    ("2024-13-01", None),
    ("24-01-01", None),
    ("2024-01-02  10:00:00", None),
])
def test_timestamps_as_yaml_v3_reads_them(text: str, expected: str | None) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("1", True), ("t", True), ("TRUE", True), ("True", True), ("0", False), ("F", False),
    ("false", False),
])
def test_go_bools(text: str, value: bool) -> None:
    assert parse_go_bool(text) is value


def test_go_bool_rejects_yaml_words() -> None:
    with pytest.raises(ValueError, match="not a boolean"):
        parse_go_bool("yes")


@pytest.mark.parametrize("value", [
    "secret", "ünïcödé", b"\xff\xfe raw", 0, 42, -7, 0.0, 2.5, True, False,
    Timestamp("2024-01-02T03:04:05.5Z"), Comment(" a comment"),
])
def test_value_round_trip(value: Any) -> None:
    text = cipher.encrypt(value, KEY, "a:b:")
    assert text.startswith("ENC[AES256_GCM,data:")
    parts = cipher.parse(text)
    assert parts is not None and len(parts.iv) == 32 and len(parts.tag) == 16
    decrypted, iv = cipher.decrypt(text, KEY, "a:b:")
    assert decrypted == value and type(decrypted) is type(value)
    assert iv == parts.iv


def test_empty_values_are_not_encrypted() -> None:
    assert cipher.encrypt("", KEY, "a:") == ""
    assert cipher.encrypt(Comment(""), KEY, "a:") == ""
    assert cipher.decrypt("", KEY, "a:") == ("", b"")


@pytest.mark.parametrize("aad", ["a:", "b:a:", ""])
def test_additional_data_binds_the_path(aad: str) -> None:
    text = cipher.encrypt("secret", KEY, "a:b:")
    with pytest.raises(GuardError, match="does not decrypt") as caught:
        cipher.decrypt(text, KEY, aad)
    assert "secret" not in str(caught.value)


def test_same_iv_same_ciphertext() -> None:
    iv = os.urandom(32)
    assert cipher.encrypt("x", KEY, "k:", iv) == cipher.encrypt("x", KEY, "k:", iv)


def rich() -> list[Mapping]:
    return [Mapping([
        Comment(" top"),
        Pair("name", "app"),
        Pair("port", 8080),
        Pair("ratio", 0.5),
        Pair("on", True),
        Pair("when", Timestamp("2024-01-02T00:00:00Z")),
        Pair("empty", ""),
        Pair("nothing", None),
        Pair("list", Sequence(["a", Comment(" in list"), Sequence(["b", 1])])),
        Pair("nested", doc(user="u", pin="p", note_unencrypted="clear")),
        Pair("nil", NilList()),
    ]), doc(second="doc")]


def leaves(documents: list[Mapping]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for item in node:
                if isinstance(item, Pair):
                    walk(item.value, f"{path}/{item.key}")
                else:
                    found.append((path + "#", item.text))
        elif isinstance(node, Sequence):
            for element in node:
                if isinstance(element, Comment):
                    found.append((path + "#", element.text))
                else:
                    walk(element, path + "/-")
        else:
            found.append((path, node))

    for document in documents:
        walk(document, "")
    return found


def test_round_trip_with_the_default_selector() -> None:
    selector = Selector(unencrypted_suffix="_unencrypted")
    encrypted, mac = encrypt_documents(rich(), KEY, selector, False)
    values = dict(leaves(encrypted))
    assert cipher.is_encrypted(values["/nested/pin"]) and cipher.is_encrypted(values["#"])
    assert values["/nested/note_unencrypted"] == "clear"
    assert values["/empty"] == "" and values["/nothing"] is None
    plain, mac_again, stash = decrypt_documents(encrypted, KEY, selector, False)
    assert plain == rich() and mac_again == mac and len(mac) == 128 and mac == mac.upper()
    # With the stash, an unchanged tree re-encrypts to the same bytes (sops edit).
    again, _ = encrypt_documents(plain, KEY, selector, False, stash)
    assert again == encrypted


def test_mac_is_sha512_over_go_bytes_in_walk_order() -> None:
    documents = [doc(a="x", b=Sequence([1, True]), c=None, d=2.5, e_unencrypted="clear")]
    _, mac = encrypt_documents(documents, KEY, Selector(unencrypted_suffix="_unencrypted"), False)
    assert mac == hashlib.sha512(b"x1True2.5clear").hexdigest().upper()
    _, only = encrypt_documents(documents, KEY, Selector(unencrypted_suffix="_unencrypted"), True)
    expected = hashlib.sha512(hashlib.sha256(b"sops").digest() + b"x1True2.5").hexdigest()
    assert only == expected.upper()


def test_comments_use_the_path_of_their_collection() -> None:
    documents = [Mapping([Comment(" top"), Pair("app", Mapping([Comment(" inner"),
                                                                  Pair("k", "v")]))])]
    encrypted, _ = encrypt_documents(documents, KEY, Selector(), False)
    top, app = encrypted[0]
    assert isinstance(top, Comment) and isinstance(app, Pair)
    assert cipher.decrypt(top.text, KEY, ":")[0] == Comment(" top")
    assert isinstance(app.value, Mapping) and isinstance(app.value[0], Comment)
    assert cipher.decrypt(app.value[0].text, KEY, "app:")[0] == Comment(" inner")


@pytest.mark.parametrize(("selector", "encrypted_paths"), [
    (Selector(), {"/data/key", "/metadata/name", "/kind", "/list/-", "/data/key_unencrypted"}),
    (Selector(unencrypted_suffix="_unencrypted"),
     {"/data/key", "/metadata/name", "/kind", "/list/-"}),
    (Selector(encrypted_suffix="_secret"), set()),
    (Selector(encrypted_regex="^(data|stringData)$"), {"/data/key", "/data/key_unencrypted"}),
    (Selector(unencrypted_regex="^(kind|metadata)$"),
     {"/data/key", "/list/-", "/data/key_unencrypted"}),
    (Selector(encrypted_regex="ta"), {"/data/key", "/data/key_unencrypted", "/metadata/name"}),
])
def test_selectors(selector: Selector, encrypted_paths: set[str]) -> None:
    document = doc(kind="Secret", metadata=doc(name="n"),
                   data=doc(key="v", key_unencrypted="w"), list=Sequence(["i"]))
    encrypted, _ = encrypt_documents([document], KEY, selector, False)
    assert {path for path, value in leaves(encrypted)
            if cipher.is_encrypted(value)} == encrypted_paths


def test_comment_selectors() -> None:
    document = Mapping([Pair("a", "1"), Comment(" sops:enc"), Pair("b", "2"), Pair("c", "3")])
    encrypted, _ = encrypt_documents([document], KEY,
                                     Selector(encrypted_comment_regex="sops:enc"), False)
    a, marker, b, c = encrypted[0]
    assert (a, marker, c) == (Pair("a", "1"), Comment(" sops:enc"), Pair("c", "3"))
    assert isinstance(b, Pair) and cipher.is_encrypted(b.value)
    clear, _ = encrypt_documents([document], KEY,
                                 Selector(unencrypted_comment_regex="sops:enc"), False)
    assert clear[0][2] == Pair("b", "2")
    assert isinstance(clear[0][0], Pair) and cipher.is_encrypted(clear[0][0].value)


def test_only_one_selector() -> None:
    with pytest.raises(GuardError, match="only one of"):
        Selector(encrypted_regex="a", unencrypted_suffix="_u")


def test_bad_regex_is_a_clear_error() -> None:
    with pytest.raises(GuardError, match="is not a regular expression"):
        Selector(encrypted_regex="(")


def flip_tag(text: str) -> str:
    """The same ENC string with one character of its tag changed (still valid base64)."""
    at = text.index("tag:") + 4
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1:]


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d[0].__setitem__(0, Pair("a", "plain")), "in plain text"),
    (lambda d: d[0].__setitem__(0, Pair("a", flip_tag(d[0][0].value))), "does not decrypt"),
    (lambda d: d[0].__setitem__(0, Pair("a", 5)), "in plain text"),
])
def test_tampered_values_fail_without_showing_them(mutate: Any, message: str) -> None:
    encrypted, _ = encrypt_documents([doc(a="secret-value")], KEY, Selector(), False)
    mutate(encrypted)
    with pytest.raises(GuardError, match=message) as caught:
        decrypt_documents(encrypted, KEY, Selector(), False)
    assert "secret-value" not in str(caught.value) and "at a" in str(caught.value)


def test_a_clear_comment_in_an_encrypted_file_stays() -> None:
    encrypted, _ = encrypt_documents([doc(a="x")], KEY, Selector(), False)
    encrypted[0].insert(0, Comment(" added later"))
    plain, _, _ = decrypt_documents(encrypted, KEY, Selector(), False)
    assert plain[0][0] == Comment(" added later")


def test_encrypting_twice_is_refused() -> None:
    encrypted, _ = encrypt_documents([doc(a="x")], KEY, Selector(), False)
    with pytest.raises(GuardError, match="already encrypted"):
        encrypt_documents(encrypted, KEY, Selector(), False)


def test_an_inline_comment_selects_the_entry_on_its_line() -> None:
    """`a: 1 # sops:enc`: sops' tree holds the note before `a`, so `a` is the one selected."""
    document = Mapping([Pair("a", "1"), Comment(" sops:enc", inline=True), Pair("b", "2")])
    encrypted, _ = encrypt_documents([document], KEY,
                                     Selector(encrypted_comment_regex="sops:enc"), False)
    a, note, b = encrypted[0]
    assert isinstance(a, Pair) and cipher.is_encrypted(a.value)
    assert note == Comment(" sops:enc", inline=True) and b == Pair("b", "2")
    plain, _, _ = decrypt_documents(encrypted, KEY, Selector(encrypted_comment_regex="sops:enc"),
                                    False)
    assert plain == [document]
