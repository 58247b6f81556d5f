"""schema: every object against the Kubernetes API's shape, offline, strict, CRD-aware.

Built-in kinds use the bundled schemas of the chosen Kubernetes version; custom resources use
the CRDs found among the checked files or named in the config, then any configured schema
locations. Strict by default: unknown fields are errors. On top of the schema, the rules the
API server applies that schemas cannot express (names, labels, port names, selectors).

FAIL (GG-SCHEMA-002, unknown field; did you mean "imagePullPolicy"?)::

    containers:
      - name: web
        image: nginx
        imagePullpolicy: Always

FAIL (GG-SCHEMA-004)::

    apiVersion: extensions/v1beta1
    kind: Ingress
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gitops_guard.checks.base import Check, CheckContext
from gitops_guard.checks.schema import apis, semantics
from gitops_guard.checks.schema.state import SchemaState, Unavailable, prepare
from gitops_guard.checks.schema.validation import RULE_ENUM, RULE_INVALID, RULE_UNKNOWN_FIELD
from gitops_guard.documents import Document
from gitops_guard.findings import Problem, Rule, Severity

RULE_MISSING = "GG-SCHEMA-003"
RULE_NOT_SERVED = "GG-SCHEMA-004"
RULE_DEPRECATED = "GG-SCHEMA-005"
RULE_BAD_CRD = "GG-SCHEMA-012"
RULE_UNAVAILABLE = "GG-SCHEMA-013"

_E, _W = Severity.ERROR, Severity.WARNING
RULES = (
    Rule(RULE_INVALID, "SchemaViolation", _E,
         "A field has the wrong type, a required field is missing, or a value breaks the "
         "schema."),
    Rule(RULE_UNKNOWN_FIELD, "UnknownField", _E,
         "A field the schema does not define: a typo or a field at the wrong level (strict)."),
    Rule(RULE_MISSING, "MissingSchema", _W,
         "No schema for the kind: not built in, no CRD found, no schema location has it."),
    Rule(RULE_NOT_SERVED, "ApiVersionNotServed", _E,
         "The apiVersion was removed from, or is not served by, the target Kubernetes."),
    Rule(RULE_DEPRECATED, "PrereleaseApiVersion", _W,
         "An alpha or beta apiVersion is used where a stable one is served."),
    Rule(semantics.RULE_NAME, "InvalidName", _E,
         "metadata.name or metadata.namespace breaks the kind's naming rules (DNS-1123)."),
    Rule(semantics.RULE_LABEL, "InvalidLabel", _E, "A label key or value has invalid syntax."),
    Rule(semantics.RULE_ANNOTATION, "InvalidAnnotation", _E,
         "An annotation key has invalid syntax, or the annotations exceed 256 KiB."),
    Rule(semantics.RULE_PORT_NAME, "InvalidPortName", _E,
         "A container or Service port name breaks its syntax (at most 15 characters, ...)."),
    Rule(semantics.RULE_SELECTOR, "SelectorMismatch", _E,
         "A workload's selector does not select its own pod template."),
    Rule(RULE_ENUM, "InvalidValue", _E,
         "A value the API server does not accept (imagePullPolicy, restartPolicy, ...)."),
    Rule(RULE_BAD_CRD, "InvalidCrd", _E, "A CRD, or its schema, cannot be used to validate."),
    Rule(RULE_UNAVAILABLE, "SchemaUnavailable", _E,
         "A configured schema location failed: download error or unreadable schema."),
)

_PRERELEASE = re.compile(r"^v\d+(alpha|beta)\d+$")
_MISSING_SEVERITY = {"error": Severity.ERROR, "warn": Severity.WARNING}


def check_document(doc: Document, ctx: CheckContext) -> Iterator[Problem]:
    state: SchemaState = ctx.state
    data = doc.data
    api_version, kind = data.get("apiVersion"), data.get("kind")
    for error in state.crd_errors.get((doc.path, doc.index), ()):
        yield Problem(RULE_BAD_CRD, error.message, error.pointer)
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return  # the manifest check reports it
    built_in = state.bundle.definition_name(api_version, kind) is not None
    if not built_in:
        problem = _not_served(state, api_version, kind)
        if problem is not None:
            yield problem
            return
    patch = doc.path in state.patches
    validator = state.validator(api_version, kind, partial=patch)
    if validator is None:
        served = state.crd_versions(api_version.rpartition("/")[0], kind)
        if served:
            versions = ", ".join(v.api_version.rpartition("/")[2] for v in served)
            yield Problem(RULE_NOT_SERVED, f"{api_version} {kind} is not served by "
                          f"{served[0].source}; it serves {versions}", "/apiVersion")
        elif state.missing_schemas != "skip":
            yield Problem(RULE_MISSING, _missing_message(state, api_version, kind),
                          "/kind", severity=_MISSING_SEVERITY[state.missing_schemas])
    elif isinstance(validator, Unavailable):
        yield Problem(validator.rule, validator.message, "/kind")
    else:
        yield from validator.problems(data, reveal_values=kind != "Secret")
    if built_in:
        yield from _prerelease(state, api_version, kind)
    yield from semantics.check(data, kind, built_in, partial=patch)


def _not_served(state: SchemaState, api_version: str, kind: str) -> Problem | None:
    removal = apis.removal(api_version, kind)
    version = state.bundle.version
    if removal is not None:
        instead = (f"; use {removal.replacement}" if removal.replacement
                   else "; it has no replacement")
        return Problem(RULE_NOT_SERVED, f"{api_version} {kind} was removed in Kubernetes "
                       f"{removal.removed_in}{instead}", "/apiVersion")
    group = api_version.rpartition("/")[0]
    if group not in state.bundle.groups:
        return None  # not a built-in group: a custom resource
    serving = state.bundle.serving(kind)
    if serving:
        return Problem(RULE_NOT_SERVED, f"Kubernetes {version} does not serve {kind} as "
                       f"{api_version}; use {' or '.join(serving)}", "/apiVersion")
    return Problem(RULE_NOT_SERVED, f"Kubernetes {version} has no kind {kind} in "
                   f"{api_version}", "/kind")


def _prerelease(state: SchemaState, api_version: str, kind: str) -> Iterator[Problem]:
    group, _, version = api_version.rpartition("/")
    if not _PRERELEASE.match(version):
        return
    stable = [v for v in state.bundle.serving(kind)
              if v.rpartition("/")[0] == group and not _PRERELEASE.match(v.rpartition("/")[2])]
    if stable:
        yield Problem(RULE_DEPRECATED, f"{api_version} {kind} is a pre-release API; "
                      f"Kubernetes {state.bundle.version} serves {' and '.join(stable)}",
                      "/apiVersion")


def _missing_message(state: SchemaState, api_version: str, kind: str) -> str:
    return (f"no schema for {api_version} {kind}: not built into Kubernetes "
            f"{state.bundle.version}, no CRD for it among the checked files or in schema.crds, "
            "and no schema location has it")


CHECK = Check(
    name="schema",
    description="Objects against the Kubernetes API schema (bundled, CRDs, schema locations).",
    rules=RULES,
    check_document=check_document,
    prepare=prepare,
    config_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "kubernetes_version": {"type": "string"},
            "strict": {"type": "boolean"},
            "missing_schemas": {"enum": ["error", "warn", "skip"]},
            "crds": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "locations": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "offline": {"type": "boolean"},
            "timeout": {"type": "number", "exclusiveMinimum": 0},
            "cache_dir": {"type": "string", "minLength": 1},
        },
    },
)

__all__ = ["CHECK", "RULES"]

