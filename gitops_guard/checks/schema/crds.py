"""CustomResourceDefinitions turned into JSON schemas for their custom resources.

A CRD's `openAPIV3Schema` is OpenAPI 3.0, not JSON Schema 2020-12. Converted as the API server
reads it: `nullable` allows null, `x-kubernetes-int-or-string` is an integer or a string,
`x-kubernetes-preserve-unknown-fields` keeps an object open even in strict mode, embedded
resources may carry apiVersion/kind/metadata, boolean `exclusiveMinimum`/`exclusiveMaximum`
become their 2020-12 form. `metadata` is checked against the built-in ObjectMeta, because the
API server ignores what a CRD says about it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from gitops_guard.checks.schema.walk import rebuild

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
CRD_API_VERSION = "apiextensions.k8s.io/v1"


class CrdVersion(NamedTuple):
    api_version: str  # group/version the custom resources use
    kind: str
    root: dict[str, Any]  # converted schema of the whole object, not yet strict
    crd: str  # the CRD's name
    path: str  # the file it was found in

    @property
    def source(self) -> str:
        return f"CRD {self.crd} ({self.path})"


class CrdError(NamedTuple):
    pointer: str
    message: str


def is_crd(data: Any) -> bool:
    return (isinstance(data, dict) and data.get("kind") == "CustomResourceDefinition"
            and data.get("apiVersion") == CRD_API_VERSION)


def convert_crd(data: dict[str, Any], source: str) -> tuple[list[CrdVersion], list[CrdError]]:
    """Every served version of a CRD, and what prevents converting the rest."""
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return [], [CrdError("/spec", "CRD has no spec")]
    group = spec.get("group")
    names = spec.get("names")
    kind = names.get("kind") if isinstance(names, dict) else None
    if not isinstance(group, str) or not isinstance(kind, str):
        return [], [CrdError("/spec", "CRD has no spec.group or spec.names.kind")]
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str):
        name = f"?.{group}"
    listed = spec.get("versions")
    if not isinstance(listed, list):
        return [], [CrdError("/spec/versions", "CRD versions must be a list")]
    versions: list[CrdVersion] = []
    errors: list[CrdError] = []
    for index, version in enumerate(listed):
        if not isinstance(version, dict) or not isinstance(version.get("name"), str):
            errors.append(CrdError(f"/spec/versions/{index}", "CRD version has no name"))
            continue
        if version.get("served") is False:
            continue
        holder = version.get("schema")
        schema = holder.get("openAPIV3Schema") if isinstance(holder, dict) else None
        if schema is None:
            # No schema: the API server accepts any fields (only possible with old CRDs).
            schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        if not isinstance(schema, dict):
            errors.append(CrdError(f"/spec/versions/{index}/schema/openAPIV3Schema",
                                   "openAPIV3Schema must be a mapping"))
            continue
        pointer = f"/spec/versions/{index}/schema/openAPIV3Schema"
        malformed = _malformed(schema, pointer)
        if malformed is not None:
            errors.append(CrdError(*malformed))
            continue
        api_version = f"{group}/{version['name']}"
        versions.append(CrdVersion(api_version, kind, _root(convert(schema), api_version, kind),
                                   name, source))
    return versions, errors


_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_LISTS = ("required", "enum", "x-kubernetes-list-map-keys", "x-kubernetes-validations")


def _malformed(node: Any, pointer: str) -> tuple[str, str] | None:
    """The first place where the schema is not shaped like a schema (the API server would
    reject the CRD), as (pointer, message); converting it would fail in unexpected ways."""
    if not isinstance(node, dict):
        return pointer, "a schema must be a mapping"
    for key in _SCHEMA_MAPS:
        if key in node:
            if not isinstance(node[key], dict):
                return f"{pointer}/{key}", f"{key} must be a mapping of schemas"
            for name, child in node[key].items():
                found = _malformed(child, f"{pointer}/{key}/{_escape(str(name))}")
                if found is not None:
                    return found
    for key in _SCHEMA_LISTS:
        if key in node:
            if not isinstance(node[key], list):
                return f"{pointer}/{key}", f"{key} must be a list of schemas"
            for position, child in enumerate(node[key]):
                found = _malformed(child, f"{pointer}/{key}/{position}")
                if found is not None:
                    return found
    for key in ("items", "not", "additionalProperties", "additionalItems"):
        if key not in node:
            continue
        child = node[key]
        if isinstance(child, bool) and key.startswith("additional"):
            continue
        # `items` may also be a list of schemas (JSONSchemaPropsOrArray).
        listed = key == "items" and isinstance(child, list)
        for at, each in ([(f"{pointer}/{key}/{n}", c) for n, c in enumerate(child)] if listed
                         else [(f"{pointer}/{key}", child)]):
            found = _malformed(each, at)
            if found is not None:
                return found
    for key in _LISTS:
        if key in node and not isinstance(node[key], list):
            return f"{pointer}/{key}", f"{key} must be a list"
    if "type" in node and not isinstance(node["type"], str):
        return f"{pointer}/type", "type must be a string"
    return None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _root(schema: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    root = dict(schema)
    root.setdefault("type", "object")
    properties = dict(root.get("properties") or {})
    properties["apiVersion"] = {"const": api_version}
    properties["kind"] = {"const": kind}
    properties["metadata"] = {"$ref": f"#/$defs/{OBJECT_META}"}
    root["properties"] = properties
    required = set(root.get("required") or [])
    root["required"] = sorted(required | {"apiVersion", "kind"})
    return root


_DOCUMENTATION = ("description", "example", "externalDocs", "nullable")


def convert(schema: Any) -> Any:
    """OpenAPI 3.0 (Kubernetes structural schema) to JSON Schema 2020-12."""
    return rebuild(schema, _convert_node)


def _convert_node(node: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in node.items() if key not in _DOCUMENTATION}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), bool):
            exclusive = out.pop(bound)
            if exclusive and limit in out:
                out[bound] = out.pop(limit)
    if out.get("x-kubernetes-int-or-string") or out.get("format") == "int-or-string":
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("x-kubernetes-embedded-resource") and "properties" in out:
        embedded = dict(out["properties"])
        embedded.setdefault("apiVersion", {"type": "string"})
        embedded.setdefault("kind", {"type": "string"})
        embedded.setdefault("metadata", {"type": "object"})
        out["properties"] = embedded
    if node.get("nullable") is True:
        _allow_null(out)
    return out


def _allow_null(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    elif "anyOf" in schema:
        schema["anyOf"] = [*schema["anyOf"], {"type": "null"}]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
