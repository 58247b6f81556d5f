"""The dotenv and INI stores (sops/stores/) under generated documents and arbitrary files.

- A generated document (unicode, quotes, `=`, `#`/`;`, comments, undecodable bytes held as
  surrogate escapes) written by `emit_plain` loads back as the same document.
- Loading is a fixed point after one step: what `load_plain` read, written and read again,
  is what it read (a decrypt/edit/encrypt cycle changes nothing).
- Arbitrary bytes, as plaintext or as encrypted files with flattened metadata, load or raise
  GuardError: never another exception.
- An INI key or value that no go-ini quoting can carry is refused with GuardError naming the
  key; every other one is written so that it reads back exactly.

Shapes the formats cannot hold are left out of the generated documents and say why.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import EmitOptions, dotenv_store, ini_store
from gitops_guard.sops.stores.flat import go_text
from gitops_guard.sops.values import Comment, Mapping, Pair, Scalar, Sequence, Timestamp
from tests.properties.strategies import unicode_text

OPTIONS = EmitOptions()
_GO_SPACE = ini_store._GO_SPACE  # what go-ini trims (Go's unicode.IsSpace)

# Text as these stores hold it: any character, and U+DC80..U+DCFF for bytes that are not UTF-8
# (decoded with surrogateescape, written back as the same byte).
line_text = st.text(st.one_of(
    st.characters(codec="utf-8", exclude_characters="\n"),
    st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),
    st.sampled_from(list("=#;:\"'`[]\\ \t\r"))), max_size=20)


# -- dotenv -----------------------------------------------------------------------------------

# A key is everything before the first `=`; a line starting with `#` is a comment.
dotenv_keys = line_text.filter(lambda key: "=" not in key and not key.startswith("#"))
# A value may hold newlines (written as `\n`), but a literal backslash-n reads as a newline:
# sops' rule, so such values are not generated.
dotenv_values = st.lists(st.one_of(line_text, st.just("\n")), max_size=3).map("".join).filter(
    lambda value: "\\n" not in value)
dotenv_items = st.lists(st.one_of(
    st.builds(Pair, dotenv_keys, dotenv_values),
    line_text.map(Comment)), max_size=12)


@given(items=dotenv_items)
@example(items=[Pair("PASSWORD", "a=b=c"), Comment(" note"), Pair(" spaced ", " v "),
                Pair("QUOTED", "\"x\" 'y'"), Pair("", "empty key"), Pair("NL", "a\nb\r"),
                Pair("BYTES", "\udcff\udc80"), Pair("É", "ü # not a comment")])
def test_dotenv_documents_round_trip(items: list[Pair | Comment]) -> None:
    document = Mapping(items)
    written = dotenv_store.emit_plain([document], OPTIONS)
    assert dotenv_store.load_plain(written) == [document]


typed_scalars: st.SearchStrategy[Scalar] = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(),
    st.just(Timestamp("2024-01-02T03:04:05Z")), st.just(Timestamp("2024-01-02T03:04:05.5+05:30")),
    st.binary(max_size=10).filter(lambda b: b"\n" not in b))


@given(key=dotenv_keys, value=typed_scalars)
def test_dotenv_writes_other_types_as_go_text(key: str, value: Scalar) -> None:
    written = dotenv_store.emit_plain([Mapping([Pair(key, value)])], OPTIONS)
    [loaded] = dotenv_store.load_plain(written)
    assert loaded == Mapping([Pair(key, go_text(value).replace("\\n", "\n"))])


@given(key=dotenv_keys, nested=st.sampled_from([Mapping(), Sequence(["a"])]))
def test_dotenv_refuses_nested_values(key: str, nested: object) -> None:
    with pytest.raises(GuardError, match="cannot hold the nested value"):
        dotenv_store.emit_plain([Mapping([Pair(key, nested)])], OPTIONS)  # type: ignore[arg-type]


# -- INI --------------------------------------------------------------------------------------

def _ini_key(key: str) -> bool:
    """Keys go-ini reads back under some quoting: one trimmed line, not its auto-increment
    `-`, and not a backtick with a double quote that ends every quote early (each of `...`,
    "..." and \"\"\"...\"\"\" ends at the first of its kind). The writer refuses the others."""
    return (bool(key) and "\n" not in key and key.strip(_GO_SPACE) == key and key != "-"
            and not ("`" in key and '"' in key and ('"""' in key or key.endswith('"'))))


def ini_value_is_carried(value: str) -> bool:
    """Every value but one kind, which the writer refuses: several lines where a line before
    the last holds `\"\"\"` and one holds a backtick (go-ini closes a multi-line quote on the
    first line holding its quote). A single line always fits in backticks: go-ini closes those
    at the line's last backtick."""
    before_last = value.split("\n")[:-1]
    return not (any('"""' in line for line in before_last)
                and any("`" in line for line in before_last))


def ini_is_carried(document: Mapping) -> bool:
    """Every key and value is one go-ini can write and read back (the others are refused:
    test_ini_writes_a_key_and_value_exactly_or_refuses), and every comment is one line go-ini
    writes as it is: go-ini trims comment lines and drops an empty comment (spaces around a
    comment's words are all that is lost)."""
    for section in document:
        if not isinstance(section, Pair) or not isinstance(section.value, Mapping):
            continue
        for item in section.value:
            if isinstance(item, Comment):
                text = item.text
                if not text or text.strip(_GO_SPACE) != text or text[0] in "#;" or \
                        "\n" in text:
                    return False
            elif not (_ini_key(item.key) and isinstance(item.value, str)
                      and ini_value_is_carried(item.value)):
                return False
    return True


# Quotes of every kind, whole and in pieces, so that keys and values start, end and break lines
# with them.
ini_quotes = st.sampled_from(['"""', "`", '"', "'", "\\", " "])
# Key starts that go-ini reads as something else: a comment, a section, a byte-order mark
# (UTF-8, or UTF-16 as undecodable bytes) that it drops at the start of the file.
ini_key_starts = st.sampled_from([*"#;[=:", "\ufeff", "\udcfe\udcff", "\udcff\udcfe"])
ini_keys = st.lists(st.one_of(line_text, ini_quotes, ini_key_starts),
                    min_size=1, max_size=3).map("".join).filter(_ini_key)
ini_values = st.lists(st.one_of(line_text, st.just("\n"), ini_quotes), max_size=4).map(
    "".join).filter(ini_value_is_carried)
# A comment before a key is kept after it (sops' layout); go-ini trims comment text.
ini_comments = line_text.map(lambda text: text.strip(_GO_SPACE)).filter(
    lambda text: text and text[0] not in "#;")
ini_names = line_text.filter(lambda name: bool(name) and name != "DEFAULT")


@st.composite
def ini_sections(draw: st.DrawFn, *, headed: bool = True) -> Mapping:
    """A section's keys, values and comments; the DEFAULT section (`headed=False`) has no
    header, so a comment before its first key is that key's, not the section's."""
    entries = draw(st.dictionaries(ini_keys, st.tuples(ini_values, st.none() | ini_comments),
                                   max_size=5))
    section = Mapping()
    comment = draw(st.none() | ini_comments) if headed else None
    if comment is not None:
        section.append(Comment(comment))
    for key, (value, note) in entries.items():
        section.append(Pair(key, value))
        if note is not None:
            section.append(Comment(note))
    return section


# Keys before any header are go-ini's DEFAULT section, which is always read first.
ini_documents = st.tuples(st.none() | ini_sections(headed=False),
                          st.dictionaries(ini_names, ini_sections(), max_size=4)).map(
    lambda parts: Mapping([*([] if parts[0] is None else [Pair("DEFAULT", parts[0])]),
                           *(Pair(name, body) for name, body in parts[1].items())]))


@given(document=ini_documents)
@example(document=Mapping([Pair("db", Mapping([
    Comment("section note"), Pair("password", "p=ss#word;x"), Comment("key note"),
    Pair("url", "a:b"), Pair("a=b", "key with ="), Pair("q`uote", "back`tick"),
    Pair("multi", "line one\nline two"), Pair("spaced", "  both ends  "),
    Pair("É", "ünï ☃")]))]))
@example(document=Mapping([  # the file's first key starts with a byte-order mark
    Pair("DEFAULT", Mapping([Pair("\ufeffk", "C:\\"), Pair("#1", "'x'")])),
    Pair(" s", Mapping([Pair(";k", ' a"b '), Pair("a`=b", 'x"""\ny')]))]))
def test_ini_documents_round_trip(document: Mapping) -> None:
    written = ini_store.emit_plain([document], OPTIONS)
    [loaded] = ini_store.load_plain(written)
    # The DEFAULT section (keys before any header) is always there when read.
    default = [] if document.get("DEFAULT") is not None else [Pair("DEFAULT", Mapping())]
    assert loaded == Mapping([*default, *document])


def test_ini_value_ending_in_a_backslash_survives() -> None:
    # Read from `a = "C:\\"`; go-ini's writer leaves it bare (`a = C:\\`), which reads as a
    # continuation that swallows `b`; it is written in backticks instead.
    [document] = ini_store.load_plain(b'[s]\na = "C:\\"\nb = 2\n')
    assert document.get("s") == Mapping([Pair("a", "C:\\"), Pair("b", "2")])
    assert ini_store.load_plain(ini_store.emit_plain([document], OPTIONS)) == [document]


@pytest.mark.parametrize(("content", "value"), [
    (b"[s]\na = \"'x'\"\n", "'x'"),
    (b'[s]\na = `"x"`\n', '"x"'),
    (b'[s]\na = """ a"b """\n', ' a"b '),
])
def test_ini_quoted_looking_values_survive(content: bytes, value: str) -> None:
    [document] = ini_store.load_plain(content)
    assert document.get("s") == Mapping([Pair("a", value)])
    assert ini_store.load_plain(ini_store.emit_plain([document], OPTIONS)) == [document]


@pytest.mark.parametrize("content", [
    b'"[" = 1\n', b'"#a" = 1\n', b'";a" = 1\n', b'"""a`=b""" = 1\n', b'"""a`"b""" = 1\n',
    b"- = 1\n",  # read as `#1`
])
def test_ini_keys_that_were_read_can_be_written_back(content: bytes) -> None:
    loaded = ini_store.load_plain(content)
    assert ini_store.load_plain(ini_store.emit_plain(loaded, OPTIONS)) == loaded


# Keys and values beyond what INI holds: line breaks, edge spaces, `-`, quote mixes.
ini_any_keys = st.lists(st.one_of(line_text, ini_quotes, st.sampled_from(
    ["\n", "-", "#", ";", "[", "=", ":"])), max_size=4).map("".join)
ini_any_values = st.lists(st.one_of(line_text, st.just("\n"), ini_quotes), max_size=6).map(
    "".join)


@given(key=ini_any_keys, value=ini_any_values)
@example(key='a`"', value="v")  # every quote ends early
@example(key='`"""`', value="v")
@example(key=" a", value="v")  # go-ini trims keys
@example(key="a\nb", value="v")
@example(key="-", value="v")  # go-ini's auto-increment key
@example(key="k", value='"""\n`\nlast')  # a multi-line quote would close early
@example(key="k", value='a"""`\n')
def test_ini_writes_a_key_and_value_exactly_or_refuses(key: str, value: str) -> None:
    """The writer never writes a file that reads back differently: what it cannot quote so
    that go-ini reads it back, it refuses, naming the key (never the value)."""
    document = Mapping([Pair("s", Mapping([Pair(key, value)]))])
    if _ini_key(key) and ini_value_is_carried(value):
        written = ini_store.emit_plain([document], OPTIONS)
        assert ini_store.load_plain(written)[0].get("s") == document.get("s")
        return
    with pytest.raises(GuardError) as caught:
        ini_store.emit_plain([document], OPTIONS)
    assert repr(key) in caught.value.message if key else "empty name" in caught.value.message


@given(key=ini_keys, value=typed_scalars.filter(lambda v: ini_value_is_carried(go_text(v))))
def test_ini_writes_other_types_as_go_text(key: str, value: Scalar) -> None:
    written = ini_store.emit_plain([Mapping([Pair("s", Mapping([Pair(key, value)]))])], OPTIONS)
    [loaded] = ini_store.load_plain(written)
    assert loaded.get("s") == Mapping([Pair(key, go_text(value))])


# -- arbitrary files --------------------------------------------------------------------------

INI_ALPHABET = [*"[]=:;#\"'`\\- \tab\r", '"""', "\n", "é", "\udcff"]
DOTENV_ALPHABET = [*"=#\\n \tAb\r_", "\n", "sops_", "é", "\udcff"]
FLAT_KEYS = ["mac", "version", "lastmodified", "shamir_threshold", "mac_only_encrypted",
             "age__list_0__map_enc", "age__list_1__map_recipient", "age__list_x",
             "age__map_a", "age", "a__list_0", "a__list_0__map_b", "unencrypted_suffix"]


def texts(alphabet: list[str]) -> st.SearchStrategy[bytes]:
    """Lines of the format's own characters, most of them `key=value`-shaped."""
    part = st.lists(st.sampled_from(alphabet), max_size=10).map("".join)
    lines = st.lists(st.one_of(part, st.tuples(part, part).map("=".join)), max_size=8)
    return lines.map(lambda found: "\n".join(found).encode("utf-8", "surrogateescape"))


@st.composite
def flat_metadata_files(draw: st.DrawFn, fmt: str) -> bytes:
    """A file with sops metadata lines whose keys and values are drawn from real and broken
    flattened keys (the flat stores rebuild a tree from them)."""
    lines = draw(st.lists(st.tuples(st.sampled_from(FLAT_KEYS), st.one_of(
        st.sampled_from(["1", "-1", "true", "x", "", "3.9.0", "\\n"]), unicode_text)),
        max_size=8))
    if fmt == "dotenv":
        body = "A=1\n" + "".join(f"sops_{key}={value}\n" for key, value in lines)
    else:
        body = "[s]\na = 1\n[sops]\n" + "".join(f"{key} = {value}\n" for key, value in lines)
    return body.replace("\r", "").encode("utf-8", "surrogateescape")


STORES: dict[str, tuple[ModuleType, Callable[[], st.SearchStrategy[bytes]]]] = {
    "dotenv": (dotenv_store, lambda: texts(DOTENV_ALPHABET)),
    "ini": (ini_store, lambda: texts(INI_ALPHABET)),
}


def load_or_guard_error(load: Callable[[bytes], Any], data: bytes) -> Any:
    try:
        return load(data)
    except GuardError as error:
        assert error.message
        assert error.line is None or error.line >= 1
        return None


@pytest.mark.parametrize("fmt", sorted(STORES))
@given(data=st.data())
def test_arbitrary_files_load_or_raise_guard_error(fmt: str, data: st.DataObject) -> None:
    store, text = STORES[fmt]
    content = data.draw(st.one_of(st.binary(max_size=200), text(),
                                  flat_metadata_files(fmt)), label="file")
    load_or_guard_error(store.load_plain, content)
    load_or_guard_error(store.load_encrypted, content)


@pytest.mark.parametrize("fmt", sorted(STORES))
@given(data=st.data())
def test_loading_is_a_fixed_point_after_one_step(fmt: str, data: st.DataObject) -> None:
    store, text = STORES[fmt]
    content = data.draw(st.one_of(st.binary(max_size=200), text()), label="file")
    loaded = load_or_guard_error(store.load_plain, content)
    if loaded is None:
        return  # not a file of this format: the test above covers it
    if fmt == "ini":
        assume(ini_is_carried(loaded[0]))
    written = store.emit_plain(loaded, OPTIONS)
    assert store.load_plain(written) == loaded


@pytest.mark.parametrize(("fmt", "content"), [
    ("dotenv", b"A=1\nsops_age__list_99999999999999999999__map_enc=x\n"),
    ("dotenv", b"A=1\nsops_age__list_1000000000000000__map_enc=x\n"),
    ("ini", b"[s]\na = 1\n[sops]\nage__list_1000000000000000__map_recipient = x\n"),
])
def test_a_huge_metadata_list_index_is_a_guard_error(fmt: str, content: bytes) -> None:
    store, _ = STORES[fmt]
    with pytest.raises(GuardError):
        store.load_encrypted(content)
