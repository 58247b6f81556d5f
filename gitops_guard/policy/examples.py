"""Running a policy's examples as tests: `fail` needs a violation, `pass` needs none."""

from __future__ import annotations

from gitops_guard.policy.evaluate import (
    LATEST_PSS_VERSION,
    Environment,
    EvaluationError,
    Subject,
    Violation,
    evaluate,
)
from gitops_guard.policy.model import Example, Policy
from gitops_guard.yamlio import ParseFailure, parse_yaml


def run_examples(policy: Policy, pss_version: int = LATEST_PSS_VERSION) -> list[str]:
    """What went wrong with each example, as `file:line: example 'name': problem`; [] if all
    behave. Examples run at the policy's own PSS level (baseline without `pss`) and at
    `pss_version` unless they name one."""
    failures = []
    for example in policy.examples:
        problem = _problem(policy, example, pss_version)
        if problem:
            failures.append(f"{policy.path}:{example.line}: example {example.name!r}: {problem}")
    return failures


def _problem(policy: Policy, example: Example, pss_version: int) -> str | None:
    try:
        documents = [d.data for d in parse_yaml(example.manifest) if d.data is not None]
    except ParseFailure as failure:
        return f"manifest line {failure.line}: {failure.message}"
    if not documents or not all(isinstance(document, dict) for document in documents):
        return "the manifest must hold one or more objects (mappings)"
    env = Environment(pss_version if example.pss_version is None else example.pss_version,
                      policy.pss.level if policy.pss else "baseline")
    violations: list[Violation] = []
    applied = False
    for document in documents:
        subject = Subject(document, env, (policy,))
        applied = applied or subject.verdict(policy) is not False
        for outcome in evaluate(policy, subject, env):
            if isinstance(outcome, EvaluationError):
                return f"evaluation error: {outcome.message}"
            violations.append(outcome)
    if example.expect == "fail" and not violations:
        return "expected a violation, got none" + ("" if applied else
                                                   " (the policy does not apply to it)")
    if example.expect == "pass" and violations:
        return "expected no violation, got: " + "; ".join(v.message for v in violations)
    return None
