"""The SOPS ENC value codec (sops/cipher.py, sops/values.py) under generated values and text.

- Every value type (str, bytes, int, float, bool, time, comment) encrypts to one well-formed
  `ENC[AES256_GCM,...]` string and decrypts back to itself, type included; a given IV makes
  the ciphertext reproducible, as the re-encryption of unchanged values relies on.
- A ciphertext with any bit flipped, under another key or moved to another path is rejected
  with GuardError naming the path and never the value.
- Arbitrary text, and well-formed ENC strings with arbitrary parts or types, are rejected
  with GuardError (or, for "", decrypt to ""): never another exception.
"""

from __future__ import annotations

import base64
import math
import re

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import example, given
from hypothesis import strategies as st

from gitops_guard.errors import GuardError
from gitops_guard.sops import cipher
from gitops_guard.sops.values import (
    Comment,
    Timestamp,
    format_float,
    parse_go_bool,
    parse_timestamp,
    to_bytes,
    type_name,
)
from tests.properties.strategies import unicode_text

keys = st.binary(min_size=32, max_size=32)
# A tree path as sops builds additional data: keys joined and ended by ":".
paths = st.lists(unicode_text, max_size=4).map(lambda parts: ":".join(parts) + ":")
# Lone surrogates U+DC80..U+DCFF are how the dotenv and INI stores hold undecodable bytes.
escaped_bytes = st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
strings = st.text(st.one_of(st.characters(codec="utf-8"), escaped_bytes),
                  min_size=1, max_size=40)


@st.composite
def timestamps(draw: st.DrawFn) -> Timestamp:
    moment = draw(st.datetimes())
    fraction = draw(st.sampled_from(["", ".5", ".123456789", ".000001", ".1234567891"]))
    zone = draw(st.sampled_from(["Z", "+00:00", "-00:00", "+05:30", "-12:00", "+23:59"]))
    text = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}{fraction}{zone}")
    stamp = parse_timestamp(text)
    assert stamp is not None, text
    return stamp


values = st.one_of(
    strings, st.binary(min_size=1, max_size=40), st.integers(-(2**63), 2**64), st.floats(),
    st.booleans(), timestamps(), strings.map(Comment))


