"""The JSON, dotenv, INI and binary stores against files the Go sops wrote, then rule by rule.

The key test reads each sops-written vector with `load_encrypted` and writes it back with
`emit_encrypted`: the bytes must be the same (no crypto involved; it proves reader and writer).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import (
    EmitOptions,
    binary_store,
    dotenv_store,
    ini_store,
    json_store,
    store_for,
)
from gitops_guard.sops.stores.flat import (
    flatten,
    go_text,
    metadata_items,
    metadata_tree,
    unflatten,
)
from gitops_guard.sops.values import Comment, Mapping, NilList, Pair, Sequence, Timestamp, Value

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = SHARED / "interop" / "sops"
TAB = EmitOptions()
OLD_TAB = EmitOptions(final_newline=False)  # sops <= 3.9 wrote no final newline


def doc(*items: Pair | Comment) -> Mapping:
    return Mapping(items)


def vector(path: str) -> bytes:
    if not VECTORS.is_dir():
        pytest.skip(f"the shared sops vectors are not here: {VECTORS}")
    return (VECTORS / path).read_bytes()


def round_trip(fmt: str, data: bytes, options: EmitOptions) -> bytes:
    store = store_for(fmt)
    documents, metadata = store.load_encrypted(data)
    assert metadata is not None
    return store.emit_encrypted(documents, metadata, options)  # type: ignore[no-any-return]


# -- sops-written vectors, byte for byte ---------------------------------------------------------

@pytest.mark.parametrize(("fmt", "path", "options"), [
    ("json", "getsops-sops/functional-tests/res/format.enc.json", TAB),  # 3.13.1
    ("json", "getsops-sops/example.json", OLD_TAB),  # 3.5.0, `"kms": null`
    ("json", "Mic92-sops-nix/secrets.json", OLD_TAB),  # 3.5.0
    ("json", "jkroepke-helm-secrets/values/sops/files/file.json", OLD_TAB),  # 3.7.3
    ("binary", "fluxcd-kustomize-controller/files/file.txt", OLD_TAB),  # 3.9.0
    ("binary", "getsops-sops/example.txt", OLD_TAB),  # 3.5.0
    ("binary", "Mic92-sops-nix/secrets.bin", OLD_TAB),  # 3.5.0
    ("binary", "jkroepke-helm-secrets/values/sops/secrets.trailing-newline.raw", TAB),  # 3.10.2
    ("binary", "jkroepke-helm-secrets/values/sops/files/file.properties", OLD_TAB),  # 3.7.3
    ("dotenv", "getsops-sops/functional-tests/res/format.enc.env", TAB),  # 3.13.1, key `foo `
    ("dotenv", "fluxcd-kustomize-controller/envs/env.env", TAB),  # 3.9.0, age
    ("dotenv", "fluxcd-kustomize-controller/component/env.env", TAB),
    ("dotenv", "fluxcd-kustomize-controller/remote/env.env", TAB),
    ("ini", "getsops-sops/functional-tests/res/format.enc.ini", TAB),  # 3.13.2, escaped \n
])
def test_vectors_reproduce_byte_for_byte(fmt: str, path: str, options: EmitOptions) -> None:
    data = vector(path)
    assert round_trip(fmt, data, options) == data


def test_binary_file_inside_a_secret_reproduces() -> None:
    secret = yaml.safe_load(vector("fluxcd-kustomize-controller/inside/secret.yaml"))
    data = base64.b64decode(secret["data"]["key"])  # a sops 3.9.0 binary-store file
    assert round_trip("binary", data, OLD_TAB) == data


# sops <= 3.7 (dotenv) and <= 3.12 (INI) wrote the metadata in Go's random map order, which a
# metadata tree cannot hold; we write it sorted, as sops >= 3.8 / >= 3.13 do. Older go-ini also
# ended the file with a blank line. The expectation is the vector with exactly those two
# changes, and the comparison stays byte for byte.
@pytest.mark.parametrize("path", [
    "Mic92-sops-nix/secrets.env",  # 3.7.3, encrypted comment
    "viaduct-ai-kustomize-sops/test/krm/metadata/secret.enc.env",  # 3.7.2, unencrypted_regex
])
def test_old_dotenv_vectors_reproduce_with_sorted_metadata(path: str) -> None:
    data = vector(path)
    lines = data.decode().splitlines(keepends=True)
    content = [line for line in lines if not line.startswith("sops_")]
    metadata = sorted((line for line in lines if line.startswith("sops_")),
                      key=lambda line: line.split("=", 1)[0])
    assert round_trip("dotenv", data, TAB) == "".join(content + metadata).encode()


@pytest.mark.parametrize("path", [
    "Mic92-sops-nix/secrets.ini",  # 3.7.3, encrypted section comment
    "getsops-sops/example.ini",  # 3.5.0, two PGP keys, a key with `_unencrypted`
])
def test_old_ini_vectors_reproduce_with_sorted_metadata(path: str) -> None:
    data = vector(path).decode()
    head, section = data.split("[sops]\n")
    lines = [line + "\n" for line in section.splitlines() if line]
    metadata = sorted(lines, key=lambda line: line.split(" ", 1)[0])
    assert round_trip("ini", data.encode(), TAB) == (head + "[sops]\n" + "".join(metadata)).encode()


def test_ini_multiline_metadata_of_3_13_1_is_read_and_written_escaped() -> None:
    # 3.13.0/3.13.1 wrote go-ini """ values; 3.13.2 writes the same value with \n escaped.
    data = vector("getsops-sops/functional-tests/res/format-2.enc.ini").decode()
    escaped = re.sub('"""(.*?)"""', lambda m: m.group(1).replace("\n", "\\n"), data, flags=re.S)
    assert round_trip("ini", data.encode(), TAB) == escaped.encode()
    _, metadata = ini_store.load_encrypted(data.encode())
    assert metadata is not None
    pgp = metadata.get("pgp")
    assert isinstance(pgp, Sequence) and isinstance(pgp[0], Mapping)
    enc = pgp[0].get("enc")
    assert isinstance(enc, str)
    assert enc.startswith("-----BEGIN PGP MESSAGE-----\n\n")


