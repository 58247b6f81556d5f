"""The `promotion:` config section: its mistakes, durations, path templates, and how the
check sits among the others (`checks:`, `--checks`, `gitops-guard rules`, `rules:`).

Config mistakes go through real config loading: each must stop the run with exit 2 and one
line `.gitops-guard.yaml:LINE:COL: promotion.<where>: <message>` per mistake on stderr. The
column is derived from the config text (where the offending node starts), not copied from a
run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gitops_guard.promotion.settings import (
    format_duration,
    parse_duration,
    template_glob,
    template_regex,
)
from tests.promotion.gitrepo import GitRepo
from tests.promotion.test_scenarios import (
    CONFIG,
    ERR,
    IN_PROD,
    IN_STAGING,
    INFO,
    V0,
    V1,
    WARN,
    P,
    RunCli,
    Step,
    apply,
    assert_report,
    at,
    bump,
    play,
    promotion_config,
    scenario,
    seed,
)

# -- config mistakes -------------------------------------------------------------------------

GOOD = """\
promotion:
  environments:
    - dev
    - staging
    - {name: prod, after: [staging]}
  aliases: {production: prod}
  floating_tags: ['^latest$']
  apps:
    - name: '{app}'
      locations:
        - {path: 'apps/{app}/overlays/{env}/kustomization.yaml', extractor: kustomize-images}
"""
LOCATION = "'apps/{app}/overlays/{env}/kustomization.yaml'"
CYCLE = """\
promotion:
  environments:
    - {name: a, after: [c]}
    - {name: b, after: [a]}
    - {name: c, after: [b]}
  apps:
    - name: web
      locations:
        - {path: 'apps/web/{env}.yaml', extractor: kustomize-images}
