"""What the API server checks beyond the OpenAPI schema (kubeconform's most frequent gap).

Names by kind (DNS-1123 subdomain or label, DNS-1035 label, path segment), label and
annotation syntax, container and Service port names, a workload selector that its pod template
does not satisfy, and restart policies a workload kind does not allow. The rules follow the
validation code of k8s.io/apimachinery and k8s.io/kubernetes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gitops_guard import pointer as jp
from gitops_guard.checks.schema.rules import (
    RULE_ANNOTATION,
    RULE_LABEL,
    RULE_NAME,
    RULE_PORT_NAME,
    RULE_SELECTOR,
    RULE_VALUE,
)
from gitops_guard.findings import Problem
from gitops_guard.workloads import CONTAINER_LISTS, get, pod_template

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

ANNOTATIONS_LIMIT = 256 * 1024  # bytes of keys plus values, per object
_SUBDOMAIN_MAX, _LABEL_MAX = 253, 63

_PATH_SEGMENT_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
# Workload kinds whose pods must restart (`Always`), and kinds whose pods must not.
_ALWAYS_RESTART = frozenset({"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet",
                             "ReplicationController", "Rollout"})
_RUN_TO_COMPLETION = frozenset({"Job", "CronJob"})
# Selector must select the pod template (apps/v1 workloads; a Job only with manualSelector).
_SELECTING = frozenset({"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"})


def check(data: dict[str, Any], kind: str, built_in: bool,
          partial: bool = False) -> Iterator[Problem]:
    """`partial`: a kustomize patch, which may leave out what a whole object must have."""
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        yield from _object_name(metadata, kind, built_in)
        yield from _labels(metadata.get("labels"), ("metadata", "labels"))
        yield from _annotations(metadata.get("annotations"), ("metadata", "annotations"))
    template = pod_template(kind) if built_in or kind == "Rollout" else None
    if template is not None:
        yield from _pod(data, kind, template.metadata, template.spec, partial)
    if kind == "Service" and built_in:
        yield from _service_ports(data)


def _object_name(metadata: dict[str, Any], kind: str, built_in: bool) -> Iterator[Problem]:
    name = metadata.get("name")
    if isinstance(name, str) and name:
        problem = name_problem(name, kind if built_in else "")
        if problem:
            yield Problem(RULE_NAME, f'metadata.name "{name}" {problem}', "/metadata/name")
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and namespace:
        problem = _dns_label(namespace)
        if problem:
            yield Problem(RULE_NAME, f'metadata.namespace "{namespace}" {problem}',
                          "/metadata/namespace")


def name_problem(name: str, kind: str) -> str | None:
    """Why `name` is not a valid name for `kind` ("" for a custom resource), or None."""
    if kind == "Namespace":
        return _dns_label(name)
    if kind == "Service":
        if len(name) > _LABEL_MAX:
            return f"is longer than {_LABEL_MAX} characters"
        if not _DNS_1035.match(name):
            return ("must be a DNS-1035 label: lower-case letters, digits and '-', starting "
                    "with a letter and ending with a letter or digit")
        return None
    if kind in _PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return "must not be '.' or '..' and must not contain '/' or '%'"
        return None
    limit = 52 if kind == "CronJob" else _SUBDOMAIN_MAX  # CronJob adds an 11-char suffix
    if len(name) > limit:
        return f"is longer than {limit} characters"
    if not _DNS_SUBDOMAIN.match(name):
        return ("must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting "
                "and ending with a letter or digit")
    return None


def _dns_label(value: str) -> str | None:
    if len(value) > _LABEL_MAX:
        return f"is longer than {_LABEL_MAX} characters"
    if not _DNS_LABEL.match(value):
        return ("must be a DNS-1123 label: lower-case letters, digits and '-', starting and "
                "ending with a letter or digit")
    return None


def qualified_name_problem(key: str) -> str | None:
    """Label and annotation keys: an optional DNS-subdomain prefix, '/', and a name."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "has an empty prefix before '/'"
    if prefix and (len(prefix) > _SUBDOMAIN_MAX or not _DNS_SUBDOMAIN.match(prefix)):
        return f"has a prefix ({prefix}) that is not a DNS-1123 subdomain"
    if not name:
        return "has an empty name"
    if len(name) > _LABEL_MAX:
        return f"has a name part longer than {_LABEL_MAX} characters"
    if not _QUALIFIED_NAME.match(name):
        return ("has a name part that is not letters, digits, '-', '_' or '.', starting and "
                "ending with a letter or digit")
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > _LABEL_MAX:
        return f"is longer than {_LABEL_MAX} characters"
    if not _LABEL_VALUE.match(value):
        return ("must be empty or letters, digits, '-', '_' or '.', starting and ending with a "
                "letter or digit")
    return None


def _labels(labels: Any, at: tuple[str, ...]) -> Iterator[Problem]:
    if not isinstance(labels, dict):
        return
    where = jp.dotted(at)
    for key, value in labels.items():
        problem = qualified_name_problem(key)
        if problem:
            yield Problem(RULE_LABEL, f'{where}: label key "{key}" {problem}', jp.join(*at, key),
                          at_key=True)
        if isinstance(value, str):
            problem = label_value_problem(value)
            if problem:
                yield Problem(RULE_LABEL, f'{where}: value of label "{key}" {problem}',
                              jp.join(*at, key))


