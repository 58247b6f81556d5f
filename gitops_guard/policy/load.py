"""Loading policy files: validated against the format's JSON schema, every expression compiled
once. Any problem is a GuardError naming the file and line (docs/policy-format.md).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from yaml.nodes import Node

from gitops_guard import pointer as jp
from gitops_guard.errors import GuardError
from gitops_guard.findings import Severity
from gitops_guard.policy import celrt
from gitops_guard.policy.model import (
    Example,
    Expression,
    Match,
    Policy,
    PssInfo,
    Requirement,
    Validation,
    Variable,
)
from gitops_guard.yamlio import ParsedDocument, ParseFailure, node_at, parse_yaml

API_VERSION = "policy.gitops-guard.io/v1alpha1"
SUFFIXES = (".yaml", ".yml")
_ID = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
_PSS_VERSION = r"^1\.(0|[1-9][0-9]*)$"


def schema() -> dict[str, Any]:
    """The JSON schema of one policy document."""
    text = {"type": "string", "minLength": 1}
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}

    def each(properties: dict[str, Any], *required: str) -> dict[str, Any]:
        return {"type": "array", "items": _closed(properties, *required)}

    match = _closed({
        "podSpec": {"type": "boolean"},
        "kinds": {"type": "array", "items": {
            "type": "string", "pattern": r"^([a-z0-9.-]*/)?[A-Za-z][A-Za-z0-9]*$"}},
        # "" selects objects without a namespace.
        "namespaces": {"type": "array", "items": {"type": "string"}},
        "excludeNamespaces": {"type": "array", "items": {"type": "string"}},
        "labelSelector": _closed({
            "matchLabels": string_map,
            "matchExpressions": each({
                "key": text,
                "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                "values": {"type": "array", "items": {"type": "string"}},
            }, "key", "operator"),
        }),
    })
    spec = _closed({
        "id": {"type": "string", "pattern": _ID, "maxLength": 63},
        "title": text,
        "description": {"type": "string"},
        "remediation": {"type": "string"},
        "severity": {"enum": [severity.value for severity in Severity]},
        "pack": text,
        "pss": _closed({"control": text, "level": {"enum": ["baseline", "restricted"]}},
                       "control", "level"),
        "enabled": {"type": "boolean"},
        "match": match,
        "skipWhen": each({"expression": text}, "expression"),
        "variables": each({"name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                           "expression": text}, "name", "expression"),
        "validations": each({"expression": text, "message": text, "messageExpression": text,
                             "pointerExpression": text}, "expression") | {"minItems": 1},
        "examples": each({"name": text, "expect": {"enum": ["pass", "fail"]},
                          "pssVersion": {"type": "string", "pattern": _PSS_VERSION},
                          "manifest": text}, "name", "expect", "manifest"),
    }, "id", "title", "validations")
    return _closed({
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": "Policy"},
        "metadata": _closed({"name": {"type": "string"}, "labels": string_map,
                             "annotations": string_map}),
        "spec": spec,
    }, "apiVersion", "kind", "spec")


def _closed(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": list(required)}


@functools.cache
def _validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema())


def policy_files(paths: Sequence[Path]) -> list[Path]:
    """The files `paths` name, each once; a directory stands for every *.yaml / *.yml below
    it, sorted."""
    files: dict[Path, Path] = {}  # resolved -> as named
    for path in paths:
        if path.is_dir():
            found = sorted(Path(root) / name for root, _, names in os.walk(path)
                           for name in names if name.lower().endswith(SUFFIXES))
        elif path.is_file():
            found = [path]
        else:
            raise GuardError("policy path not found", path=str(path))
        for file in found:
            files.setdefault(file.resolve(), file)
    return list(files.values())


def load_policy_files(paths: Sequence[Path]) -> tuple[Policy, ...]:
    """Every policy in `paths`, compiled. Raises GuardError on the first bad file."""
    policies: list[Policy] = []
    seen: dict[str, Policy] = {}
    for file in policy_files(paths):
        for document in _documents(file):
            policy = _Builder(file, document).build()
            first = seen.get(policy.id)
            if first is not None:
                raise GuardError(f"duplicate policy id {policy.id!r} (first at "
                                 f"{first.path}:{first.line})", path=str(file),
                                 line=policy.line)
            seen[policy.id] = policy
            policies.append(policy)
    return tuple(policies)


def policy_ids(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(id, file) of every policy document in `paths`, read without validating or compiling."""
    found = []
    for file in policy_files(paths):
        for document in _documents(file):
            spec = document.data.get("spec") if isinstance(document.data, dict) else None
            if isinstance(spec, dict) and isinstance(spec.get("id"), str):
                found.append((spec["id"], file))
    return found


