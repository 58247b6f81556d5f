"""JSON: the stable contract CI scripts parse. Documented in docs/json-output.md."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gitops_guard import __version__
from gitops_guard.findings import Finding
from gitops_guard.reporters.common import severity_counts

if TYPE_CHECKING:
    from gitops_guard.engine import RunResult
    from gitops_guard.reporters import ReportOptions

FORMAT_VERSION = 1


def finding_dict(finding: Finding) -> dict[str, Any]:
    resource = finding.resource
    return {
        "check": finding.check,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "message": finding.message,
        "resource": None if resource is None else {
            "apiVersion": resource.api_version,
            "kind": resource.kind,
            "namespace": resource.namespace,
            "name": resource.name,
        },
        "pointer": finding.pointer,
        "fingerprint": finding.fingerprint,
    }


def render(result: RunResult, options: ReportOptions) -> str:
    counts = severity_counts(result.findings)
    document = {
        "version": FORMAT_VERSION,
        "tool": {"name": "gitops-guard", "version": __version__},
        "checks": list(result.checks),
        "findings": [finding_dict(f) for f in result.findings],
        "suppressed": [{**finding_dict(s.finding), "reason": s.reason, "suppressed_by": s.via}
                       for s in result.suppressed],
        "errors": [{"path": e.path, "line": e.line, "message": e.message}
                   for e in result.errors],
        "internal_errors": [{"path": e.path, "check": e.check, "error": e.summary}
                            for e in result.internal_errors],
        "summary": {
            "files": len(result.files),
            "documents": result.documents,
            "findings": len(result.findings),
            "errors": counts["error"],
            "warnings": counts["warning"],
            "infos": counts["info"],
            "suppressed": len(result.suppressed),
            "files_with_errors": len(result.errors),
            "fail_on": result.fail_on.value,
            "failed": result.failed,
        },
    }
    # ASCII escapes keep the output valid JSON whatever the terminal's encoding.
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
