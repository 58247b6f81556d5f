"""Reporters turn a `RunResult` into text for a person, a script or a CI system.

Registered here by name; each module has one `render(result, options) -> str` function and is
imported only when chosen, so a run pays only for the format it prints.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from gitops_guard.engine import RunResult

REPORTERS: dict[str, str] = {
    "text": "gitops_guard.reporters.text",
    "json": "gitops_guard.reporters.json_report",
    "sarif": "gitops_guard.reporters.sarif",
    "junit": "gitops_guard.reporters.junit",
    "github": "gitops_guard.reporters.github",
}


class ReportOptions(NamedTuple):
    color: bool = False
    quiet: bool = False


class _Renderer(Protocol):
    def __call__(self, result: RunResult, options: ReportOptions) -> str: ...


def render(name: str, result: RunResult, options: ReportOptions) -> str:
    renderer: _Renderer = importlib.import_module(REPORTERS[name]).render
    return renderer(result, options)
