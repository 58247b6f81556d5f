"""A file parsed again from its previous version, when a commit changed only plain values.

Most commits in a GitOps history bump one value: `newTag: 1.4.2` becomes `newTag: 1.4.3`. The
audit parses every version of every location file, and YAML parsing is most of its work, so
when a new version differs from one already parsed only in lines that each hold one plain,
single-line scalar (the same prefix, a new value of a safe shape), the new documents are the
old ones with those scalars replaced: the same data and the same file positions that a full
parse with the text loader gives. Anything else (anchors, merge keys, duplicate keys, flow
collections, quotes, comments after the value, other line breaks, a changed line count, a
value that would read differently) returns None, and the caller parses the text in full.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitops_guard.yamlio import STR_TAG, ParsedDocument, TextResolver

# A plain scalar that reads as this same text wherever a plain value may stand in block
# context: no indicator first, no `: ` / ` #` / flow indicators / quotes inside, no space.
_SAFE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+/@:=~-]*")
_RESOLVER = TextResolver()  # the text loader's: what a plain scalar reads as
# Characters that make a full parse the only safe one: anchors and aliases share nodes, `<<`
# merges mappings, and other line breaks move positions (yamlio's line map).
_UNSAFE_TEXT = ("&", "*", "<<", "\r", "\x85", "\u2028", "\u2029")
MAX_CHANGED_LINES = 8


def _safe_value(text: str) -> bool:
    return (_SAFE.fullmatch(text) is not None and not text.endswith(":")
            and _RESOLVER.resolve(ScalarNode, text, (True, False)) == STR_TAG)


def reparse(old_text: str, old: tuple[ParsedDocument, ...],
            new_text: str) -> tuple[ParsedDocument, ...] | None:
    """The documents of `new_text` derived from `old` (the documents of `old_text`, parsed
    with the text loader), or None when only a full parse can tell."""
    if any(marker in new_text for marker in _UNSAFE_TEXT):
        return None
    old_lines = old_text.split("\n")
    new_lines = new_text.split("\n")
    if len(old_lines) != len(new_lines):
        return None
    changed = [index for index, (before, after) in enumerate(zip(old_lines, new_lines, strict=True))
               if before != after]
    if not changed or len(changed) > MAX_CHANGED_LINES:
        return None
    if any(document.duplicates or document.node is None for document in old):
        return None
    documents = list(old)
    for line in changed:
        replaced = _replace_line(documents, line, old_lines[line], new_lines[line])
        if not replaced:
            return None
    return tuple(documents)


def _replace_line(documents: list[ParsedDocument], line: int, before: str,
                  after: str) -> bool:
    """Replace the plain scalar that makes up the end of `before` (line `line`) with the end
    of `after`, in whichever document holds it; False when that is not what changed."""
    for position, document in enumerate(documents):
        root = document.node
        if root is None or not root.start_mark.line <= line <= root.end_mark.line:
            continue
        path = _scalar_path(root, line)
        if path is None:
            return False
        scalar = path[-1][0]
        column = scalar.start_mark.column
        value = after[column:]
        if (before[:column] != after[:column] or before[column:] != scalar.value
                or not _safe_value(scalar.value) or not _safe_value(value)):
            return False
        node, data = _rebuilt(path, document.data, value)
        documents[position] = ParsedDocument(node, data, document.duplicates)
        return True
    return False


def _scalar_path(root: Node, line: int) -> list[tuple[Node, int]] | None:
    """(node, index of the child taken) from the root down to the plain, single-line string
    scalar that starts on `line` as a mapping's value or a list's item in block style;
    None when there is no such scalar."""
    path: list[tuple[Node, int]] = []
    node = root
    while True:
        if isinstance(node, ScalarNode):
            start, end = node.start_mark, node.end_mark
            if (start.line != line or end.line != line or node.style not in (None, "")
                    or node.tag != STR_TAG or end.column != start.column + len(node.value)
                    or not path):
                return None
            path.append((node, -1))
            return path
        if not isinstance(node, MappingNode | SequenceNode) or node.flow_style:
            return None
        children = ([value for _, value in node.value] if isinstance(node, MappingNode)
                    else list(node.value))
        # The last child that starts on or before the line holds it, if any does.
        chosen = -1
        for index, child in enumerate(children):
            if child.start_mark.line > line:
                break
            chosen = index
        if chosen < 0:
            return None
        if isinstance(node, MappingNode):
            key = node.value[chosen][0]
            if not isinstance(key, ScalarNode) or key.start_mark.line > line:
                return None
        path.append((node, chosen))
        node = children[chosen]


def _rebuilt(path: list[tuple[Node, int]], data: Any, value: str) -> tuple[Node, Any]:
    """New nodes and data along `path` with its scalar's value replaced; everything off the
    path is shared with the old documents, which stay as they were."""
    scalar = path[-1][0]
    end = scalar.end_mark
    new_node: Node = ScalarNode(scalar.tag, value, scalar.start_mark,
                                Mark(end.name, end.index, end.line,
                                     scalar.start_mark.column + len(value), None,
                                     None),  # type: ignore[arg-type]
                                getattr(scalar, "style", None))
    new_data: Any = value
    # The data of each container on the path, top down: without duplicate or merge keys a
    # mapping's data holds its pairs in order.
    datas = [data]
    for node, index in path[:-2]:
        current = datas[-1]
        if isinstance(node, MappingNode):
            datas.append(current[list(current)[index]])
        else:
            datas.append(current[index])
    for (node, index), container in zip(reversed(path[:-1]), reversed(datas), strict=True):
        flow_style = getattr(node, "flow_style", None)
        if isinstance(node, MappingNode):
            pairs = list(node.value)
            pairs[index] = (pairs[index][0], new_node)
            new_node = MappingNode(node.tag, pairs, node.start_mark, node.end_mark, flow_style)
            mapping = dict(container)
            mapping[list(container)[index]] = new_data
            new_data = mapping
        else:
            items = list(node.value)
            items[index] = new_node
            new_node = SequenceNode(node.tag, items, node.start_mark, node.end_mark, flow_style)
            sequence = list(container)
            sequence[index] = new_data
            new_data = sequence
    return new_node, new_data
