"""The YAML store: yaml.v3 scalar typing, sops' comment placement, and byte-identical output."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import EmitOptions, yaml_store
from gitops_guard.sops.values import (
    Comment,
    Mapping,
    NilList,
    Pair,
    Sequence,
    Timestamp,
    Value,
)

VECTORS = Path(__file__).parents[2].parent / "shared" / "interop" / "sops"
FLUX = "fluxcd-kustomize-controller"

# Every YAML vector written by sops >= 3.7 (go-yaml v3), and the indentation it was written with.
V3_VECTORS = [
    ("Mic92-sops-nix/secrets.yaml", 4),  # 3.7.1
    ("jkroepke-helm-secrets/values/sops/secrets.age.yaml", 4),  # 3.7.1, type:int
    ("viaduct-ai-kustomize-sops/test/krm/single/secret.enc.yaml", 4),  # 3.7.2
    (f"{FLUX}/algorithms/age.yaml", 2),  # 3.9.0
    (f"{FLUX}/algorithms/pgp.yaml", 2),  # 3.9.0, `enc: |-`
    (f"{FLUX}/patches/merge1.yaml", 2),  # 3.9.0
    (f"{FLUX}/patches/merge2.yaml", 2),  # 3.9.0
    (f"{FLUX}/global/secret.yaml", 2),  # 3.10.2
    ("getsops-sops/example.yaml", 4),  # 3.10.2, encrypted comments at the end of nested blocks
    (f"{FLUX}/algorithms/age-pq.yaml", 2),  # 3.12.1
    ("getsops-sops/functional-tests/res/format.enc.yaml", 4),  # 3.13.1
    ("jkroepke-helm-secrets/values/sops/secrets.trailing-newline.yaml", 4),  # 3.13.1
]
# Written by sops <= 3.6 with a yaml.v2 fork (`-   item`, single quotes): read, not reproduced.
V2_VECTORS = [
    "getsops-sops/functional-tests/res/comments.enc.yaml",  # 3.6.1
    "getsops-sops/functional-tests/res/comments_unencrypted_comments.yaml",  # 3.3.1
    "getsops-sops/functional-tests/res/multiple_keys.yaml",  # 3.3.1
    "getsops-sops/functional-tests/res/no_mac.yaml",  # 3.3.1
    "jkroepke-helm-secrets/values/sops/secrets.yaml",  # 3.5.0
]


def vector(path: str) -> bytes:
    if not VECTORS.is_dir():
        pytest.skip(f"the shared sops vectors are not here: {VECTORS}")
    return (VECTORS / path).read_bytes()


def load_one(text: str) -> Mapping:
    documents = yaml_store.load_plain(text.encode())
    assert len(documents) == 1
    return documents[0]


def emit(document: Mapping, indent: int = 4) -> str:
    return yaml_store.emit_plain([document], EmitOptions(indent=indent)).decode()


def shape(value: Value | Comment) -> object:
    """The tree with every scalar's type spelled out (so 1 != True != 1.0 != "1")."""
    if isinstance(value, Mapping):
        return ("map", [(i.key, shape(i.value)) if isinstance(i, Pair) else shape(i)
                        for i in value])
    if isinstance(value, Sequence):
        return ("seq", [shape(item) for item in value])
    return (type(value).__name__, value)


# -- the golden test: real sops files, read and written back byte for byte -----------------------

@pytest.mark.parametrize(("path", "indent"), V3_VECTORS)
def test_sops_files_are_reproduced_byte_for_byte(path: str, indent: int) -> None:
    data = vector(path)
    documents, metadata = yaml_store.load_encrypted(data)
    assert metadata is not None
    assert yaml_store.emit_encrypted(documents, metadata, EmitOptions(indent=indent)) == data


@pytest.mark.parametrize("path", V2_VECTORS)
def test_files_from_old_sops_are_read(path: str) -> None:
    documents, metadata = yaml_store.load_encrypted(vector(path))
    assert metadata is not None and isinstance(metadata.get("version"), str)
    assert not [item for document in documents for item in document
                if isinstance(item, Pair) and item.key == "sops"]


def test_a_plain_manifest_written_by_go_yaml_round_trips() -> None:
    data = vector(f"{FLUX}/inside/secret.yaml")
    assert yaml_store.emit_plain(yaml_store.load_plain(data), EmitOptions(indent=2)) == data


