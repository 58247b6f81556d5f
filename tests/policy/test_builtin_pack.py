"""The built-in policy pack (policies/): every policy loads, is documented once, and its own
examples behave as they say."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from gitops_guard.findings import Severity
from gitops_guard.policy.evaluate import Environment, Violation, evaluate, evaluate_all
from gitops_guard.policy.examples import run_examples
from gitops_guard.policy.load import load_policy_files
from gitops_guard.policy.model import Policy
from gitops_guard.yamlio import parse_yaml
from tests.policy.test_pss_pack import resolve

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
OFF_BY_DEFAULT = {"bp-replicas", "bp-pod-anti-affinity", "bp-image-digest"}
# PSS controls whose rule changed between v1.25 and v1.37, and Windows-exempt ones.
VERSIONED = {"sysctls", "seLinuxOptions", "hostProbesAndHostLifecycle", "procMount",
             "procMount_restricted", "runAsNonRoot", "runAsUser"}
WINDOWS_EXEMPT = {"allowPrivilegeEscalation", "seccompProfile_restricted",
                  "capabilities_restricted"}


@functools.cache
def builtin() -> tuple[Policy, ...]:
    return load_policy_files([POLICIES])


def ids(policies: tuple[Policy, ...]) -> list[str]:
    return [policy.id for policy in policies]


def test_every_file_holds_one_policy_named_after_it() -> None:
    files = sorted(POLICIES.rglob("*.yaml"))
    assert len(files) == len(builtin())
    for policy in builtin():
        assert policy.name == policy.id
        prefix = {"pss-baseline": "pss-baseline-", "pss-restricted": "pss-restricted-",
                  "best-practices": "bp-"}[policy.pack]
        assert policy.id == prefix + policy.path.stem, policy.path


@pytest.mark.parametrize("field", ["id", "title", "description", "remediation"])
def test_documentation_is_present_and_unique(field: str) -> None:
    values = [getattr(policy, field).strip() for policy in builtin()]
    assert all(values), field
    assert len(set(values)) == len(values), field


def test_remediation_is_one_line() -> None:
    for policy in builtin():
        assert "\n" not in policy.remediation.strip(), policy.id


def test_packs_severities_and_defaults() -> None:
    for policy in builtin():
        if policy.pss is not None:
            assert policy.pack == f"pss-{policy.pss.level}"
            assert policy.severity is Severity.ERROR  # the level in force decides
            assert policy.enabled
        else:
            assert policy.pack == "best-practices"
            assert policy.severity is Severity.WARNING
            assert policy.enabled == (policy.id not in OFF_BY_DEFAULT), policy.id
    assert set(ids(builtin())) >= OFF_BY_DEFAULT


@pytest.mark.parametrize("policy", builtin(), ids=ids(builtin()))
def test_examples(policy: Policy) -> None:
    expects = [example.expect for example in policy.examples]
    assert "pass" in expects and "fail" in expects
    assert run_examples(policy) == []


@pytest.mark.parametrize("version", [25, 30, 34, 35, 37])
def test_examples_at_other_versions(version: int) -> None:
    """Examples without a version behave the same at any supported version, except where the
    policy's rule changed (those examples name their version)."""
    for policy in builtin():
        if policy.pss is not None and policy.pss.control in VERSIONED:
            continue
        assert run_examples(policy, pss_version=version) == [], policy.id


def test_versioned_controls_have_examples_either_side() -> None:
    for policy in builtin():
        if policy.pss is None or policy.pss.control not in VERSIONED:
            continue
        versions = {example.pss_version for example in policy.examples} - {None}
        assert len(versions) >= 2, policy.id


def test_windows_exemptions_have_an_example() -> None:
    for policy in builtin():
        if policy.pss is not None and policy.pss.control in WINDOWS_EXEMPT:
            assert any("windows" in example.manifest and example.expect == "pass"
                       for example in policy.examples), policy.id


def example_violations(policy: Policy) -> list[tuple[str, Any, Violation]]:
    """(example name, manifest object, violation) for every violation of the examples."""
    found = []
    for example in policy.examples:
        env = Environment(example.pss_version or 37, policy.pss.level if policy.pss else "baseline")
        for document in parse_yaml(example.manifest):
            for outcome in evaluate(policy, document.data, env):
                assert isinstance(outcome, Violation), (example.name, outcome)
                found.append((example.name, document.data, outcome))
    return found


@pytest.mark.parametrize("policy", builtin(), ids=ids(builtin()))
def test_pointers_lead_to_the_offending_element(policy: Policy) -> None:
    """Every pointer resolves, and none stops at a whole list (a volume, port, sysctl,
    capability or RBAC rule is pointed at itself); only a drop list that lacks ALL is meant."""
    for name, obj, violation in example_violations(policy):
        target = resolve(obj, violation.pointer)
        assert target is not None, (name, violation)
        assert not isinstance(target, list) or violation.pointer.endswith("/drop"), (
            name, violation)


def test_no_policy_has_the_whole_object_or_pod_spec_converted() -> None:
    """Field selections keep what CEL is given small (converting costs about a microsecond
    per node): a policy that indexes object or podSpec (`podSpec[f]`) would need all of it."""
    for policy in builtin():
        for name in ("object", "podSpec"):
            assert policy.reads.get(name, frozenset()) is not None, (policy.id, name)


def test_containers_without_a_name_break_no_message() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "hostPID": True,
        "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
        "initContainers": [{"image": "i:latest", "securityContext": {"privileged": True}}],
        "containers": [{"image": "a:latest", "ports": [{"containerPort": 1, "hostPort": 1}],
                        "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]},
                                            "seccompProfile": {"type": "Unconfined"},
                                            "procMount": "Unmasked"}}],
        "volumes": [{"hostPath": {"path": "/"}}]}}
    results = evaluate_all(builtin(), obj, Environment(37, "restricted"))
    outcomes = [outcome for result in results for outcome in result.outcomes]
    assert all(isinstance(outcome, Violation) for outcome in outcomes), outcomes
    assert len(outcomes) >= 15
    assert any("initContainers/ (" in outcome.message for outcome in outcomes)