def test_dotenv_metadata_is_a_nested_tree_of_strings() -> None:
    data = vector("fluxcd-kustomize-controller/envs/env.env")
    documents, metadata = dotenv_store.load_encrypted(data)
    assert [item.key for item in documents[0] if isinstance(item, Pair)] == ["key"]
    assert metadata is not None
    assert metadata.keys() == ["age", "lastmodified", "mac", "unencrypted_suffix", "version"]
    age = metadata.get("age")
    assert isinstance(age, Sequence) and isinstance(age[0], Mapping)
    assert age[0].keys() == ["enc", "recipient"]
    enc = age[0].get("enc")
    assert isinstance(enc, str)
    assert enc.endswith("-----END AGE ENCRYPTED FILE-----\n")


def test_json_metadata_keeps_go_nil_lists_as_null() -> None:
    _, metadata = json_store.load_encrypted(vector("getsops-sops/example.json"))
    assert metadata is not None
    assert metadata.get("kms") is None
    assert metadata.keys()[:3] == ["kms", "gcp_kms", "azure_kv"]


# -- flattened metadata ------------------------------------------------------------------------

NESTED = doc(
    Pair("age", Sequence([doc(Pair("enc", "a\nb\n"), Pair("recipient", "age1x")),
                          doc(Pair("enc", "c"), Pair("recipient", "age1y"))])),
    Pair("key_groups", Sequence([doc(Pair("hc_vault", Sequence()),
                                     Pair("pgp", Sequence([doc(Pair("fp", "F"))])))])),
    Pair("kms", NilList()),
    Pair("mac_only_encrypted", True),
    Pair("shamir_threshold", 2),
    Pair("lastmodified", "2024-01-02T03:04:05Z"),
)


@pytest.mark.parametrize(("tree", "flat"), [
    (doc(Pair("a", "1")), [("a", "1")]),
    (doc(Pair("a", doc(Pair("b", doc(Pair("c", "x")))))), [("a__map_b__map_c", "x")]),
    (doc(Pair("l", Sequence(["x", "y"]))), [("l__list_0", "x"), ("l__list_1", "y")]),
    (doc(Pair("l", Sequence([doc(Pair("k", "v")), doc(Pair("k", "w"))]))),
     [("l__list_0__map_k", "v"), ("l__list_1__map_k", "w")]),
    (doc(Pair("l", Sequence([Sequence(["x"])]))), [("l__list_0__list_0", "x")]),
    (doc(Pair("b", True), Pair("i", 3)), [("b", True), ("i", 3)]),
])
def test_flatten_and_unflatten_round_trip(tree: Mapping, flat: list[tuple[str, Value]]) -> None:
    assert flatten(tree) == flat
    assert unflatten(flat) == tree


def test_flatten_drops_empty_lists_and_keeps_null_leaves() -> None:
    assert flatten(doc(Pair("a", Sequence()), Pair("b", NilList()), Pair("c", None),
                       Pair("d", Mapping()), Comment("x"))) == [("c", None)]


def test_metadata_items_are_sorted_typed_as_text_and_escaped() -> None:
    assert metadata_items(NESTED) == [
        ("age__list_0__map_enc", "a\\nb\\n"),
        ("age__list_0__map_recipient", "age1x"),
        ("age__list_1__map_enc", "c"),
        ("age__list_1__map_recipient", "age1y"),
        ("key_groups__list_0__map_pgp__list_0__map_fp", "F"),
        ("lastmodified", "2024-01-02T03:04:05Z"),
        ("mac_only_encrypted", "true"),
        ("shamir_threshold", "2"),
    ]


