"""The bundled schemas: every built-in kind of every bundled version compiles and accepts a
minimal valid object; versions, strictness and value rules behave as the API server's."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from gitops_guard.checks.schema.bundle import (
    ENUMS,
    Bundle,
    bundled_versions,
    load_bundle_data,
    normalize_version,
    strictify,
    without_required,
)
from gitops_guard.errors import GuardError

DATA = load_bundle_data()
VERSIONS = bundled_versions(DATA)


def test_three_newest_minors_are_bundled() -> None:
    assert VERSIONS == ("1.35", "1.36", "1.37")


def test_every_definition_a_version_names_is_stored() -> None:
    for version in VERSIONS:
        layout = DATA["versions"][version]
        assert set(layout["definitions"].values()) <= set(DATA["definitions"])
        assert set(layout["kinds"].values()) <= set(layout["definitions"])


def sample(schema: Any, document: dict[str, Any], depth: int = 0) -> Any:
    """A minimal value that satisfies `schema`: only required fields, simplest values."""
    while isinstance(schema, dict) and "$ref" in schema:
        schema = document["$defs"][schema["$ref"].rpartition("/")[2]]
    assert depth < 40, "required fields recurse forever"
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if "pattern" not in b] or schema["anyOf"]
        return sample(branches[-1], document, depth + 1)
    if "enum" in schema:
        return next(value for value in schema["enum"] if value is not None)
    kind = schema.get("type", "object")
    kind = next(t for t in kind if t != "null") if isinstance(kind, list) else kind
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: sample(properties[name], document, depth + 1)
                for name in schema.get("required", []) if name in properties}
    if kind == "array":
        return [sample(schema["items"], document, depth + 1)] * schema.get("minItems", 0)
    return {"string": "x", "integer": 1, "number": 1, "boolean": True}[kind]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_built_in_kind_compiles_and_accepts_a_minimal_object(version: str) -> None:
    bundle = Bundle(version, DATA)
    assert len(bundle.kinds) > 150
    for key, name in bundle.kinds.items():
        api_version, _, kind = key.rpartition("/")
        for strict in (True, False):
            document = bundle.document(name, strict)
            validator = jsonschema_rs.validator_for(document)
            instance = sample(document["$defs"][name], document)
            instance.update({"apiVersion": api_version, "kind": kind})
            metadata = document["$defs"][name].get("properties", {}).get("metadata")
            if metadata is not None:
                # Lists (and Status) carry ListMeta, which has no name.
                list_meta = metadata.get("$ref", "").endswith(".ListMeta")
                instance["metadata"] = {} if list_meta else {"name": "minimal"}
            errors = [e.message for e in validator.iter_errors(instance)]
            assert errors == [], f"{version} {key} strict={strict}: {errors}"


@pytest.mark.parametrize(("text", "version"), [
    ("1.36", "1.36"), ("v1.36.2", "1.36"), ("1.36.0", "1.36"), (" 1.35 ", "1.35"),
    ("v1.37", "1.37"),
])
def test_version_forms(text: str, version: str) -> None:
    assert normalize_version(text, VERSIONS) == version


@pytest.mark.parametrize("text", ["1.20", "1.38", "latest", "1", "1.36.x", "v1.36.2.1", ""])
def test_unknown_versions_are_errors(text: str) -> None:
    with pytest.raises(GuardError, match="no bundled schemas for Kubernetes"):
        normalize_version(text, VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_value_rules_target_real_fields(version: str) -> None:
    bundle = Bundle(version, DATA)
    for definition, fields in ENUMS.items():
        assert bundle.has_definition(definition), definition
        properties = bundle.definition(definition, strict=False)["properties"]
        for field in fields:
            assert field in properties, f"{definition}.{field}"


def test_strictify_closes_objects_but_not_maps_or_preserved_ones() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "free": {"type": "object", "properties": {"x": {}},
                     "x-kubernetes-preserve-unknown-fields": True},
            "items": {"type": "array", "items": {"properties": {"b": {}}}},
            "default": {"properties": {"named-like-a-keyword": {}}},
        },
    }
    strict = strictify(schema)
    assert strict["additionalProperties"] is False
    properties = strict["properties"]
    assert properties["spec"]["additionalProperties"] is False
    assert properties["labels"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in properties["free"]
    assert properties["items"]["items"]["additionalProperties"] is False
    assert properties["default"]["additionalProperties"] is False
    assert "additionalProperties" not in schema  # the input is not changed


def test_without_required() -> None:
    schema = {"required": ["a"], "properties": {"a": {"required": ["b"], "properties": {}}},
              "items": {"required": ["c"]}}
    assert without_required(schema) == {"properties": {"a": {"properties": {}}}, "items": {}}


@pytest.mark.parametrize(("quantity", "valid"), [
    ("100m", True), ("1", True), ("1.5", True), ("128Mi", True), ("1Gi", True), ("2k", True),
    ("1e3", True), ("-1", True), (".5", True), ("5.", True), ("1E-3", True), (0.5, True),
    (2, True), (None, True),
    ("lots", False), ("1 Gi", False), ("1gi", False), ("Mi", False), ("", False),
    ("1Gib", False), ("1.2.3", False),
])
def test_quantities(quantity: object, valid: bool) -> None:
    bundle = Bundle(VERSIONS[-1], DATA)
    validator = jsonschema_rs.validator_for(
        bundle.document("io.k8s.apimachinery.pkg.api.resource.Quantity", strict=True))
    assert validator.is_valid(quantity) is valid


def test_int_or_string_accepts_null_as_the_api_server_does() -> None:
    bundle = Bundle(VERSIONS[-1], DATA)
    validator = jsonschema_rs.validator_for(
        bundle.document("io.k8s.apimachinery.pkg.util.intstr.IntOrString", strict=True))
    assert [validator.is_valid(v) for v in (8080, "http", None, 1.5, [1])] == [
        True, True, True, False, False]
