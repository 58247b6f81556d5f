"""Evaluating policies: match, levels, skipWhen, validations, errors, Subjects; and examples."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gitops_guard.policy.evaluate import (
    Environment,
    EvaluationError,
    Outcome,
    Subject,
    Violation,
    applies,
    drop_nulls,
    evaluate,
    evaluate_all,
    prune,
)
from gitops_guard.policy.examples import run_examples
from gitops_guard.policy.load import load_policy_files
from gitops_guard.policy.model import Policy

ENV = Environment(pss_version=37, pss_level="baseline")


def make(tmp_path: Path, spec: str, policy_id: str = "p") -> Policy:
    """A policy whose spec is `spec` (YAML) plus an id and title."""
    text = ("apiVersion: policy.gitops-guard.io/v1alpha1\nkind: Policy\nspec:\n"
            f"  id: {policy_id}\n  title: T\n" + textwrap.indent(textwrap.dedent(spec), "  "))
    path = tmp_path / f"{policy_id}.yaml"
    path.write_text(text, encoding="utf-8")
    (policy,) = load_policy_files([path])
    return policy


def pod(containers: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"}},
            "spec": {"containers": containers or [{"name": "app", "image": "app:1"}], **spec}}


def deployment(namespace: str = "prod", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": namespace, "labels": labels or {}},
            "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "web"}},
                                                 "spec": {"containers": [{"name": "app"}]}}}}


ALWAYS_FAILS = "validations:\n  - {expression: 'false', message: nope}\n"


def test_an_environment_takes_known_levels_only() -> None:
    with pytest.raises(ValueError, match="unknown Pod Security level 'strict'"):
        Environment(37, "strict")


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
BINDING = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding"}


@pytest.mark.parametrize(("match", "obj", "expected"), [
    ("{}", SERVICE, True),
    ("{podSpec: true}", SERVICE, False),
    ("{podSpec: true}", deployment(), True),
    ("{kinds: [Deployment]}", deployment(), True),
    ("{kinds: [apps/Deployment]}", deployment(), True),
    ("{kinds: [batch/Deployment]}", deployment(), False),
    ("{kinds: [/Service]}", SERVICE, True),
    ("{kinds: [/Deployment]}", deployment(), False),
    ("{kinds: [Service, rbac.authorization.k8s.io/ClusterRoleBinding]}", BINDING, True),
    ("{namespaces: ['prod-*']}", deployment("prod-eu"), True),
    ("{namespaces: ['prod-*']}", deployment("dev"), False),
    ("{namespaces: ['']}", SERVICE, True),  # "" when unset
    ("{excludeNamespaces: [kube-system]}", deployment("kube-system"), False),
    ("{excludeNamespaces: ['kube-*']}", deployment("prod"), True),
    ("{labelSelector: {matchLabels: {team: web}}}", deployment(labels={"team": "web"}), True),
    ("{labelSelector: {matchLabels: {team: web}}}", deployment(labels={"team": "db"}), False),
    ("{labelSelector: {matchLabels: {team: web}}}", SERVICE, False),
    ("{labelSelector: {matchExpressions: [{key: tier, operator: In, values: [a, b]}]}}",
     deployment(labels={"tier": "b"}), True),
    ("{labelSelector: {matchExpressions: [{key: tier, operator: In, values: [a]}]}}",
     deployment(), False),
    ("{labelSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [a]}]}}",
     deployment(), True),
    ("{labelSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [a]}]}}",
     deployment(labels={"tier": "a"}), False),
    ("{labelSelector: {matchExpressions: [{key: tier, operator: Exists}]}}",
     deployment(labels={"tier": ""}), True),
    ("{labelSelector: {matchExpressions: [{key: tier, operator: Exists}]}}", deployment(), False),
    ("{labelSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}}",
     deployment(), True),
    ("{podSpec: true, kinds: [Deployment], namespaces: [prod], labelSelector: {matchLabels: "
     "{team: web}}}", deployment(labels={"team": "web"}), True),
])
def test_match(tmp_path: Path, match: str, obj: dict[str, Any], expected: bool) -> None:
    policy = make(tmp_path, f"match: {match}\n" + ALWAYS_FAILS)
    assert applies(policy, obj, ENV) is expected
    assert bool(evaluate(policy, obj, ENV)) is expected


@pytest.mark.parametrize(("level", "expected"), [
    ("privileged", False), ("baseline", True), ("restricted", True)])
def test_a_privileged_namespace_waives_pss_controls(tmp_path: Path, level: str,
                                                    expected: bool) -> None:
    pss = make(tmp_path, "pss: {control: privileged, level: restricted}\n" + ALWAYS_FAILS)
    other = make(tmp_path, ALWAYS_FAILS, "other")
    env = Environment(37, level)
    assert applies(pss, pod(), env) is expected
    assert applies(other, pod(), env)


def test_skip_when(tmp_path: Path) -> None:
    policy = make(tmp_path, "skipWhen:\n  - expression: kind == 'Service'\n"
                            "  - expression: windows\n" + ALWAYS_FAILS)
    assert not applies(policy, SERVICE, ENV)
    assert not applies(policy, pod(os={"name": "windows"}), ENV)
    assert applies(policy, pod(), ENV)
    assert evaluate(policy, SERVICE, ENV) == []
    assert evaluate(policy, pod(), ENV) == [Violation("p", "nope", "")]


@pytest.mark.parametrize(("expression", "message"), [
    ("object.spec.missing", "skipWhen[0].expression: no such key: missing"),
    ("'yes'", "skipWhen[0].expression: did not evaluate to a bool"),
])
def test_a_failing_skip_when_applies_and_is_reported(tmp_path: Path, expression: str,
                                                     message: str) -> None:
    policy = make(tmp_path, f"skipWhen: [{{expression: \"{expression}\"}}]\n" + ALWAYS_FAILS)
    assert applies(policy, pod(), ENV)
    assert evaluate(policy, pod(), ENV) == [EvaluationError("p", message, policy.path, 6)]


PRIVILEGED = pod([{"name": "init", "securityContext": {"privileged": True}},
                  {"name": "app", "securityContext": {"privileged": False}},
                  {"name": "side", "securityContext": {"privileged": True}}])
VARIABLES = """\
variables:
  - name: bad
    expression: containers.filter(c, has(c.securityContext.privileged) && c.securityContext.privileged)