# -- reading: scalar typing as yaml.v3 resolves it -------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    # only the YAML 1.2 spellings are booleans
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False),
    ("yes", "yes"), ("No", "No"), ("on", "on"), ("off", "off"), ("y", "y"), ("tRUE", "tRUE"),
    # nulls
    ("~", None), ("null", None), ("Null", None), ("NULL", None), ("", None), ("nULL", "nULL"),
    # integers: Go's base prefixes, the old 0777 octal, underscores, beyond int64
    ("0", 0), ("42", 42), ("-7", -7), ("+7", 7), ("0x1F", 31), ("0o17", 15), ("0777", 511),
    ("0b101", 5), ("-0b101", -5), ("1_000", 1000), ("9223372036854775808", 2**63),
    ("0b-1", -1), ("0o+7", 7),  # resolve.go's second try, with an explicit base
    # floats, including what ParseInt rejects but the float pattern takes
    ("1.5", 1.5), ("1e3", 1000.0), ("-2.5E-1", -0.25), (".5", 0.5), ("-.5", -0.5), ("08", 8.0),
    ("99999999999999999999", 1e20), (".inf", math.inf), ("-.Inf", -math.inf),
    ("+.INF", math.inf),
    # strings that other resolvers type
    ("1e400", "1e400"), ("1:30", "1:30"), ("3.10.2", "3.10.2"), ("0x", "0x"), ("<<", "<<"),
    ("=", "="), ("ENC[AES256_GCM,data:x,type:str]", "ENC[AES256_GCM,data:x,type:str]"),
    # unquoted timestamps become Go's RFC 3339 text; zone-less `T` forms stay strings
    ("2024-01-02", Timestamp("2024-01-02T00:00:00Z")),
    ("2024-01-02T10:00:00Z", Timestamp("2024-01-02T10:00:00Z")),
    ("2024-1-2 3:04:05.50", Timestamp("2024-01-02T03:04:05.5Z")),
    ("2024-01-02T10:00:00.123+05:30", Timestamp("2024-01-02T10:00:00.123+05:30")),
    ("2024-01-02T10:00:00", "2024-01-02T10:00:00"),
    # quoted and block scalars are always strings
    ('"2024-01-02"', "2024-01-02"), ("'123'", "123"), ('"true"', "true"), ("''", ""),
    ("|\n  text", "text\n"), (">-\n  a\n  b", "a b"),
    # explicit tags
    ("!!str 123", "123"), ("!!int '12'", 12), ("!!float 3", 3.0), ("!!bool true", True),
    ("!!null ''", None), ("!!timestamp 2024-01-02", Timestamp("2024-01-02T00:00:00Z")),
    ("!!binary aGVsbG8=", "hello"), ("!!binary /wA=", b"\xff\x00"), ("!custom thing", "thing"),
    ("! 12", 12),
])
def test_scalars_are_typed_as_yaml_v3_types_them(text: str, expected: Value) -> None:
    assert shape(load_one(f"v: {text}\n").get("v")) == shape(expected)


def test_nan_is_a_float() -> None:
    value = load_one("v: .nan\n").get("v")
    assert isinstance(value, float) and math.isnan(value)


def test_aliases_are_expanded_and_merge_keys_stay_keys() -> None:
    # sops walks yaml.v3's nodes and never merges: `<<` is an ordinary key holding a copy.
    document = load_one("base: &b\n  x: 1\ncopy: *b\nmerged:\n  <<: *b\n  y: 2\nv: &s str\nw: *s\n")
    base = Mapping([Pair("x", 1)])
    assert document == Mapping([
        Pair("base", base), Pair("copy", base),
        Pair("merged", Mapping([Pair("<<", base), Pair("y", 2)])),
        Pair("v", "str"), Pair("w", "str"),
    ])
    assert document.get("copy") is not document.get("base")


def test_documents_and_empty_documents() -> None:
    documents = yaml_store.load_plain(b"a: 1\n---\n---\nb: 2\n--- ~\n")
    assert documents == [Mapping([Pair("a", 1)]), Mapping(), Mapping([Pair("b", 2)]), Mapping()]
    assert yaml_store.load_plain(b"") == []