def test_metadata_items_sort_as_text_so_list_10_comes_before_2() -> None:
    tree = doc(Pair("age", Sequence([doc(Pair("recipient", str(i))) for i in range(11)])))
    keys = [key for key, _ in metadata_items(tree)]
    assert keys[:3] == ["age__list_0__map_recipient", "age__list_10__map_recipient",
                        "age__list_1__map_recipient"]


def test_metadata_tree_types_what_sops_types() -> None:
    tree = metadata_tree(metadata_items(NESTED))
    assert tree.get("mac_only_encrypted") is True
    assert tree.get("shamir_threshold") == 2
    assert tree.get("lastmodified") == "2024-01-02T03:04:05Z"
    age = tree.get("age")
    assert isinstance(age, Sequence) and isinstance(age[0], Mapping)
    assert age[0].get("enc") == "a\nb\n"
    assert metadata_tree([("mac_only_encrypted", "yes")]).get("mac_only_encrypted") is False


@pytest.mark.parametrize(("flat", "tree"), [
    ([("l__list_2", "z")], doc(Pair("l", Sequence([None, None, "z"])))),  # Go: nil gaps
    ([("a", "1"), ("b", "2"), ("a", "3")], doc(Pair("a", "3"), Pair("b", "2"))),  # last wins
    ([("x___map_y", "1")], doc(Pair("x_", doc(Pair("y", "1"))))),
])
def test_unflatten_follows_go(flat: list[tuple[str, str]], tree: Mapping) -> None:
    assert metadata_tree(flat) == tree


@pytest.mark.parametrize(("flat", "message"), [
    ([("shamir_threshold", "2.0")], "shamir_threshold is not an integer"),
    ([("age__list_x", "1")], "bad list index"),
    ([("age", "1"), ("age__list_0", "2")], "clashes"),
    ([("a__map_b", "1"), ("a__list_0", "2")], "clashes"),
])
def test_bad_flat_metadata_is_an_error(flat: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(GuardError, match=message):
        metadata_tree(flat)


@pytest.mark.parametrize(("value", "text"), [
    ("s", "s"), (True, "true"), (False, "false"), (5, "5"), (1.5, "1.500000"),
    (float("inf"), "+Inf"), (float("nan"), "NaN"), (None, "<nil>"), (b"\xff", "\udcff"),
    (Timestamp("2024-01-02T10:00:00Z"), "2024-01-02 10:00:00 +0000 UTC"),
    (Timestamp("2024-01-02T10:00:00.25-05:30"), "2024-01-02 10:00:00.25 -0530 -0530"),
])
def test_non_strings_are_written_as_sops_value_to_string(value: Any, text: str) -> None:
    assert go_text(value) == text


# -- JSON --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (0.1, "0.1"), (1e21, "1e+21"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (1e-6, "0.000001"),
    (100.0, "100"), (-0.0, "-0"), (1e20, "100000000000000000000"), (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (-2.5e-100, "-2.5e-100"),
])
def test_json_floats_format_as_go(value: float, text: str) -> None:
    assert json_store.format_json_float(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (9223372036854775807, "9223372036854775807"), (-(2**63), "-9223372036854775808"),
    (True, "true"), (None, "null"), (NilList(), "null"), (Mapping(), "{}"), (Sequence(), "[]"),
    (Timestamp("2024-01-02T10:00:00Z"), '"2024-01-02T10:00:00Z"'), (b"a\xffb", '"a\\ufffdb"'),
])
def test_json_scalars_and_empty_containers(value: Value, text: str) -> None:
    assert json_store.encode_value(value, "\t") == text


