"""`gitops-guard explain RULE`: what a rule checks, why it matters, how to fix or waive it.

Rules of the checks carry their own `why`/`fix` text (`findings.Rule`); policies carry theirs
as `description`/`remediation`. The ways to waive are the same for most rules and are
written here once, with the exceptions each check has.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from gitops_guard.catalog import POLICY_CHECK, SUPPRESSION_CHECK, rule_check
from gitops_guard.config import Config
from gitops_guard.discovery import display_path
from gitops_guard.errors import GuardError
from gitops_guard.findings import Rule

WIDTH = 88
HISTORY_CHECK = "promotion"


def explain(rule_id: str, config: Config, out: TextIO) -> int:
    rule = find_rule(rule_id, config.catalog)
    check = rule_check(rule.id)
    why, fix = rule.why, rule.fix
    facts: list[tuple[str, str]] = []
    if check == POLICY_CHECK:
        why, fix, facts = _policy_details(rule, config)
    lines = [f"{rule.id}  ({rule.name})", ""]
    lines.append(_field("check", check))
    lines.append(_field("severity", _severity(rule, config)))
    lines.extend(_field(name, value) for name, value in facts)
    if check != POLICY_CHECK:  # a policy's summary is the start of its description
        lines.append(_field("summary", rule.summary))
    lines += ["", "Why it matters", _paragraph(why or rule.summary)]
    lines += ["", "How to fix", _paragraph(fix or "See the summary above.")]
    lines += ["", "How to waive", *_waive(rule, check)]
    out.write("\n".join(lines) + "\n")
    return 0


def find_rule(rule_id: str, catalog: Mapping[str, Rule]) -> Rule:
    """The rule with this id (any case), or a usage error that suggests the closest ids."""
    if rule_id in catalog:
        return catalog[rule_id]
    by_lower = {known.lower(): known for known in catalog}
    if rule_id.lower() in by_lower:
        return catalog[by_lower[rule_id.lower()]]
    close = difflib.get_close_matches(rule_id.lower(), list(by_lower), n=1, cutoff=0.6)
    hint = ""
    if close:
        hint = f"; did you mean {by_lower[close[0]]!r}?"
    raise GuardError(f"unknown rule id {rule_id!r}{hint} (`gitops-guard rules` lists every id)")


def _field(name: str, value: str) -> str:
    indent = " " * 12
    return textwrap.fill(value, WIDTH, initial_indent=f"  {name:<10}",
                         subsequent_indent=indent, break_on_hyphens=False)


def _paragraph(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, initial_indent="  ",
                         subsequent_indent="  ", break_on_hyphens=False)


def _severity(rule: Rule, config: Config) -> str:
    text = f"{rule.severity.value} by default"
    if rule.id in config.rules:
        level = config.rules[rule.id]
        where = config.path.name if config.path is not None else "the config"
        text += f"; {level.value if level is not None else 'off'} in this repository " \
                f"(rules: in {where})"
    return text


def _policy_details(rule: Rule, config: Config) -> tuple[str, str, list[tuple[str, str]]]:
    from gitops_guard.checks.policy.catalog import builtin_directory
    from gitops_guard.checks.policy.state import all_policies

    policy = next(p for p in all_policies(config) if p.id == rule.id)
    try:
        source = "built-in " + policy.path.relative_to(builtin_directory()).as_posix()
    except ValueError:
        source = f"{display_path(policy.path, Path.cwd())}:{policy.line}"
    facts = [("title", policy.title), ("pack", policy.pack)]
    if policy.pss is not None:
        level = policy.pss.level
        facts.append(("pss", f"control {policy.pss.control}, level {level}"
                      + (" (a warning under the baseline profile, an error under restricted)"
                         if level == "restricted" else "")))
    if not policy.enabled:
        facts.append(("enabled", f"off by default; name it with a level in rules: to turn it "
                      f"on ({policy.id}: warning)"))
    facts.append(("source", source))
    return policy.description, policy.remediation, facts


def _waive(rule: Rule, check: str) -> list[str]:
    rid = rule.id
    if check == SUPPRESSION_CHECK:
        return [_paragraph(
            "Findings about suppressions cannot themselves be suppressed by an annotation, a "
            "comment, a waiver or the baseline. `rules:` in .gitops-guard.yaml can change "
            "their level or turn them off:"), *_rules_example(rid)]
    if check == HISTORY_CHECK:
        return [_paragraph(
            "The promotion check reads git history, so annotations, comments, waivers and "
            "the baseline do not apply to its findings. A deliberate exception is an "
            "override: the commit trailer `Promotion-Override: <env> app=<app> "
            "reason=\"...\"`, or an entry of the approvals file "
            "(promotion.overrides.approvals_file); each is reported as PROMO009. `rules:` "
            "changes the level of a rule or turns it off:"), *_rules_example(rid)]
    lines: list[str] = []
    if rule.waive:
        lines += [_paragraph(rule.waive), ""]
    inline = rule.inline if rule.inline_suppressible else ()
    if not rule.inline_suppressible:
        lines += [_paragraph(
            f"{rid} is not inline-suppressible: annotations and comments in the file do not "
            "apply to it. Use a waiver in the config, or the baseline."), ""]
    if "annotation" in inline:
        lines += ["  - an annotation on the object (its own metadata, not a pod template's):",
                  f"      ignore.gitops-guard.io/{rid}: \"<reason>\""]
    if "comment" in inline:
        lines += ["  - a comment on the finding's line, or alone on the line above it:",
                  f"      # gitops-guard: ignore[{rid}] <reason>"]
    lines += [
        "  - a waiver in .gitops-guard.yaml, matched by paths, kinds, namespaces, names:",
        "      waivers:",
        f"        - rules: [{rid}]",
        "          match: {paths: [\"legacy/\"]}",
        "          reason: <why this is accepted>",
        "          expires: 2027-06-30",
    ]
    if check == "secrets":
        if "comment" in inline:
            lines.append("  - gitleaks:allow or pragma: allowlist secret on the line (secret "
                         "findings only)")
        lines += [
            "  - the baseline of known secrets: gitops-guard secrets baseline create",
            "  - secrets.allow_paths, allow_regexes, stopwords or disabled_rules in the config",
        ]
    if check == POLICY_CHECK:
        lines.append("  - policy.packs: {<pack>: false} turns a whole built-in pack off")
    lines.append("  - a level for the whole repository, or off, in .gitops-guard.yaml:")
    lines += _rules_example(rid)[1:]
    lines += ["", _paragraph(
        "Annotations, comments and waivers need a reason; one without a reason does not "
        "apply and is reported (GG-SUPPRESS-001). Suppressed findings are still counted in "
        "the report.")]
    return lines


def _rules_example(rule_id: str) -> list[str]:
    return ["", "      rules:", f"        {rule_id}: warning   # error | warning | info | off"]
