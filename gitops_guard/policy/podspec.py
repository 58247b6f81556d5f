"""Where an object keeps its pod spec, and the variables policy expressions see.

The variables are built from the object without changing it: containers and volumes are
shallow copies. A value of the wrong type (containers that are not a list, a string
securityContext) counts as absent, so a malformed manifest cannot break evaluation. Keys whose
value is null are dropped later, when the values are given to CEL (evaluate.drop_nulls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from gitops_guard import pointer

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class PodSpecPath:
    """A configured pod spec location (`policy.pod_spec_paths`)."""

    api_version: str  # "group/version" ("v1" for core), or a group alone for every version
    kind: str
    path: str  # dotted: spec.template.spec

    def matches(self, api_version: str, kind: str) -> bool:
        if kind != self.kind:
            return False
        return api_version == self.api_version or (
            "/" not in self.api_version and group_of(api_version) == self.api_version)


class PodLocation(NamedTuple):
    spec: tuple[str, ...]  # pointer tokens of the pod spec
    metadata: tuple[str, ...]  # pointer tokens of the pod's metadata


def _template(*base: str) -> PodLocation:
    return PodLocation((*base, "spec"), (*base, "metadata"))


# (group, kind) -> location; the core group is "".
BUILTIN: dict[tuple[str, str], PodLocation] = {
    ("", "Pod"): PodLocation(("spec",), ("metadata",)),
    ("apps", "Deployment"): _template("spec", "template"),
    ("apps", "StatefulSet"): _template("spec", "template"),
    ("apps", "DaemonSet"): _template("spec", "template"),
    ("apps", "ReplicaSet"): _template("spec", "template"),
    ("", "ReplicationController"): _template("spec", "template"),
    ("batch", "Job"): _template("spec", "template"),
    ("", "PodTemplate"): _template("template"),
    ("batch", "CronJob"): _template("spec", "jobTemplate", "spec", "template"),
    ("argoproj.io", "Rollout"): _template("spec", "template"),
}


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def locate(obj: Mapping[str, Any], extra: tuple[PodSpecPath, ...] = ()) -> PodLocation | None:
    """Where `obj` keeps a pod spec (a mapping), or None when it has none."""
    api_version, kind = _string(obj.get("apiVersion")), _string(obj.get("kind"))
    if not api_version:
        return None
    location = None
    for configured in extra:  # configured paths come first, so they can override the table
        if configured.matches(api_version, kind):
            tokens = tuple(configured.path.split("."))
            location = PodLocation(tokens, (*tokens[:-1], "metadata"))
            break
    else:
        location = BUILTIN.get((group_of(api_version), kind))
        # An Argo Rollout that points at a Deployment (workloadRef) has no template of its own.
        if kind == "Rollout" and _get(obj, ("spec", "workloadRef")) is not None:
            location = None
    if location is None or not isinstance(_get(obj, location.spec), dict):
        return None
    return location


def variables(obj: Mapping[str, Any], extra: tuple[PodSpecPath, ...] = ()) -> dict[str, Any]:
    """The variables every expression sees, except pssVersion, pssLevel and `variables`."""
    metadata = _mapping(obj.get("metadata"))
    location = locate(obj, extra)
    pod_spec = _mapping(_get(obj, location.spec)) if location else {}
    pod_pointer = pointer.join(*location.spec) if location else ""
    meta_pointer = pointer.join(*location.metadata) if location else ""
    os_info = _mapping(pod_spec.get("os"))
    host_users = pod_spec.get("hostUsers")
    return {
        "object": obj,
        "apiVersion": _string(obj.get("apiVersion")),
        "kind": _string(obj.get("kind")),
        "name": _string(metadata.get("name")),
        "namespace": _string(metadata.get("namespace")),
        "labels": _mapping(metadata.get("labels")),
        "annotations": _mapping(metadata.get("annotations")),
        "podSpec": pod_spec,
        "podMeta": _mapping(_get(obj, location.metadata)) if location else {},
        "podSpecPointer": pod_pointer,
        "podMetaPointer": meta_pointer,
        "podSecurityContext": _mapping(pod_spec.get("securityContext")),
        "containers": containers(pod_spec, pod_pointer),
        "volumes": volumes(pod_spec, pod_pointer),
        "windows": os_info.get("name") == "windows",
        "hostUsers": host_users if isinstance(host_users, bool) else True,
    }


def containers(pod_spec: Mapping[str, Any], pod_pointer: str) -> list[dict[str, Any]]:
    """Init, regular and ephemeral containers: copies with `name` defaulted to "" and
    `securityContext` to {}, and `_type` / `_pointer` added."""
    found = []
    for kind in CONTAINER_LISTS:
        for index, container in enumerate(_list(pod_spec.get(kind))):
            if isinstance(container, dict):
                copy = dict(container)
                copy["name"] = _string(container.get("name"))
                copy["securityContext"] = _mapping(container.get("securityContext"))
                copy["_type"] = kind
                copy["_pointer"] = pointer.extend(pod_pointer, kind, index)
                found.append(copy)
    return found


def volumes(pod_spec: Mapping[str, Any], pod_pointer: str) -> list[dict[str, Any]]:
    """The pod's volumes: copies with `name` defaulted to "" and `_pointer` added."""
    found = []
    for index, volume in enumerate(_list(pod_spec.get("volumes"))):
        if isinstance(volume, dict):
            copy = dict(volume)
            copy["name"] = _string(volume.get("name"))
            copy["_pointer"] = pointer.extend(pod_pointer, "volumes", index)
            found.append(copy)
    return found


def _get(data: Any, tokens: tuple[str, ...]) -> Any:
    for token in tokens:
        if not isinstance(data, dict):
            return None
        data = data.get(token)
    return data


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""
