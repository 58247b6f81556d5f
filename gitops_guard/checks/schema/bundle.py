"""The bundled Kubernetes schemas: versions, kinds, and validator-ready schema documents.

Definitions are stored once and shared across versions (see scripts/vendor_schemas.py). This
module turns a kind into a standalone JSON schema for one version: the closure of definitions
it refers to, with two things added on load rather than stored:
- strictness: `additionalProperties: false` on every object schema that lists its properties
  (map-like fields such as `labels` have no `properties` and stay open);
- value rules the OpenAPI spec leaves out but the API server enforces: enums for fields such as
  `imagePullPolicy`, and the syntax of resource quantities.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from gitops_guard.checks.schema.walk import MAP, rebuild
from gitops_guard.errors import GuardError

BUNDLE = Path(__file__).resolve().parent.parent.parent / "schemas" / "kubernetes.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")

# The API server parses quantities with this grammar (k8s.io/apimachinery resource.Quantity).
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
QUANTITY_PATTERN = (rf"^[+-]?{_NUMBER}(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?{_NUMBER})?$")
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

_PULL = ["Always", "IfNotPresent", "Never"]
_TERMINATION = ["File", "FallbackToLogsOnError"]
_PROTOCOLS = ["TCP", "UDP", "SCTP"]
_ROLLING = ["RollingUpdate", "OnDelete"]
_TRAFFIC = ["Cluster", "Local"]

# (definition, property) -> values the API server accepts. For list properties the enum
# applies to the items.
ENUMS: dict[str, dict[str, list[str]]] = {
    "io.k8s.api.core.v1.Container": {"imagePullPolicy": _PULL,
                                     "terminationMessagePolicy": _TERMINATION},
    "io.k8s.api.core.v1.EphemeralContainer": {"imagePullPolicy": _PULL,
                                              "terminationMessagePolicy": _TERMINATION},
    "io.k8s.api.core.v1.PodSpec": {
        "restartPolicy": ["Always", "OnFailure", "Never"],
        "dnsPolicy": ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
        "preemptionPolicy": ["Never", "PreemptLowerPriority"],
    },
    "io.k8s.api.core.v1.ContainerPort": {"protocol": _PROTOCOLS},
    "io.k8s.api.core.v1.ServicePort": {"protocol": _PROTOCOLS},
    "io.k8s.api.core.v1.ServiceSpec": {
        "type": ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
        "externalTrafficPolicy": _TRAFFIC,
        "internalTrafficPolicy": _TRAFFIC,
        "sessionAffinity": ["None", "ClientIP"],
        "ipFamilyPolicy": ["SingleStack", "PreferDualStack", "RequireDualStack"],
        "ipFamilies": ["IPv4", "IPv6"],
    },
    "io.k8s.api.networking.v1.HTTPIngressPath": {
        "pathType": ["Exact", "Prefix", "ImplementationSpecific"]},
    "io.k8s.api.apps.v1.DeploymentStrategy": {"type": ["Recreate", "RollingUpdate"]},
    "io.k8s.api.apps.v1.StatefulSetSpec": {"podManagementPolicy": ["OrderedReady", "Parallel"]},
    "io.k8s.api.apps.v1.StatefulSetUpdateStrategy": {"type": _ROLLING},
    "io.k8s.api.apps.v1.DaemonSetUpdateStrategy": {"type": _ROLLING},
    "io.k8s.api.batch.v1.CronJobSpec": {"concurrencyPolicy": ["Allow", "Forbid", "Replace"]},
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec": {
        "accessModes": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"],
        "volumeMode": ["Filesystem", "Block"],
    },
    "io.k8s.api.core.v1.SeccompProfile": {"type": ["Localhost", "RuntimeDefault", "Unconfined"]},
}


def normalize_version(text: str, available: tuple[str, ...]) -> str:
    """`1.36`, `v1.36.2` and `1.36.0` all mean the 1.36 schemas; anything else is an error."""
    match = _VERSION.match(text.strip())
    version = f"{match[1]}.{match[2]}" if match else None
    if version not in available:
        raise GuardError(f"no bundled schemas for Kubernetes {text!r}; available: "
                         f"{', '.join(available)}")
    return version


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


class Bundle:
    """The schemas of one Kubernetes version, prepared lazily and cached per instance."""

    def __init__(self, version: str, data: Mapping[str, Any]) -> None:
        self.version = version
        layout = data["versions"][version]
        self.kinds: dict[str, str] = layout["kinds"]
        self._hashes: dict[str, str] = layout["definitions"]
        self._store: Mapping[str, Any] = data["definitions"]
        self._prepared: dict[tuple[str, bool, bool], Any] = {}

    @cached_property
    def groups(self) -> frozenset[str]:
        return frozenset(api_group(key.rpartition("/")[0]) for key in self.kinds)

    def definition_name(self, api_version: str, kind: str) -> str | None:
        return self.kinds.get(f"{api_version}/{kind}")

    def serving(self, kind: str) -> list[str]:
        """The apiVersions that serve `kind` in this version."""
        return sorted(api_version for api_version, _, name in
                      (key.rpartition("/") for key in self.kinds) if name == kind)

    def document(self, name: str, strict: bool, partial: bool = False) -> dict[str, Any]:
        """A standalone schema for definition `name`: a `$ref` plus every definition it needs.

        `partial` drops `required`, for patches that name only the fields they change.
        """
        return {"$schema": DRAFT, "$ref": f"#/$defs/{name}",
                "$defs": {dep: self.definition(dep, strict, partial)
                          for dep in self.closure(name)}}

    def definition(self, name: str, strict: bool, partial: bool = False) -> Any:
        key = (name, strict, partial)
        if key not in self._prepared:
            prepared = _with_value_rules(name, self._store[self._hashes[name]])
            if strict:
                prepared = strictify(prepared)
            if partial:
                prepared = without_required(prepared)
            self._prepared[key] = prepared
        return self._prepared[key]

    def closure(self, name: str) -> list[str]:
        seen = {name}
        order = [name]
        for current in order:
            for ref in _refs(self._store[self._hashes[current]]):
                if ref not in seen:
                    seen.add(ref)
                    order.append(ref)
        return order

    def has_definition(self, name: str) -> bool:
        return name in self._hashes


def load_bundle_data(path: Path = BUNDLE) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # a broken installation, not a user error
        raise RuntimeError(f"the bundled schemas cannot be read: {exc}") from exc
    return data


def bundled_versions(data: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(data["versions"], key=lambda v: tuple(int(p) for p in v.split("."))))


def _refs(schema: Any) -> Iterator[str]:
    """The definitions a schema refers to. Values (`default`, `enum`) are data, not schemas,
    but a *property* may be called `default` (JSONSchemaProps has one)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            yield ref[len("#/$defs/"):]
        for key, value in schema.items():
            if key in MAP and isinstance(value, dict):
                for sub in value.values():
                    yield from _refs(sub)
            elif key not in ("enum", "const", "default", "example", "examples"):
                yield from _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


def strictify(schema: Any) -> Any:
    """A copy in which objects that list their properties allow no others.

    Objects marked `x-kubernetes-preserve-unknown-fields` (free-form by design) are left open.
    """
    return rebuild(schema, _close)


def _close(schema: dict[str, Any]) -> dict[str, Any]:
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        schema["additionalProperties"] = False
    return schema


def without_required(schema: Any) -> Any:
    """A copy that requires no field anywhere: the schema of a patch."""
    return rebuild(schema, lambda node: {k: v for k, v in node.items() if k != "required"})


def _with_value_rules(name: str, definition: Any) -> Any:
    if name == QUANTITY:
        return {"anyOf": [{"type": ["string", "null"], "pattern": QUANTITY_PATTERN},
                          {"type": ["number", "null"]}]}
    enums = ENUMS.get(name)
    if not enums or not isinstance(definition, dict):
        return definition
    properties = dict(definition.get("properties", {}))
    for prop, values in enums.items():
        if prop not in properties:
            continue
        field = dict(properties[prop])
        if isinstance(field.get("items"), dict):
            field["items"] = {**field["items"], "enum": [*values, None]}
        else:
            field["enum"] = [*values, None]
        properties[prop] = field
    return {**definition, "properties": properties}
