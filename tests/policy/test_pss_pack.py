"""The Pod Security Standards pack against a hand-labelled corpus and an independent oracle.

For every manifest in corpus/manifests and every version from v1.25 to v1.37, three answers
must agree: the verdicts written by hand in corpus/verdicts.yaml, what the CEL pack reports,
and what psa_oracle computes. They are compared per control (which PSA controls fail) and per
level (would a baseline / restricted namespace admit the pod).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_guard.policy.evaluate import Environment, Violation, evaluate
from gitops_guard.policy.load import load_policy_files
from gitops_guard.policy.model import Policy
from tests.policy import psa_oracle

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"
VERSIONS = range(25, 38)  # v1.25 .. v1.37
LEVELS = {"baseline": ("baseline",), "restricted": ("baseline", "restricted")}
WORKLOAD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                  "ReplicationController", "PodTemplate", "Job", "CronJob", "Rollout"}


@functools.cache
def pack() -> tuple[Policy, ...]:
    return load_policy_files([REPO / "policies" / "pss"])


@functools.cache
def table() -> dict[str, dict[str, Any]]:
    verdicts: dict[str, dict[str, Any]] = yaml.safe_load(
        (CORPUS / "verdicts.yaml").read_text(encoding="utf-8"))
    return verdicts


@functools.cache
def manifest(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(
        (CORPUS / "manifests" / name).read_text(encoding="utf-8"))
    return obj


def in_range(spec: str, version: int) -> bool:
    """`1.29..`, `..1.28` or `1.29..1.31`: inclusive ranges of v1.<minor>."""
    low, sep, high = spec.partition("..")
    assert sep, f"not a version range: {spec!r}"
    return (not low or version >= int(low.removeprefix("1."))) and (
        not high or version <= int(high.removeprefix("1.")))


def expected_failing(entry: dict[str, Any], version: int) -> set[str]:
    found = set()
    for item in entry["fails"]:
        control, _, versions = item.partition("@")
        if not versions or in_range(versions, version):
            found.add(control)
    return found


def expected_verdict(value: str | dict[str, str], version: int) -> str:
    if isinstance(value, str):
        return value
    chosen = [verdict for spec, verdict in value.items() if in_range(spec, version)]
    assert len(chosen) == 1, f"{value} names {len(chosen)} verdicts for v1.{version}"
    return chosen[0]


def violations(obj: dict[str, Any], version: int,
               level: str = "baseline") -> dict[str, list[Violation]]:
    """The pack's violations by PSA control, in a namespace enforcing `level`; an evaluation
    error fails the test. At baseline every policy runs (restricted ones would be warnings)."""
    env = Environment(pss_version=version, pss_level=level)
    found: dict[str, list[Violation]] = {}
    for policy in pack():
        assert policy.pss is not None
        for outcome in evaluate(policy, obj, env):
            assert isinstance(outcome, Violation), outcome
            found.setdefault(policy.pss.control, []).append(outcome)
    return found


def pack_verdict(obj: dict[str, Any], version: int, level: str) -> str:
    """Would the namespace admit the object: no violation of a control at or below `level`."""
    failing = violations(obj, version, level)
    denied = any(psa_oracle.LEVEL[control] in LEVELS[level] for control in failing)
    return "fail" if denied else "pass"


@pytest.mark.parametrize("name", sorted(table()))
def test_corpus_verdicts(name: str) -> None:
    entry, obj = table()[name], manifest(name)
    for version in VERSIONS:
        expected = expected_failing(entry, version)
        assert set(violations(obj, version)) == expected, f"pack at v1.{version}"
        assert psa_oracle.failing(obj, version) == expected, f"oracle at v1.{version}"
        # Where restricted is enforced some baseline checks give way to restricted ones.
        in_force = psa_oracle.failing(obj, version, "restricted")
        assert set(violations(obj, version, "restricted")) == in_force, f"v1.{version}"
        for level in LEVELS:
            verdict = expected_verdict(entry[level], version)
            assert pack_verdict(obj, version, level) == verdict, f"pack at {level} v1.{version}"
            oracle = "pass" if psa_oracle.allowed(obj, level, version) else "fail"
            assert oracle == verdict, f"oracle at {level} v1.{version}"


def test_corpus_is_labelled() -> None:
    files = {path.name for path in (CORPUS / "manifests").glob("*.yaml")}
    assert files == set(table())


def test_corpus_covers_every_control_and_kind() -> None:
    failing = {item.partition("@")[0] for entry in table().values() for item in entry["fails"]}
    assert failing == set(psa_oracle.CHECKS)
    kinds = {manifest(name)["kind"] for name in table()}
    assert kinds >= WORKLOAD_KINDS
    passing = [name for name, entry in table().items() if not entry["fails"]]
    assert len(passing) >= 20


POD_ONLY = {"hostNamespaces", "hostPathVolumes", "sysctls", "restrictedVolumes"}
POD_AND_CONTAINER = {"windowsHostProcess", "appArmorProfile", "seLinuxOptions",
                     "seccompProfile_baseline", "runAsNonRoot", "runAsUser",
                     "seccompProfile_restricted"}


def where_violated() -> set[tuple[str, str]]:
    """(control, place) for each violation in the corpus at v1.37 and v1.34; place is the
    container list its pointer leads into, or "pod"."""
    found = set()
    for name in table():
        for version in (34, 37):
            for control, outcomes in violations(manifest(name), version).items():
                for violation in outcomes:
                    lists = [part for part in violation.pointer.split("/")
                             if part in ("initContainers", "containers", "ephemeralContainers")]
                    found.add((control, lists[0] if lists else "pod"))
    return found


def test_every_control_is_violated_in_every_place() -> None:
    """Container controls by init, regular and ephemeral containers; pod controls on the pod."""
    places = where_violated()
    for control in psa_oracle.CHECKS:
        wanted = set() if control in POD_ONLY else {
            "initContainers", "containers", "ephemeralContainers"}
        if control in POD_ONLY | POD_AND_CONTAINER:
            wanted.add("pod")
        assert wanted <= {place for name, place in places if name == control}, control


def test_messages_name_the_container_and_pointers_resolve() -> None:
    for name in table():
        obj = manifest(name)
        for version in (34, 37):
            for found in violations(obj, version).values():
                for violation in found:
                    target = resolve(obj, violation.pointer)
                    assert target is not None, (name, violation)
                    # An element (a volume, port, sysctl, capability), not the whole list;
                    # only a drop list that lacks ALL is the list itself.
                    assert not isinstance(target, list) or violation.pointer.endswith(
                        "/drop"), (name, violation)
                    for where in ("initContainers", "ephemeralContainers"):
                        if f"/{where}/" in violation.pointer:
                            assert f"{where}/" in violation.message, (name, violation)


def resolve(obj: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        obj = obj[int(token)] if isinstance(obj, list) else obj.get(token)
        if obj is None:
            return None
    return obj


def test_host_network_host_ports_trap_changes_no_verdict() -> None:
    """PSA sees hostPort = containerPort on a hostNetwork pod; the pack does not infer it,
    because hostNamespaces already fails the pod at the same level."""
    trap = manifest("host-network-container-port-pod.yaml")
    assert "hostPorts" in psa_oracle.failing(psa_oracle.with_api_defaults(trap), 37)
    assert "hostPorts" not in violations(trap, 37)
    for name in table():
        obj = manifest(name)
        defaulted = psa_oracle.with_api_defaults(obj)
        for version in VERSIONS:
            for level in LEVELS:
                assert psa_oracle.allowed(defaulted, level, version) == psa_oracle.allowed(
                    obj, level, version), (name, level, version)


def test_pack_has_one_policy_per_control() -> None:
    controls = {}
    for policy in pack():
        assert policy.pss is not None
        assert policy.pss.control not in controls, policy.pss.control
        controls[policy.pss.control] = policy
        assert policy.pss.level == psa_oracle.LEVEL[policy.pss.control]
        assert policy.pack == f"pss-{policy.pss.level}"
        assert policy.id.startswith(f"pss-{policy.pss.level}-")
        assert policy.match.pod_spec
    assert set(controls) == set(psa_oracle.CHECKS)


def test_privileged_namespace_evaluates_nothing() -> None:
    env = Environment(pss_version=37, pss_level="privileged")
    obj = manifest("kitchen-sink-pod.yaml")
    assert all(evaluate(policy, obj, env) == [] for policy in pack())