"""  # noqa: E501


@pytest.mark.parametrize(("validation", "expected"), [
    ("{expression: 'size(variables.bad) == 0'}",
     [Violation("p", "failed expression: size(variables.bad) == 0", "")]),
    ("{expression: 'size(variables.bad) == 0', message: privileged}",
     [Violation("p", "privileged", "")]),
    ("{expression: 'size(variables.bad) == 0', message: unused, messageExpression: "
     "\"'privileged: ' + variables.bad.map(c, c.name).join(', ')\"}",
     [Violation("p", "privileged: init, side", "")]),
    ("{expression: 'size(variables.bad) == 0', pointerExpression: "
     "\"variables.bad[0]._pointer + '/securityContext/privileged'\"}",
     [Violation("p", "failed expression: size(variables.bad) == 0",
                "/spec/containers/0/securityContext/privileged")]),
    ("{expression: 'size(variables.bad) == 0', messageExpression: \"'two\\\\n  lines'\"}",
     [Violation("p", "two lines", "")]),
    ("{expression: 'size(variables.bad) < 5', message: x}", []),
])
def test_validations(tmp_path: Path, validation: str, expected: list[Outcome]) -> None:
    policy = make(tmp_path, VARIABLES + f"validations:\n  - {validation}\n")
    assert evaluate(policy, PRIVILEGED, ENV) == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ("message: static, messageExpression: 'object.missing'",
     [Violation("p", "static", ""),
      EvaluationError("p", "validations[0].messageExpression: no such key: missing", Path(), 7)]),
    ("messageExpression: '42'",
     [Violation("p", "failed expression: false", ""),
      EvaluationError("p", "validations[0].messageExpression: did not evaluate to a non-empty "
                      "string", Path(), 7)]),
    ("messageExpression: \"'  '\"",
     [Violation("p", "failed expression: false", ""),
      EvaluationError("p", "validations[0].messageExpression: did not evaluate to a non-empty "
                      "string", Path(), 7)]),
    ("message: m, pointerExpression: \"'spec'\"",
     [Violation("p", "m", ""),
      EvaluationError("p", "validations[0].pointerExpression: did not evaluate to a JSON "
                      "pointer ('' or starting with '/')", Path(), 7)]),
    ("message: m, pointerExpression: '[][0]'",
     [Violation("p", "m", ""),
      EvaluationError("p", "validations[0].pointerExpression: index out of bounds: 0",
                      Path(), 7)]),
    ("message: m, pointerExpression: \"''\"", [Violation("p", "m", "")]),
    ("messageExpression: \"'msg'\", pointerExpression: \"'spec'\"",
     [Violation("p", "msg", ""),
      EvaluationError("p", "validations[0].pointerExpression: did not evaluate to a JSON "
                      "pointer ('' or starting with '/')", Path(), 7)]),
])
def test_message_and_pointer_failures_keep_the_violation(tmp_path: Path, fields: str,
                                                         expected: list[Outcome]) -> None:
    policy = make(tmp_path, f"validations:\n  - {{expression: 'false', {fields}}}\n")
    found = evaluate(policy, pod(), ENV)
    assert found == [o._replace(path=policy.path) if isinstance(o, EvaluationError) else o
                     for o in expected]


@pytest.mark.parametrize(("expression", "message"), [
    ("object.spec.securityContext.runAsNonRoot", "no such key: securityContext"),
    ("object.spec.containers[0].image == 'app:1' && 'x' + 1 == 'x1'",
     "Unsupported operation: string + int"),
    ("object.metadata.name", "did not evaluate to a bool"),
    ("quantity(object.metadata.name) > 0.0", "quantity(): not a valid Kubernetes quantity"),
])
def test_expression_errors_are_reported_not_raised(tmp_path: Path, expression: str,
                                                   message: str) -> None:
    policy = make(tmp_path, f"validations:\n  - expression: \"{expression}\"\n"
                            "    messageExpression: \"'x'\"\n")
    (error,) = evaluate(policy, pod(), ENV)
    assert error == EvaluationError("p", f"validations[0].expression: {message}",
                                    policy.path, 7)
    assert "web" not in error.message  # no value of the object


def test_evaluation_continues_after_an_error(tmp_path: Path) -> None:
    policy = make(tmp_path, """\
        validations:
          - expression: object.nope
          - {expression: 'false', message: second}
        """)
    first, second = evaluate(policy, pod(), ENV)
    assert isinstance(first, EvaluationError)
    assert second == Violation("p", "second", "")


def test_variables_used_once_are_evaluated_only_when_needed(tmp_path: Path) -> None:
    policy = make(tmp_path, """\
        variables:
          - {name: broken, expression: object.nope}
          - {name: count, expression: size(containers)}
          - {name: twice, expression: variables.count + variables.count}
        validations:
          - expression: variables.twice == 2 || variables.broken
        """)
    assert evaluate(policy, pod(), ENV) == []


def test_what_expressions_see(tmp_path: Path) -> None:
    policy = make(tmp_path, """\
        validations:
          - expression: "false"
            messageExpression: >-
              [apiVersion, kind, name, namespace, labels.app, podSpecPointer,
               string(podSpec.containers.size()), string(containers.size()),
               string(size(podMeta)), string(size(podSecurityContext)), string(size(volumes)),
               windows ? 'windows' : 'linux', hostUsers ? 'host' : 'userns',
               string(pssVersion), pssLevel,
               string(size(annotations)), object.metadata.name].join(' ')
        """)
    (violation,) = evaluate(policy, pod(), Environment(34, "restricted"))
    assert violation == Violation(
        "p", "v1 Pod web prod web /spec 1 1 3 0 0 linux host 34 restricted 0 web", "")


def test_the_object_is_not_changed(tmp_path: Path) -> None:
    policies = [make(tmp_path, VARIABLES + "validations:\n  - expression: size(variables.bad) "
                               "== 0\n    pointerExpression: variables.bad[0]._pointer\n"),
                make(tmp_path, "validations:\n  - expression: object.spec.containers.size() > 5"
                               "\n", "other")]
    obj = copy.deepcopy(PRIVILEGED)
    evaluate_all(policies, obj, ENV)
    assert obj == PRIVILEGED


def test_values_cel_cannot_hold_become_errors(tmp_path: Path) -> None:
    policy = make(tmp_path, "validations:\n  - expression: object.metadata.all(k, true)\n")
    obj = pod()
    obj["metadata"]["weird"] = {1.5: "a float key"}
    (error,) = evaluate(policy, obj, ENV)
    assert isinstance(error, EvaluationError)
    assert "cannot be represented in CEL" in error.message


POLICIES = [  # reading parts, all, and nothing of the object
    ("replicas", "validations:\n  - expression: '!has(object.spec.replicas) || "
                 "object.spec.replicas >= 2'\n    message: replicas\n"),
    ("has-spec", "validations:\n  - {expression: '!has(object.spec)', message: has spec}\n"),
    ("keys", "validations:\n  - {expression: \"object.all(k, k != 'status')\", "
             "message: status}\n"),
    ("labels", "validations:\n  - {expression: \"object.metadata.labels['app'] == 'web'\", "
               "message: label}\n"),
    ("pods", "match: {podSpec: true}\nskipWhen: [{expression: 'podSpec.containers.size() > 3'}]"
             "\nvalidations:\n  - {expression: 'containers.all(c, c.name != \"app\")', message: "
             "app}\n"),
]


@pytest.mark.parametrize("obj", [deployment(), {**deployment(), "status": {}}, SERVICE, pod()])
def test_every_way_of_evaluating_agrees(tmp_path: Path, obj: dict[str, Any]) -> None:
    policies = [make(tmp_path, spec, name) for name, spec in POLICIES]
    one_by_one = {p.id: evaluate(p, obj, ENV) for p in policies if applies(p, obj, ENV)}
    subject = Subject(obj, ENV, policies)
    shared = {p.id: evaluate(p, subject, ENV) for p in policies if applies(p, subject, ENV)}
    late = Subject(obj, ENV)  # told nothing in advance: it converts as policies come
    lazily = {p.id: evaluate(p, late, ENV) for p in policies if applies(p, late, ENV)}
    together = {r.policy.id: r.outcomes for r in evaluate_all(policies, obj, ENV)}
    assert one_by_one == shared == lazily == together
    assert together  # each object meets some policy


def test_a_subject_belongs_to_its_environment(tmp_path: Path) -> None:
    policy = make(tmp_path, ALWAYS_FAILS)
    subject = Subject(pod(), ENV)
    assert evaluate(policy, subject, Environment(37, "baseline")) == [Violation("p", "nope", "")]
    with pytest.raises(ValueError, match="another Environment"):
        evaluate(policy, subject, Environment(36, "baseline"))


@pytest.mark.parametrize(("paths", "expected"), [
    ({("spec", "replicas")}, {"spec": {"replicas": 1}}),
    ({("spec",)}, {"spec": {"replicas": 1, "template": {"x": [1]}}}),
    ({("spec", ""), ("kind", "")}, {"spec": None, "kind": None}),
    ({("spec", ""), ("spec", "replicas")}, {"spec": {"replicas": 1}}),
    ({("spec", "template", "x", "y")}, {"spec": {"template": {"x": [1]}}}),  # a list: whole
    ({("missing", "a")}, {}),
    ({()}, {"kind": "K", "spec": {"replicas": 1, "template": {"x": [1]}}}),
])
def test_prune(paths: set[tuple[str, ...]], expected: dict[str, Any]) -> None:
    value = {"kind": "K", "spec": {"replicas": 1, "template": {"x": [1]}}}
    assert prune(value, frozenset(paths)) == expected


NULLS: dict[str, Any] = {
    "kind": "K", "status": None,
    "spec": {"replicas": None, "list": [None, {"a": None, "b": 1}, [{"c": None}]],
             "template": {"x": [1], "y": None}}}
WITHOUT_NULLS: dict[str, Any] = {
    "kind": "K", "spec": {"list": [None, {"b": 1}, [{}]], "template": {"x": [1]}}}


@pytest.mark.parametrize(("paths", "expected"), [
    ({()}, WITHOUT_NULLS),
    ({("status",)}, {}),
    ({("status", "")}, {}),  # has() on a null is false
    ({("spec", "replicas", "")}, {"spec": {}}),
    ({("spec", "list")}, {"spec": {"list": WITHOUT_NULLS["spec"]["list"]}}),
    ({("spec", "template", "x"), ("spec", "template", "y")}, {"spec": {"template": {"x": [1]}}}),
])
def test_prune_drops_null_valued_keys(paths: set[tuple[str, ...]], expected: Any) -> None:
    before = copy.deepcopy(NULLS)
    assert prune(NULLS, frozenset(paths)) == expected
    assert before == NULLS


def test_drop_nulls() -> None:
    before = copy.deepcopy(NULLS)
    assert drop_nulls(NULLS) == WITHOUT_NULLS
    assert before == NULLS  # never changed
    clean = {"a": [{"b": 1}, [2, {"c": "d"}]], "e": {"f": {}}, "g": "h"}
    assert drop_nulls(clean) is clean  # nothing to drop: nothing copied
    cleaned = drop_nulls({"keep": clean, "drop": None, "after": {"x": None}})
    assert cleaned == {"keep": clean, "after": {}}
    assert cleaned["keep"] is clean
    assert drop_nulls([None, 1]) == [None, 1]  # nulls in lists stay
    assert drop_nulls(None) is None


NULL_POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": None, "labels": None, "annotations": None},
    "spec": {
        "hostNetwork": None, "securityContext": {"seccompProfile": None},
        "containers": [{"name": "app", "ports": None,
                        "securityContext": {"capabilities": None, "privileged": None}}],
        "volumes": [{"name": "v", "hostPath": None}],
    },
}


@pytest.mark.parametrize("expression", [
    "!has(object.metadata.annotations) && !has(object.spec.hostNetwork)",
    "object.metadata.all(k, k == 'name')",  # the object given whole
    "object.spec.containers[0] == {'name': 'app', 'securityContext': {}}",
    "!has(podSpec.hostNetwork) && !has(podSecurityContext.seccompProfile)",
    "podSpec.securityContext == {}",
    "containers.all(c, !has(c.ports) && !has(c.securityContext.capabilities)"
    " && size(c.securityContext) == 0)",
    "volumes.all(v, !has(v.hostPath))",
    "size(labels) == 0 && size(annotations) == 0 && namespace == ''",
    "!('annotations' in podMeta)",
])
def test_null_valued_keys_count_as_absent(tmp_path: Path, expression: str) -> None:
    policy = make(tmp_path, f"validations:\n  - expression: \"{expression}\"\n")
    obj = copy.deepcopy(NULL_POD)
    assert evaluate(policy, obj, ENV) == []
    assert obj == NULL_POD


def test_pod_pointers(tmp_path: Path) -> None:
    policy = make(tmp_path, """\
        validations:
          - expression: "false"
            messageExpression: >-
              [podSpecPointer, podMetaPointer, volumes[0]._pointer, containers[0]._pointer,
               '<' + containers[0].name + '>'].join(' ')
        """)
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {
        "template": {"spec": {"containers": [{"image": "app:1"}], "volumes": [{"name": "v"}]}}}}}}
    base = "/spec/jobTemplate/spec/template"
    (violation,) = evaluate(policy, cronjob, ENV)
    assert violation.message == (f"{base}/spec {base}/metadata {base}/spec/volumes/0 "
                                 f"{base}/spec/containers/0 <>")


EXAMPLES = """\
pss: {control: privileged, level: baseline}
match: {podSpec: true}
validations:
  - expression: "!containers.exists(c, has(c.securityContext.privileged)
      && c.securityContext.privileged) || pssVersion < 30"
    message: privileged
