"""The API server's rules that schemas cannot express, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from gitops_guard.checks.schema.semantics import (
    check,
    label_value_problem,
    name_problem,
    port_name_problem,
    qualified_name_problem,
)


@pytest.mark.parametrize(("name", "kind", "valid"), [
    ("web", "Deployment", True),
    ("web.prod.v2", "ConfigMap", True),
    ("a" * 253, "ConfigMap", True),
    ("a" * 254, "ConfigMap", False),
    ("Web", "ConfigMap", False),
    ("web_app", "ConfigMap", False),
    ("-web", "ConfigMap", False),
    ("web.", "ConfigMap", False),
    ("web.prod", "Namespace", False),  # a label: no dots
    ("a" * 63, "Namespace", True),
    ("a" * 64, "Namespace", False),
    ("web-1", "Service", True),
    ("1-web", "Service", False),  # DNS-1035: starts with a letter
    ("web.prod", "Service", False),
    ("system:controller:web", "ClusterRole", True),  # a path segment
    ("a/b", "RoleBinding", False),
    ("..", "Role", False),
    ("50%", "ClusterRoleBinding", False),
    ("a" * 52, "CronJob", True),
    ("a" * 53, "CronJob", False),
    ("my.widget", "", True),  # custom resources: DNS subdomain
    ("My_Widget", "", False),
])
def test_names(name: str, kind: str, valid: bool) -> None:
    assert (name_problem(name, kind) is None) is valid


@pytest.mark.parametrize(("key", "valid"), [
    ("app", True), ("app.kubernetes.io/name", True), ("example.com/a_b-c.d", True),
    ("A1", True), ("a" * 63, True), ("a" * 64, False), ("-app", False), ("app-", False),
    ("/app", False), ("example.com/", False), ("Example.com/app", False),
    ("a/b/c", False), ("with space", False), (f"{'a' * 254}/x", False),
])
def test_label_keys(key: str, valid: bool) -> None:
    assert (qualified_name_problem(key) is None) is valid


@pytest.mark.parametrize(("value", "valid"), [
    ("", True), ("v1.2.3", True), ("a_b-c", True), ("a" * 63, True), ("a" * 64, False),
    ("-a", False), ("a.", False), ("a b", False), ("a/b", False),
])
def test_label_values(value: str, valid: bool) -> None:
    assert (label_value_problem(value) is None) is valid


@pytest.mark.parametrize(("name", "valid"), [
    ("http", True), ("http-alt", True), ("h2c", True), ("a" * 15, True), ("a" * 16, False),
    ("HTTP", False), ("http--alt", False), ("-http", False), ("http-", False),
    ("8080", False), ("web_port", False),
])
def test_port_names(name: str, valid: bool) -> None:
    assert (port_name_problem(name) is None) is valid


def rules(data: dict[str, Any], kind: str, built_in: bool = True,
          partial: bool = False) -> list[tuple[str, str]]:
    return [(p.rule, p.pointer) for p in check(data, kind, built_in, partial)]


def test_annotations_size_limit() -> None:
    big = {"apiVersion": "v1", "metadata": {"name": "x", "annotations": {
        "a": "x" * (256 * 1024)}}}
    assert rules(big, "ConfigMap") == [("GG-SCHEMA-008", "/metadata/annotations")]
    fits = {"metadata": {"name": "x", "annotations": {"a": "x" * (256 * 1024 - 1)}}}
    assert rules(fits, "ConfigMap") == []


WORKLOAD = {
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"},
                     "matchExpressions": [{"key": "tier", "operator": "In",
                                           "values": ["front"]}]},
        "template": {"metadata": {"labels": {"app": "web", "tier": "front"}},
                     "spec": {"containers": [{"name": "c"}]}},
    },
}


@pytest.mark.parametrize(("labels", "selected"), [
    ({"app": "web", "tier": "front"}, True),
    ({"app": "web", "tier": "back"}, False),
    ({"app": "api", "tier": "front"}, False),
    ({"tier": "front"}, False),
])
def test_selector_must_select_the_template(labels: dict[str, str], selected: bool) -> None:
    data = {**WORKLOAD, "spec": {**WORKLOAD["spec"], "template": {
        "metadata": {"labels": labels}, "spec": {}}}}
    found = rules(data, "Deployment")
    assert found == ([] if selected else [("GG-SCHEMA-010", "/spec/template/metadata/labels")])
    # A patch names only what it changes: its selector is not compared.
    assert rules(data, "Deployment", partial=True) == []


@pytest.mark.parametrize(("operator", "values", "labels", "selected"), [
    ("NotIn", ["canary"], {"track": "stable"}, True),
    ("NotIn", ["canary"], {"track": "canary"}, False),
    ("NotIn", ["canary"], {}, True),
    ("Exists", [], {"track": "x"}, True),
    ("Exists", [], {}, False),
    ("DoesNotExist", [], {}, True),
    ("DoesNotExist", [], {"track": "x"}, False),
])
def test_match_expressions(operator: str, values: list[str], labels: dict[str, str],
                           selected: bool) -> None:
    data = {"spec": {"selector": {"matchExpressions": [
        {"key": "track", "operator": operator, "values": values}]},
        "template": {"metadata": {"labels": labels}}}}
    assert (rules(data, "StatefulSet") == []) is selected


def test_job_selector_only_with_manual_selector() -> None:
    data = {"spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {}}, "spec": {}}}}
    assert rules(data, "Job") == []
    manual = {"spec": {**data["spec"], "manualSelector": True}}
    assert rules(manual, "Job") == [("GG-SCHEMA-010", "/spec/template/metadata/labels")]


def test_custom_resources_get_only_object_rules() -> None:
    data = {"metadata": {"name": "Bad"}, "spec": {"template": {"spec": {"restartPolicy": "X"}}}}
    assert rules(data, "Deployment", built_in=False) == [("GG-SCHEMA-006", "/metadata/name")]
    # Argo Rollouts carry a pod template where a Deployment does.
    rollout = {"spec": {"template": {"spec": {"restartPolicy": "Never"}}}}
    assert rules(rollout, "Rollout", built_in=False) == [
        ("GG-SCHEMA-011", "/spec/template/spec/restartPolicy")]


def test_ports_in_every_container_list() -> None:
    spec = {group: [{"name": "c", "ports": [{"name": "TOO-LONG-PORT-NAME"}]}]
            for group in ("initContainers", "containers", "ephemeralContainers")}
    assert rules({"spec": spec}, "Pod") == [
        ("GG-SCHEMA-009", f"/spec/{group}/0/ports/0/name")
        for group in ("initContainers", "containers", "ephemeralContainers")]


@pytest.mark.parametrize("data", [
    {"metadata": "not a mapping"},
    {"metadata": {"name": 5, "labels": ["a"], "annotations": "x"}},
    {"spec": {"template": "x"}},
    {"spec": {"template": {"spec": {"containers": "x"}}}},
    {"spec": {"template": {"spec": {"containers": [{"ports": "x"}, "c", {"ports": ["p"]}]}}}},
    {"spec": {"selector": {"matchExpressions": ["x", {"key": 1}]},
              "template": {"metadata": {"labels": "x"}}}},
])
def test_malformed_shapes_are_left_to_the_schema(data: dict[str, Any]) -> None:
    check_kinds = ("Deployment", "Pod", "Service")
    for kind in check_kinds:
        list(check(data, kind, True))  # no exception: the schema reports wrong shapes