@pytest.mark.parametrize(("text", "quoted"), [
    ("<a href='x'>&</a>", '"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e"'),
    ("line\u2028par\u2029", '"line\\u2028par\\u2029"'),
    ("\x00\x01\x1f\x7f", '"\\u0000\\u0001\\u001f\x7f"'),
    ("\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'),
    ('quote " back \\', '"quote \\" back \\\\"'),
    ("é ü 中 😀", '"é ü 中 😀"'),
    ("bad \udcff byte", '"bad \\ufffd byte"'),
])
def test_json_strings_escape_as_go_marshal(text: str, quoted: str) -> None:
    assert json_store.quote(text) == quoted


@pytest.mark.parametrize(("literal", "value"), [
    (b"8080", 8080), (b"-0", 0), (b"9223372036854775807", 9223372036854775807),
    (b"9223372036854775808", 9.223372036854775808e18), (b"1.0", 1.0), (b"1e3", 1000.0),
    (b"-1.5E-2", -0.015), (b"1" + b"0" * 400, None),
])
def test_json_numbers_load_as_sops_3_13_2(literal: bytes, value: float | None) -> None:
    if value is None:
        with pytest.raises(GuardError, match="out of range"):
            json_store.load_plain(b'{"n": ' + literal + b"}")
        return
    loaded = json_store.load_plain(b'{"n": ' + literal + b"}")[0].get("n")
    assert loaded == value
    assert type(loaded) is type(value)


def test_json_keeps_order_and_repeated_keys_and_writes_tabs() -> None:
    data = b'{"b": 1, "a": [1, {"x": null}, []], "b": {}}'
    (document,) = json_store.load_plain(data)
    assert document.keys() == ["b", "a", "b"]
    assert json_store.emit_plain([document], TAB) == (
        b'{\n\t"b": 1,\n\t"a": [\n\t\t1,\n\t\t{\n\t\t\t"x": null\n\t\t},\n\t\t[]\n\t],\n'
        b'\t"b": {}\n}\n')


@pytest.mark.parametrize(("indent", "expected"), [
    (None, b'{\n\t"a": [\n\t\t1\n\t]\n}'), (-1, b'{\n\t"a": [\n\t\t1\n\t]\n}'),
    (2, b'{\n  "a": [\n    1\n  ]\n}'), (0, b'{\n"a": [\n1\n]\n}'),
])
def test_json_indent_options(indent: int | None, expected: bytes) -> None:
    document = doc(Pair("a", Sequence([1])))
    options = EmitOptions(indent=indent, final_newline=False)
    assert json_store.emit_plain([document], options) == expected


def test_json_leaves_comments_out() -> None:
    document = doc(Comment("top"), Pair("a", Sequence([Comment("in"), "x"])), Comment("end"))
    assert json_store.emit_plain([document], TAB) == b'{\n\t"a": [\n\t\t"x"\n\t]\n}\n'


def test_json_metadata_is_the_last_key_and_is_taken_out_on_reading() -> None:
    metadata = doc(Pair("kms", NilList()), Pair("version", "3.13.2"))
    data = json_store.emit_encrypted([doc(Pair("a", "x"))], metadata, TAB)
    assert data == (b'{\n\t"a": "x",\n\t"sops": {\n\t\t"kms": null,\n'
                    b'\t\t"version": "3.13.2"\n\t}\n}\n')
    documents, loaded = json_store.load_encrypted(data)
    assert documents == [doc(Pair("a", "x"))]
    assert loaded == doc(Pair("kms", None), Pair("version", "3.13.2"))


@pytest.mark.parametrize(("data", "metadata"), [
    (b'{"a": 1}', None), (b'{"a": 1, "sops": null}', None),
])
def test_json_without_metadata(data: bytes, metadata: Mapping | None) -> None:
    assert json_store.load_encrypted(data) == ([doc(Pair("a", 1))], metadata)


@pytest.mark.parametrize(("data", "message", "line", "column"), [
    (b'{\n  "a": 1,\n  "b" 2\n}', "Expecting ':'", 3, 7),
    (b'{"a": 1} trailing', "Extra data", 1, 10),
    (b'[1, 2]', "top level is an object", 1, 1),
    (b'\n  "secret"', "top level is an object", 2, 3),
    (b'{"a":\n NaN}', "NaN is not a JSON value", 2, 2),
    (b'{"a": -Infinity}', "-Infinity is not a JSON value", 1, 7),
    (b'{"a": "x",\n "b": 1e999}', "out of range", 2, 7),
    (b"", "Expecting value", 1, 1),
    (b'{"a": "\x01"}', "Invalid control character", 1, 8),
])
def test_bad_json_is_an_error_with_its_position(data: bytes, message: str, line: int,
                                                column: int) -> None:
    with pytest.raises(GuardError, match=message) as caught:
        json_store.load_plain(data)
    assert (caught.value.line, caught.value.column) == (line, column)


@pytest.mark.parametrize(("data", "message"), [
    (b'{"sops": {}, "sops": {}}', "more than one"),
    (b'{"sops": "x"}', "not a JSON object"),
])
def test_bad_json_metadata_is_an_error(data: bytes, message: str) -> None:
    with pytest.raises(GuardError, match=message):
        json_store.load_encrypted(data)


def test_json_strings_that_go_would_not_decode_become_replacement_chars() -> None:
    (document,) = json_store.load_plain(b'{"a": "x\xffy", "b": "\\ud800"}')
    assert document == doc(Pair("a", "x\ufffdy"), Pair("b", "\ufffd"))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_json_cannot_write_nan_or_infinity(value: float) -> None:
    with pytest.raises(GuardError, match="NaN and infinity"):
        json_store.emit_plain([doc(Pair("a", value))], TAB)


def test_json_refuses_bad_indent_and_no_document() -> None:
    with pytest.raises(GuardError, match="indentation"):
        json_store.emit_plain([doc()], EmitOptions(indent=-2))
    with pytest.raises(GuardError, match="no document"):
        json_store.emit_plain([], TAB)


# -- dotenv ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "document"), [
    (b"foo = bar\n", doc(Pair("foo ", " bar"))),  # no trimming
    (b"KEY=a=b", doc(Pair("KEY", "a=b"))),  # split at the first `=`
    (b"A=1\r\nB=2\r\n", doc(Pair("A", "1\r"), Pair("B", "2\r"))),  # CRLF keeps its \r
    (b"#comment\n# spaced\n", doc(Comment("comment"), Comment(" spaced"))),
    (b"A=x\\ny\\n", doc(Pair("A", "x\ny\n"))),  # literal backslash-n is a newline
    (b"\n\nA=\"quoted\"\n\n", doc(Pair("A", '"quoted"'))),  # empty lines dropped, no quoting
    (b"A=\nB", None),
    (b"EMPTY=\n=novalue\n", doc(Pair("EMPTY", ""), Pair("", "novalue"))),
    (b"A=caf\xc3\xa9 \xff\n", doc(Pair("A", "café \udcff"))),
])
def test_dotenv_lines(data: bytes, document: Mapping | None) -> None:
    if document is None:
        with pytest.raises(GuardError, match="no '='") as caught:
            dotenv_store.load_plain(data)
        assert caught.value.line == 2
        return
    assert dotenv_store.load_plain(data) == [document]
    again = dotenv_store.emit_plain([document], TAB)
    assert dotenv_store.load_plain(again) == [document]


