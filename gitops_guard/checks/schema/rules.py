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
         "schema.",
         why="The API server refuses an object that breaks its kind's schema, so the sync "
             "fails when the change is deployed, after it was merged.",
         fix="Fix the value at the path the message names. Where YAML 1.1 typed a value "
             "that should be a string (enabled: yes, version: 1.10), quote it."),
    Rule(RULE_UNKNOWN_FIELD, "UnknownField", _E,
         "A field the schema does not define: a typo or a field at the wrong level (strict).",
         why="A field the kind does not define is a typo or sits at the wrong level: the API "
             "server rejects it or drops it, depending on the client's field validation, and "
             "the setting never takes effect.",
         fix="Rename or move the field as the message suggests (did you mean ..., or where it "
             "belongs). For a schema that really allows more, --no-strict or schema.strict: "
             "false accepts unknown fields everywhere."),
    Rule(RULE_MISSING, "MissingSchema", _W,
         "No schema for the kind: not built in, no CRD found, no schema location has it.",
         why="An object without a schema is not validated at all, so a typo in a custom "
             "resource goes through unnoticed.",
         fix="Add the CRD to the checked files or name it in schema.crds, or add a schema "
             "location (schema.locations, for example the datreeio CRDs-catalog). "
             "schema.missing_schemas sets the level (error, warn) or skips such objects."),
    Rule(RULE_NOT_SERVED, "ApiVersionNotServed", _E,
         "The apiVersion was removed from, or is not served by, the target Kubernetes.",
         why="The cluster does not serve this apiVersion (removed, never served, or not "
             "served by the object's CRD), so applying the object fails; removed APIs are "
             "what breaks clusters on upgrade.",
         fix="Use the replacement the message names (extensions/v1beta1 Ingress: "
             "networking.k8s.io/v1) and adjust the fields that changed; or target the "
             "Kubernetes version you run with --kubernetes-version or "
             "schema.kubernetes_version."),
    Rule(RULE_DEPRECATED, "PrereleaseApiVersion", _W,
         "An alpha or beta apiVersion is used where a stable one is served.",
         why="Alpha and beta APIs change and are removed in later releases; where the group "
             "already serves a stable version, the object will break on a future upgrade.",
         fix="Move the object to the stable apiVersion and adjust the fields that differ."),
    Rule(RULE_NAME, "InvalidName", _E,
         "metadata.name or metadata.namespace breaks the kind's naming rules (DNS-1123).",
         why="The API server validates names per kind (a DNS-1123 subdomain or label, a "
             "DNS-1035 label for Services, at most 52 characters for CronJobs) and refuses an "
             "object whose name breaks them.",
         fix="Use lower-case letters, digits and '-' ('.' where the kind allows it), starting "
             "and ending with a letter or digit, within the kind's length limit."),
    Rule(RULE_LABEL, "InvalidLabel", _E, "A label key or value has invalid syntax.",
         why="The API server refuses invalid label keys and values, in metadata, pod "
             "templates and selectors alike.",
         fix="A value: at most 63 characters, letters, digits, '-', '_' and '.', beginning "
             "and ending with a letter or digit. A key: an optional DNS subdomain prefix and "
             "'/', then a name with the same rules."),
    Rule(RULE_ANNOTATION, "InvalidAnnotation", _E,
         "An annotation key has invalid syntax, or the annotations exceed 256 KiB.",
         why="The API server refuses an annotation key with invalid syntax, and an object "
             "whose annotations add up to more than 256 KiB.",
         fix="Fix the key (an optional DNS subdomain prefix and '/', then a name of at most "
             "63 characters); keep large data in a ConfigMap rather than in annotations."),
    Rule(RULE_PORT_NAME, "InvalidPortName", _E,
         "A container or Service port name breaks its syntax (at most 15 characters, ...).",
         why="Port names must be IANA service names (at most 15 characters, lower-case "
             "letters, digits and '-', at least one letter); the API server refuses others, "
             "in containers, Services and named targetPorts.",
         fix="Shorten or rename the port, and every targetPort that refers to it."),
    Rule(RULE_SELECTOR, "SelectorMismatch", _E,
         "A workload's selector does not select its own pod template.",
         why="The API server refuses a workload whose selector does not match the labels of "
             "its own pod template, or is empty: the controller could never find its pods.",
         fix="Make spec.selector.matchLabels (and matchExpressions) match "
             "spec.template.metadata.labels."),
    Rule(RULE_VALUE, "InvalidValue", _E,
         "A value the API server does not accept (imagePullPolicy, restartPolicy, ...).",
         why="The OpenAPI schemas leave these fields open, but the API server accepts only "
             "certain values (imagePullPolicy Always, IfNotPresent or Never; restartPolicy "
             "Always in a Deployment, not Always in a Job; ...) and refuses the object.",
         fix="Use one of the values the message lists."),
    Rule(RULE_BAD_CRD, "InvalidCrd", _E, "A CRD, or its schema, cannot be used to validate.",
         why="A CRD whose schema cannot be turned into a schema (no spec.group, properties "
             "that are not a mapping, ...) validates none of its custom resources, and is "
             "not a CRD the API server would accept.",
         fix="Fix the CRD at the reported place, or regenerate it from its source (for "
             "example with controller-gen)."),
    Rule(RULE_UNAVAILABLE, "SchemaUnavailable", _E,
         "A configured schema location failed: download error or unreadable schema.",
         why="A configured schema location failed (a timeout, an HTTP error, a file that is "
             "not a JSON schema), so the objects that needed it were not validated.",
         fix="Check the location's URL or path and the network. A missing file or an HTTP "
             "404 moves on to the next location; other failures do not. A schema already in "
             "the cache is used with --offline."),
)