"""


def problem_lines(stderr: str) -> list[str]:
    """The `FILE:LINE:COL: message` lines of an `invalid configuration` error."""
    head, *rest = stderr.splitlines()
    assert head == "gitops-guard: error: invalid configuration:", stderr
    return [line.strip() for line in rest]


def at_token(text: str, line: int, token: str, message: str) -> str:
    """`FILE:LINE:COL: message`, the column being where `token` starts on that line."""
    column = text.splitlines()[line - 1].index(token) + 1
    return f"{CONFIG}:{line}:{column}: {message}"


# (old, new): a replacement in GOOD; (line, token, message) of each problem it makes.
MISTAKES = [
    pytest.param("    - staging\n", "    - staging\n    - {name: staging, after: [dev]}\n", [
        (5, "{name", "promotion.environments[2]: environment 'staging' is listed twice")],
        id="duplicate-env"),
    pytest.param("after: [staging]", "after: [stagin]", [
        (5, "stagin", "promotion.environments[2].after[0]: no environment is named 'stagin'")],
        id="unknown-after"),
    pytest.param("after: [staging]", "after: [staging, qa, uat]", [
        (5, "qa", "promotion.environments[2].after[1]: no environment is named 'qa'"),
        (5, "uat", "promotion.environments[2].after[2]: no environment is named 'uat'")],
        id="each-unknown-after"),
    pytest.param("{production: prod}", "{production: prd}", [
        (6, "prd", "promotion.aliases.production: no environment is named 'prd'")],
        id="alias-to-unknown-env"),
    pytest.param("['^latest$']", "['^latest$', '^(nightly$']", [
        (7, "'^(nightly$'", "promotion.floating_tags[1]: invalid regex: missing ), "
                            "unterminated subpattern at position 1")],
        id="bad-floating-tags-regex"),
    pytest.param(LOCATION, "'apps/{name}/overlays/{env}/kustomization.yaml'", [
        (11, "'apps", "promotion.apps[0].locations[0].path: unknown placeholder {name}: only "
                      "{app} and {env} are known")],
        id="unknown-placeholder"),
    pytest.param(LOCATION, "'apps/{app}/overlays/prod/kustomization.yaml'", [
        (11, "'apps", "promotion.apps[0].locations[0].path: a location needs {env}: it is how "
                      "a file is tied to its environment")],
        id="missing-env"),
    pytest.param(LOCATION, "'apps/web/overlays/{env}/kustomization.yaml'", [
        (11, "'apps", "promotion.apps[0].locations[0].path: the app name has {app}, so each of "
                      "its locations needs {app} too")],
        id="app-placeholder-not-in-location"),
    pytest.param(LOCATION, "'/apps/{app}/overlays/{env}/kustomization.yaml'", [
        (11, "'/apps", "promotion.apps[0].locations[0].path: a location is a path inside the "
                       "repository")],
        id="absolute-path"),
    pytest.param(LOCATION, "'../apps/{app}/overlays/{env}/kustomization.yaml'", [
        (11, "'../apps", "promotion.apps[0].locations[0].path: a location is a path inside the "
                         "repository")],
        id="parent-path"),
    pytest.param(LOCATION, "'apps/{app}/../{env}/kustomization.yaml'", [
        (11, "'apps", "promotion.apps[0].locations[0].path: a location is a path inside the "
                      "repository")],
        id="dot-dot-inside-the-path"),
    pytest.param("extractor: kustomize-images", "extractor: yaml-path", [
        (11, "{path", "promotion.apps[0].locations[0]: the yaml-path extractor needs `field`")],
        id="yaml-path-without-field"),
]


def config_error(tmp_path: Path, run_cli: RunCli, text: str,
                 *command: str) -> list[str]:
    repo = GitRepo.init(tmp_path / "repo")
    repo.write({CONFIG: text})
    result = run_cli(*(command or ("promotion", "check", "--now", "2026-03-02T09:00:00Z")),
                     cwd=repo.root)
    assert result.code == 2, (result.out, result.err)
    assert result.out == ""
    return problem_lines(result.err)


@pytest.mark.parametrize(("old", "new", "expected"), MISTAKES)
def test_each_config_mistake_names_its_line_and_column(
        tmp_path: Path, run_cli: RunCli, old: str, new: str,
        expected: list[tuple[int, str, str]]) -> None:
    assert GOOD.count(old) == 1
    text = GOOD.replace(old, new)
    assert config_error(tmp_path, run_cli, text) == [
        at_token(text, line, token, message) for line, token, message in expected]


def test_an_environment_after_itself(tmp_path: Path, run_cli: RunCli) -> None:
    text = GOOD.replace("after: [staging]", "after: [prod]")
    assert config_error(tmp_path, run_cli, text) == [
        at_token(text, 5, "prod]", "promotion.environments[2].after[0]: an environment cannot "
                                   "come after itself"),
    ]


def test_a_duplicate_environment_is_not_also_a_cycle(tmp_path: Path, run_cli: RunCli) -> None:
    text = GOOD.replace("    - staging\n", "    - staging\n    - staging\n")
    assert config_error(tmp_path, run_cli, text) == [
        at_token(text, 5, "staging", "promotion.environments[2]: environment 'staging' is "
                                     "listed twice")]


def test_a_cycle_names_every_environment_in_it(tmp_path: Path, run_cli: RunCli) -> None:
    assert config_error(tmp_path, run_cli, CYCLE) == [
        at_token(CYCLE, 3, "- {name: a", "promotion.environments: the environments form a "
                                         "cycle: a -> c -> b -> a")]


def test_a_file_check_run_also_rejects_a_bad_promotion_section(tmp_path: Path,
                                                                run_cli: RunCli) -> None:
    """The config is one file: a mistake in its promotion section stops every command."""
    text = GOOD.replace("after: [staging]", "after: [stagin]")
    assert config_error(tmp_path, run_cli, text, "check") == [
        at_token(text, 5, "stagin",
                 "promotion.environments[2].after[0]: no environment is named 'stagin'")]


SHAPES = [
    pytest.param("    - staging\n", "    - staging\n    - {min_soak: 1h}\n", 5,
                 id="environment-without-name"),
    pytest.param("    - name: '{app}'\n", "    - owner: team\n", 9, id="app-without-name"),
    pytest.param("{path: 'apps/{app}/overlays/{env}/kustomization.yaml', ",
                 "{", 11, id="location-without-path"),
    pytest.param("after: [staging]", "after: staging", 5, id="after-not-a-list"),
    pytest.param("  aliases: {production: prod}\n", "  aliases: [production]\n", 6,
                 id="aliases-not-a-mapping"),
    pytest.param("['^latest$']", "['^latest$', 7]", 7, id="floating-tag-not-text"),
]


@pytest.mark.parametrize(("old", "new", "line"), SHAPES)
def test_a_section_of_the_wrong_shape_is_a_schema_error(tmp_path: Path, run_cli: RunCli,
                                                        old: str, new: str, line: int) -> None:
    """The promotion problems are looked for in a section whose types may be wrong: they
    skip what they cannot read and leave it to the schema's own message."""
    assert GOOD.count(old) == 1
    problems = config_error(tmp_path, run_cli, GOOD.replace(old, new))
    assert problems and all(p.startswith(f"{CONFIG}:{line}:") for p in problems), problems