def test_dotenv_writes_back_what_it_read() -> None:
    data = b"#c\nfoo = bar\nA=x\\ny\nB=caf\xc3\xa9\xff\r\n"
    assert dotenv_store.emit_plain(dotenv_store.load_plain(data), TAB) == data


def test_dotenv_error_does_not_show_the_line() -> None:
    with pytest.raises(GuardError) as caught:
        dotenv_store.load_plain(b"TOKEN=1\nhunter2-secret\n")
    assert "hunter2" not in str(caught.value)
    assert caught.value.line == 2


def test_dotenv_writes_other_stores_values_as_sops_does() -> None:
    document = doc(Pair("i", 5), Pair("f", 0.5), Pair("b", True), Pair("n", None),
                   Comment(" note"), Pair("s", "two\nlines"))
    assert dotenv_store.emit_plain([document], TAB) == (
        b"i=5\nf=0.500000\nb=true\nn=<nil>\n# note\ns=two\\nlines\n")


@pytest.mark.parametrize("value", [Mapping(), Sequence(["x"])])
def test_dotenv_cannot_hold_nested_values(value: Value) -> None:
    with pytest.raises(GuardError, match="nested value of 'k'"):
        dotenv_store.emit_plain([doc(Pair("k", value))], TAB)


def test_dotenv_encrypted_puts_sorted_metadata_after_the_data() -> None:
    metadata = doc(Pair("version", "3.13.2"), Pair("mac_only_encrypted", False),
                   Pair("age", Sequence([doc(Pair("recipient", "r"), Pair("enc", "x\ny\n"))])))
    data = dotenv_store.emit_encrypted([doc(Pair("z", "1"), Comment("c"))], metadata, TAB)
    assert data == (b"z=1\n#c\nsops_age__list_0__map_enc=x\\ny\\n\n"
                    b"sops_age__list_0__map_recipient=r\nsops_mac_only_encrypted=false\n"
                    b"sops_version=3.13.2\n")
    documents, loaded = dotenv_store.load_encrypted(data)
    assert documents == [doc(Pair("z", "1"), Comment("c"))]
    age = doc(Pair("enc", "x\ny\n"), Pair("recipient", "r"))
    assert loaded == doc(Pair("age", Sequence([age])), Pair("mac_only_encrypted", False),
                         Pair("version", "3.13.2"))


def test_dotenv_without_metadata() -> None:
    assert dotenv_store.load_encrypted(b"A=1\n") == ([doc(Pair("A", "1"))], None)


# -- INI ---------------------------------------------------------------------------------------

INI = b"""top = 1
; about s
# second line
[s]
; before a
a=1
long_key : 'single'
inline = value ; after
b = \"\"\"x
y\"\"\"
c = a\\
  b
`k=1` = v
"q" = "double"

[empty]
"""


def test_ini_reads_sections_comments_and_go_ini_values() -> None:
    assert ini_store.load_plain(INI) == [doc(
        Pair("DEFAULT", doc(Pair("top", "1"))),
        Pair("s", doc(Comment("about s\n# second line"), Pair("a", "1"), Comment("before a"),
                      Pair("long_key", "single"), Pair("inline", "value"), Comment("after"),
                      Pair("b", "x\ny"), Pair("c", "ab"), Pair("k=1", "v"), Pair("q", "double"))),
        Pair("empty", doc()),
    )]


def test_ini_writes_aligned_keys_and_comments_in_front() -> None:
    # An inline comment is written on its own line before its key, as go-ini does.
    assert ini_store.emit_plain(ini_store.load_plain(INI), TAB) == b"""top = 1

; about s
# second line
[s]
; before a
a        = 1
long_key = single
; after
inline   = value
b        = \"\"\"x
y\"\"\"
c        = ab
`k=1`    = v
q        = double

[empty]
"""