def _documents(file: Path) -> list[ParsedDocument]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else "not UTF-8"
        raise GuardError(f"cannot read policy file: {reason}", path=str(file)) from None
    try:
        documents = parse_yaml(text)
    except ParseFailure as failure:
        raise GuardError(failure.message, path=str(file), line=failure.line,
                         column=failure.column) from None
    return [document for document in documents if document.data is not None]


class _Builder:
    """Turns one parsed document into a Policy, raising GuardError at the first problem."""

    def __init__(self, file: Path, document: ParsedDocument) -> None:
        self.file = file
        self.root = document.node
        self.data = document.data
        self.duplicates = document.duplicates
        self.definitions: dict[str, str] = {}  # variable name -> its expanded expression

    def fail(self, problems: list[tuple[int, int, str]]) -> GuardError:
        """The first problem, with any others listed below it."""
        (line, column, message), *more = sorted(problems)
        message += "".join(f"\n  {self.file}:{ln}:{col}: {text}" for ln, col, text in more)
        return GuardError(message, path=str(self.file), line=line, column=column)

    def problem(self, tokens: list[str], message: str,
                at_key: bool = False) -> tuple[int, int, str]:
        return (*self.position(tokens, at_key), message)

    def position(self, tokens: list[str], at_key: bool = False) -> tuple[int, int]:
        node = node_at(self.root, tokens, at_key)
        if node is None:  # pragma: no cover - documents here are never empty
            return 1, 1
        return node.start_mark.line + 1, node.start_mark.column + 1

    def build(self) -> Policy:
        if self.duplicates:
            dup = self.duplicates[0]
            raise self.fail([(dup.line, dup.column,
                              f'duplicate key "{dup.key}" (first at line {dup.first_line})')])
        self.check_schema()
        spec = self.data["spec"]
        self.check_selector(spec.get("match", {}).get("labelSelector", {}))
        pss = spec.get("pss")
        return Policy(
            id=spec["id"],
            title=spec["title"],
            description=spec.get("description", "").strip(),
            remediation=spec.get("remediation", "").strip(),
            severity=Severity(spec.get("severity", "error")),
            pack=spec.get("pack", "custom"),
            pss=PssInfo(pss["control"], pss["level"]) if pss else None,
            enabled=spec.get("enabled", True),
            match=_match(spec.get("match", {})),
            skip_when=tuple(self.expression(["skipWhen", str(i), "expression"], raw["expression"])
                            for i, raw in enumerate(spec.get("skipWhen", []))),
            variables=tuple(self.variable(i, raw)
                            for i, raw in enumerate(spec.get("variables", []))),
            validations=tuple(self.validation(i, raw)
                              for i, raw in enumerate(spec["validations"])),
            examples=tuple(self.example(i, raw)
                           for i, raw in enumerate(spec.get("examples", []))),
            name=self.data.get("metadata", {}).get("name", ""),
            path=self.file,
            line=self.position([])[0],
        )

    def check_schema(self) -> None:
        problems = []
        for error in _validator().iter_errors(self.data):
            tokens = [str(part) for part in error.instance_path]
            unexpected = getattr(error.kind, "unexpected", None)
            if unexpected:
                tokens.append(str(unexpected[0]))
                problems.append(self.problem(tokens, f"unknown field {jp.dotted(tokens)}",
                                             at_key=True))
            else:
                where = jp.dotted(tokens) or "the document"
                problems.append(self.problem(tokens, f"{where}: {error.message}"))
        if problems:
            raise self.fail(problems)

    def check_selector(self, selector: dict[str, Any]) -> None:
        for index, requirement in enumerate(selector.get("matchExpressions", [])):
            listed = bool(requirement.get("values"))
            if listed != (requirement["operator"] in ("In", "NotIn")):
                tokens = ["spec", "match", "labelSelector", "matchExpressions", str(index)]
                need = "takes no values" if listed else "needs values"
                raise self.fail([self.problem(tokens, f"{jp.dotted(tokens[1:])}: operator "
                                                      f"{requirement['operator']} {need}")])

    def variable(self, index: int, raw: dict[str, Any]) -> Variable:
        name = raw["name"]
        if name in self.definitions:
            raise self.fail([self.problem(["spec", "variables", str(index), "name"],
                                          f"variable {name!r} is defined twice")])
        expression = self.expression(["variables", str(index), "expression"], raw["expression"])
        self.definitions[name] = expression.program.source
        return Variable(name, expression)

    def validation(self, index: int, raw: dict[str, Any]) -> Validation:
        def optional(field: str) -> Expression | None:
            if field not in raw:
                return None
            return self.expression(["validations", str(index), field], raw[field])

        validation = Validation(self.expression(["validations", str(index), "expression"],
                                                raw["expression"]),
                                raw.get("message"), optional("messageExpression"),
                                optional("pointerExpression"))
        if validation.message_expression is None and validation.pointer_expression is None:
            return validation
        # The check, message and pointer as one program, so that the variables they share
        # are evaluated once for a failing object, not up to three times.
        message, pointer = (raw.get(field, "''") for field in ("messageExpression",
                                                                "pointerExpression"))
        both = f"({raw['expression']}\n) ? [true] : [false, ({message}\n), ({pointer}\n)]"
        try:
            combined = celrt.compile_expression(celrt.expand(both, self.definitions))
        except celrt.CelError as error:  # pragma: no cover - its parts compiled
            tokens = ["spec", "validations", str(index)]
            raise self.fail([self.problem(tokens, f"{jp.dotted(tokens[1:])}: "
                                                  f"{error.message}")]) from None
        return dataclasses.replace(validation, combined=combined)

    def expression(self, tokens: list[str], source: str) -> Expression:
        """Compile the expression at spec.<tokens>, its variables expanded."""
        where = jp.dotted(tokens)
        node = node_at(self.root, ["spec", *tokens])
        line, column = self.position(["spec", *tokens])
        try:
            expanded = celrt.expand(source, self.definitions)
            written = celrt.expand(source, None)
            if written != expanded:
                celrt.compile_expression(written)  # syntax errors name the text as written
            program = celrt.compile_expression(expanded)
        except celrt.CelError as error:
            line, column = _position_in(node, error.position, (line, column))
            raise self.fail([(line, column, f"{where}: {error.message}")]) from None
        return Expression(source, program, where, line, column)

    def example(self, index: int, raw: dict[str, Any]) -> Example:
        version = raw.get("pssVersion")
        return Example(raw["name"], raw["expect"], raw["manifest"],
                       int(version.split(".")[1]) if version else None,
                       self.position(["spec", "examples", str(index)])[0])


