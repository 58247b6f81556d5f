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

from gitops_guard.checks.base import Check, lazily
from gitops_guard.checks.schema.rules import RULES

CHECK = Check(
    name="schema",
    description="Objects against the Kubernetes API schema (bundled, CRDs, schema locations).",
    rules=RULES,
    check_document=lazily("gitops_guard.checks.schema.check", "check_document"),
    prepare=lazily("gitops_guard.checks.schema.state", "prepare"),
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