# -- reading: comments where sops puts them --------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("# c\na: 1\n", [Comment(" c"), Pair("a", 1)], id="top-of-document"),
    pytest.param("a: 1 # c\nb: 2\n", [Pair("a", 1), Comment(" c", True), Pair("b", 2)],
                 id="inline"),
    pytest.param("a: 1\n# c\nb: 2\n", [Pair("a", 1), Comment(" c"), Pair("b", 2)], id="head"),
    pytest.param("a: 1\n#ENC[x,type:comment]\n", [Pair("a", 1), Comment("ENC[x,type:comment]")],
                 id="encrypted-comment"),
    pytest.param("a:\n  b: 1\n  # c\nd: 2\n",
                 [Pair("a", Mapping([Pair("b", 1), Comment(" c")])), Pair("d", 2)],
                 id="foot-at-the-nested-level"),
    pytest.param("a:\n  b: 1\n# c\nd: 2\n",
                 [Pair("a", Mapping([Pair("b", 1)])), Comment(" c"), Pair("d", 2)],
                 id="foot-at-the-outer-level"),
    pytest.param("a:\n  b:\n    c: 1\n    # deep\n  # mid\n# top\n",
                 [Pair("a", Mapping([Pair("b", Mapping([Pair("c", 1), Comment(" deep")])),
                                     Comment(" mid")])), Comment(" top")],
                 id="feet-at-each-level"),
    pytest.param("a:\n  # c\n  b: 1\n", [Pair("a", Mapping([Comment(" c"), Pair("b", 1)]))],
                 id="first-in-a-nested-block"),
    pytest.param("a: # c\n  b: 1\n", [Comment(" c"), Pair("a", Mapping([Pair("b", 1)]))],
                 id="on-the-line-of-a-key"),
    pytest.param("a: # c\nb: 1\n", [Comment(" c"), Pair("a", None), Pair("b", 1)],
                 id="on-the-line-of-an-empty-value"),
    pytest.param("a: |  # c\n  text\n", [Pair("a", "text\n"), Comment(" c", True)],
                 id="on-a-block-scalar-header"),
    # A block scalar ends at the start of the next line; a comment there is the next key's
    # (read as the scalar's own, an unencrypted_comment_regex match left it in clear text).
    pytest.param("key: |\n  s3cr3t\n# sops:plain\nname: x\n",
                 [Pair("key", "s3cr3t\n"), Comment(" sops:plain"), Pair("name", "x")],
                 id="after-a-block-scalar"),
    pytest.param("a: [1] # c\nb: {} # d\n",
                 [Pair("a", Sequence([Comment(" c"), 1])), Pair("b", Mapping([Comment(" d")]))],
                 id="on-the-line-of-a-flow-value"),
    pytest.param("l:\n  # h\n  - x # i\n  # b\n  - y\n  # f\nz: 1\n",
                 [Pair("l", Sequence([Comment(" h"), "x", Comment(" i", True), Comment(" b"),
                                      "y", Comment(" f")])), Pair("z", 1)],
                 id="in-a-sequence"),
    pytest.param("l:\n  - a: 1\n  # between\n  - # after the dash\n    b: 2\n",
                 [Pair("l", Sequence([Mapping([Pair("a", 1)]), Comment(" between"),
                                      Mapping([Comment(" after the dash"), Pair("b", 2)])]))],
                 id="between-mapping-items"),
    pytest.param("a: 1 # c\r\n", [Pair("a", 1), Comment(" c", True)], id="crlf"),
    pytest.param("  a: 1\n# c\n", [Pair("a", 1), Comment(" c")], id="under-an-indented-root"),
    pytest.param("x: &k name\n*k: 1\n&j y: 2\nz: *j\n",
                 [Pair("x", "name"), Pair("name", 1), Pair("y", 2), Pair("z", "y")],
                 id="aliases-and-keys"),
    pytest.param("# before\n---\na: 1\n...\n# after\n",
                 [Comment(" before"), Pair("a", 1), Comment(" after")], id="around-markers"),
])
def test_comments_are_placed_as_sops_places_them(text: str, expected: list[Value]) -> None:
    assert load_one(text) == Mapping(expected)


