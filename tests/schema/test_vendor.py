"""scripts/vendor_schemas.py: how the bundle is built from upstream definitions."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.conftest import REPO_ROOT


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vendor_schemas",
                                                  REPO_ROOT / "scripts" / "vendor_schemas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["vendor_schemas"] = module
    spec.loader.exec_module(module)
    return module


vendor = load_script()

META = {"description": "meta", "type": "object",
        "properties": {"name": {"type": ["string", "null"], "description": "the name"}}}
INT_OR_STRING = {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]}


def kind(group: str, version: str, name: str, **extra: object) -> dict[str, object]:
    return {"x-kubernetes-group-version-kind": [{"group": group, "version": version,
                                                 "kind": name}],
            "type": "object", "x-kubernetes-patch-strategy": "merge",
            "properties": {"metadata": {"$ref": "#/$defs/Meta"}, **extra}}


def test_clean_drops_documentation_but_not_properties_named_like_it() -> None:
    schema = {"description": "x", "properties": {"description": {"type": "string",
                                                                 "description": "y"}},
              "items": {"description": "z", "type": "integer"}}
    assert vendor.clean(schema) == {"properties": {"description": {"type": "string"}},
                                    "items": {"type": "integer"}}


def test_nullable_scalar_one_of_becomes_any_of() -> None:
    assert vendor.clean(INT_OR_STRING) == {"anyOf": INT_OR_STRING["oneOf"]}
    mixed = {"oneOf": [{"type": "string"}, {"type": "object", "properties": {}}]}
    assert vendor.clean(mixed) == mixed


def test_build_shares_identical_definitions_across_versions() -> None:
    old = {"Meta": META, "IntOrString": INT_OR_STRING,
           "Thing": kind("example.io", "v1", "Thing", size={"type": "integer"}),
           "Delete": {"x-kubernetes-group-version-kind": [
               {"group": "", "version": "v1", "kind": "DeleteOptions"},
               {"group": "apps", "version": "v1", "kind": "DeleteOptions"}]}}
    new = {**old, "Thing": kind("example.io", "v1", "Thing", size={"type": "string"}),
           "Pod": kind("", "v1", "Pod")}
    bundle = vendor.build({"1.36": old, "1.37": new})
    v36, v37 = bundle["versions"]["1.36"], bundle["versions"]["1.37"]
    assert v36["kinds"] == {"example.io/v1/Thing": "Thing"}
    assert v37["kinds"] == {"example.io/v1/Thing": "Thing", "v1/Pod": "Pod"}
    assert v36["definitions"]["Meta"] == v37["definitions"]["Meta"]
    assert v36["definitions"]["Thing"] != v37["definitions"]["Thing"]
    # Meta, IntOrString, Delete, two Things, Pod
    assert len(bundle["definitions"]) == 6
    stored = bundle["definitions"][v37["definitions"]["Thing"]]
    assert "x-kubernetes-group-version-kind" not in stored
    assert "x-kubernetes-patch-strategy" not in stored
