"""Rule ids of the schema check, in one place (imported cheaply by the registry)."""

from __future__ import annotations

from gitops_guard.findings import Rule, Severity

RULE_INVALID = "GG-SCHEMA-001"
RULE_UNKNOWN_FIELD = "GG-SCHEMA-002"
RULE_MISSING = "GG-SCHEMA-003"
RULE_NOT_SERVED = "GG-SCHEMA-004"
RULE_DEPRECATED = "GG-SCHEMA-005"
RULE_NAME = "GG-SCHEMA-006"
RULE_LABEL = "GG-SCHEMA-007"
RULE_ANNOTATION = "GG-SCHEMA-008"
RULE_PORT_NAME = "GG-SCHEMA-009"
RULE_SELECTOR = "GG-SCHEMA-010"
RULE_VALUE = "GG-SCHEMA-011"
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
    Rule(RULE_NAME, "InvalidName", _E,
         "metadata.name or metadata.namespace breaks the kind's naming rules (DNS-1123)."),
    Rule(RULE_LABEL, "InvalidLabel", _E, "A label key or value has invalid syntax."),
    Rule(RULE_ANNOTATION, "InvalidAnnotation", _E,
         "An annotation key has invalid syntax, or the annotations exceed 256 KiB."),
    Rule(RULE_PORT_NAME, "InvalidPortName", _E,
         "A container or Service port name breaks its syntax (at most 15 characters, ...)."),
    Rule(RULE_SELECTOR, "SelectorMismatch", _E,
         "A workload's selector does not select its own pod template."),
    Rule(RULE_VALUE, "InvalidValue", _E,
         "A value the API server does not accept (imagePullPolicy, restartPolicy, ...)."),
    Rule(RULE_BAD_CRD, "InvalidCrd", _E, "A CRD, or its schema, cannot be used to validate."),
    Rule(RULE_UNAVAILABLE, "SchemaUnavailable", _E,
         "A configured schema location failed: download error or unreadable schema."),
)