# -- writing: scalar styles ------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "written"), [
    # strings that would read back as something else are double-quoted
    ("123", '"123"'), ("true", '"true"'), ("null", '"null"'), ("~", '"~"'), ("", '""'),
    ("1.5", '"1.5"'), ("0x1F", '"0x1F"'), ("2024-11-12T13:33:42Z", '"2024-11-12T13:33:42Z"'),
    # ... and so are YAML 1.1 booleans and sexagesimal numbers, for older parsers
    ("yes", '"yes"'), ("Off", '"Off"'), ("y", '"y"'), ("1:30", '"1:30"'),
    # what plain style cannot hold is single-quoted, unless that cannot either
    (" lead", "' lead'"), ("trail ", "'trail '"), ("a: b", "'a: b'"), ("# x", "'# x'"),
    ("a #b", "'a #b'"), ("- x", "'- x'"), ("'q'", "'''q'''"), ('"q"', "'\"q\"'"),
    ("tab\there", '"tab\\there"'), ("bell\a", '"bell\\a"'), ("\ufeffbom", '"\\uFEFFbom"'),
    ("\x01\x85", '"\\x01\\N"'), ("a\u2028b", "'a\u2028    b'"),
    ("\udcff", "!!binary /w=="),  # raw bytes kept in a str by surrogateescape
    # plain where it is safe, unicode unescaped (but not outside the BMP, as yaml.v3 does)
    ("a#b", "a#b"), ("-x", "-x"), ("it's", "it's"), ("héllo wörld", "héllo wörld"),
    ("😀", '"\\U0001F600"'), ("ENC[AES256_GCM,data:q+/=]", "ENC[AES256_GCM,data:q+/=]"),
    # a plain `<<` reads back as a merge key, and yaml.v3 keeps that tag
    ("<<", "!!merge <<"),
    # yaml.v3 never folds long lines
    ("word " * 30 + "end", "word " * 30 + "end"),
    # line breaks: literal blocks, chomping from the trailing newlines
    ("multi\nline", "|-\n    multi\n    line"), ("line\n", "|\n    line\n"),
    ("trail\n\n", "|+\n    trail\n\n"), (" lead\nx", "|4-\n     lead\n    x"),
    ("sp \nx", '"sp \\nx"'),
    # a leading line break is kept, after the header's own (yaml.v3 v3.0.1 drops it)
    ("\nfirst", "|4-\n\n    first"), ("\n", "|4+\n\n"), ("\n\n", "|4+\n\n\n"),
    ("\u2028x\ny", "|4-\n\u2028    x\n    y"),
    # a leading tab needs the indentation indicator too (v3.0.1 omits it: unreadable)
    ("\tb\nc", "|4-\n    \tb\n    c"),
    # other types
    (None, "null"), (True, "true"), (False, "false"), (-42, "-42"), (2**64 - 1, str(2**64 - 1)),
    (0.1, "0.1"), (3.0, "3"), (1e6, "1e+06"), (123456.0, "123456"), (1.5e-7, "1.5e-07"),
    (-0.0, "-0"), (math.inf, ".inf"), (-math.inf, "-.inf"), (math.nan, ".nan"),
    (Timestamp("2024-01-02T03:04:05.5+02:00"), "2024-01-02T03:04:05.5+02:00"),
    (b"raw utf-8", "raw utf-8"), (b"\xff\x00", "!!binary /wA="),
    (b"\xff" * 60, "!!binary |\n    " + "/" * 70 + "\n    " + "/" * 10 + "\n"),
    (Mapping(), "{}"), (Sequence(), "[]"), (NilList(), "[]"),
])
def test_scalars_are_written_as_yaml_v3_writes_them(value: Value, written: str) -> None:
    # A block scalar that ends in a line break ends the document with it.
    end = "" if written.endswith("\n") else "\n"
    assert emit(Mapping([Pair("v", value)])) == f"v: {written}{end}"


@pytest.mark.parametrize(("key", "written"), [
    ("plain", "plain: 1"), ("123", '"123": 1'), ("", '"": 1'), ("a: b", "'a: b': 1"),
    ("two\nlines", '? |-\n    two\n    lines\n: 1'), ("k" * 129, f"? {'k' * 129}\n: 1"),
    ("\n", "? |4+\n\n: 1"), ("\nx", "? |4-\n\n    x\n: 1"),  # v3.0.1: `"": 1`, `"x": 1`
])
def test_keys_are_written_as_yaml_v3_writes_them(key: str, written: str) -> None:
    assert emit(Mapping([Pair(key, 1)])) == written + "\n"


# -- writing: layout -------------------------------------------------------------------------------

NESTED = Mapping([Pair("a", Mapping([
    Pair("b", Mapping([Pair("c", 1)])),
    Pair("list", Sequence(["x", Sequence(["p", "q"]), Mapping([Pair("k", 1), Pair("m", 2)]),
                           "multi\nline"])),
]))])


@pytest.mark.parametrize(("indent", "text"), [
    (4, "a:\n    b:\n        c: 1\n    list:\n        - x\n        - - p\n          - q\n"
        "        - k: 1\n          m: 2\n        - |-\n          multi\n          line\n"),
    (2, "a:\n  b:\n    c: 1\n  list:\n    - x\n    - - p\n      - q\n"
        "    - k: 1\n      m: 2\n    - |-\n      multi\n      line\n"),
])
def test_indentation_follows_yaml_v3(indent: int, text: str) -> None:
    assert emit(NESTED, indent) == text
    assert load_one(text) == NESTED


