"""`--summary`: findings counted per check and per rule, as a small table for people.

It is printed after the report, never inside it: machine formats (JSON, SARIF, JUnit, GitHub
annotations) stay exactly what their consumers parse, and the table goes to stderr then.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from gitops_guard.checks import CHECKS
from gitops_guard.findings import Finding

if TYPE_CHECKING:
    from gitops_guard.engine import RunResult

_COLUMNS = ("ERROR", "WARNING", "INFO", "SUPPRESSED")
_ORDER = {name: index for index, name in enumerate(CHECKS)}


def render(result: RunResult) -> str:
    counts: dict[tuple[str, str], Counter[str]] = {}

    def count(finding: Finding, column: str) -> None:
        counts.setdefault((finding.check, finding.rule), Counter())[column] += 1

    for finding in result.findings:
        count(finding, finding.severity.name)  # ERROR, WARNING, INFO: the column titles
    for suppressed in result.suppressed:
        count(suppressed.finding, "SUPPRESSED")
    rows: list[tuple[str, str, Counter[str]]] = []
    checks = sorted({check for check, _ in counts}, key=lambda c: (_ORDER.get(c, len(_ORDER)), c))
    for check in checks:
        rules = sorted(rule for owner, rule in counts if owner == check)
        rows.append((check, "(all)", sum((counts[check, rule] for rule in rules), Counter())))
        rows += [("", rule, counts[check, rule]) for rule in rules]
    rows.append(("total", "", sum(counts.values(), Counter())))
    check_width = max(len("CHECK"), *(len(check) for check, _, _ in rows))
    rule_width = max(len("RULE"), *(len(rule) for _, rule, _ in rows))
    lines = [_row("CHECK", "RULE", _COLUMNS, check_width, rule_width)]
    for check, rule, counter in rows:
        lines.append(_row(check, rule, tuple(str(counter[c]) for c in _COLUMNS),
                          check_width, rule_width))
    return "\n".join(lines) + "\n"


def _row(check: str, rule: str, cells: tuple[str, ...], check_width: int,
         rule_width: int) -> str:
    numbers = "  ".join(cell.rjust(len(title)) for cell, title in zip(cells, _COLUMNS,
                                                                       strict=True))
    return f"{check:<{check_width}}  {rule:<{rule_width}}  {numbers}".rstrip()
