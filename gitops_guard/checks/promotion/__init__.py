"""promotion: versions move through the environments in order, checked from git history.

The check does not look at the files of a `check` run: it reads the first-parent history of
the deployed branch and the candidate tree (the index, or a PR's head), so it runs through
its own command, `gitops-guard promotion check|audit|status` (gitops_guard/promotion/).
Registering it here gives its rules to `rules:`, `gitops-guard rules`, SARIF, and its config
section to the config schema.
"""

from __future__ import annotations

from gitops_guard import confine
from gitops_guard.checks.base import Check, lazily
from gitops_guard.findings import Rule, Severity

EXTRACTOR_NAMES = ("kustomize-images", "helm-values", "helmrelease-chart", "argocd-app",
                   "workload-image", "yaml-path")
LEVELS = ("error", "warning", "info", "off")

_OVERRIDE = ("For a deliberate exception (a hotfix), add the commit trailer "
             "'Promotion-Override: <env> app=<app> reason=\"...\"' or an entry in the "
             "approvals file (promotion.overrides); it is reported as PROMO009.")
RULES = (
    Rule("PROMO001", "PromotionSkippedStage", Severity.ERROR,
         "A version entered an environment without having been in the environments before "
         "it (every one, or any one with require: any) at an earlier commit.",
         why="A version that reaches an environment without having run in the ones before it "
             "skips the testing those stages exist for: production runs code staging never "
             "saw.",
         fix="Promote the version to the earlier environments first (the message lists what "
             "they ran and when). " + _OVERRIDE),
    Rule("PROMO002", "PromotionSoakTooShort", Severity.ERROR,
         "A version entered an environment before it had stayed min_soak in the environment "
         "before it.",
         why="A version that did not stay min_soak in the environment before had too little "
             "time to show its problems there.",
         fix="Wait until the soak time has passed (the message says when the version is "
             "eligible) and run the check again. " + _OVERRIDE),
    Rule("PROMO003", "PromotionSameCommit", Severity.ERROR,
         "A version entered an environment in the same commit as the environment before it, "
         "so it never ran there first.",
         why="Changing an environment and the one before it in the same commit deploys both "
             "at once: the version never ran in the earlier one first.",
         fix="Commit the earlier environment's change first and let it deploy, then promote. "
             "allow_same_commit: true on the environment makes this a warning. " + _OVERRIDE),
    Rule("PROMO004", "PromotionRollback", Severity.INFO,
         "An environment went back to a version it ran before (a rollback).",
         why="A rollback is often the right move, but it should be visible: the environment "
             "runs again a version it already left once.",
         fix="Nothing, when the rollback is intended (it is info by default). "
             "promotion.rollback: deny makes rollbacks errors."),
    Rule("PROMO005", "PromotionFloatingVersion", Severity.ERROR,
         "A non-source environment names a floating or unresolved version (latest, a range, "
         "HEAD, ${VAR}), so git cannot tell what runs.",
         why="A floating version (latest, a range, HEAD, ${VAR}) does not say what runs: the "
             "deployed code can change without a commit, and history cannot prove the order.",
         fix="Pin an exact tag or a digest in every environment after the first. "
             "promotion.floating sets the level of this rule, promotion.floating_tags which "
             "tags count as floating."),
    Rule("PROMO007", "PromotionTagDigestMismatch", Severity.ERROR,
         "An environment pins by digest where the one before it pins by tag (or the other "
         "way round), and no tag@digest value in history pairs them.",
         why="A digest in one environment and a tag in the one before it cannot be compared: "
             "nothing proves the digest is the image that ran there.",
         fix="Pin the same way in both environments, or write the version once as "
             "tag@sha256:... so history pairs the tag with its digest. " + _OVERRIDE),
    Rule("PROMO009", "PromotionOverride", Severity.WARNING,
         "An override (a Promotion-Override commit trailer or an approvals file entry) let "
         "a promotion through that broke the order.",
         why="An override lets through a promotion that broke the order; it is reported so "
             "that it is never silent and its reason can be reviewed.",
         fix="Nothing to fix: the finding records the override and its reason. Remove the "
             "trailer or the approval if the override was not meant."),
    Rule("PROMO011", "PromotionLocationUnreadable", Severity.ERROR,
         "A file the promotion config names as a location does not parse, so the versions "
         "in it cannot be checked.",
         why="A location file that does not parse hides the versions in it, so their order "
             "cannot be checked (and the deploy tools cannot read it either).",
         fix="Fix the file's syntax; gitops-guard check FILE points at the line."),
)