@pytest.mark.parametrize(("indent", "used"), [(None, 4), (0, 4), (2, 2), (9, 9), (1, 2), (10, 2)])
def test_the_indent_option_follows_yaml_v3(indent: int | None, used: int) -> None:
    written = yaml_store.emit_plain([Mapping([Pair("a", Mapping([Pair("b", 1)]))])],
                                    EmitOptions(indent=indent))
    assert written == f"a:\n{' ' * used}b: 1\n".encode()


def test_a_negative_indent_is_an_error() -> None:
    with pytest.raises(GuardError):
        yaml_store.emit_plain([Mapping()], EmitOptions(indent=-1))


COMMENTED = """\
# top of document
a: 1 # inline
# head of b
b:
  # first in b
  c: x
  # foot of b
list:
  # head of the first item
  - one # inline item
  # between items
  - two
  # foot of the list
d:
  - k: v
    # foot of the item's mapping
#ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:comment]
e: z
# end of document
"""


def test_comments_are_written_where_they_were_read() -> None:
    document = load_one(COMMENTED)
    assert document == Mapping([
        Comment(" top of document"), Pair("a", 1), Comment(" inline", True),
        Comment(" head of b"),
        Pair("b", Mapping([Comment(" first in b"), Pair("c", "x"), Comment(" foot of b")])),
        Pair("list", Sequence([Comment(" head of the first item"), "one",
                               Comment(" inline item", True), Comment(" between items"), "two",
                               Comment(" foot of the list")])),
        Pair("d", Sequence([Mapping([Pair("k", "v"), Comment(" foot of the item's mapping")])])),
        Comment("ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:comment]"), Pair("e", "z"),
        Comment(" end of document"),
    ])
    assert emit(document, 2) == COMMENTED


def test_comments_before_a_mapping_item_come_before_its_own() -> None:
    document = load_one("l:\n  - a: 1\n  # between\n  - # after the dash\n    b: 2\n")
    assert emit(document, 2) == "l:\n  - a: 1\n  # between\n  # after the dash\n  - b: 2\n"


def test_a_line_comment_on_a_block_collection_moves_on_as_yaml_v3_moves_it() -> None:
    # sops hangs it on the collection's node; yaml.v3 writes it on the next scalar's line, or
    # after the next key whose value is a block.
    document = Mapping([Pair("a", Mapping([Pair("b", 1)])), Comment(" c", True), Pair("d", 2),
                        Pair("e", Sequence(["x"])), Comment(" f", True),
                        Pair("g", Sequence(["w"]))])
    assert emit(document, 2) == "a:\n  b: 1\nd: 2 # c\ne:\n  - x\ng: # f\n  - w\n"


def test_multi_line_comment_text_keeps_every_line_a_comment() -> None:
    assert emit(Mapping([Comment("a\nb"), Pair("k", 1)])) == "#a\n# b\nk: 1\n"


def test_a_comment_of_a_last_empty_sequence_ends_its_document() -> None:
    documents = [Mapping([Pair("s", Sequence([Comment(" c")]))]), Mapping([Pair("b", 1)])]
    written = yaml_store.emit_plain(documents, EmitOptions())
    assert written == b"s: []\n# c\n---\nb: 1\n"


def test_only_tree_values_can_be_written() -> None:
    with pytest.raises(TypeError):
        emit(Mapping([Pair("v", object())]))  # type: ignore[list-item]


def test_comments_of_empty_collections_follow_yaml_v3() -> None:
    # sops hangs them on the collection's node; yaml.v3 writes a flow mapping's inside its
    # braces and a flow sequence's before the next key.
    document = Mapping([Pair("m", Mapping([Comment(" in m")])),
                        Pair("s", Sequence([Comment(" in s")])), Pair("z", 1)])
    assert emit(document, 2) == "m: {\n  # in m\n}\ns: []\n# in s\nz: 1\n"


# -- regressions: files read and written back (indent 4) ----------------------------------------
# Each row: what a person wrote -> what the store writes. The written text must read back as
# itself. Rows marked "Go" are what Go sops (yaml.v3 v3.0.1) writes too; the others depart from
# it where its text reads back as something else or not at all (see yaml_emitter's docstring).

def rewritten(data: bytes) -> bytes:
    return yaml_store.emit_plain(yaml_store.load_plain(data), EmitOptions())


def assert_rewritten(data: bytes, expected: bytes) -> None:
    written = rewritten(data)
    assert written == expected
    assert rewritten(written) == written


