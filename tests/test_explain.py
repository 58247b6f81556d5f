"""`gitops-guard explain RULE`, through main(argv): every rule in the catalog, policies built in
and the team's own, the ways to waive each kind of rule, unknown ids."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_guard.catalog import rule_catalog, rule_check
from gitops_guard.checks.policy.state import all_policies
from gitops_guard.config import Config
from gitops_guard.explain import _waive
from gitops_guard.findings import Rule, Severity
from tests.conftest import CliRun, write

HEADINGS = ("Why it matters", "How to fix", "How to waive")


def sections(text: str) -> dict[str, str]:
    """The text under each heading, its lines joined (wrapping undone)."""
    found: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        if line in HEADINGS:
            current = line
            found[current] = []
        else:
            found[current].append(line.strip())
    return {name: " ".join(part for part in lines if part) for name, lines in found.items()}


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("rule_id", sorted(rule_catalog()))
def test_every_rule_is_explained(rule_id: str, tmp_path: Path,
                                 run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("explain", rule_id, cwd=tmp_path)
    assert (result.code, result.err) == (0, "")
    rule = rule_catalog()[rule_id]
    assert result.out.splitlines()[0] == f"{rule_id}  ({rule.name})"
    assert f"check     {rule_check(rule_id)}" in result.out
    parts = sections(result.out)
    assert set(HEADINGS) <= set(parts)
    assert all(parts[heading] for heading in HEADINGS)
    if rule_check(rule_id) == "policy":
        policy = next(p for p in all_policies(Config(root=tmp_path)) if p.id == rule_id)
        why, fix = policy.description, policy.remediation
    else:
        why, fix = rule.why, rule.fix
    # Written as data next to the rule, never the fallback.
    assert why and fix
    assert parts["Why it matters"] == flat(why)
    assert parts["How to fix"] == flat(fix)


@pytest.mark.parametrize(("rule_id", "present", "absent"), [
    ("GG-MANIFEST-002", ["ignore.gitops-guard.io/GG-MANIFEST-002: \"<reason>\"",
                         "# gitops-guard: ignore[GG-MANIFEST-002] <reason>",
                         "- rules: [GG-MANIFEST-002]", "GG-MANIFEST-002: warning"],
     ["baseline"]),
    # A file-level finding: no object to annotate.
    ("GG-MANIFEST-001", ["# gitops-guard: ignore[GG-MANIFEST-001]", "- rules: [GG-MANIFEST-001]"],
     ["ignore.gitops-guard.io/"]),
    # No object and no line: only the config.
    ("GG-MANIFEST-010", ["- rules: [GG-MANIFEST-010]", "neither an object nor a line"],
     ["ignore.gitops-guard.io/", "# gitops-guard: ignore"]),
    ("GG-SOPS-001", ["# gitops-guard: ignore[GG-SOPS-001]"], ["ignore.gitops-guard.io/"]),
    ("GG-SECRET-003", ["ignore.gitops-guard.io/GG-SECRET-003", "gitleaks:allow",
                       "gitops-guard secrets baseline create", "secrets.allow_paths"], []),
    ("GG-SECRET-006", ["gitops-guard secrets baseline create", "- rules: [GG-SECRET-006]"],
     ["# gitops-guard: ignore", "gitleaks:allow"]),
    ("GG-SUPPRESS-002", ["cannot themselves be suppressed", "GG-SUPPRESS-002: warning"],
     ["waivers:", "ignore.gitops-guard.io/"]),
    ("PROMO001", ["Promotion-Override: <env> app=<app>", "approvals file", "PROMO001: warning"],
     ["waivers:", "ignore.gitops-guard.io/"]),
    ("pss-baseline-privileged", ["ignore.gitops-guard.io/pss-baseline-privileged",
                                 "policy.packs: {<pack>: false}"], ["baseline of known"]),
])
def test_how_to_waive_fits_the_rule(rule_id: str, present: list[str], absent: list[str],
                                    tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("explain", rule_id, cwd=tmp_path)
    waive = result.out.split("How to waive\n", 1)[1]
    assert [text for text in present if text not in waive] == []
    assert [text for text in absent if text in waive] == []


def test_a_rule_that_is_not_inline_suppressible_offers_only_the_config() -> None:
    rule = Rule("GG-SECRET-999", "Example", Severity.ERROR, "An example.",
                inline_suppressible=False, why="w", fix="f")
    waive = "\n".join(_waive(rule, "secrets"))
    assert "GG-SECRET-999 is not inline-suppressible" in waive
    assert "ignore.gitops-guard.io/" not in waive
    assert "# gitops-guard: ignore" not in waive
    assert "gitleaks:allow" not in waive
    assert "- rules: [GG-SECRET-999]" in waive


def test_a_built_in_policy(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("explain", "bp-replicas", cwd=tmp_path)
    assert result.code == 0
    header = result.out.split("Why it matters")[0]
    assert "  pack      best-practices\n" in header
    assert "  source    built-in best-practices/replicas.yaml\n" in header
    assert "off by default; name it with a level in rules: to turn it on" in flat(header)
    restricted = run_cli("explain", "pss-restricted-run-as-user", cwd=tmp_path).out
    assert "  severity  warning by default\n" in restricted
    assert "control runAsUser, level restricted (a warning under the baseline profile, an " \
           "error under restricted)" in flat(restricted)


TEAM_POLICY = """\
apiVersion: policy.gitops-guard.io/v1alpha1
kind: Policy
metadata:
  name: require-team-label
