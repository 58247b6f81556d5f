"""promotion: versions move through the environments in order, checked from git history.

The check does not look at the files of a `check` run: it reads the first-parent history of
the deployed branch and the candidate tree (the index, or a PR's head), so it runs through
its own command, `gitops-guard promotion check|audit|status` (gitops_guard/promotion/).
Registering it here gives its rules to `rules:`, `gitops-guard rules`, SARIF, and its config
section to the config schema.
"""

from __future__ import annotations

from gitops_guard.checks.base import Check, lazily
from gitops_guard.findings import Rule, Severity

EXTRACTOR_NAMES = ("kustomize-images", "helm-values", "helmrelease-chart", "argocd-app",
                   "workload-image", "yaml-path")
LEVELS = ("error", "warning", "info", "off")

RULES = (
    Rule("PROMO001", "PromotionSkippedStage", Severity.ERROR,
         "A version entered an environment without having been in the environments before "
         "it (every one, or any one with require: any) at an earlier commit."),
    Rule("PROMO002", "PromotionSoakTooShort", Severity.ERROR,
         "A version entered an environment before it had stayed min_soak in the environment "
         "before it."),
    Rule("PROMO003", "PromotionSameCommit", Severity.ERROR,
         "A version entered an environment in the same commit as the environment before it, "
         "so it never ran there first."),
    Rule("PROMO004", "PromotionRollback", Severity.INFO,
         "An environment went back to a version it ran before (a rollback)."),
    Rule("PROMO005", "PromotionFloatingVersion", Severity.ERROR,
         "A non-source environment names a floating or unresolved version (latest, a range, "
         "HEAD, ${VAR}), so git cannot tell what runs."),
    Rule("PROMO007", "PromotionTagDigestMismatch", Severity.ERROR,
         "An environment pins by digest where the one before it pins by tag (or the other "
         "way round), and no tag@digest value in history pairs them."),
    Rule("PROMO009", "PromotionOverride", Severity.WARNING,
         "An override (a Promotion-Override commit trailer or an approvals file entry) let "
         "a promotion through that broke the order."),
    Rule("PROMO011", "PromotionLocationUnreadable", Severity.ERROR,
         "A file the promotion config names as a location does not parse, so the versions "
         "in it cannot be checked."),
)

_DURATION = r"^([0-9]+[wdhms])+$"
_ENVIRONMENT = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "additionalProperties": False, "required": ["name"],
         "properties": {
             "name": {"type": "string", "minLength": 1},
             "after": {"type": "array", "items": {"type": "string", "minLength": 1},
                       "uniqueItems": True},
             "require": {"enum": ["all", "any"]},
             "min_soak": {"type": "string", "pattern": _DURATION},
             "allow_same_commit": {"type": "boolean"},
         }},
    ],
}
_LOCATION = {
    "type": "object", "additionalProperties": False, "required": ["path", "extractor"],
    "properties": {
        "path": {"type": "string", "minLength": 1},
        "extractor": {"enum": list(EXTRACTOR_NAMES)},
        "field": {"type": "string", "minLength": 1},
        "key_field": {"type": "string", "minLength": 1},
    },
}

CHECK = Check(
    name="promotion",
    description="Versions reach each environment only after the ones before it, from git "
                "history.",
    rules=RULES,
    reads_history=True,
    config_problems=lazily("gitops_guard.promotion.settings", "problems"),
    config_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "deploy_ref": {"type": "string", "minLength": 1,
                           "description": "whose first-parent history counts as deployed "
                                          "(default HEAD)"},
            "environments": {"type": "array", "minItems": 1, "items": _ENVIRONMENT,
                             "description": "in order; `after:` for fan-out and fan-in"},
            "aliases": {"type": "object", "additionalProperties": {"type": "string",
                                                                   "minLength": 1}},
            "floating_tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "floating": {"enum": list(LEVELS)},
            "rollback": {"enum": ["allow", "deny"]},
            "new_app": {"enum": list(LEVELS)},
            "apps": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False,
                "required": ["name", "locations"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "locations": {"type": "array", "minItems": 1, "items": _LOCATION},
                }}},
            "overrides": {"type": "object", "additionalProperties": False, "properties": {
                "trailer": {"oneOf": [{"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9-]*$"},
                                      {"const": False}]},
                "approvals_file": {"type": "string", "minLength": 1},
            }},
        },
    },
)

__all__ = ["CHECK", "EXTRACTOR_NAMES", "RULES"]
