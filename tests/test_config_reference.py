"""docs/config-reference.md is generated from the config schema and kept current; every key in
the schema says what it does, and every default it states is a value the key accepts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema_rs
import pytest

from gitops_guard.config import schema
from gitops_guard.config_reference import render
from tests.conftest import REPO_ROOT


def keys(node: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    for key, child in (node.get("properties") or {}).items():
        where = f"{path}.{key}" if path else key
        yield where, child
        yield from keys(child, where)
        items = child.get("items")
        if isinstance(items, Mapping):
            yield from keys(items, where + "[]")
        for alternative in (*child.get("oneOf", ()), *child.get("anyOf", ())):
            yield from keys(alternative, where)
        if isinstance(items, Mapping):
            for alternative in items.get("oneOf", ()):
                yield from keys(alternative, where + "[]")


def test_docs_config_reference_is_current() -> None:
    actual = (REPO_ROOT / "docs" / "config-reference.md").read_text(encoding="utf-8")
    assert actual == render(schema()), \
        "docs/config-reference.md is stale: run scripts/config_reference.py"


def test_every_key_has_a_description() -> None:
    missing = [path for path, node in keys(schema()) if not node.get("description")]
    assert missing == []


def test_every_key_is_in_the_reference() -> None:
    page = render(schema())
    absent = [path for path, _ in keys(schema()) if f"| `{path}` |" not in page]
    assert absent == []


@pytest.mark.parametrize(("path", "node"), [
    (path, node) for path, node in keys(schema()) if "default" in node])
def test_stated_defaults_are_accepted(path: str, node: Mapping[str, Any]) -> None:
    # The default itself must validate against the key's own schema.
    bare = {key: value for key, value in node.items() if key not in ("default", "description")}
    assert jsonschema_rs.validator_for(bare).is_valid(node["default"]), path


def test_render_a_small_schema() -> None:
    small = {
        "type": "object",
        "properties": {
            "mode": {"enum": ["fast", "safe"], "default": "safe", "description": "how to run"},
            "size": {"type": "integer", "minimum": 1, "description": "bytes"},
            "pattern": {"type": "string", "pattern": "^(a|b)$", "description": "a or b"},
            "items": {"type": "array", "description": "the items", "items": {
                "type": "object", "required": ["name"],
                "properties": {"name": {"type": "string", "description": "its name"},
                               "tags": {"type": "array", "minItems": 1,
                                        "items": {"type": "string", "minLength": 3},
                                        "description": "labels"}}}},
        },
    }
    page = render(small)
    assert page.split("## Top level\n", 1)[1] == (
        "\n| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n"
        "| `mode` | one of `fast`, `safe` | `safe` | How to run. |\n"
        "| `size` | integer (at least 1) |  | Bytes. |\n"
        "| `pattern` | string (matching `^(a\\|b)$`) |  | A or b. |\n"
        "| `items` | list of mappings (below) |  | The items. |\n"
        "\n## `items[]`\n\nThe items.\n"
        "\n| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n"
        "| `items[].name` | string |  | **required.** Its name. |\n"
        "| `items[].tags` | list of strings, each at least 3 characters; at least 1 item |  "
        "| Labels. |\n")


def test_a_key_without_a_description_gets_an_empty_cell() -> None:
    page = render({"type": "object", "properties": {"x": {"type": "boolean"}}})
    assert page.endswith("| `x` | boolean |  |  |\n")
    assert render({"type": "object"}).endswith("starting point for a repository.\n")
