"""Where pod specs live, and the variables built from an object."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitops_guard.policy.podspec import PodSpecPath, locate, variables

POD = {"metadata": {"annotations": {"a": "b"}},
       "spec": {"containers": [{"name": "app", "image": "app:1"}]}}


def nest(tokens: list[str], value: Any) -> dict[str, Any]:
    for token in reversed(tokens):
        value = {token: value}
    return value


WORKLOADS = [  # apiVersion, kind, tokens of the pod template ([] for a Pod itself)
    ("v1", "Pod", []),
    ("apps/v1", "Deployment", ["spec", "template"]),
    ("apps/v1", "StatefulSet", ["spec", "template"]),
    ("apps/v1", "DaemonSet", ["spec", "template"]),
    ("apps/v1", "ReplicaSet", ["spec", "template"]),
    ("v1", "ReplicationController", ["spec", "template"]),
    ("batch/v1", "Job", ["spec", "template"]),
    ("v1", "PodTemplate", ["template"]),
    ("batch/v1", "CronJob", ["spec", "jobTemplate", "spec", "template"]),
    ("argoproj.io/v1alpha1", "Rollout", ["spec", "template"]),
]


@pytest.mark.parametrize(("api_version", "kind", "tokens"), WORKLOADS)
def test_every_workload_kind(api_version: str, kind: str, tokens: list[str]) -> None:
    obj = {"apiVersion": api_version, "kind": kind, **nest(tokens, copy.deepcopy(POD))}
    obj.setdefault("metadata", {}).update(name="w", namespace="ns")
    values = variables(obj)
    prefix = "".join(f"/{token}" for token in tokens)
    assert values["podSpecPointer"] == prefix + "/spec"
    assert values["podMetaPointer"] == prefix + "/metadata"
    assert values["podSpec"] == POD["spec"]
    assert values["podMeta"] == (POD["metadata"] if tokens else obj["metadata"])
    assert values["containers"][0]["_pointer"] == prefix + "/spec/containers/0"
    assert (values["apiVersion"], values["kind"]) == (api_version, kind)
    assert (values["name"], values["namespace"]) == ("w", "ns")


@pytest.mark.parametrize(("api_version", "kind"), [
    ("example.com/v1", "Deployment"),  # another group's Deployment
    ("extensions/v1beta1", "Deployment"),  # the table names apps only
    ("v1", "Service"),
    ("", "Pod"),
    ("v1", ""),
])
def test_other_kinds_have_no_pod_spec(api_version: str, kind: str) -> None:
    obj = {"apiVersion": api_version, "kind": kind, "spec": {"template": copy.deepcopy(POD),
                                                              **POD["spec"]}}
    values = variables(obj)
    assert locate(obj) is None
    assert values["podSpecPointer"] == values["podMetaPointer"] == ""
    assert values["podSpec"] == values["podMeta"] == values["podSecurityContext"] == {}
    assert values["containers"] == values["volumes"] == []


def test_a_rollout_with_a_workload_ref_has_none() -> None:
    obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
           "spec": {"workloadRef": {"kind": "Deployment", "name": "web"},
                    "template": copy.deepcopy(POD)}}
    assert locate(obj) is None


@pytest.mark.parametrize("spec", [None, "text", ["a"], 3])
def test_a_pod_spec_must_be_a_mapping(spec: Any) -> None:
    assert locate({"apiVersion": "v1", "kind": "Pod", "spec": spec}) is None
    assert locate({"apiVersion": "apps/v1", "kind": "Deployment",
                   "spec": {"template": {"spec": spec}}}) is None
    assert locate({"apiVersion": "apps/v1", "kind": "Deployment", "spec": spec}) is None


KNATIVE = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
           "spec": {"template": copy.deepcopy(POD)}}


@pytest.mark.parametrize("configured", [
    PodSpecPath("serving.knative.dev/v1", "Service", "spec.template.spec"),
    PodSpecPath("serving.knative.dev", "Service", "spec.template.spec"),  # any version
])
def test_configured_paths(configured: PodSpecPath) -> None:
    values = variables(KNATIVE, (configured,))
    assert values["podSpecPointer"] == "/spec/template/spec"
    assert values["podMeta"] == POD["metadata"]  # the sibling of the spec
    assert values["podMetaPointer"] == "/spec/template/metadata"
    assert variables(KNATIVE)["podSpecPointer"] == ""


@pytest.mark.parametrize("configured", [
    PodSpecPath("serving.knative.dev/v2", "Service", "spec.template.spec"),
    PodSpecPath("example.com", "Service", "spec.template.spec"),
    PodSpecPath("serving.knative.dev/v1", "Route", "spec.template.spec"),
])
def test_configured_paths_must_match(configured: PodSpecPath) -> None:
    assert variables(KNATIVE, (configured,))["podSpecPointer"] == ""


def test_a_one_token_path_takes_the_top_level_metadata() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Box", **copy.deepcopy(POD)}
    values = variables(obj, (PodSpecPath("example.com/v1", "Box", "spec"),))
    assert values["podSpecPointer"] == "/spec"
    assert values["podMeta"] == POD["metadata"]
    assert values["podMetaPointer"] == "/metadata"


def test_configured_paths_come_before_the_table() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "spec": {"inner": copy.deepcopy(POD["spec"])}}
    values = variables(obj, (PodSpecPath("v1", "Pod", "spec.inner"),))
    assert values["podSpecPointer"] == "/spec/inner"


def pod(spec: Any, metadata: Any = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "spec": spec}
    if metadata is not None:
        obj["metadata"] = metadata
    return obj


def test_containers_from_all_three_lists_in_order() -> None:
    spec = {
        "ephemeralContainers": [{"name": "debug"}],
        "containers": [{"name": "app", "securityContext": {"privileged": True}},
                       "not a container", {"name": "sidecar"}],
        "initContainers": [{"name": "init"}],
    }
    found = variables(pod(spec))["containers"]
    assert [(c["name"], c["_type"], c["_pointer"]) for c in found] == [
        ("init", "initContainers", "/spec/initContainers/0"),
        ("app", "containers", "/spec/containers/0"),
        ("sidecar", "containers", "/spec/containers/2"),  # the index in the manifest
        ("debug", "ephemeralContainers", "/spec/ephemeralContainers/0"),
    ]
    assert [c["securityContext"] for c in found] == [{}, {"privileged": True}, {}, {}]


def test_volumes_are_copies_with_a_pointer() -> None:
    spec = {"volumes": [{"name": "config", "configMap": {"name": "c"}}, "not a volume",
                        {"emptyDir": {}}, {"name": 7, "secret": {}}]}
    obj = pod(spec)
    before = copy.deepcopy(obj)
    found = variables(obj)["volumes"]
    assert found == [
        {"name": "config", "configMap": {"name": "c"}, "_pointer": "/spec/volumes/0"},
        {"name": "", "emptyDir": {}, "_pointer": "/spec/volumes/2"},  # the index in the manifest
        {"name": "", "secret": {}, "_pointer": "/spec/volumes/3"},
    ]
    assert obj == before


@pytest.mark.parametrize("container", [{}, {"name": None}, {"name": 7}])
def test_a_container_name_defaults_to_empty(container: dict[str, Any]) -> None:
    obj = pod({"containers": [container]})
    (found,) = variables(obj)["containers"]
    assert found["name"] == ""
    assert obj["spec"]["containers"][0] == container


def test_the_pod_meta_pointer_does_not_need_the_metadata() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}}
    values = variables(obj)
    assert values["podMeta"] == {}
    assert values["podMetaPointer"] == "/spec/template/metadata"


def test_the_object_is_never_changed() -> None:
    obj = pod({"containers": [{"name": "app"}, {"name": "b", "securityContext": "oops"}],
               "initContainers": [{"name": "init", "securityContext": {"runAsUser": 0}}]},
              {"name": "p", "labels": {"a": "b"}})
    before = copy.deepcopy(obj)
    values = variables(obj)
    for container in values["containers"]:
        container["securityContext"]["changed"] = True
    assert values["object"] is obj
    assert obj["spec"]["initContainers"][0]["securityContext"] == {"runAsUser": 0, "changed": True}
    obj["spec"]["initContainers"][0]["securityContext"].pop("changed")
    assert obj == before
    assert "securityContext" not in obj["spec"]["containers"][0]
    assert "_pointer" not in obj["spec"]["containers"][0]


@pytest.mark.parametrize("obj", [
    pod({"containers": "app"}),
    pod({"containers": {"name": "app"}}),
    pod({"containers": [{"name": "app", "securityContext": "privileged"}]}),
    pod({"securityContext": ["x"], "volumes": {"a": 1}, "os": "windows", "hostUsers": "no"}),
    pod({}, metadata=["not", "a", "mapping"]),
    pod({}, metadata={"name": 7, "namespace": None, "labels": ["x"], "annotations": "y"}),
    {"apiVersion": 1, "kind": None, "metadata": None, "spec": None},
    {},
])
def test_values_of_the_wrong_type_count_as_absent(obj: dict[str, Any]) -> None:
    values = variables(obj)
    assert all(isinstance(c["securityContext"], dict) for c in values["containers"])
    assert isinstance(values["podSecurityContext"], dict)
    assert isinstance(values["volumes"], list)
    for name in ("labels", "annotations", "podSpec", "podMeta"):
        assert isinstance(values[name], dict)
    for name in ("apiVersion", "kind", "name", "namespace", "podSpecPointer"):
        assert isinstance(values[name], str)
    assert values["windows"] is False
    assert values["hostUsers"] is True


def test_defaults() -> None:
    values = variables(pod({"containers": [{"name": "app"}]}))
    assert values["labels"] == values["annotations"] == values["podMeta"] == {}
    assert values["name"] == values["namespace"] == ""
    assert values["podSecurityContext"] == {}
    assert values["volumes"] == []


@pytest.mark.parametrize(("spec", "windows", "host_users"), [
    ({}, False, True),
    ({"os": {"name": "windows"}}, True, True),
    ({"os": {"name": "linux"}}, False, True),
    ({"os": {"name": "Windows"}}, False, True),  # the API's value is lower case
    ({"hostUsers": False}, False, False),
    ({"hostUsers": True}, False, True),
    ({"hostUsers": None}, False, True),
])
def test_windows_and_host_users(spec: dict[str, Any], windows: bool, host_users: bool) -> None:
    values = variables(pod(spec))
    assert (values["windows"], values["hostUsers"]) == (windows, host_users)


def test_labels_annotations_volumes_and_security_context() -> None:
    obj = pod({"securityContext": {"runAsNonRoot": True}, "volumes": [{"name": "v"}]},
              {"labels": {"app": "web"}, "annotations": {"x": "y"}})
    values = variables(obj)
    assert values["labels"] == {"app": "web"}
    assert values["annotations"] == {"x": "y"}
    assert values["podSecurityContext"] == {"runAsNonRoot": True}
    assert values["volumes"] == [{"name": "v", "_pointer": "/spec/volumes/0"}]


def test_pointer_tokens_are_escaped() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Box",
           "a/b": {"c~d": {"spec": {"containers": [{"name": "x"}]}}}}
    values = variables(obj, (PodSpecPath("example.com/v1", "Box", "a/b.c~d.spec"),))
    assert values["podSpecPointer"] == "/a~1b/c~0d/spec"
    assert values["podMetaPointer"] == "/a~1b/c~0d/metadata"
    assert values["containers"][0]["_pointer"] == "/a~1b/c~0d/spec/containers/0"