def _annotations(annotations: Any, at: tuple[str, ...]) -> Iterator[Problem]:
    if not isinstance(annotations, dict):
        return
    where = jp.dotted(at)
    size = 0
    for key, value in annotations.items():
        size += len(key.encode()) + (len(value.encode()) if isinstance(value, str) else 0)
        problem = qualified_name_problem(key)
        if problem:
            yield Problem(RULE_ANNOTATION, f'{where}: annotation key "{key}" {problem}',
                          jp.join(*at, key), at_key=True)
    if size > ANNOTATIONS_LIMIT:
        yield Problem(RULE_ANNOTATION, f"{where}: annotations take {size:,} bytes; the limit is "
                      f"{ANNOTATIONS_LIMIT:,} (256 KiB)", jp.join(*at))


def port_name_problem(name: str) -> str | None:
    """Container port names and named target ports (IANA service names)."""
    if len(name) > 15:
        return "is longer than 15 characters"
    if not _IANA_SVC_NAME.match(name) or "--" in name:
        return "must be lower-case letters, digits and single '-', not at the start or end"
    if not re.search(r"[a-z]", name):
        return "must contain at least one letter"
    return None


def _pod(data: dict[str, Any], kind: str, metadata_at: tuple[str, ...],
         spec_at: tuple[str, ...], partial: bool) -> Iterator[Problem]:
    if kind != "Pod":
        pod_metadata = get(data, metadata_at)
        if isinstance(pod_metadata, dict):
            yield from _labels(pod_metadata.get("labels"), (*metadata_at, "labels"))
            yield from _annotations(pod_metadata.get("annotations"),
                                    (*metadata_at, "annotations"))
    selecting = kind in _SELECTING or (kind == "Job" and get(data, ("spec", "manualSelector")))
    if selecting and not partial:
        yield from _selector(data, metadata_at)
    spec = get(data, spec_at)
    if not isinstance(spec, dict):
        return
    for group in CONTAINER_LISTS:
        containers = spec.get(group)
        for index, container in enumerate(containers if isinstance(containers, list) else []):
            ports = container.get("ports") if isinstance(container, dict) else None
            for port_index, port in enumerate(ports if isinstance(ports, list) else []):
                name = port.get("name") if isinstance(port, dict) else None
                if isinstance(name, str):
                    problem = port_name_problem(name)
                    if problem:
                        at = (*spec_at, group, str(index), "ports", str(port_index), "name")
                        yield Problem(RULE_PORT_NAME, f'{jp.dotted(at)}: port name "{name}" '
                                      f"{problem}", jp.join(*at))
    yield from _restart_policy(kind, spec, spec_at)


def _restart_policy(kind: str, spec: dict[str, Any], spec_at: tuple[str, ...]) -> Iterator[Problem]:
    policy = spec.get("restartPolicy")
    if not isinstance(policy, str):
        return
    at = (*spec_at, "restartPolicy")
    if kind in _ALWAYS_RESTART and policy != "Always":
        yield Problem(RULE_VALUE, f'{jp.dotted(at)}: a {kind} runs pods that restart; only '
                      f'"Always" is allowed, not "{policy}"', jp.join(*at))
    elif kind in _RUN_TO_COMPLETION and policy == "Always":
        yield Problem(RULE_VALUE, f'{jp.dotted(at)}: a {kind} runs pods to completion; use '
                      '"OnFailure" or "Never", not "Always"', jp.join(*at))


def _selector(data: dict[str, Any], metadata_at: tuple[str, ...]) -> Iterator[Problem]:
    selector = get(data, ("spec", "selector"))
    if not isinstance(selector, dict):
        return  # a missing selector is a schema error
    yield from _labels(selector.get("matchLabels"), ("spec", "selector", "matchLabels"))
    labels = get(data, (*metadata_at, "labels"))
    labels = labels if isinstance(labels, dict) else {}
    match_labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    if not match_labels and not expressions:
        yield Problem(RULE_SELECTOR, "spec.selector: an empty selector selects every pod; the "
                      "API server rejects it", "/spec/selector")
        return
    unmet = _unmet(match_labels, expressions, labels)
    if unmet:
        at = (*metadata_at, "labels")
        yield Problem(RULE_SELECTOR, f"spec.selector does not match the pod template's labels "
                      f"({jp.dotted(at)}): {unmet}", jp.join(*at))


def _unmet(match_labels: Any, expressions: Any, labels: dict[str, Any]) -> str | None:
    for key, value in (match_labels if isinstance(match_labels, dict) else {}).items():
        if labels.get(key) != value:
            return f'needs {key}: "{value}"'
    for expression in expressions if isinstance(expressions, list) else []:
        if not isinstance(expression, dict):
            continue
        key, operator = expression.get("key"), expression.get("operator")
        if not isinstance(key, str):
            continue
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return f"needs {key} in {values}"
        if operator == "NotIn" and present and labels[key] in values:
            return f"needs {key} not in {values}"
        if operator == "Exists" and not present:
            return f"needs label {key}"
        if operator == "DoesNotExist" and present:
            return f"needs no label {key}"
    return None


def _service_ports(data: dict[str, Any]) -> Iterator[Problem]:
    ports = get(data, ("spec", "ports"))
    for index, port in enumerate(ports if isinstance(ports, list) else []):
        if not isinstance(port, dict):
            continue
        name, target = port.get("name"), port.get("targetPort")
        if isinstance(name, str) and name:
            problem = _dns_label(name)
            if problem:
                yield Problem(RULE_PORT_NAME, f'spec.ports[{index}].name "{name}" {problem}',
                              f"/spec/ports/{index}/name")
        if isinstance(target, str):
            problem = port_name_problem(target)
            if problem:
                yield Problem(RULE_PORT_NAME, f'spec.ports[{index}].targetPort "{target}" '
                              f"{problem}", f"/spec/ports/{index}/targetPort")
