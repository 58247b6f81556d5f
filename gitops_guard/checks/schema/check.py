"""The schema check's per-document logic (imported only when the check runs)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from gitops_guard.checks.base import CheckContext
from gitops_guard.checks.schema import apis, semantics
from gitops_guard.checks.schema.rules import (
    RULE_BAD_CRD,
    RULE_DEPRECATED,
    RULE_MISSING,
    RULE_NOT_SERVED,
)
from gitops_guard.checks.schema.state import SchemaState, Unavailable
from gitops_guard.documents import Document
from gitops_guard.findings import Problem, Severity

_PRERELEASE = re.compile(r"^v\d+(alpha|beta)\d+$")
_MISSING_SEVERITY = {"error": Severity.ERROR, "warn": Severity.WARNING,
                     "warning": Severity.WARNING}


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