ENC_COMMENT = b"#ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:comment]"


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param(  # Go; it was written `volumes:\n# sidecar...\n[]`, which nothing reads
        b"containers:\n    - name: app\n    # sidecar disabled for now\nvolumes: []\n",
        b"containers:\n    - name: app\n      # sidecar disabled for now\nvolumes: []\n",
        id="before-an-empty-sequence"),
    pytest.param(  # Go
        b"containers:\n    - name: app\n    # sidecar disabled for now\nvolumes: {}\n",
        b"containers:\n    - name: app\n      # sidecar disabled for now\nvolumes: {}\n",
        id="before-an-empty-mapping"),
    pytest.param(  # Go
        b"l:\n    - a:\n        b: 1\n    # c\nz: []\n",
        b"l:\n    - a:\n        b: 1\n        # c\nz: []\n",
        id="after-a-nested-mapping"),
    pytest.param(  # Go
        b"a:\n    l:\n        - k: v\n        # c\nz: []\n",
        b"a:\n    l:\n        - k: v\n          # c\nz: []\n",
        id="last-in-a-block-inside-a-block"),
    pytest.param(  # Go
        b"l:\n    - - x\n    # c\nz: {}\n",
        b"l:\n    - - x\n      # c\nz: {}\n",
        id="after-a-nested-sequence"),
    pytest.param(  # Go
        b"l:\n    - k: v\n    " + ENC_COMMENT + b"\nz: []\n",
        b"l:\n    - k: v\n      " + ENC_COMMENT + b"\nz: []\n",
        id="encrypted"),
    pytest.param(  # Go writes `# d` after the whole sequence; order is kept here
        b"l:\n    - k: v\n      # c\n    # d\nz: []\n",
        b"l:\n    - k: v\n      # c\n      # d\nz: []\n",
        id="after-the-item's-own-foot"),
])
def test_a_comment_after_a_collection_item_stays_in_its_block(data: bytes,
                                                              expected: bytes) -> None:
    assert_rewritten(data, expected)


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param(  # Go writes `- # c\n[]`
        b"l:\n    - {a: 1} # c\n    - []\n", b"l:\n    - a: 1\n    - [] # c\n",
        id="a-flow-item's-comment-before-an-empty-item"),
    pytest.param(  # Go, which hangs the comment on the collection
        b"a: {b: 1} # c\nd: []\n", b"a:\n    # c\n    b: 1\nd: []\n", id="flow-mapping-value"),
    pytest.param(b"a: [1] # c\nd: {}\n", b"a:\n    # c\n    - 1\nd: {}\n",  # Go
                 id="flow-sequence-value"),
    pytest.param(b"a: [] # c\nb: 1\n", b"a: []\n# c\nb: 1\n", id="empty-sequence-value"),  # Go
    pytest.param(b"a: {} # c\nb: 1\n", b"a: {\n    # c\n}\nb: 1\n",  # Go
                 id="empty-mapping-value"),
    pytest.param(b"a: !!map {b: 1} # c\n", b"a:\n    # c\n    b: 1\n",  # Go; it was lost
                 id="last-flow-value"),
])
def test_a_comment_on_a_flow_collection_line_is_never_written_before_a_flow_value(
        data: bytes, expected: bytes) -> None:
    assert_rewritten(data, expected)


@pytest.mark.parametrize("data", [
    # Go: each was read as the block scalar's own comment, moved onto its `|` line (the last
    # one into its text), so comment regexes saw it before the wrong value.
    pytest.param(b"a: |\n    x\n# c\nb: 1\n", id="clip"),
    pytest.param(b"a: |+\n    x\n\n# c\nb: 1\n", id="keep"),
    pytest.param(b"a: | # h\n    x\n# c\nb: 1\n", id="after-a-header-comment"),
    pytest.param(b"a:\n    k: |-\n        x\n        y\n    # c\n    b: 1\n", id="strip"),
    # Not Go (it moves the comment before the key every time): a `?` block key's `:` line.
    pytest.param(b"? |-\n    x\n    k\n:   # c\n    b: 1\n", id="after-a-block-key"),
])
def test_a_comment_after_a_block_scalar_stays_on_its_own_line(data: bytes) -> None:
    assert_rewritten(data, data)


