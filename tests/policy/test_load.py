"""Loading policy files: the schema, compiling, and errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_guard.errors import GuardError
from gitops_guard.findings import Severity
from gitops_guard.policy.load import load_policy_files, policy_files, policy_ids
from gitops_guard.policy.model import Match, PssInfo, Requirement

HEAD = """\
apiVersion: policy.gitops-guard.io/v1alpha1
kind: Policy
metadata: {name: p}
spec:
"""
MINIMAL = HEAD + """\
  id: p
  title: A policy
  validations:
    - expression: "true"
"""

FULL = HEAD + """\
  id: pss-baseline-privileged
  title: Privileged containers
  description: >-
    Privileged containers disable
    most security mechanisms.
  remediation: Remove securityContext.privileged.
  severity: warning
  pack: pss-baseline
  pss: {control: privileged, level: baseline}
  enabled: false
  match:
    podSpec: true
    kinds: [Deployment, apps/StatefulSet, /Pod]
    namespaces: ["prod-*"]
    excludeNamespaces: [kube-system]
    labelSelector:
      matchLabels: {team: web}
      matchExpressions:
        - {key: tier, operator: In, values: [frontend]}
        - {key: legacy, operator: DoesNotExist}
  skipWhen:
    - expression: windows
  variables:
    - name: bad
      expression: containers.filter(c, has(c.securityContext.privileged))
  validations:
    - expression: size(variables.bad) == 0
      message: privileged containers are not allowed
      messageExpression: "'privileged: ' + variables.bad.map(c, c.name).join(', ')"
      pointerExpression: variables.bad[0]._pointer
  examples:
    - name: privileged
      expect: fail
      pssVersion: "1.34"
      manifest: |
        apiVersion: v1
        kind: Pod
    - name: plain
      expect: pass
      manifest: "apiVersion: v1"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_policy(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", FULL)
    (policy,) = load_policy_files([path])
    assert (policy.id, policy.name, policy.title) == ("pss-baseline-privileged", "p",
                                                      "Privileged containers")
    assert policy.description == "Privileged containers disable most security mechanisms."
    assert policy.remediation == "Remove securityContext.privileged."
    assert policy.severity is Severity.WARNING
    assert (policy.pack, policy.pss, policy.enabled) == ("pss-baseline",
                                                         PssInfo("privileged", "baseline"), False)
    assert policy.match == Match(
        pod_spec=True, kinds=("Deployment", "apps/StatefulSet", "/Pod"),
        namespaces=("prod-*",), exclude_namespaces=("kube-system",),
        match_labels=(("team", "web"),),
        match_expressions=(Requirement("tier", "In", ("frontend",)),
                           Requirement("legacy", "DoesNotExist")))
    assert (policy.path, policy.line) == (path, 1)
    (skip,) = policy.skip_when
    assert (skip.source, skip.where, skip.line, skip.column) == ("windows",
                                                                 "skipWhen[0].expression", 26, 19)
    (variable,) = policy.variables
    assert (variable.name, variable.expression.line) == ("bad", 29)
    (validation,) = policy.validations
    assert validation.message == "privileged containers are not allowed"
    assert validation.expression.source == "size(variables.bad) == 0"
    assert "containers.filter" in validation.expression.program.source  # expanded
    assert validation.message_expression is not None
    assert validation.message_expression.line == 33
    assert validation.pointer_expression is not None
    assert validation.combined is not None
    assert [(e.name, e.expect, e.pss_version, e.line) for e in policy.examples] == [
        ("privileged", "fail", 34, 36), ("plain", "pass", None, 42)]
    assert policy.examples[0].manifest == "apiVersion: v1\nkind: Pod\n"
    assert {"containers", "windows"} <= policy.reads.keys()
    assert [e.where for e in policy.expressions] == [
        "skipWhen[0].expression", "variables[0].expression", "validations[0].expression",
        "validations[0].messageExpression", "validations[0].pointerExpression"]


def test_defaults(tmp_path: Path) -> None:
    (policy,) = load_policy_files([write(tmp_path, "p.yaml", MINIMAL)])
    assert policy.severity is Severity.ERROR
    assert (policy.pack, policy.pss, policy.enabled) == ("custom", None, True)
    assert (policy.description, policy.remediation) == ("", "")
    assert policy.match == Match()
    assert policy.skip_when == policy.variables == policy.examples == ()
    assert policy.validations[0].combined is None


def test_several_documents_and_directories(tmp_path: Path) -> None:
    second = MINIMAL.replace("id: p", "id: q")
    write(tmp_path, "b/two.yml", "---\n" + MINIMAL + "---\n" + second + "---\n")
    write(tmp_path, "a.yaml", MINIMAL.replace("id: p", "id: r"))
    write(tmp_path, "b/notes.txt", "not a policy")
    write(tmp_path, "b/c/d.YAML", MINIMAL.replace("id: p", "id: s"))
    policies = load_policy_files([tmp_path])
    assert [(p.id, p.path.relative_to(tmp_path).as_posix(), p.line) for p in policies] == [
        ("r", "a.yaml", 1), ("s", "b/c/d.YAML", 1), ("p", "b/two.yml", 2),
        ("q", "b/two.yml", 11)]


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", MINIMAL)
    assert policy_files([tmp_path, path, tmp_path / "." / "p.yaml"]) == [path]
    assert len(load_policy_files([tmp_path, path])) == 1


def test_namespace_can_be_used_though_cel_reserves_it(tmp_path: Path) -> None:
    text = MINIMAL.replace('"true"', "namespace != 'default'")
    (policy,) = load_policy_files([write(tmp_path, "p.yaml", text)])
    assert policy.validations[0].expression.source == "namespace != 'default'"


def test_policy_ids_skip_validation_and_compiling(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", MINIMAL.replace('"true"', '"1 +"'))
    write(tmp_path, "b.yaml", "---\n" + MINIMAL.replace("id: p", "id: q") + "---\n[1]\n---\n"
          + "spec: {id: 7}\n")
    assert policy_ids([tmp_path]) == [("p", tmp_path / "a.yaml"), ("q", tmp_path / "b.yaml")]


def replace(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


BAD = [  # (text, line, column, message)
    ("a: [1", 2, 1, "expected ',' or ']'"),
    (MINIMAL + "  id: q\n", 9, 3, 'duplicate key "id" (first at line 5)'),
    (MINIMAL + "extra: 1\n", 9, 1, "unknown field extra"),
    (MINIMAL + "    - expression: 'true'\n      mesage: x\n", 10, 7,
     "unknown field spec.validations[1].mesage"),
    (replace("  title: A policy\n", "  title: A policy\n  severity: loud\n"), 7, 13,
     'spec.severity: "loud" is not one of'),
    (replace("id: p", "id: Bad_Id"), 5, 7, "spec.id:"),
    (replace("id: p", "id: " + "a" * 64), 5, 7, "is longer than 63 characters"),
    (replace("  validations:\n    - expression: \"true\"\n", ""), 5, 3,
     'spec: "validations" is a required property'),
    (replace("  validations:\n    - expression: \"true\"\n", "  validations: []\n"), 7, 16,
     "spec.validations: [] has less than 1 item"),
    (replace("kind: Policy", "kind: Pollicy"), 2, 7, 'kind: "Policy" was expected'),
    ("- 1\n", 1, 1, "the document:"),
    (replace("  title: A policy\n", "  title: A policy\n  enabled: yes please\n"), 7, 12,
     "spec.enabled:"),
    (replace("  title: A policy\n", "  title: A policy\n  match: {kinds: [apps/v1/Deployment]}\n"),
     7, 19, "spec.match.kinds[0]:"),
    (replace("  title: A policy\n", "  title: A policy\n  match:\n    labelSelector:\n"
             "      matchExpressions: [{key: a, operator: In}]\n"), 9, 26,
     "match.labelSelector.matchExpressions[0]: operator In needs values"),
    (replace("  title: A policy\n", "  title: A policy\n  match:\n    labelSelector:\n"
             "      matchExpressions: [{key: a, operator: Exists, values: [x]}]\n"), 9, 26,
     "operator Exists takes no values"),
    (replace("  title: A policy\n", "  title: A policy\n  match:\n    labelSelector:\n"
             "      matchLabels: {version: 1}\n"), 9, 30, "is not of type \"string\""),
    (replace('"true"', "size(x) +"), 8, 28, "validations[0].expression:"),
    (replace('"true"', "1 +\n        2 +"), 8, 19, "Syntax error"),  # folded: no column
    (replace('"true"', "object.?spec"), 8, 25, "optional syntax"),
    (replace('"true"', "object.spec.orValue(1)"), 8, 19, "optional syntax"),
    (replace('"true"', "|\n        object.kind == 'Pod'\n          && (1 +"), 10, 19,
     "Syntax error"),
    (replace('"true"', "|\n        (1 +\n        2"), 10, 19, "Syntax error"),
    (replace('"true"', "size(variables.bad) == 0"), 8, 19,
     "validations[0].expression: unknown variable 'bad' (defined before it: none)"),
    (replace("  validations:", "  variables:\n    - {name: a, expression: '1'}\n"
             "    - {name: a, expression: '2'}\n  validations:"), 9, 14,
     "variable 'a' is defined twice"),
    (replace("  validations:", "  variables:\n    - {name: a, expression: variables.b}\n"
             "    - {name: b, expression: '2'}\n  validations:"), 8, 29,
     "variables[0].expression: unknown variable 'b'"),
    (replace("  validations:", "  variables:\n    - {name: my-var, expression: '1'}\n"
             "  validations:"), 8, 14, "spec.variables[0].name:"),
    (replace("    - expression: \"true\"\n", "    - expression: \"true\"\n"
             "      messageExpression: \"'a' +\"\n"), 9, 26,
     "validations[0].messageExpression:"),
    (replace("  title: A policy\n", "  title: A policy\n  examples:\n    - name: x\n"
             "      expect: fail\n      pssVersion: 1.34\n      manifest: x\n"), 10, 19,
     "spec.examples[0].pssVersion: 1.34 is not of type \"string\""),
    (replace("  title: A policy\n", "  title: A policy\n  examples:\n    - name: x\n"
             "      expect: maybe\n      manifest: x\n"), 9, 15,
     "spec.examples[0].expect:"),
    (replace("  title: A policy\n", "  title: A policy\n  pss: {control: privileged}\n"), 7, 8,
     'spec.pss: "level" is a required property'),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), BAD,
                         ids=[f"{index}-{case[3][:30]}" for index, case in enumerate(BAD)])
def test_errors_name_file_line_and_column(tmp_path: Path, text: str, line: int, column: int,
                                          message: str) -> None:
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(GuardError) as caught:
        load_policy_files([path])
    error = caught.value
    assert (error.path, error.line, error.column) == (str(path), line, column), str(error)
    assert message in error.message
    assert str(error).startswith(f"{path}:{line}:{column}: ")


def test_every_schema_problem_is_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", replace("  title: A policy\n",
                                             "  title: A policy\n  severity: loud\n  bogus: 1\n"))
    with pytest.raises(GuardError) as caught:
        load_policy_files([path])
    first, *rest = caught.value.message.splitlines()
    assert first.startswith("spec.severity")
    assert rest == [f"  {path}:8:3: unknown field spec.bogus"]


def test_duplicate_ids_name_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", MINIMAL)
    second = write(tmp_path, "b.yaml", "# the same id\n" + MINIMAL)
    with pytest.raises(GuardError) as caught:
        load_policy_files([tmp_path])
    assert (caught.value.path, caught.value.line) == (str(second), 2)
    assert f"duplicate policy id 'p' (first at {first}:1)" in caught.value.message


def test_duplicate_ids_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", MINIMAL + "---\n" + MINIMAL)
    with pytest.raises(GuardError, match="duplicate policy id") as caught:
        load_policy_files([path])
    assert caught.value.line == 10


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(GuardError, match="policy path not found") as caught:
        load_policy_files([tmp_path / "nope.yaml"])
    assert caught.value.path == str(tmp_path / "nope.yaml")
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(GuardError, match="cannot read policy file: not UTF-8"):
        load_policy_files([binary])


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "# nothing yet\n---\n" + MINIMAL + "---\n")
    assert [p.id for p in load_policy_files([path])] == ["p"]
    assert load_policy_files([write(tmp_path, "e.yaml", "")]) == ()
