"""CRD openAPIV3Schema (OpenAPI 3.0) to JSON Schema 2020-12, as the API server reads it."""

from __future__ import annotations

from typing import Any

import pytest

from gitops_guard.checks.schema.crds import convert, convert_crd


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
    ({"type": "string", "enum": ["a"], "nullable": True},
     {"type": ["string", "null"], "enum": ["a", None]}),
    ({"x-kubernetes-int-or-string": True}, {"x-kubernetes-int-or-string": True,
                                            "anyOf": [{"type": "integer"}, {"type": "string"}]}),
    ({"type": "string", "format": "int-or-string"},
     {"format": "int-or-string", "anyOf": [{"type": "integer"}, {"type": "string"}]}),
    ({"x-kubernetes-int-or-string": True, "nullable": True},
     {"x-kubernetes-int-or-string": True,
      "anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}),
    ({"type": "integer", "minimum": 0, "exclusiveMinimum": True},
     {"type": "integer", "exclusiveMinimum": 0}),
    ({"type": "integer", "maximum": 9, "exclusiveMaximum": False},
     {"type": "integer", "maximum": 9}),
    ({"type": "object", "description": "d", "example": {}, "properties": {
        "a": {"type": "array", "items": {"type": "string", "nullable": True}}}},
     {"type": "object", "properties": {
         "a": {"type": "array", "items": {"type": ["string", "null"]}}}}),
    ({"type": "object", "x-kubernetes-embedded-resource": True,
      "properties": {"spec": {"type": "object"}}},
     {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {
         "spec": {"type": "object"}, "apiVersion": {"type": "string"},
         "kind": {"type": "string"}, "metadata": {"type": "object"}}}),
    ({"anyOf": [{"type": "string", "nullable": True}], "allOf": [{"description": "x"}]},
     {"anyOf": [{"type": ["string", "null"]}], "allOf": [{}]}),
])
def test_convert(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert convert(schema) == expected


def crd(versions: Any, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "things.example.com"},
            "spec": spec if spec is not None else {
                "group": "example.com", "names": {"kind": "Thing"}, "versions": versions}}


def test_served_versions_only() -> None:
    versions, errors = convert_crd(crd([
        {"name": "v1", "served": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "v0", "served": False},
        {"name": "v2", "served": True},  # no schema: anything goes
    ]), "crd.yaml")
    assert errors == []
    assert [(v.api_version, v.kind, v.crd, v.path) for v in versions] == [
        ("example.com/v1", "Thing", "things.example.com", "crd.yaml"),
        ("example.com/v2", "Thing", "things.example.com", "crd.yaml")]
    root = versions[0].root
    assert root["properties"]["apiVersion"] == {"const": "example.com/v1"}
    assert root["properties"]["kind"] == {"const": "Thing"}
    assert root["required"] == ["apiVersion", "kind"]
    assert versions[1].root["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize(("document", "expected"), [
    (crd(None, spec={}), [("/spec", "CRD has no spec.group or spec.names.kind")]),
    ({"spec": "x"}, [("/spec", "CRD has no spec")]),
    (crd([{"served": True}]), [("/spec/versions/0", "CRD version has no name")]),
    (crd([{"name": "v1", "schema": {"openAPIV3Schema": ["x"]}}]),
     [("/spec/versions/0/schema/openAPIV3Schema", "openAPIV3Schema must be a mapping")]),
    (crd([{"name": "v1", "schema": {"openAPIV3Schema": {"type": "object", "properties": 3}}}]),
     [("/spec/versions/0/schema/openAPIV3Schema/properties",
       "properties must be a mapping of schemas")]),
    (crd([{"name": "v1", "schema": {"openAPIV3Schema": {
        "properties": {"spec": {"properties": {"a/b": {"items": [{"type": 1}]}}}}}}}]),
     [("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/a~1b/items/0/type",
       "type must be a string")]),
    (crd([{"name": "v1", "schema": {"openAPIV3Schema": {"required": "name"}}}]),
     [("/spec/versions/0/schema/openAPIV3Schema/required", "required must be a list")]),
    (crd([{"name": "v1", "schema": {"openAPIV3Schema": {"anyOf": {"type": "string"}}}}]),
     [("/spec/versions/0/schema/openAPIV3Schema/anyOf", "anyOf must be a list of schemas")]),
    (crd([{"name": "v1", "schema": {"openAPIV3Schema": {"additionalProperties": "x"}}}]),
     [("/spec/versions/0/schema/openAPIV3Schema/additionalProperties",
       "a schema must be a mapping")]),
])
def test_unusable_crds(document: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    versions, errors = convert_crd(document, "crd.yaml")
    assert versions == []
    assert [(e.pointer, e.message) for e in errors] == expected