examples:
  - name: plain
    expect: pass
    manifest: |
      apiVersion: v1
      kind: Pod
      spec: {containers: [{name: a}]}
  - name: privileged
    expect: fail
    manifest: |
      apiVersion: v1
      kind: Pod
      spec: {containers: [{name: a, securityContext: {privileged: true}}]}
  - name: old versions allowed it
    expect: pass
    pssVersion: "1.29"
    manifest: |
      apiVersion: v1
      kind: Pod
      spec: {containers: [{name: a, securityContext: {privileged: true}}]}
"""


def test_examples_that_behave(tmp_path: Path) -> None:
    policy = make(tmp_path, EXAMPLES)
    assert run_examples(policy) == []
    assert run_examples(policy, pss_version=25) == [
        f"{policy.path}:19: example 'privileged': expected a violation, got none"]


@pytest.mark.parametrize(("example", "problem"), [
    ("{name: e, expect: pass, manifest: \"apiVersion: v1\\nkind: Pod\\nspec: {containers: "
     "[{name: a, securityContext: {privileged: true}}]}\"}",
     "expected no violation, got: privileged"),
    ("{name: e, expect: fail, manifest: \"apiVersion: v1\\nkind: Service\"}",
     "expected a violation, got none (the policy does not apply to it)"),
    ("{name: e, expect: fail, manifest: 'a: [1'}", "manifest line 2: did not find expected"),
    ("{name: e, expect: fail, manifest: '- 1'}", "the manifest must hold one or more objects"),
    ("{name: e, expect: fail, manifest: '# nothing'}",
     "the manifest must hold one or more objects"),
    ("{name: e, expect: fail, manifest: \"apiVersion: v1\\nkind: Pod\\nspec: {containers: "
     "[{name: a, securityContext: {privileged: 1}}]}\"}",
     "evaluation error: validations[0].expression:"),
])
def test_examples_that_do_not(tmp_path: Path, example: str, problem: str) -> None:
    policy = make(tmp_path, EXAMPLES.split("examples:")[0] + f"examples:\n  - {example}\n")
    (failure,) = run_examples(policy)
    assert failure.startswith(f"{policy.path}:13: example 'e': {problem}")


def test_examples_with_several_documents(tmp_path: Path) -> None:
    manifest = ("apiVersion: v1\\nkind: Pod\\nspec: {containers: [{name: a}]}\\n---\\n"
                "apiVersion: v1\\nkind: Pod\\nspec: {containers: [{name: b, securityContext: "
                "{privileged: true}}]}")
    policy = make(tmp_path, EXAMPLES.split("examples:")[0]
                  + f"examples:\n  - {{name: e, expect: fail, manifest: \"{manifest}\"}}\n")
    assert run_examples(policy) == []


def test_variables_are_given_to_cel_only_where_used(tmp_path: Path) -> None:
    policy = make(tmp_path, """\
        variables:
          - {name: unused, expression: object.spec}
          - {name: used, expression: podSpec.hostNetwork}
        validations:
          - expression: "!variables.used"
        """)
    assert "object" not in policy.reads
    assert policy.reads["podSpec"] == {("hostNetwork",)}
