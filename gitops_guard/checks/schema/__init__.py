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

from collections.abc import Iterable
from typing import TYPE_CHECKING

from gitops_guard.checks.base import Check, CheckContext, RunInfo
from gitops_guard.checks.schema.rules import RULES
from gitops_guard.documents import Document
from gitops_guard.findings import Problem

if TYPE_CHECKING:
    from gitops_guard.checks.schema.state import SchemaState


# The validators, the bundled schemas and jsonschema-rs load only when the check runs.
def _check_document(doc: Document, ctx: CheckContext) -> Iterable[Problem]:
    from gitops_guard.checks.schema.check import check_document

    return check_document(doc, ctx)


def _prepare(info: RunInfo) -> SchemaState:
    from gitops_guard.checks.schema.state import prepare

    return prepare(info)


CHECK = Check(
    name="schema",
    description="Objects against the Kubernetes API schema (bundled, CRDs, schema locations).",
    rules=RULES,
    check_document=_check_document,
    prepare=_prepare,
    config_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "kubernetes_version": {"type": "string"},
            "strict": {"type": "boolean"},
            "missing_schemas": {"enum": ["error", "warn", "warning", "skip"]},
            "crds": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "locations": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "offline": {"type": "boolean"},
            "timeout": {"type": "number", "exclusiveMinimum": 0},
            "cache_dir": {"type": "string", "minLength": 1},
        },
    },
)

__all__ = ["CHECK", "RULES"]

