"""Small helpers the reporters share."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_guard.findings import Finding, Severity

if TYPE_CHECKING:
    from gitops_guard.engine import RunResult


def repo_path(result: RunResult, path: str) -> str:
    """A finding's path relative to the repository root (SARIF, GitHub annotations)."""
    absolute = Path(os.path.normpath(result.cwd / path))
    try:
        return absolute.relative_to(result.repo_root).as_posix()
    except ValueError:
        return path


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {severity.value: counts.get(severity, 0) for severity in
            (Severity.ERROR, Severity.WARNING, Severity.INFO)}


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