@pytest.mark.parametrize(("value", "written"), [
    ("plain", "plain"), ("", ""), ("a#b", "`a#b`"), ("a;b", "`a;b`"), (" pad ", '" pad "'),
    ("two\nlines", '"""two\nlines"""'), ("back`tick", '"""back`tick"""'),
])
def test_ini_quotes_values_as_go_ini(value: str, written: str) -> None:
    data = ini_store.emit_plain([doc(Pair("s", doc(Pair("k", value))))], TAB)
    assert data == f"[s]\nk = {written}\n".encode()
    assert ini_store.load_plain(data) == [doc(Pair("DEFAULT", doc()),
                                              Pair("s", doc(Pair("k", value))))]


@pytest.mark.parametrize(("key", "line"), [
    ("k:x", "`k:x` = v"), ('k"x', '`k"x` = v'), ("k`x", '"""k`x""" = v'),
])
def test_ini_quotes_keys_as_go_ini(key: str, line: str) -> None:
    data = ini_store.emit_plain([doc(Pair("s", doc(Pair(key, "v"))))], TAB)
    assert data == f"[s]\n{line}\n".encode()
    assert ini_store.load_plain(data)[0].get("s") == doc(Pair(key, "v"))


# What go-ini's writer (and so Go sops) would write here reads back changed; the writer uses
# the first other quoting that go-ini's reader gives back exactly (go-ini's own is kept
# wherever it reads back, so files stay byte-identical to Go's: see above).
@pytest.mark.parametrize(("value", "written"), [
    ("C:\\", "`C:\\`"),  # bare, the backslash continues the value on the next line
    ("'x'", "`'x'`"), ('"x"', '`"x"`'), ("''", "`''`"),  # bare, one pair of quotes goes
    (' a"b ', '` a"b `'),  # in "...", the inner quote keeps the outer ones on
    ('"" a ', '`"" a `'),  # go-ini's `""" a "` opens a multi-line value
    ('"""x', '`"""x`'), ('"""', '`"""`'),  # so does a bare leading """
    ('a"""b\nc', '`a"""b\nc`'),  # a multi-line """ would close on the first line
])
def test_ini_quotes_values_go_ini_would_read_back_changed(value: str, written: str) -> None:
    data = ini_store.emit_plain([doc(Pair("s", doc(Pair("k", value), Pair("next", "1"))))], TAB)
    assert data == f"[s]\nk    = {written}\nnext = 1\n".encode()
    assert ini_store.load_plain(data)[0].get("s") == doc(Pair("k", value), Pair("next", "1"))


@pytest.mark.parametrize(("key", "line"), [
    ("#1", "`#1` = v"), (";a", "`;a` = v"), ("[x]", "`[x]` = v"),  # else a comment or section
    ("a`=b", '"a`=b" = v'), ("a`:b", '"a`:b" = v'),  # in backticks it would end at its own
    ('a`"b', '"""a`"b""" = v'),
])
def test_ini_quotes_keys_go_ini_would_read_back_changed(key: str, line: str) -> None:
    data = ini_store.emit_plain([doc(Pair("s", doc(Pair(key, "v"))))], TAB)
    assert data == f"[s]\n{line}\n".encode()
    assert ini_store.load_plain(data)[0].get("s") == doc(Pair(key, "v"))


@pytest.mark.parametrize(("key", "written"), [
    ("\ufeffk", b"`\xef\xbb\xbfk` = v\n"), ("\udcff\udcfek", b"`\xff\xfek` = v\n"),
    ("\udcfe\udcffk", b"`\xfe\xffk` = v\n"),
])
def test_ini_quotes_a_first_key_starting_with_a_byte_order_mark(key: str, written: bytes) -> None:
    # go-ini drops a BOM at the start of the file; elsewhere the key is written as go-ini does.
    data = ini_store.emit_plain([doc(Pair("DEFAULT", doc(Pair(key, "v"), Pair(key + "2", "v"))))],
                                TAB)
    assert data.startswith(written)
    assert data.split(b"\n")[1].startswith(key.encode("utf-8", "surrogateescape") + b"2 ")
    assert ini_store.load_plain(data)[0].get("DEFAULT") == doc(Pair(key, "v"), Pair(key + "2", "v"))


def test_ini_aligns_keys_by_their_quoted_width() -> None:
    data = ini_store.emit_plain([doc(Pair("s", doc(Pair("#1", "1"), Pair("abc", "2"))))], TAB)
    assert data == b"[s]\n`#1` = 1\nabc  = 2\n"


