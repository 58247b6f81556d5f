"""GitHub Actions workflow commands: one annotation per finding, escaped as the runner expects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitops_guard.findings import Finding, Severity
from gitops_guard.reporters.common import plural, repo_path, severity_counts

if TYPE_CHECKING:
    from gitops_guard.engine import RunResult
    from gitops_guard.reporters import ReportOptions

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, path: str) -> str:
    properties = [f"file={escape_property(path)}"]
    if finding.line:
        properties.append(f"line={finding.line}")
        if finding.column:
            properties.append(f"col={finding.column}")
    properties.append(f"title={escape_property(finding.rule)}")
    message = finding.message
    if finding.resource is not None:
        message = f"{message} ({finding.resource.label()})"
    return f"::{_COMMANDS[finding.severity]} {','.join(properties)}::{escape_data(message)}"


def render(result: RunResult, options: ReportOptions) -> str:
    shown = [f for f in result.findings
             if not options.quiet or f.severity.at_least(result.fail_on)]
    lines = [annotation(f, repo_path(result, f.path)) for f in shown]
    counts = severity_counts(result.findings)
    lines.append(f"gitops-guard: {plural(counts['error'], 'error')}, "
                 f"{plural(counts['warning'], 'warning')}, {plural(counts['info'], 'notice')} "
                 f"in {result.scope or plural(len(result.files), 'file')}; "
                 f"{len(result.suppressed)} suppressed")
    return "\n".join(lines) + "\n"