@pytest.mark.parametrize("section", [
    pytest.param("promotion:\n  deploy_ref: main\n", id="no-environments-no-apps"),
    pytest.param("promotion:\n  environments: [dev, prod]\n", id="no-apps"),
])
def test_a_section_without_environments_or_apps(tmp_path: Path, run_cli: RunCli,
                                                section: str) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    repo.write({CONFIG: section})
    result = run_cli("promotion", "status", cwd=repo.root)
    assert (result.code, result.out) == (2, "")
    assert result.err == ("gitops-guard: error: the promotion section of the config needs "
                          "`environments` and `apps`: see docs/promotion.md\n")


@pytest.mark.parametrize("config", [
    pytest.param("checks: [manifest]\n", id="config-without-the-section"),
    pytest.param(None, id="no-config-at-all"),
])
def test_no_promotion_section(tmp_path: Path, run_cli: RunCli, config: str | None) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    where = ""
    if config is not None:
        repo.write({CONFIG: config})
        where = f" ({CONFIG})"  # relative to the working directory
    result = run_cli("promotion", "audit", cwd=repo.root)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(f"gitops-guard: error: no `promotion:` section in the "
                                 f"config{where}: name the environments"), result.err


def test_a_config_outside_the_work_tree(tmp_path: Path, run_cli: RunCli) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    outside = tmp_path / "elsewhere" / CONFIG
    outside.parent.mkdir()
    outside.write_text(promotion_config(), encoding="utf-8")
    result = run_cli("promotion", "status", "--config", str(outside), cwd=repo.root)
    assert (result.code, result.out) == (2, "")
    assert "is outside the git work tree" in result.err
    assert "promotion locations are paths in the repository" in result.err