def test_ini_comment_text_is_written_as_go_ini_does() -> None:
    document = doc(Comment("dropped"), Pair("s", doc(
        Comment(" section"), Pair("a", "1"), Comment(" key a"), Pair("b", "2"), Comment("#hash"),
        Comment("second wins"))))
    assert ini_store.emit_plain([document], TAB) == (
        b";  section\n[s]\n; key a\na = 1\n; second wins\nb = 2\n")


def test_ini_repeated_sections_and_keys_merge() -> None:
    data = b"[s]\na = 1\nb = 2\n[t]\n[s]\na = 3\n"
    assert ini_store.load_plain(data) == [doc(
        Pair("DEFAULT", doc()), Pair("s", doc(Pair("a", "3"), Pair("b", "2"))),
        Pair("t", doc()))]


def test_ini_values_from_other_stores() -> None:
    document = doc(Pair("s", doc(Pair("i", 5), Pair("f", 1.5), Pair("b", False))))
    assert ini_store.emit_plain([document], TAB) == b"[s]\ni = 5\nf = 1.500000\nb = false\n"


@pytest.mark.parametrize(("document", "message"), [
    (doc(Pair("top", "x")), "section 'top' must be a mapping"),
    (doc(Pair("s", doc(Pair("k", doc())))), "nested value of 'k'"),
    (doc(Pair("", doc())), "empty name"),
    (doc(Pair("s", doc(Pair("", "v")))), "empty name"),
    # No quoting go-ini reads gives these back: refused, naming the key and never the value.
    (doc(Pair("s", doc(Pair(" k", "s3cret")))), "key ' k' cannot be written: go-ini trims"),
    (doc(Pair("s", doc(Pair("k\u3000", "s3cret")))), "key 'k\\\\u3000' cannot be written"),
    (doc(Pair("s", doc(Pair("k\nx", "s3cret")))), "key 'k\\\\nx' cannot be written: go-ini "
                                                    "reads a key from one line"),
    (doc(Pair("s", doc(Pair("-", "s3cret")))), "key '-' cannot be written: .* auto-increment"),
    (doc(Pair("s", doc(Pair('a`"', "s3cret")))), "key 'a`\"' cannot be written: it holds a "
                                                  "backtick and a double quote"),
    (doc(Pair("s", doc(Pair('a`"""b', "s3cret")))), "key 'a`\"\"\"b' cannot be written"),
    (doc(Pair("s", doc(Pair("k", 's3cret"""\n`\nend')))), "value of key 'k' cannot be written"),
    (doc(Pair("s", doc(Pair("k", 's3`\ncret"""\n')))), "value of key 'k' cannot be written"),
    (doc(Pair("a\nb", doc(Pair("k", "s3cret")))), "section 'a\\\\nb' cannot be written"),
    (doc(Pair("s", doc(Pair("\ud800", "s3cret")))), "not valid Unicode"),  # a lone surrogate
])
def test_ini_cannot_write_what_go_ini_cannot(document: Mapping, message: str) -> None:
    with pytest.raises(GuardError, match=message) as caught:
        ini_store.emit_plain([document], TAB)
    assert "s3cret" not in str(caught.value)


def test_ini_encrypted_refuses_an_unencrypted_value_it_cannot_write() -> None:
    # `_unencrypted` values are written as they are: the same rules as plaintext.
    document = doc(Pair("s", doc(Pair("k_unencrypted", 's3cret"""\n`\nend'))))
    with pytest.raises(GuardError, match="value of key 'k_unencrypted'") as caught:
        ini_store.emit_encrypted([document], doc(Pair("version", "3.13.2")), TAB)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(("data", "message", "line"), [
    (b"[s]\n[unclosed\n", "no closing ']'", 2),
    (b"[s]\n[]\n", "empty name", 2),
    (b"[s]\na = 1\nsecret-without-equals\n", "neither a section", 3),
    (b"[s]\n= value\n", "empty name", 2),
    (b'[s]\n"key = 1\n', "no closing quote", 2),
    (b'[s]\nk = """open\nstill open\n', "no closing quote", 2),
])
def test_bad_ini_is_an_error_with_its_line(data: bytes, message: str, line: int) -> None:
    with pytest.raises(GuardError, match=message) as caught:
        ini_store.load_plain(data)
    assert caught.value.line == line
    assert "secret" not in str(caught.value)


def test_ini_encrypted_puts_a_sorted_sops_section_last() -> None:
    group = doc(Pair("pgp", Sequence([doc(Pair("fp", "F"))])))
    metadata = doc(Pair("version", "3.13.2"), Pair("shamir_threshold", 2),
                   Pair("key_groups", Sequence([group])))
    data = ini_store.emit_encrypted([doc(Pair("s", doc(Pair("k", "v"))))], metadata, TAB)
    assert data == (b"[s]\nk = v\n\n[sops]\nkey_groups__list_0__map_pgp__list_0__map_fp = F\n"
                    b"shamir_threshold                            = 2\n"
                    b"version                                     = 3.13.2\n")
    documents, loaded = ini_store.load_encrypted(data)
    assert documents == [doc(Pair("DEFAULT", doc()), Pair("s", doc(Pair("k", "v"))))]
    assert loaded is not None
    assert loaded.get("shamir_threshold") == 2


