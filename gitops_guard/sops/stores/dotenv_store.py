"""The dotenv store: `KEY=VALUE` lines and `#` comments, read as sops reads them.

The file is split on `\\n`; empty lines are dropped, a line starting with `#` is a comment (the
text after `#`), any other line splits at its first `=`. Nothing is trimmed and quotes mean
nothing (`foo = bar` is key `foo ` and value ` bar`; a CRLF file keeps its `\\r`). A literal
backslash-n in a value is a newline, and a newline is written back as backslash-n.
Metadata lines start with `sops_` and are written after the data, sorted (sops >= 3.8).
"""

from __future__ import annotations

from collections.abc import Iterator

from gitops_guard.errors import GuardError
from gitops_guard.sops.stores import EmitOptions
from gitops_guard.sops.stores.flat import encode_text, go_text, metadata_items, metadata_tree
from gitops_guard.sops.values import Comment, Mapping, Pair, Sequence

METADATA_PREFIX = "sops_"


def load_plain(data: bytes) -> list[Mapping]:
    return [Mapping(item if isinstance(item, Comment) else Pair(*item) for item in _lines(data))]


def load_encrypted(data: bytes) -> tuple[list[Mapping], Mapping | None]:
    content = Mapping()
    flat: list[tuple[str, str]] = []
    for item in _lines(data):
        if isinstance(item, Comment):
            content.append(item)
        elif item[0].startswith(METADATA_PREFIX):
            flat.append((item[0][len(METADATA_PREFIX):], item[1]))
        else:
            content.append(Pair(*item))
    return [content], metadata_tree(flat) if flat else None


def _lines(data: bytes) -> Iterator[Comment | tuple[str, str]]:
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw:
            continue
        line = raw.decode("utf-8", "surrogateescape")
        if line.startswith("#"):
            yield Comment(line[1:])
            continue
        key, equals, value = line.partition("=")
        if not equals:
            raise GuardError("invalid dotenv line: no '=' between key and value", line=number)
        yield key, value.replace("\\n", "\n")


def emit_plain(documents: list[Mapping], options: EmitOptions) -> bytes:
    return encode_text("".join(_emit_lines(_document(documents))))


def emit_encrypted(documents: list[Mapping], metadata: Mapping, options: EmitOptions) -> bytes:
    lines = _emit_lines(_document(documents))
    lines += (f"{METADATA_PREFIX}{key}={text}\n" for key, text in metadata_items(metadata))
    return encode_text("".join(lines))


def _document(documents: list[Mapping]) -> Mapping:
    if not documents:
        raise GuardError("there is no document to write")
    return documents[0]  # sops writes the first document; dotenv holds only one


def _emit_lines(branch: Mapping) -> list[str]:
    lines: list[str] = []
    for item in branch:
        if isinstance(item, Comment):
            lines.append(f"#{item.text}\n")
        elif isinstance(item.value, (Mapping, Sequence)):
            raise GuardError(f"dotenv cannot hold the nested value of {item.key!r}")
        else:
            text = go_text(item.value).replace("\n", "\\n")
            lines.append(f"{item.key}={text}\n")
    return lines
