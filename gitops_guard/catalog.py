"""Every rule the tool can report: the engine's own plus each registered check's."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gitops_guard.checks import CHECKS
from gitops_guard.findings import Rule, Severity
from gitops_guard.render.rules import RENDER_CHECK
from gitops_guard.render.rules import RULES as RENDER_RULES

RULE_NO_REASON = "GG-SUPPRESS-001"
RULE_EXPIRED = "GG-SUPPRESS-002"
RULE_UNKNOWN_RULE = "GG-SUPPRESS-003"

# Findings about suppressions themselves: no annotation, comment or waiver silences them
# (`rules:` in the config can still change their severity).
SUPPRESSION_RULES = (
    Rule(RULE_NO_REASON, "SuppressionWithoutReason", Severity.ERROR,
         "A suppression (annotation, comment or waiver) gives no reason, so it does not apply.",
         why="A suppression hides a finding from everyone who comes later; without a reason "
             "nobody can judge whether it still holds, so it does not apply and the finding "
             "it was meant for is reported too.",
         fix="Give the reason: after the rule in a comment (# gitops-guard: "
             "ignore[GG-MANIFEST-002] the legacy controller reads the last value), as the "
             "annotation's value, or as the waiver's reason:."),
    Rule(RULE_EXPIRED, "WaiverExpired", Severity.ERROR,
         "A config waiver is past its expires date, so it no longer applies.",
         why="A waiver's expires date is the promise to look at it again; after that date it "
             "no longer applies and its findings are back.",
         fix="Fix the findings and delete the waiver, or move expires: to a later date with a "
             "current reason."),
    Rule(RULE_UNKNOWN_RULE, "SuppressionUnknownRule", Severity.WARNING,
         "A suppression names a rule id that does not exist (a typo?).",
         why="A suppression that names no known rule suppresses nothing: usually a typo, so "
             "the finding it was meant for is still reported.",
         fix="Correct the rule id (gitops-guard rules lists them all) or delete the "
             "suppression."),
)
SUPPRESSION_CHECK = "suppression"
POLICY_CHECK = "policy"


@cache
def rule_catalog() -> Mapping[str, Rule]:
    """The rules every run knows, read-only and computed once: the engine's, each check's
    fixed rules, and the rules a check defines as data (the built-in policy pack)."""
    rules = {rule.id: rule for rule in (*SUPPRESSION_RULES, *RENDER_RULES)}
    for check in CHECKS.values():
        rules.update((rule.id, rule) for rule in check.rules)
        if check.data_rules is not None:
            rules.update((rule.id, rule) for rule in check.data_rules({}, Path.cwd()))
    return MappingProxyType(rules)


def rules_for(sections: Mapping[str, Mapping[str, Any]], root: Path) -> Mapping[str, Rule]:
    """The rules of a run whose config has these check sections (user policies add theirs)."""
    extra: dict[str, Rule] = {}
    for check in CHECKS.values():
        section = sections.get(check.name)
        if check.data_rules is not None and section:
            extra.update((rule.id, rule) for rule in check.data_rules(section, root))
    if not extra:
        return rule_catalog()
    return MappingProxyType({**rule_catalog(), **extra})


def rule_check(rule_id: str) -> str:
    """The name of the check a rule belongs to."""
    for check in CHECKS.values():
        if any(rule.id == rule_id for rule in check.rules):
            return check.name
    # Rule ids defined as data (policies) are lowercase; every fixed rule id is GG-*.
    if not rule_id.startswith("GG-"):
        return POLICY_CHECK
    if any(rule.id == rule_id for rule in RENDER_RULES):
        return RENDER_CHECK
    return SUPPRESSION_CHECK
