"""SARIF 2.1.0 for GitHub code scanning: repo-relative URIs, line-free fingerprints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gitops_guard import __version__
from gitops_guard.findings import Finding, Rule, Severity
from gitops_guard.reporters.common import repo_path

if TYPE_CHECKING:
    from gitops_guard.engine import RunResult
    from gitops_guard.reporters import ReportOptions

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "gitopsGuard/v1"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# Suppressions kept outside the file: config waivers and the baseline.
_EXTERNAL = frozenset({"waiver", "baseline"})


def _rule_entry(rule: Rule, check: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why or rule.summary},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"tags": [check], "problem.severity": rule.severity.value},
    }
    if rule.fix:
        # Code scanning shows `help` beside each alert: how to fix it, and where to read more.
        entry["help"] = {"text": f"{rule.fix}\n\nMore: gitops-guard explain {rule.id}"}
    return entry


def _result(finding: Finding, result: RunResult, index: int) -> dict[str, Any]:
    location: dict[str, Any] = {
        "artifactLocation": {"uri": quote(repo_path(result, finding.path), safe="/"),
                             "uriBaseId": "%SRCROOT%"},
    }
    if finding.line:
        region = {"startLine": finding.line}
        if finding.column:
            region["startColumn"] = finding.column
        location["region"] = region
    message = finding.message
    if finding.resource is not None:
        message = f"{message} ({finding.resource.label()})"
    entry: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": _LEVELS[finding.severity],
        "message": {"text": message},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }
    if finding.pointer:
        entry["properties"] = {"pointer": finding.pointer}
    return entry


def render(result: RunResult, options: ReportOptions) -> str:
    from gitops_guard.catalog import rule_check

    everything = [*result.findings, *(s.finding for s in result.suppressed)]
    rule_ids = sorted({rule.id for name in result.checks for rule in _rules_of(name)}
                      | {f.rule for f in everything})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    # Every result's ruleIndex must point at its rule, known to the catalog or not.
    rules = [_rule_entry(result.rules[rule_id], rule_check(rule_id)) if rule_id in result.rules
             else {"id": rule_id, "shortDescription": {"text": rule_id}} for rule_id in rule_ids]
    results = [_result(f, result, index[f.rule]) for f in result.findings]
    for suppressed in result.suppressed:
        entry = _result(suppressed.finding, result, index[suppressed.finding.rule])
        entry["suppressions"] = [{
            "kind": "external" if suppressed.via in _EXTERNAL else "inSource",
            "justification": suppressed.reason,
        }]
        results.append(entry)
    notifications = [{
        "level": "error",
        "message": {"text": f"internal error in check {e.check}: {e.summary}"},
        "locations": [{"physicalLocation": {"artifactLocation": {
            "uri": quote(repo_path(result, e.path), safe="/"), "uriBaseId": "%SRCROOT%"}}}],
    } for e in result.internal_errors]
    document = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "gitops-guard", "version": __version__,
                                "semanticVersion": __version__, "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": result.repo_root.as_uri() + "/"}},
            "invocations": [{"executionSuccessful": not result.internal_errors,
                             "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    }
    # ASCII escapes keep the output valid JSON whatever the terminal's encoding.
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def _rules_of(check_name: str) -> tuple[Rule, ...]:
    from gitops_guard.checks import CHECKS

    return CHECKS[check_name].rules