@pytest.mark.parametrize(("data", "expected"), [
    # Go writes `|-\n    x` (`x`), and the MAC, taken over "\nx", no longer matches
    (b'a_unencrypted: "\\nx"\n', b"a_unencrypted: |4-\n\n    x\n"),
    (b'"\\n": 1\n', b"? |4+\n\n: 1\n"),  # Go: `"": 1`, another key
    (b'a: "\\u2028x\\ny"\n', "a: |4-\n\u2028    x\n    y\n".encode()),
    # the indicator counts from the `- `: Go writes `|4-` and the text does not parse
    (b'l:\n    - " lead\\nx"\n    - k: "\\nx"\n',
     b"l:\n    - |2-\n       lead\n      x\n    - k: |2-\n\n        x\n"),
    (b'a: "\\tb\\nc"\n', b"a: |4-\n    \tb\n    c\n"),  # Go: `a: null`
])
def test_a_block_scalar_keeps_its_leading_line_break_and_indentation(data: bytes,
                                                                     expected: bytes) -> None:
    assert_rewritten(data, expected)
    assert yaml_store.load_plain(expected) == yaml_store.load_plain(data)


@pytest.mark.parametrize(("data", "expected"), [
    # Go writes each comment after the outer `- `, one level out on every read and write
    (b"a:\n    - - # c\n        - x\n", b"a:\n    - - # c\n        - x\n"),
    (b"a:\n    - - # c\n        k: v\n", b"a:\n    - - # c\n        k: v\n"),
    (b"a:\n    - - - # c\n          - null\n", b"a:\n    - - - # c\n          - null\n"),
    # Go: read into the sequence the outer `- ` opens, whose comment goes before that dash
    (b"a:\n    - # c\n      - - x\n", b"a:\n    # c\n    - - - x\n"),
])
def test_a_head_comment_after_nested_dashes_stays_with_its_collection(data: bytes,
                                                                      expected: bytes) -> None:
    assert_rewritten(data, expected)


# -- documents and the metadata --------------------------------------------------------------------

METADATA = Mapping([Pair("lastmodified", "2024-11-12T13:33:42Z"), Pair("version", "3.9.0")])


def test_every_document_gets_the_metadata_as_its_last_key() -> None:
    documents = [Mapping([Pair("a", 1)]), Mapping([Pair("b", 2), Comment(" end")])]
    written = yaml_store.emit_encrypted(documents, METADATA, EmitOptions(indent=2))
    sops = 'sops:\n  lastmodified: "2024-11-12T13:33:42Z"\n  version: 3.9.0\n'
    assert written.decode() == f"a: 1\n{sops}---\nb: 2\n# end\n{sops}"
    assert yaml_store.load_encrypted(written) == (documents, METADATA)


def test_metadata_comes_from_the_first_document_that_has_it() -> None:
    data = b"a: 1\n---\nb: 2\nsops:\n  version: first\n---\nsops:\n  version: second\nc: 3\n"
    documents, metadata = yaml_store.load_encrypted(data)
    assert documents == [Mapping([Pair("a", 1)]), Mapping([Pair("b", 2)]),
                         Mapping([Pair("c", 3)])]
    assert metadata == Mapping([Pair("version", "first")])
    assert yaml_store.load_encrypted(b"a: 1\n") == ([Mapping([Pair("a", 1)])], None)


def test_metadata_must_be_a_mapping() -> None:
    with pytest.raises(GuardError, match="sops"):
        yaml_store.load_encrypted(b"sops: s3cr3t\n")


# -- a rich document survives writing and reading --------------------------------------------------

RICH = Mapping([
    Comment(" a rich document"),
    Pair("str", "plain text"), Pair("looks like an int", "123"), Pair("old bool", "on"),
    Pair("bools", Sequence([True, False])), Pair("int", 42), Pair("neg", -7), Pair("big", 2**63),
    Pair("float", 3.25), Pair("tiny", 1.5e-7), Pair("huge", 1e300), Pair("inf", -math.inf),
    Pair("none", None), Pair("time", Timestamp("2024-01-02T03:04:05.5+02:00")),
    Pair("date", Timestamp("2024-01-02T00:00:00Z")),
    Pair("literal", "line one\nline two\n"), Pair("keep", "x\n\n"), Pair("strip", "a\nb"),
    Pair("indented", "  code\nmore\n"), Pair("unicode", "héllo wörld ✓"), Pair("emoji", "a😀b"),
    Pair("control", "nul\0 esc\x1b"), Pair("binary", b"\x00\xffdata"),
    Pair("long binary", b"\xfe" * 80),
    Pair("long", "word " * 40 + "end"), Pair("quotes", "it's \"quoted\""), Pair("<<", "<<"),
    Pair("enc", "ENC[AES256_GCM,data:q+/=,iv:x,tag:y,type:str]"), Comment(" inline", True),
    Pair("nested", Mapping([
        Comment(" first"),
        Pair("list", Sequence(["a", Sequence(["b", "c"]), Mapping([Pair("k", "v")]),
                               Comment(" before z"), "z", Comment(" z", True),
                               Comment(" in list")])),
        Comment(" foot of nested"),
    ])),
    Pair("empty map", Mapping()), Pair("empty list", Sequence()),
    Comment(" the end"),
])


