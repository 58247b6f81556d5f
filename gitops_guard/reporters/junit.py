"""JUnit XML for GitLab, Jenkins and Buildkite: a suite per file, a test case per object.

As kubeconform does, objects without findings are passing test cases, so the report shows what
was checked, not only what failed. Findings below --fail-on go to system-out, not failures.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from gitops_guard.findings import Finding, ResourceRef

if TYPE_CHECKING:
    from gitops_guard.engine import FileResult, RunResult
    from gitops_guard.reporters import ReportOptions


def _case_name(resource: ResourceRef | None) -> str:
    return resource.label() if resource is not None else "file"


def _describe(finding: Finding) -> str:
    where = f"{finding.path}:{finding.line}:{finding.column or 1}" if finding.line else finding.path
    return f"{where} {finding.severity.value} {finding.rule} {finding.message}"


def render(result: RunResult, options: ReportOptions) -> str:
    by_path = {path: list(group) for path, group in groupby(result.findings, key=lambda f: f.path)}
    root = ET.Element("testsuites", name="gitops-guard")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    paths = [file.path for file in result.files]
    extra = sorted(set(by_path) - set(paths))  # findings in the config file itself
    for file in [*result.files, *extra]:
        path = file if isinstance(file, str) else file.path
        suite = _suite(root, path, file if not isinstance(file, str) else None,
                       by_path.get(path, []), result)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(root: ET.Element, path: str, file: FileResult | None, findings: list[Finding],
           result: RunResult) -> ET.Element:
    suite = ET.SubElement(root, "testsuite", name=path)
    cases: dict[str, list[Finding]] = {}
    if file is not None:
        for resource in file.resources:
            cases.setdefault(_case_name(resource), [])
    for finding in findings:
        cases.setdefault(_case_name(finding.resource), []).append(finding)
    if not cases:
        cases["file"] = []
    failures = errors = 0
    for name, case_findings in cases.items():
        case = ET.SubElement(suite, "testcase", name=name, classname=path, file=path, time="0")
        failing = [f for f in case_findings if f.severity.at_least(result.fail_on)]
        if file is not None and file.error is not None and name == "file":
            errors += 1
            element = ET.SubElement(case, "error", message=file.error.message,
                                    type=file.error.rule)
            element.text = "\n".join(_describe(f) for f in case_findings)
        elif failing:
            failures += 1
            element = ET.SubElement(case, "failure", message=failing[0].message,
                                    type=failing[0].rule)
            element.text = "\n".join(_describe(f) for f in failing)
        rest = [f for f in case_findings if f not in failing]
        if rest and not (file is not None and file.error is not None and name == "file"):
            ET.SubElement(case, "system-out").text = "\n".join(_describe(f) for f in rest)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", "0")
    return suite