spec:
  id: require-team-label
  title: Workloads name their team
  description: >-
    Alerts are routed by the team label; a workload without one pages nobody.
  remediation: Add metadata.labels.team.
  severity: warning
  pack: platform
  match:
    podSpec: true
  validations:
    - expression: "'team' in labels"
      message: no team label
"""


def test_a_team_policy_from_the_config(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {
        "policies/team.yaml": TEAM_POLICY,
        ".gitops-guard.yaml": ("policy:\n  paths: [policies/]\n"
                               "rules:\n  require-team-label: error\n"),
    })
    (git_repo / "apps").mkdir()
    result = run_cli("explain", "require-team-label", cwd=git_repo / "apps")
    assert (result.code, result.err) == (0, "")
    parts = sections(result.out)
    assert parts["Why it matters"] == ("Alerts are routed by the team label; a workload "
                                       "without one pages nobody.")
    assert parts["How to fix"] == "Add metadata.labels.team."
    assert "  severity  warning by default; error in this repository (rules: in " \
           ".gitops-guard.yaml)\n" in result.out
    assert "  source    ../policies/team.yaml:1\n" in result.out
    assert "ignore.gitops-guard.io/require-team-label" in parts["How to waive"]
    # Elsewhere the config is not found, and the id is unknown.
    elsewhere = run_cli("explain", "require-team-label", cwd=git_repo.parent)
    assert elsewhere.code == 2


def test_the_level_set_in_rules_is_shown(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".gitops-guard.yaml": "rules:\n  GG-MANIFEST-013: off\n"})
    result = run_cli("explain", "GG-MANIFEST-013", cwd=git_repo)
    assert "  severity  info by default; off in this repository (rules: in " \
           ".gitops-guard.yaml)\n" in result.out


@pytest.mark.parametrize(("rule_id", "shown"), [
    ("gg-manifest-002", "GG-MANIFEST-002"),
    ("PSS-BASELINE-PRIVILEGED", "pss-baseline-privileged"),
    ("promo004", "PROMO004"),
])
def test_ids_are_found_in_any_case(rule_id: str, shown: str, tmp_path: Path,
                                   run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("explain", rule_id, cwd=tmp_path)
    assert result.code == 0
    assert result.out.startswith(f"{shown}  (")


@pytest.mark.parametrize(("rule_id", "error"), [
    ("GG-MANIFST-002", "unknown rule id 'GG-MANIFST-002'; did you mean 'GG-MANIFEST-002'? "
                       "(`gitops-guard rules` lists every id)"),
    ("bp-replica", "unknown rule id 'bp-replica'; did you mean 'bp-replicas'? "
                   "(`gitops-guard rules` lists every id)"),
    ("no-such-thing-at-all", "unknown rule id 'no-such-thing-at-all' "
                             "(`gitops-guard rules` lists every id)"),
])
def test_unknown_ids_exit_2_with_a_suggestion(rule_id: str, error: str, tmp_path: Path,
                                              run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("explain", rule_id, cwd=tmp_path)
    assert (result.code, result.out, result.err) == (2, "", f"gitops-guard: error: {error}\n")


def test_explain_needs_a_rule(run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("explain")
    assert result.code == 2
    assert "the following arguments are required: RULE" in result.err
