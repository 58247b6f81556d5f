"""Text for people: findings grouped by file, colour only on a terminal, one summary line."""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING

from gitops_guard.findings import Finding, Severity
from gitops_guard.reporters.common import plural, severity_counts

if TYPE_CHECKING:
    from gitops_guard.engine import RunResult
    from gitops_guard.reporters import ReportOptions

_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _line(finding: Finding, color: bool) -> str:
    where = f"{finding.line or 0}:{finding.column or 0}" if finding.line else "-"
    severity = _paint(f"{finding.severity.value:<7}", _COLORS[finding.severity], color)
    resource = f"  [{finding.resource.label()}]" if finding.resource is not None else ""
    return f"  {where:<8} {severity}  {finding.rule:<16} {finding.message}{resource}"


def render(result: RunResult, options: ReportOptions) -> str:
    shown = [f for f in result.findings
             if not options.quiet or f.severity.at_least(result.fail_on)]
    out: list[str] = []
    for path, group in groupby(shown, key=lambda f: f.path):
        out.append(_paint(path, "1", options.color))
        out.extend(_line(finding, options.color) for finding in group)
        out.append("")
    if not options.quiet:
        out.append(_summary(result, options.color))
    return "\n".join(out) + ("\n" if out else "")


def _summary(result: RunResult, color: bool) -> str:
    counts = severity_counts(result.findings)
    scope = result.scope or (f"{plural(len(result.files), 'file')}, "
                             f"{plural(result.documents, 'document')} checked")
    extras = []
    if result.suppressed:
        extras.append(f"{len(result.suppressed)} suppressed")
    if result.errors:
        extras.append(f"{plural(len(result.errors), 'file')} could not be read or parsed")
    tail = "".join(f"; {extra}" for extra in extras)
    if not result.findings:
        return _paint("no problems", "32", color) + f" ({scope}{tail})"
    parts = [plural(counts[s.value], s.value) for s in (Severity.ERROR, Severity.WARNING,
                                                        Severity.INFO) if counts[s.value]]
    files = len({f.path for f in result.findings})
    verdict = "failed" if result.failed else "passed"
    code = "31" if result.failed else "33"
    return (_paint(f"{verdict}:", code, color) + f" {', '.join(parts)} in "
            f"{plural(files, 'file')} ({scope}{tail})")
