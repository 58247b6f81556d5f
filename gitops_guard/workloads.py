"""Where pod templates live in workload kinds (shared by the checks that look inside pods)."""

from __future__ import annotations

from typing import Any, NamedTuple

# JSON pointer tokens from the object to its pod template (metadata + spec), by kind.
_TEMPLATE = ("spec", "template")
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": _TEMPLATE,
    "ReplicaSet": _TEMPLATE,
    "DaemonSet": _TEMPLATE,
    "StatefulSet": _TEMPLATE,
    "ReplicationController": _TEMPLATE,
    "Job": _TEMPLATE,
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
    "Rollout": _TEMPLATE,  # Argo Rollouts
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


class PodTemplate(NamedTuple):
    metadata: tuple[str, ...]  # pointer tokens of the pod metadata
    spec: tuple[str, ...]  # pointer tokens of the pod spec


def pod_template(kind: str) -> PodTemplate | None:
    """Where a kind keeps its pod; a Pod is its own template."""
    if kind == "Pod":
        return PodTemplate(("metadata",), ("spec",))
    base = TEMPLATE_PATHS.get(kind)
    if base is None:
        return None
    return PodTemplate((*base, "metadata"), (*base, "spec"))


def get(data: Any, tokens: tuple[str, ...]) -> Any:
    """The value at `tokens`, or None when any part is missing or of the wrong shape."""
    for token in tokens:
        if isinstance(data, dict):
            data = data.get(token)
        elif isinstance(data, list) and token.isdigit() and int(token) < len(data):
            data = data[int(token)]
        else:
            return None
    return data