@pytest.mark.parametrize("indent", [2, 4])
def test_a_rich_document_round_trips(indent: int) -> None:
    written = yaml_store.emit_plain([RICH, RICH], EmitOptions(indent=indent))
    assert [shape(d) for d in yaml_store.load_plain(written)] == [shape(RICH)] * 2


@pytest.mark.parametrize("separator", ["\u2028", "\x85", "\u2029", "\r"])
def test_comments_keep_their_places_after_a_parser_only_line_break(separator: str) -> None:
    """The comment gaps count file columns; the parser's own line breaks must not shift the
    blocks' columns against them."""
    text = (f'a: "x{separator}y" # c1\nm:\n    # head\n    k: v # c2\n    l:\n        - 1\n'
            "        # foot\nz: []\n").encode()
    [document] = yaml_store.load_plain(text)
    assert [item.text for item in document.get("m") if isinstance(item, Comment)] == [
        " head", " c2"]
    items = document.get("m").get("l")
    assert items == Sequence([1, Comment(" foot")])
    written = yaml_store.emit_plain([document], EmitOptions())
    assert yaml_store.load_plain(written) == [document]
    assert written.endswith(b"    k: v # c2\n    l:\n        - 1\n        # foot\nz: []\n")


# -- errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "line", "message"), [
    (b"a: 1\ns3cr3t: 2\ns3cr3t: 3\n", 3, "duplicate mapping key"),
    (b"a:\n  b: 1\n  'b': 2\n", 3, "duplicate mapping key"),
    (b"{a: 1, a: 2}\n", 1, "duplicate mapping key"),
    (b"1: s3cr3t\n", 1, "keys must be strings"),
    (b"a:\n  true: x\n", 2, "keys must be strings"),
    (b"a:\n  ~: x\n", 2, "keys must be strings"),
    (b"2024-01-02: x\n", 1, "keys must be strings"),
    (b"? [a]\n: 1\n", 1, "keys must be strings"),
    (b"- s3cr3t\n", 1, "must be a mapping"),
    (b"s3cr3t\n", 1, "must be a mapping"),
    (b"a: 1\n---\n- x\n", 3, "must be a mapping"),
    (b"a: [1, s3cr3t\n", 2, "invalid YAML"),
    (b"a: b: s3cr3t\n", 1, "invalid YAML"),
    (b"a: 1\n\tb: 2\n", 2, "invalid YAML"),
    (b"a: *nope\n", 1, "unknown anchor"),
    (b"a: !!int s3cr3t\n", 1, "!!int"),
    (b"a: !!binary s3cr3t%\n", 1, "base64"),
    (b"a: 1\nb: s3cr3t\xff\n", 2, "UTF-8"),
    (b"a: 1\nb: s3cr3t\x01\n", 2, "control characters"),
    (b"*a\n", 1, "unknown anchor"),
    # Lines are file lines: U+2028, U+0085 and a lone CR break lines only for the parser.
    ('a: "x\u2028y"\ns3cr3t: 2\ns3cr3t: 3\n'.encode(), 3, "duplicate mapping key"),
    ('a: "x\x85y"\nb: [1, s3cr3t\n'.encode(), 3, "invalid YAML"),
    (b'a: "x\ry"\n- s3cr3t\n', 2, "invalid YAML"),
])
def test_bad_input_is_a_guard_error_with_a_line(data: bytes, line: int, message: str) -> None:
    with pytest.raises(GuardError) as caught:
        yaml_store.load_plain(data)
    assert caught.value.line == line
    assert message in caught.value.message
    assert "s3cr3t" not in str(caught.value)  # never echo the file's values


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(GuardError, match="levels deep") as caught:
        yaml_store.load_plain(b"a: " + b"[" * 300 + b"]" * 300 + b"\n")
    assert caught.value.line == 1
    deep: Value = "leaf"
    for _ in range(2000):
        deep = Mapping([Pair("k", deep)])
    with pytest.raises(GuardError, match="too deeply"):
        yaml_store.emit_plain([Mapping([Pair("k", deep)])], EmitOptions())


def test_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    with pytest.raises(GuardError, match="aliases"):
        yaml_store.load_plain("\n".join(lines).encode())
