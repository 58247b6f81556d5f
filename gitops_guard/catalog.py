"""Every rule the tool can report: the engine's own plus each registered check's."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

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
POLICY_CHECK = "policy"


@cache
def rule_catalog() -> Mapping[str, Rule]:
    """The rules every run knows, read-only and computed once: the engine's, each check's
    fixed rules, and the rules a check defines as data (the built-in policy pack)."""
    rules = {rule.id: rule for rule in SUPPRESSION_RULES}
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
    return SUPPRESSION_CHECK