_DURATION = r"^([0-9]+[wdhms])+$"
_ENVIRONMENT = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "additionalProperties": False, "required": ["name"],
         "properties": {
             "name": {"type": "string", "minLength": 1, "description": "the environment"},
             "after": {"type": "array", "items": {"type": "string", "minLength": 1},
                       "uniqueItems": True,
                       "description": "environments a version must pass first (default: the "
                                      "entry before; [] makes another source)"},
             "require": {"enum": ["all", "any"], "default": "all",
                         "description": "all of `after`, or any one of them"},
             "min_soak": {"type": "string", "pattern": _DURATION,
                          "description": "how long a version must have run in `after` first "
                                         "(30m, 24h, 1d12h, 2w; default: none)"},
             "allow_same_commit": {"type": "boolean", "default": False,
                                   "description": "entering in the same commit as `after` is "
                                                  "a warning, not an error (PROMO003)"},
         }},
    ],
}
_LOCATION = {
    "type": "object", "additionalProperties": False, "required": ["path", "extractor"],
    "properties": {
        "path": {"type": "string", "minLength": 1,
                 "description": "a path template with {env} (and {app}), relative to the "
                                "config file"},
        "extractor": {"enum": list(EXTRACTOR_NAMES),
                      "description": "how the version is read from the file"},
        "field": {"type": "string", "minLength": 1,
                  "description": "dotted path of the version (yaml-path; helm-values: default "
                                 "image.tag)"},
        "key_field": {"type": "string", "minLength": 1,
                      "description": "dotted path of the artifact's name (helm-values: "
                                     "default image.repository)"},
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
        "description": "environments in order and where each app's version lives, for "
                       "`gitops-guard promotion` (docs/promotion.md)",
        "properties": {
            "deploy_ref": {"type": "string", "minLength": 1,
                           "description": "the ref whose first-parent history counts as "
                                          "deployed (default: --base in CI mode, else HEAD)"},
            "environments": {"type": "array", "minItems": 1, "items": _ENVIRONMENT,
                             "description": "in order, each a name or a mapping; `after:` for "
                                            "fan-out and fan-in"},
            "aliases": {"type": "object", "additionalProperties": {"type": "string",
                                                                   "minLength": 1},
                        "description": "folder name -> environment name (production: prod)"},
            "floating_tags": {"type": "array", "items": {"type": "string", "minLength": 1},
                              "description": "regexes of tags that move (replaces the default "
                                             "list: latest, stable, main, ...)"},
            "floating": {"enum": list(LEVELS), "default": "error",
                         "description": "level of PROMO005 (a floating version)"},
            "rollback": {"enum": ["allow", "deny"], "default": "allow",
                         "description": "allow: PROMO004 is info; deny: an error"},
            "new_app": {"enum": list(LEVELS), "default": "warning",
                        "description": "level of an app's first promotion"},
            "apps": {"type": "array", "minItems": 1,
                     "description": "the apps and where their versions live", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["name", "locations"],
                "properties": {
                    "name": {"type": "string", "minLength": 1,
                             "description": "a literal, or a template with {app}"},
                    "locations": {"type": "array", "minItems": 1, "items": _LOCATION,
                                  "description": "the files that hold the app's version per "
                                                 "environment"},
                }}},
            "overrides": {"type": "object", "additionalProperties": False,
                          "description": "how a deliberate exception is let through "
                                         "(reported as PROMO009)", "properties": {
                "trailer": {"oneOf": [{"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9-]*$"},
                                      {"const": False}],
                            "default": "Promotion-Override",
                            "description": "the commit trailer that overrides a finding; "
                                           "false turns trailers off"},
                "approvals_file": {"type": "string", "minLength": 1,
                                   confine.READS: confine.PATH,
                                   "description": "a file of approvals, relative to the config "
                                                  "file"},
            }},
        },
    },
)

__all__ = ["CHECK", "EXTRACTOR_NAMES", "RULES"]