def _position_in(node: Node | None, position: tuple[int, int] | None,
                 start: tuple[int, int]) -> tuple[int, int]:
    """The file position of a compile error at (line, column) of the expression in `node`:
    exact in a one-line plain scalar and, for the line, in a literal block; else the start."""
    style = getattr(node, "style", None)
    if position is None or node is None:
        return start
    line, column = position
    if style == "|":
        # Line N of a literal block is N lines below the `|`; an error at the end of the text
        # (after its last line break) belongs to its last line.
        last = str(node.value).rstrip("\n").count("\n") + 1
        return start[0] + min(line, last), start[1]
    if not style and node.start_mark.line == node.end_mark.line:
        return start[0], start[1] + column - 1
    return start


def _match(raw: dict[str, Any]) -> Match:
    selector = raw.get("labelSelector", {})
    return Match(
        pod_spec=raw.get("podSpec", False),
        kinds=tuple(raw.get("kinds", ())),
        namespaces=tuple(raw.get("namespaces", ())),
        exclude_namespaces=tuple(raw.get("excludeNamespaces", ())),
        match_labels=tuple(selector.get("matchLabels", {}).items()),
        match_expressions=tuple(Requirement(r["key"], r["operator"], tuple(r.get("values", ())))
                                for r in selector.get("matchExpressions", ())),
    )
