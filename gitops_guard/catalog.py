"""Every rule the tool can report: the engine's own plus each registered check's."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from gitops_guard.checks import CHECKS
from gitops_guard.findings import Rule, Severity

RULE_NO_REASON = "GG-SUPPRESS-001"
RULE_EXPIRED = "GG-SUPPRESS-002"
RULE_UNKNOWN_RULE = "GG-SUPPRESS-003"

# Findings about suppressions themselves: no annotation, comment or waiver silences them
# (`rules:` in the config can still change their severity).
SUPPRESSION_RULES = (
    Rule(RULE_NO_REASON, "SuppressionWithoutReason", Severity.ERROR,
         "A suppression (annotation, comment or waiver) gives no reason, so it does not apply."),
    Rule(RULE_EXPIRED, "WaiverExpired", Severity.ERROR,
         "A config waiver is past its expires date, so it no longer applies."),
    Rule(RULE_UNKNOWN_RULE, "SuppressionUnknownRule", Severity.WARNING,
         "A suppression names a rule id that does not exist (a typo?)."),
)
SUPPRESSION_CHECK = "suppression"


@cache
def rule_catalog() -> Mapping[str, Rule]:
    """Read-only and computed once: the registry does not change while the program runs."""
    rules = {rule.id: rule for rule in SUPPRESSION_RULES}
    for check in CHECKS.values():
        rules.update((rule.id, rule) for rule in check.rules)
    return MappingProxyType(rules)


def rule_check(rule_id: str) -> str:
    """The name of the check a rule belongs to."""
    for check in CHECKS.values():
        if any(rule.id == rule_id for rule in check.rules):
            return check.name
    return SUPPRESSION_CHECK