def equal(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    return type(left) is type(right) and left == right


_ENC_SHAPE = re.compile(r"ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),iv:([A-Za-z0-9+/=]+),"
                        r"tag:([A-Za-z0-9+/=]+),type:(str|int|float|bool|time|comment)\]\Z")


@given(value=values, key=keys, aad=paths)
@example(value=float("nan"), key=bytes(32), aad="a:")
@example(value=-0.0, key=bytes(32), aad="a:")
@example(value=1e300, key=bytes(32), aad="a:")
@example(value=True, key=bytes(32), aad=":")
@example(value="\udcff\udc80", key=bytes(32), aad="a:")
@example(value=Timestamp("0001-01-01T00:00:00Z"), key=bytes(32), aad="a:")
def test_every_value_type_round_trips(value: object, key: bytes, aad: str) -> None:
    text = cipher.encrypt(value, key, aad)  # type: ignore[arg-type]
    shape = _ENC_SHAPE.match(text)
    assert shape is not None, text
    data, iv, tag = (base64.b64decode(part) for part in shape.group(1, 2, 3))
    plain = to_bytes(value.text if isinstance(value, Comment) else value)  # type: ignore[arg-type]
    assert (len(data), len(iv), len(tag), shape[4]) == (
        len(plain), cipher.IV_SIZE, cipher.TAG_SIZE, type_name(value))  # type: ignore[arg-type]

    decrypted, used_iv = cipher.decrypt(text, key, aad)
    assert used_iv == iv
    plain_out = to_bytes(decrypted.text if isinstance(decrypted, Comment) else decrypted)
    assert plain_out == plain
    if isinstance(value, (bytes, str)) and not isinstance(value, Timestamp):
        # "str" holds bytes: valid UTF-8 comes back as text, anything else as bytes.
        assert decrypted == (plain.decode() if _utf8(plain) else plain)
    else:
        assert equal(decrypted, value)
    # The same IV gives the same ciphertext: unchanged values re-encrypt byte for byte.
    assert cipher.encrypt(value, key, aad, iv) == text  # type: ignore[arg-type]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("empty", ["", b"", Comment("")])
def test_empty_values_are_never_encrypted(empty: object) -> None:
    assert cipher.encrypt(empty, bytes(32), "a:") == ""  # type: ignore[arg-type]
    assert cipher.decrypt("", bytes(32), "a:") == ("", b"")


SECRET = "S3cr3t-value-"


@given(secret=unicode_text, key=keys, aad=paths, flip=st.integers(0, 10_000),
       part=st.sampled_from(["data", "iv", "tag"]))
def test_a_flipped_bit_is_rejected_without_the_value(secret: str, key: bytes, aad: str,
                                                     flip: int, part: str) -> None:
    text = cipher.encrypt(SECRET + secret, key, aad)
    parts = cipher.parse(text)
    assert parts is not None
    raw = bytearray(getattr(parts, part))
    raw[flip // 8 % len(raw)] ^= 1 << (flip % 8)
    fields = {"data": parts.data, "iv": parts.iv, "tag": parts.tag, part: bytes(raw)}
    forged = (f"ENC[AES256_GCM,data:{_b64(fields['data'])},iv:{_b64(fields['iv'])},"
              f"tag:{_b64(fields['tag'])},type:{parts.type}]")
    assert_rejected(forged, key, aad, secret)


@given(secret=unicode_text, key=keys, other=keys, aad=paths, moved=paths)
def test_another_key_or_path_is_rejected_without_the_value(secret: str, key: bytes,
                                                           other: bytes, aad: str,
                                                           moved: str) -> None:
    text = cipher.encrypt(SECRET + secret, key, aad)
    if other != key:
        assert_rejected(text, other, aad, secret)
    if moved != aad:
        assert_rejected(text, key, moved, secret)


def assert_rejected(text: str, key: bytes, aad: str, secret: str) -> None:
    with pytest.raises(GuardError) as caught:
        cipher.decrypt(text, key, aad)
    message = str(caught.value)
    assert (aad[:-1] or "(top level)") in message
    assert SECRET + secret not in message


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- arbitrary input --------------------------------------------------------------------------

ENC_ALPHABET = [*"ENC[AES256_GCM,data:iv:tag:type:str]=+/", "A", "a", "0", "é", "\n"]
enc_like = st.one_of(
    unicode_text,
    st.lists(st.sampled_from(ENC_ALPHABET), max_size=80).map(lambda p: "ENC[AES256_GCM," +
                                                              "".join(p)),
    st.builds(
        lambda data, iv, tag, kind, tail: (f"ENC[AES256_GCM,data:{_b64(data)},iv:{_b64(iv)},"
                                           f"tag:{_b64(tag)},type:{kind}]{tail}"),
        st.binary(max_size=40), st.binary(max_size=160), st.binary(max_size=20),
        st.one_of(st.sampled_from(["str", "int", "float", "bool", "time", "comment", "bytes"]),
                  unicode_text),
        st.sampled_from(["", "]", ",type:int]"])))


@given(text=enc_like, key=keys, aad=paths)
@example(text="ENC[AES256_GCM,data:,iv:,tag:,type:str]", key=bytes(32), aad="a:")
@example(text="ENC[AES256_GCM,data:AA==,iv:,tag:AA==,type:str]", key=bytes(32), aad="a:")
@example(text="ENC[AES256_GCM,data:AA==,iv:" + "A" * 400 + ",tag:AA==,type:str]",
         key=bytes(32), aad="a:")
@example(text="ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]", key=bytes(32), aad="a:")
def test_arbitrary_text_is_rejected_with_guard_error(text: str, key: bytes, aad: str) -> None:
    parts = cipher.parse(text)
    assert parts is None or isinstance(parts, cipher.Encrypted)
    try:
        value, _ = cipher.decrypt(text, key, aad)
    except GuardError as error:
        assert error.message
    else:
        assert text == "" and value == ""


@given(plaintext=st.one_of(st.binary(max_size=40), unicode_text.map(str.encode)),
       kind=st.one_of(st.sampled_from(["str", "int", "float", "bool", "time", "comment",
                                       "bytes"]), unicode_text),
       key=keys, aad=paths)
@example(plaintext=b"9" * 5000, kind="int", key=bytes(32), aad="a:")
@example(plaintext=b"1e999", kind="float", key=bytes(32), aad="a:")
@example(plaintext=b"\xff", kind="time", key=bytes(32), aad="a:")
@example(plaintext=b"maybe", kind="bool", key=bytes(32), aad="a:")
def test_any_authentic_plaintext_under_any_type_decrypts_or_is_rejected(
        plaintext: bytes, kind: str, key: bytes, aad: str) -> None:
    """A file written by another tool may hold any bytes under any type: decrypting gives a
    value of that type or GuardError, never a ValueError from deep inside."""
    iv = bytes(cipher.IV_SIZE)
    sealed = AESGCM(key).encrypt(iv, plaintext, aad.encode("utf-8", "surrogateescape"))
    text = (f"ENC[AES256_GCM,data:{_b64(sealed[:-16])},iv:{_b64(iv)},tag:{_b64(sealed[-16:])},"
            f"type:{kind}]")
    try:
        value, _ = cipher.decrypt(text, key, aad)
    except GuardError as error:
        assert error.message
        return
    expected_types = {"str": (str, bytes), "bytes": (bytes,), "int": (int,), "float": (float,),
                      "bool": (bool,), "time": (Timestamp,), "comment": (Comment,)}
    assert isinstance(value, expected_types[kind])


# -- the value formats the MAC hashes ---------------------------------------------------------

@given(value=st.floats(allow_nan=False))
@example(value=5e-324)
@example(value=1.7976931348623157e308)
@example(value=-0.0)
def test_go_float_text_round_trips_without_an_exponent(value: float) -> None:
    text = format_float(value)
    assert "e" not in text.lower() or math.isinf(value)
    assert float(text) == value
    assert math.copysign(1, float(text)) == math.copysign(1, value)


@given(value=st.booleans())
def test_go_bool_text_round_trips(value: bool) -> None:
    assert parse_go_bool(to_bytes(value).decode()) is value


@given(stamp=timestamps())
def test_timestamps_are_a_fixed_point(stamp: Timestamp) -> None:
    assert parse_timestamp(stamp) == stamp


@given(text=st.one_of(unicode_text, st.from_regex(
    r"\A\d{4}-\d{1,2}-\d{1,2}([Tt]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[-+]\d\d:\d\d)| \d:\d:\d)?\Z")))
@example(text="2024-02-30")
@example(text="2024-01-01T00:00:00+24:00")
def test_timestamp_parsing_never_raises(text: str) -> None:
    stamp = parse_timestamp(text)
    assert stamp is None or parse_timestamp(stamp) == stamp