# -- durations -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [
    ("0s", 0),
    ("90s", 90),
    ("45m", 2700),
    ("24h", 86400),
    ("1h30m", 5400),
    ("2d", 172800),
    ("1w", 604800),
    ("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
    ("30m1h", 5400),  # order does not matter
    ("1h1h", 7200),  # repeated units add up
])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"),
    (-5, "0s"),  # clocks drift: never a negative age
    (59, "59s"),
    (59.9, "59s"),
    (60, "1m"),
    (61, "1m"),  # seconds show only below a minute
    (3599, "59m"),
    (3600, "1h"),
    (3660, "1h01m"),
    (5400, "1h30m"),
    (86399, "23h59m"),
    (86400, "1d"),
    (86400 + 59 * 60, "1d"),  # minutes show only below a day
    (90000, "1d1h"),
    (8 * 86400 + 23 * 3600, "8d23h"),
])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["1h", "1h30m", "2d", "1d1h", "59s", "1m"])
def test_a_formatted_duration_reads_back(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


# -- path templates --------------------------------------------------------------------------

KUSTOMIZE = "apps/{app}/overlays/{env}/kustomization.yaml"

TEMPLATES = [
    (KUSTOMIZE, "apps/web/overlays/prod/kustomization.yaml", {"app": "web", "env": "prod"}),
    (KUSTOMIZE, "apps/web/overlays/prod/eu/kustomization.yaml", None),  # {env}: one segment
    (KUSTOMIZE, "apps/web/overlays//kustomization.yaml", None),  # ... and not an empty one
    (KUSTOMIZE, "apps/web/overlays/prod/kustomization.yml", None),
    (KUSTOMIZE, "apps/web/overlays/prod/kustomizationXyaml", None),  # "." is literal
    (KUSTOMIZE, "x/apps/web/overlays/prod/kustomization.yaml", None),  # anchored at the root
    ("apps/{env}/*.yaml", "apps/prod/values.yaml", {"env": "prod"}),
    ("apps/{env}/*.yaml", "apps/prod/.yaml", {"env": "prod"}),  # `*` may match nothing
    ("apps/{env}/*.yaml", "apps/prod/sub/values.yaml", None),  # `*` stays in its segment
    ("apps/{env}/values-*.yaml", "apps/prod/values-eu.yaml", {"env": "prod"}),
    ("clusters/{env}/**/release.yaml", "clusters/prod/release.yaml", {"env": "prod"}),
    ("clusters/{env}/**/release.yaml", "clusters/prod/eu/1/release.yaml", {"env": "prod"}),
    ("clusters/{env}/**/release.yaml", "clusters/prod/eu/release.yml", None),
    ("clusters/{env}/**", "clusters/prod/eu/1/release.yaml", {"env": "prod"}),
    ("clusters/**/{env}/app.yaml", "clusters/a/b/prod/app.yaml", {"env": "prod"}),
    ("apps/{app}/{env}/{app}.yaml", "apps/web/prod/web.yaml", {"app": "web", "env": "prod"}),
    ("apps/{app}/{env}/{app}.yaml", "apps/web/prod/api.yaml", None),  # the same {app} twice
    ("apps/{env}/values+1.yaml", "apps/prod/values+1.yaml", {"env": "prod"}),
    ("apps/{env}/values+1.yaml", "apps/prod/valuess1.yaml", None),  # "+" is literal
    ("apps/{env}/(x)[y].yaml", "apps/prod/(x)[y].yaml", {"env": "prod"}),
    ("apps/{env}/{other}.yaml", "apps/prod/{other}.yaml", {"env": "prod"}),
]


@pytest.mark.parametrize(("template", "path", "groups"), TEMPLATES)
def test_template_regex(template: str, path: str, groups: dict[str, str] | None) -> None:
    match = template_regex(template).fullmatch(path)
    assert (match.groupdict() if match else None) == groups


@pytest.mark.parametrize(("template", "glob"), [
    (KUSTOMIZE, "apps/*/overlays/*/kustomization.yaml"),
    ("clusters/{env}/**/release.yaml", "clusters/*/**/release.yaml"),
    ("apps/{app}/{env}/{app}.yaml", "apps/*/*/*.yaml"),
])
def test_template_glob(template: str, glob: str) -> None:
    assert template_glob(template) == glob


# -- the check among the others ---------------------------------------------------------------

HISTORY_CHECK = ("the promotion check reads git history, not files: run "
                 "`gitops-guard promotion check`")


def test_check_checks_promotion_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    for checks in ("promotion", "manifest,promotion"):
        result = run_cli("check", "--checks", checks, cwd=repo.root)
        assert (result.code, result.out) == (2, "")
        assert result.err == f"gitops-guard: error: {HISTORY_CHECK}\n"


def test_checks_promotion_in_the_config_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    problems = config_error(tmp_path, run_cli, "checks: [manifest, promotion]\n", "check")
    assert len(problems) == 1
    assert problems[0].startswith(f"{CONFIG}:1:20: checks[1]: "), problems


def test_checks_promotion_in_the_config_says_what_to_run(tmp_path: Path,
                                                          run_cli: RunCli) -> None:
    problems = config_error(tmp_path, run_cli, "checks: [manifest, promotion]\n", "check")
    assert problems == [f"{CONFIG}:1:20: checks[1]: {HISTORY_CHECK}"]


PROMO_RULES = {
    "PROMO001": "error", "PROMO002": "error", "PROMO003": "error", "PROMO004": "info",
    "PROMO005": "error", "PROMO007": "error", "PROMO009": "warning", "PROMO011": "error",
}


def test_rules_lists_the_promotion_rules(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("rules", cwd=GitRepo.init(tmp_path / "repo").root)
    assert result.code == 0, result.err
    rows = [line.split(None, 3) for line in result.out.splitlines()]
    promo = {rule: (severity, check) for rule, severity, check, _ in rows
             if rule.startswith("PROMO")}
    assert promo == {rule: (severity, "promotion") for rule, severity in PROMO_RULES.items()}
    assert all(check != "promotion" for rule, _, check, _ in rows
               if not rule.startswith("PROMO"))


# -- `rules:` re-levels promotion findings ---------------------------------------------------

ROLLBACK = bump(80, V0, "prod")
SKIP = bump(50, V1, "prod")


@pytest.mark.parametrize("mode", ["audit", "check"])
@pytest.mark.parametrize(("rules", "history", "last", "expected"), [
    pytest.param({}, IN_PROD, ROLLBACK, [("PROMO004", INFO, P, 7)], id="rollback-default"),
    pytest.param({"PROMO004": "off"}, IN_PROD, ROLLBACK, [], id="rollback-off"),
    pytest.param({"PROMO004": "error"}, IN_PROD, ROLLBACK, [("PROMO004", ERR, P, 7)],
                 id="rollback-error"),
    pytest.param({}, [bump(40, V1, "dev")], SKIP, [("PROMO001", ERR, P, 7)],
                 id="skip-default"),
    pytest.param({"PROMO001": "warning"}, [bump(40, V1, "dev")], SKIP,
                 [("PROMO001", WARN, P, 7)], id="skip-warning"),
    pytest.param({"PROMO001": "off"}, [bump(40, V1, "dev")], SKIP, [], id="skip-off"),
    pytest.param({"PROMO004": "off"}, [bump(40, V1, "dev")], SKIP, [("PROMO001", ERR, P, 7)],
                 id="another-rule-off"),
])
def test_rules_relevel_promotion_findings(tmp_path: Path, run_cli: RunCli, mode: str,
                                          rules: dict[str, str], history: list[Step],
                                          last: Step, expected: list[Any]) -> None:
    # `off` unquoted, as people write it (YAML 1.1 reads it as false).
    config = promotion_config() + "".join(
        ["rules:\n", *(f"  {rule}: {level}\n" for rule, level in rules.items())] if rules
        else [])
    result, sha = scenario(tmp_path, run_cli, mode, [*seed(config=config), *history], last)
    assert_report(result, expected, sha)


@pytest.mark.parametrize("mode", ["audit", "check"])
@pytest.mark.parametrize(("options", "expected"), [
    pytest.param({}, [("PROMO005", ERR, P, 7)], id="default-error"),
    pytest.param({"floating": "info"}, [("PROMO005", INFO, P, 7)], id="info"),
    pytest.param({"floating": "off"}, [], id="off"),
])
def test_the_floating_level(tmp_path: Path, run_cli: RunCli, mode: str,
                            options: dict[str, Any], expected: list[Any]) -> None:
    steps = seed(config=promotion_config(**options))
    result, sha = scenario(tmp_path, run_cli, mode, steps, bump(40, "latest", "prod"))
    assert_report(result, expected, sha)


# staging is listed after prod, which names it: the order of the list is not the chain's.
OUT_OF_ORDER = ("dev", {"name": "prod", "after": ["staging"], "min_soak": "24h"},
                {"name": "staging", "after": ["dev"]})


@pytest.mark.parametrize("mode", ["audit", "check"])
@pytest.mark.parametrize(("history", "expected"), [
    pytest.param([bump(40, V1, "dev")], [("PROMO001", ERR, P, 7)], id="skip"),
    pytest.param(IN_STAGING, [], id="through-staging"),
])
def test_environments_listed_before_what_they_come_after(
        tmp_path: Path, run_cli: RunCli, mode: str, history: list[Step],
        expected: list[Any]) -> None:
    steps = [*seed(config=promotion_config(environments=OUT_OF_ORDER)), *history]
    result, sha = scenario(tmp_path, run_cli, mode, steps, bump(80, V1, "prod"))
    assert_report(result, expected, sha)


@pytest.mark.parametrize(("options", "code"), [
    pytest.param((), 0, id="default-fail-on-error"),
    pytest.param(("--fail-on", "warning"), 1, id="fail-on-warning"),
])
def test_fail_on_applies_to_the_new_level(tmp_path: Path, run_cli: RunCli,
                                          options: tuple[str, ...], code: int) -> None:
    config = promotion_config() + "rules:\n  PROMO001: warning\n"
    repo = play(tmp_path / "repo", [*seed(config=config), bump(40, V1, "dev")])
    apply(repo, SKIP)
    result = run_cli("promotion", "check", "--now", at(SKIP.hours), *options, "--format",
                     "json", cwd=repo.root)
    assert result.code == code, result.err
    assert [(f["rule"], f["severity"]) for f in result.json()["findings"]] == [
        ("PROMO001", WARN)]


def test_an_unknown_promo_rule_in_rules_is_a_config_error(tmp_path: Path,
                                                          run_cli: RunCli) -> None:
    text = promotion_config() + "rules:\n  PROMO006: off\n"
    [problem] = config_error(tmp_path, run_cli, text)
    assert re.fullmatch(rf"{re.escape(CONFIG)}:\d+:3: unknown rule id 'PROMO006'.*", problem)
