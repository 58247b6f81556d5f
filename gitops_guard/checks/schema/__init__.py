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

from gitops_guard import confine
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
        "description": "settings of the schema check (docs/schema.md)",
        "properties": {
            "kubernetes_version": {
                "type": "string",
                "description": "target version, quoted: \"1.36\", \"v1.36.2\" (default: the "
                               "newest bundled); --kubernetes-version overrides it"},
            "strict": {"type": "boolean", "default": True,
                       "description": "unknown fields are errors (GG-SCHEMA-002)"},
            "missing_schemas": {"enum": ["error", "warn", "warning", "skip"], "default": "warn",
                                "description": "level of GG-SCHEMA-003 (no schema for a "
                                               "kind), or skip: no finding"},
            "crds": {"type": "array",
                     "items": {"type": "string", "minLength": 1, confine.READS: confine.PATH},
                     "description": "CRD files or directories to use besides those among the "
                                    "checked files and, for a run on single files, elsewhere "
                                    "in the repository; relative to the config file"},
            "locations": {"type": "array", "items": {"type": "string", "minLength": 1,
                                                    confine.READS: confine.LOCATION},
                          "description": "kubeconform-style schema locations (directories, "
                                         "files, http(s) URL templates), tried in order"},
            "offline": {"type": "boolean", "default": False,
                        "description": "never download from URL locations; cached copies are "
                                       "still used"},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 10,
                        "description": "seconds per schema download"},
            "cache_dir": {"type": "string", "minLength": 1,
                          "description": "where downloaded schemas are kept (default: "
                                         "$XDG_CACHE_HOME/gitops-guard/schemas)"},
        },
    },
)

__all__ = ["CHECK", "RULES"]

