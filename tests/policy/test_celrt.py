"""The CEL runtime: the extra functions, error messages, variable expansion, field selections."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest

from gitops_guard.policy import celrt
from gitops_guard.policy.celrt import CelError


def run(expression: str, **variables: Any) -> Any:
    return celrt.compile_expression(expression).run(celrt.new_context(variables))


def error_of(expression: str, **variables: Any) -> str:
    with pytest.raises(CelError) as caught:
        run(expression, **variables)
    return caught.value.message


def test_the_extension_loads_without_the_package_cli() -> None:
    code = ("import sys; from gitops_guard.policy import celrt; "
            "assert celrt.compile_expression('1 + 1').run(celrt.new_context({})) == 2; "
            "print(sorted(m for m in ('cel', 'cel.cli', 'typer', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_package_still_imports_afterwards() -> None:
    """`import cel` after our direct load reuses the module (a second load would panic)."""
    code = ("from gitops_guard.policy import celrt; celrt.new_context({}); import cel; "
            "print(cel.evaluate('1 + 2'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "3"


@pytest.mark.parametrize(("expression", "expected"), [
    ("'ÄBC-x'.lowerAscii()", "Äbc-x"),  # ASCII only, as in Kubernetes
    ("'äbc-X'.upperAscii()", "äBC-X"),
    ("lowerAscii('AB')", "ab"),
    ("'  a b \\t'.trim()", "a b"),
    ("'a,b,,c'.split(',')", ["a", "b", "", "c"]),
    ("'a,b,c'.split(',', 2)", ["a", "b,c"]),
    ("'a,b,c'.split(',', 0)", []),
    ("'a,b,c'.split(',', -1)", ["a", "b", "c"]),
    ("'abc'.split('')", ["a", "b", "c"]),
    ("'abc'.split('', 2)", ["a", "bc"]),
    ("['a', 'b'].join(', ')", "a, b"),
    ("['a', 'b'].join()", "ab"),
    ("[].join('-')", ""),
    ("quantity('500m') == 0.5", True),
    ("quantity('1Gi') == 1073741824.0", True),
    ("quantity('2') > 1.5", True),
    ("isQuantity('1Gi') && !isQuantity('1GB')", True),
    ("'registry:5000/app:1.2@sha256:ab'.imageTag()", "1.2"),
    ("'registry:5000/app:1.2@sha256:ab'.imageDigest()", "sha256:ab"),
    ("[{'a': 1}, {'a': 2}, {'a': 2}].indexOf({'a': 2})", 1),
    ("[{'a': [1, 'x']}].indexOf({'a': [1, 'x']})", 0),
    ("[1, 2].indexOf(3)", -1),
    ("[1, true].indexOf(true)", 1),  # a bool equals only a bool
    ("[true].indexOf(1)", -1),
    ("[{'a': 1}].indexOf({'a': true})", -1),
    ("[1, 2.0].indexOf(2)", 1),  # numbers compare across types, as in CEL
    ("[].indexOf('a')", -1),
    ("'häystack'.indexOf('s')", 3),  # code points, as in Kubernetes
    ("'abcabc'.indexOf('c', 3)", 5),
    ("'abc'.indexOf('x')", -1),
    ("'abc'.indexOf('', 3)", 3),
])
def test_functions(expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0.0), ("1", 1.0), ("+1", 1.0), ("-1", -1.0), ("1.5", 1.5), (".5", 0.5), ("1.", 1.0),
    ("007", 7.0),
    ("100n", 1e-7), ("10u", 1e-5), ("500m", 0.5), ("1k", 1000.0), ("1M", 1e6), ("1G", 1e9),
    ("1T", 1e12), ("1P", 1e15), ("1E", 1e18),
    ("1Ki", 1024.0), ("1Mi", 1024.0**2), ("1.5Gi", 1.5 * 1024**3), ("1Ti", 1024.0**4),
    ("1Pi", 1024.0**5), ("1Ei", 1024.0**6),
    ("1e3", 1000.0), ("1E3", 1000.0), ("2.5e-3", 0.0025), ("1e+2", 100.0), ("12E0", 12.0),
    (2, 2.0), (0.25, 0.25),  # a YAML number is the quantity it spells
])
def test_quantities(text: str | float, value: float) -> None:
    assert celrt.parse_quantity(text) == pytest.approx(value, rel=1e-12)
    assert celrt.is_quantity(text)


@pytest.mark.parametrize("text", [
    "", " 1", "1 ", "1 Gi", "Gi", "1K", "1Kb", "1GB", "1mi", "1e", "1e1.5", "1..5", "1.5.", "-",
    "+", ".", "abc", "0x10", "1e999999999", "1e" + "9" * 5000, True, None, [], {}, float("inf"),
])
def test_not_quantities(text: Any) -> None:
    assert celrt.parse_quantity(text) is None
    assert not celrt.is_quantity(text)
    with pytest.raises(ValueError, match="not a valid Kubernetes quantity"):
        celrt.quantity(text)


@pytest.mark.parametrize(("reference", "tag", "digest"), [
    ("nginx", "", ""),
    ("nginx:1.25", "1.25", ""),
    ("docker.io/library/nginx:latest", "latest", ""),
    ("registry.example:5000/app", "", ""),
    ("registry.example:5000/team/app:v2", "v2", ""),
    ("app@sha256:abc", "", "sha256:abc"),
    ("app:tag@sha256:abc", "tag", "sha256:abc"),
    ("registry.example:5000/app@sha256:abc", "", "sha256:abc"),
    ("localhost:5000", "5000", ""),  # as docker reads it: image "localhost", tag "5000"
    ("", "", ""),
])
def test_image_references(reference: str, tag: str, digest: str) -> None:
    assert run("image.imageTag()", image=reference) == tag
    assert run("image.imageDigest()", image=reference) == digest


@pytest.mark.parametrize(("expression", "message"), [
    ("quantity('12parsecs')", "quantity(): not a valid Kubernetes quantity"),
    ("quantity('1', 2)", "quantity(): wrong number of arguments"),
    ("lowerAscii(1)", "lowerAscii(): expects a string"),
    ("[1, 2].join(',')", "join(): expects a list of strings"),
    ("'a'.split(',', true)", "split(): expects an int limit"),
    ("imageTag(7)", "imageTag(): expects a string"),
    ("{'a': 1}.indexOf(1)", "indexOf(): expects a list or a string"),
    ("'abc'.indexOf(1)", "indexOf(): expects a string"),
    ("'abc'.indexOf('a', 4)", "indexOf(): index out of range"),
    ("'abc'.indexOf('a', -1)", "indexOf(): index out of range"),
    ("[1].indexOf(1, 0)", "indexOf(): expects no offset for a list"),
    ("object.missing", "no such key: missing"),
    ("[1][3]", "index out of bounds: 3"),
    ("'a' + 1", "Unsupported operation: string + int"),
    ("nothing", "Undefined variable or function: 'nothing'"),
    ("1 / 0", "division by zero in CEL expression"),
])
def test_evaluation_errors_are_short(expression: str, message: str) -> None:
    assert error_of(expression, object={}) == message


def test_errors_name_no_values_of_the_object() -> None:
    assert "hunter2" not in error_of("quantity(object.password)", object={"password": "hunter2"})


def test_a_failing_function_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    error_of("quantity('bad')")
    assert caplog.records == []


@pytest.mark.parametrize(("source", "position", "fragment"), [
    ("1 +", (1, 4), "Syntax error"),
    ("a &&\n  (b", (2, 5), "Syntax error"),
    ("object.?spec", None, "optional syntax"),
    ("object[?'spec']", None, "optional syntax"),
    ("{?'a': 1}", None, "optional syntax"),
    ("object.spec.orValue({})", None, "optional syntax"),
    ("optional.of(1)", None, "optional syntax"),
])
def test_compile_errors(source: str, position: tuple[int, int] | None, fragment: str) -> None:
    with pytest.raises(CelError) as caught:
        celrt.compile_expression(source)
    assert fragment in caught.value.message
    if position is not None:
        assert caught.value.position == position
        assert not caught.value.message.startswith(("<input>", "ERROR"))


def test_programs_know_what_they_read() -> None:
    program = celrt.compile_expression("containers.all(c, has(c.name)) && object.kind == 'Pod'")
    assert {"containers", "c", "object"} <= program.names
    assert program.reads["object"] == {("kind",)}
    assert program.reads["containers"] is None
    assert repr(program).startswith('Program("containers.all(')


DEFINED = {"bad": "containers.filter(c, c.privileged) // a comment", "n": "1"}


@pytest.mark.parametrize(("source", "expanded"), [
    ("size(variables.bad) == 0",
     "size((containers.filter(c, c.privileged) // a comment\n)) == 0"),
    ("variables.n + variables.n",
     "[(1\n)].map(_var_n, (_var_n + _var_n\n))[0]"),
    ("variables . n", "(1\n)"),
    ("namespace == 'x' && object.metadata.namespace == namespace",
     "_namespace == 'x' && object.metadata.namespace == _namespace"),
    ("'variables.bad' + \"namespace\" // variables.zzz", None),
    ("r'variables.n' + '''variables.n\\'''' + b\"namespace\"", None),
    ("object.variables.x", None),
])
def test_expand(source: str, expanded: str | None) -> None:
    assert celrt.expand(source, DEFINED) == (source if expanded is None else expanded)


def test_expanded_variables_evaluate_as_written() -> None:
    source = celrt.expand("size(variables.bad) + variables.n + variables.n",
                          {"bad": "containers.filter(c, c.privileged)", "n": "1"})
    containers = [{"privileged": True}, {"privileged": False}]
    assert run(source, containers=containers) == 3


def test_without_definitions_only_namespace_is_renamed() -> None:
    assert celrt.expand("namespace + variables.x", None) == "_namespace + variables.x"


@pytest.mark.parametrize(("source", "message"), [
    ("variables.missing", "unknown variable 'missing' (defined before it: bad, n)"),
    ("size(variables)", "use a variable as variables.<name>"),
    ("variables['bad']", "use a variable as variables.<name>"),
])
def test_expand_errors(source: str, message: str) -> None:
    with pytest.raises(CelError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        celrt.expand(source, DEFINED)


def test_expansion_is_bounded() -> None:
    big = "'" + "x" * 60_000 + "'"
    with pytest.raises(CelError, match="expand to more than 100,000 characters"):
        celrt.expand("variables.a + variables.b", {"a": big, "b": big})


@pytest.mark.parametrize(("source", "expected"), [
    ("object.spec.replicas > 1", {"object": {("spec", "replicas")}}),
    ("has(object.spec) && has(object.spec.replicas)",
     {"object": {("spec", celrt.PRESENCE), ("spec", "replicas", celrt.PRESENCE)}}),
    ("object.metadata.labels['app']", {"object": {("metadata", "labels")}}),
    ("object.spec.containers.all(c, true)", {"object": {("spec", "containers")}}),
    ("size(object)", {"object": None}),
    ("object.all(k, true)", {"object": None}),
    ("object['spec']", {"object": None}),
    ("'spec' in object", {"object": None}),
    ("x.has(object.spec)", {"object": {("spec",)}}),  # not the macro
    ("has(object.a) || object.a.b", {"object": {("a", celrt.PRESENCE), ("a", "b")}}),
    ("x.object.spec + 'object.kind'", {"x": {("object", "spec")}}),
])
def test_selections(source: str, expected: dict[str, set[tuple[str, ...]] | None]) -> None:
    found = celrt.selections(source)
    for name, paths in expected.items():
        assert found[name] == (None if paths is None else frozenset(paths))
    if "object.kind" in source:
        assert "object" not in found


def test_merge_reads() -> None:
    merged = celrt.merge_reads([{"a": frozenset({("x",)}), "b": None},
                                {"a": frozenset({("y",)}), "b": frozenset({("z",)})},
                                {"c": frozenset()}])
    assert merged == {"a": frozenset({("x",), ("y",)}), "b": None, "c": frozenset()}
    assert celrt.merge_reads([{"a": frozenset({("x",)})}, {"a": None}]) == {"a": None}


def test_values_cel_cannot_hold_are_an_error() -> None:
    with pytest.raises(CelError, match="cannot be represented in CEL"):
        celrt.new_context({"object": {"key": object()}})