def test_ini_without_metadata_and_boms() -> None:
    assert ini_store.load_encrypted(b"\xef\xbb\xbf[s]\nk=v\n") == (
        [doc(Pair("DEFAULT", doc()), Pair("s", doc(Pair("k", "v"))))], None)


# -- binary ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "value"), [
    (b"text\n", "text\n"), (b"\x00\xff\xfe raw", b"\x00\xff\xfe raw"), (b"", ""),
])
def test_binary_holds_the_whole_file_under_data(data: bytes, value: str | bytes) -> None:
    documents = binary_store.load_plain(data)
    assert documents == [doc(Pair("data", value))]
    assert binary_store.emit_plain(documents, TAB) == data


def test_binary_envelope_is_json() -> None:
    data = binary_store.emit_encrypted([doc(Pair("data", "ENC[x]"))], doc(Pair("version", "3.9.0")),
                                       OLD_TAB)
    assert data == b'{\n\t"data": "ENC[x]",\n\t"sops": {\n\t\t"version": "3.9.0"\n\t}\n}'
    assert binary_store.load_encrypted(data) == ([doc(Pair("data", "ENC[x]"))],
                                                 doc(Pair("version", "3.9.0")))


@pytest.mark.parametrize(("documents", "message"), [
    ([doc(Pair("other", "x"))], "needs a 'data' key"),
    ([doc(Pair("data", 5))], "must be a string"),
    ([doc(), doc()], "exactly one document"),
])
def test_binary_plain_needs_one_data_string(documents: list[Mapping], message: str) -> None:
    with pytest.raises(GuardError, match=message):
        binary_store.emit_plain(documents, TAB)


# -- corners ---------------------------------------------------------------------------------

def test_unflatten_lets_a_repeated_key_win_and_flatten_skips_nested_comments() -> None:
    assert unflatten([("a", "1"), ("a", "2")]) == doc(Pair("a", "2"))
    assert flatten(doc(Pair("m", doc(Comment("c"), Pair("k", "v"))))) == [("m__map_k", "v")]


def test_a_float_shamir_threshold_is_written_as_an_integer() -> None:
    assert metadata_items(doc(Pair("shamir_threshold", 3.0))) == [("shamir_threshold", "3")]


@pytest.mark.parametrize("store", [json_store, dotenv_store, ini_store])
def test_nothing_to_write_is_an_error(store: Any) -> None:
    with pytest.raises(GuardError, match="no document"):
        store.emit_plain([], TAB)


def test_text_that_cannot_be_encoded_is_an_error() -> None:
    with pytest.raises(GuardError, match="not valid Unicode"):
        dotenv_store.emit_plain([doc(Pair("k", "\ud800"))], TAB)


def test_json_nested_too_deeply_is_an_error() -> None:
    with pytest.raises(GuardError, match="nested too deeply"):
        json_store.load_plain(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


def test_json_refuses_a_value_that_is_not_in_the_model() -> None:
    with pytest.raises(GuardError, match="type object"):
        json_store.encode_value(object(), "\t")  # type: ignore[arg-type]


@pytest.mark.parametrize(("data", "section"), [
    (b"[s]\n# hash comment\nk = v\n", doc(Pair("k", "v"), Comment("hash comment"))),
    (b"[s]\n- = one\n- = two\n", doc(Pair("#1", "one"), Pair("#2", "two"))),  # auto-increment
    (b'[s]\nk = """a\nb""" ; tail\n', doc(Pair("k", "a\nb"), Comment("tail"))),
    (b"[s]\nk = a\\\n  b\\\n  c\n", doc(Pair("k", "abc"))),
    (b"[s]\nk = a\\", doc(Pair("k", "a"))),  # a continuation at the end of the file
    (b"[s]\nk = `x;y` ; z\n", doc(Pair("k", "x;y"))),  # a comment after a quoted value is lost
])
def test_ini_go_ini_reading_corners(data: bytes, section: Mapping) -> None:
    assert ini_store.load_plain(data)[0].get("s") == section


def test_ini_value_open_at_the_end_of_the_file_is_an_error() -> None:
    with pytest.raises(GuardError, match="no closing quote") as caught:
        ini_store.load_plain(b'[s]\nk = """open')
    assert caught.value.line == 2


def test_ini_comment_corners() -> None:
    # A second comment before any key has no key to belong to (sops drops it); an empty
    # comment line would crash go-ini, so it is written as a bare `;`.
    document = doc(Pair("s", doc(Comment("first"), Comment("lost"), Pair("k", "v"),
                                 Comment("a\n\nb"))))
    assert ini_store.emit_plain([document], TAB) == b"; first\n[s]\n; a\n;\n; b\nk = v\n"
