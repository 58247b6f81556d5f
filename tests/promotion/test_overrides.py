"""Overrides: `Promotion-Override` trailers and the approvals file.

The parsing tables call the module directly; the approvals file is also read the way users
meet it, through `promotion check` (a mistake in it stops the run with exit 2 and
`FILE:LINE: message`) and `promotion audit` (a broken file in the past approves nothing).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from gitops_guard.promotion.overrides import (
    Approvals,
    Override,
    all_trailers,
    trailers,
)
from tests.conftest import CliRun
from tests.promotion.test_scenarios import (
    API,
    APPROVALS,
    ERR,
    V1,
    V2,
    WARN,
    WEB,
    P,
    RunCli,
    Step,
    assert_report,
    bump,
    commit,
    play,
    promotion_config,
    scenario,
    seed,
)

KEY = "Promotion-Override"
SOURCE = "trailer in 1a2b3c4"
DIGEST = "sha256:" + "a" * 64


def override(env: str = "prod", app: str = "web", version: str | None = None,
             reason: str = "INC-1", expires: datetime.date | None = None,
             source: str = SOURCE) -> Override:
    return Override(env, app, version, reason, source, expires)


# -- trailers --------------------------------------------------------------------------------

TRAILERS = [
    pytest.param('Promotion-Override: prod app=web reason="INC-1"', [override()], id="plain"),
    pytest.param('promotion-override: prod app=web reason=INC-1', [override()],
                 id="key-lower-case"),
    pytest.param('PROMOTION-OVERRIDE:prod app=web reason=INC-1', [override()],
                 id="key-upper-case-no-space"),
    pytest.param('Promotion-Override: prod app=web reason="hotfix for INC-1, see #42"',
                 [override(reason="hotfix for INC-1, see #42")], id="quoted-reason"),
    pytest.param("Promotion-Override: prod app=web reason='INC 1'",
                 [override(reason="INC 1")], id="single-quoted-reason"),
    pytest.param('Promotion-Override: prod reason=INC-1 app=web', [override()],
                 id="fields-in-any-order"),
    pytest.param('Promotion-Override: prod app=web version=6.6.0 reason=INC-1',
                 [override(version="6.6.0")], id="version"),
    pytest.param('Promotion-Override: prod app=web version=1.10 reason=INC-1',
                 [override(version="1.10")], id="version-as-written"),
    pytest.param('Promotion-Override: prod app=web reason=INC-1 please',
                 [override()], id="words-without-equals-ignored"),
    pytest.param('Promotion-Override: prod app=web reason=a=b', [override(reason="a=b")],
                 id="equals-in-a-value"),
    pytest.param('Promotion-Override: prod app=web reason="INC-1', [], id="unclosed-quote"),
    pytest.param('Promotion-Override: app=web reason=INC-1', [], id="no-environment"),
    pytest.param('Promotion-Override:', [], id="empty"),
    pytest.param('Promotion-Override: prod reason=INC-1', [], id="no-app"),
    pytest.param('Promotion-Override: prod app=web', [], id="no-reason"),
    pytest.param('Promotion-Override: prod app= reason=INC-1', [], id="empty-app"),
    pytest.param('Promotion-Override: prod app=web reason=""', [], id="empty-reason"),
    pytest.param('Promotion-Overrides: prod app=web reason=INC-1', [], id="another-key"),
    pytest.param('Override: prod app=web reason=INC-1', [], id="a-shorter-key"),
    pytest.param('  Promotion-Override: prod app=web reason=INC-1', [], id="indented"),
    pytest.param('Promotion-Override: prod app=web reason=INC-1\n'
                 'Promotion-Override: staging app=api reason="INC 2"',
                 [override(), override("staging", "api", reason="INC 2")], id="two"),
    pytest.param('fix the thing\n\nSigned-off-by: A <a@example.com>\n'
                 'Promotion-Override: prod app=web reason=INC-1\n'
                 'Promotion-Override: prod app=web\n', [override()],
                 id="among-other-trailers-malformed-one-skipped"),
]


@pytest.mark.parametrize(("message", "expected"), TRAILERS)
def test_trailers(message: str, expected: list[Override]) -> None:
    assert trailers(message, KEY, SOURCE) == expected


def test_trailers_with_an_own_key() -> None:
    message = 'Hotfix-Approved: prod app=web reason=INC-1\nPromotion-Override: x app=y reason=z'
    assert trailers(message, "Hotfix-Approved", SOURCE) == [override()]


def test_all_trailers_name_the_commit_they_come_from() -> None:
    messages = [("1111111aaaa", "Promotion-Override: prod app=web reason=A"),
                ("", "Promotion-Override: prod app=api reason=B"),
                ("2222222bbbb", "no trailer here")]
    assert all_trailers(messages, KEY) == [
        override(reason="A", source="trailer in 1111111"),
        override(app="api", reason="B", source="trailer in ")]


COVERS = [
    (override(), ("web", "prod", "1.2.3", "1.2.3"), True),
    (override(), ("web", "prod", f"1.2.3@{DIGEST}", DIGEST), True),  # no version: any
    (override(), ("api", "prod", "1.2.3", "1.2.3"), False),
    (override(), ("web", "staging", "1.2.3", "1.2.3"), False),
    (override(version="1.2.3"), ("web", "prod", "1.2.3", "1.2.3"), True),
    (override(version="1.2.3"), ("web", "prod", "1.2.4", "1.2.4"), False),
    (override(version="1.2"), ("web", "prod", "1.2.3", "1.2.3"), False),  # not a prefix
    (override(version="1.2.3"), ("web", "prod", f"1.2.3@{DIGEST}", DIGEST), True),
    (override(version=DIGEST), ("web", "prod", f"1.2.3@{DIGEST}", DIGEST), True),
    (override(version=f"1.2.3@{DIGEST}"), ("web", "prod", f"1.2.3@{DIGEST}", DIGEST), True),
    (override(version="1.2.3"), ("web", "prod", DIGEST, DIGEST), False),
]


@pytest.mark.parametrize(("entry", "promotion", "covers"), COVERS)
def test_what_an_override_covers(entry: Override, promotion: tuple[str, str, str, str],
                                 covers: bool) -> None:
    assert entry.covers(*promotion) is covers


DAY = datetime.date(2026, 3, 4)
OPEN = override(version=None, source="a.yaml:2")
LAST_DAY = override(expires=DAY, source="a.yaml:3")
EXPIRED = override(expires=DAY - datetime.timedelta(days=1), source="a.yaml:4")
OTHER_APP = override(app="api", source="a.yaml:5")


@pytest.mark.parametrize(("entries", "expected"), [
    pytest.param((), (None, None), id="none"),
    pytest.param((OPEN,), (OPEN, None), id="no-expiry"),
    pytest.param((LAST_DAY,), (LAST_DAY, None), id="valid-through-its-last-day"),
    pytest.param((EXPIRED,), (None, EXPIRED), id="expired"),
    pytest.param((EXPIRED, LAST_DAY), (LAST_DAY, EXPIRED), id="expired-and-valid"),
    pytest.param((LAST_DAY, OPEN), (LAST_DAY, None), id="the-first-valid-one"),
    pytest.param((OTHER_APP,), (None, None), id="another-app"),
])
def test_approvals_find(entries: tuple[Override, ...],
                        expected: tuple[Override | None, Override | None]) -> None:
    assert Approvals(entries).find("web", "prod", V1, V1, DAY) == expected


# -- the approvals file, through the CLI ------------------------------------------------------

NOW = "2026-03-04T11:00:00Z"  # the time of the staged step below: T0 + 50h
WITH_APPROVALS = promotion_config(overrides={"approvals_file": APPROVALS})


def checked(tmp_path: Path, run_cli: RunCli, approvals: str, version: str = V1) -> CliRun:
    """Stage a skip of staging to prod, with this approvals file, and check it."""
    steps = [*seed(config=WITH_APPROVALS), bump(40, version, "dev")]
    last = Step(50, {**WEB.at(version, "prod"), APPROVALS: approvals})
    return scenario(tmp_path, run_cli, "check", steps, last)[0]


@pytest.mark.parametrize(("approvals", "rule"), [
    pytest.param('approvals:\n  - {app: web, env: prod, reason: "INC-1"}\n', "PROMO009",
                 id="without-version-or-expiry"),
    pytest.param('approvals:\n  - {app: web, env: prod, reason: INC-1, expires: 2026-03-04}\n',
                 "PROMO009", id="on-its-last-day"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: INC-1, expires: '2026-12-01'}\n",
                 "PROMO009", id="quoted-date"),
    pytest.param("approvals:\n  - {app: api, env: prod, reason: INC-1}\n", "PROMO001",
                 id="another-app"),
    pytest.param("", "PROMO001", id="empty-file"),
    pytest.param("approvals:\n", "PROMO001", id="empty-key"),
    pytest.param("approvals: []\n", "PROMO001", id="flow-empty-list"),
    pytest.param("# nothing approved\n", "PROMO001", id="only-a-comment"),
])
def test_approvals_file(tmp_path: Path, run_cli: RunCli, approvals: str, rule: str) -> None:
    result = checked(tmp_path, run_cli, approvals)
    [finding] = assert_report(result, [(rule, WARN if rule == "PROMO009" else ERR, P, 7)])
    if rule == "PROMO009":
        assert f"overridden by {APPROVALS}:2 (INC-1)" in finding["message"], finding


@pytest.mark.parametrize("version", [V1, V2])
def test_a_version_less_approval_covers_any_version(tmp_path: Path, run_cli: RunCli,
                                                    version: str) -> None:
    approvals = 'approvals:\n  - {app: web, env: prod, reason: "INC-1"}\n'
    result = checked(tmp_path, run_cli, approvals, version)
    assert_report(result, [("PROMO009", WARN, P, 7)])


def test_an_expired_approval_is_named_in_the_finding(tmp_path: Path, run_cli: RunCli) -> None:
    approvals = ("approvals:\n  - {app: api, env: prod, reason: other}\n"
                 "  - {app: web, env: prod, reason: INC-1, expires: 2026-03-03}\n")
    [finding] = assert_report(checked(tmp_path, run_cli, approvals), [("PROMO001", ERR, P, 7)])
    assert finding["message"].endswith(
        f"; the approval at {APPROVALS}:3 expired on 2026-03-03"), finding


def test_an_approval_version_is_read_as_written(tmp_path: Path, run_cli: RunCli) -> None:
    approvals = 'approvals:\n  - {app: web, env: prod, version: 1.10, reason: "INC-1"}\n'
    result = checked(tmp_path, run_cli, approvals, "1.10")
    assert_report(result, [("PROMO009", WARN, P, 7)])


BAD_FILES = [
    pytest.param("- {app: web, env: prod, reason: x}\n", 1,
                 "the approvals file must be a mapping with an `approvals:` list",
                 id="a-list"),
    pytest.param("just text\n", 1,
                 "the approvals file must be a mapping with an `approvals:` list",
                 id="a-scalar"),
    pytest.param("approvals: {app: web, env: prod, reason: x}\n", 1,
                 "the approvals file must be a mapping with an `approvals:` list",
                 id="approvals-not-a-list"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: x}\n  - just text\n", 3,
                 "an approval must be a mapping", id="entry-not-a-mapping"),
    pytest.param("approvals:\n  - app: web\n    env: prod\n", 2,
                 "an approval needs `reason` (text)", id="missing-reason"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: ''}\n", 2,
                 "an approval needs `reason` (text)", id="empty-reason"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: [a, b]}\n", 2,
                 "an approval needs `reason` (text)", id="reason-not-text"),
    pytest.param("approvals:\n  - {env: prod, reason: x}\n", 2,
                 "an approval needs `app` (text)", id="missing-app"),
    pytest.param("approvals:\n  - {app: web, reason: x}\n", 2,
                 "an approval needs `env` (text)", id="missing-env"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: x, owner: me, by: you}\n", 2,
                 "unknown key 'by' in an approval", id="unknown-key"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: x, expires: soon}\n", 2,
                 "`expires` must be a date (YYYY-MM-DD)", id="expires-words"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: x, expires: 2026-02-30}\n", 2,
                 "`expires` must be a date (YYYY-MM-DD)", id="expires-no-such-day"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: x, expires: 2026-3-1}\n", 2,
                 "`expires` must be a date (YYYY-MM-DD)", id="expires-not-zero-padded"),
    pytest.param("approvals:\n  - {app: web, env: prod, reason: x, expires: 20261201}\n", 2,
                 "`expires` must be a date (YYYY-MM-DD)", id="expires-a-number"),
]


@pytest.mark.parametrize(("approvals", "line", "message"), BAD_FILES)
def test_a_bad_approvals_file_stops_the_check(tmp_path: Path, run_cli: RunCli, approvals: str,
                                              line: int, message: str) -> None:
    result = checked(tmp_path, run_cli, approvals)
    assert (result.code, result.out) == (2, "")
    assert result.err == f"gitops-guard: error: {APPROVALS}:{line}: {message}\n"


def test_an_approvals_file_that_does_not_parse(tmp_path: Path, run_cli: RunCli) -> None:
    result = checked(tmp_path, run_cli, "approvals:\n  - {app: web\n")
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(f"gitops-guard: error: {APPROVALS}:3: the approvals file "
                                 "does not parse: "), result.err


# -- the approvals file in history ------------------------------------------------------------

def test_audit_honours_an_approval_for_each_app_it_names(tmp_path: Path,
                                                         run_cli: RunCli) -> None:
    approvals = ("approvals:\n  - {app: web, env: prod, reason: INC-1}\n"
                 "  - {app: api, env: prod, reason: INC-2}\n")
    history = [*seed(config=WITH_APPROVALS),
               Step(2, {**API.common, **API.at(V1, "dev", "staging", "prod")}),
               Step(3, {APPROVALS: approvals}), bump(40, V1, "dev"),
               bump(41, V2, "dev", layout=API)]
    last = Step(50, {**WEB.at(V1, "prod"), **API.at(V2, "prod")})
    repo = play(tmp_path / "repo", history)
    sha = commit(repo, last)
    result = run_cli("promotion", "audit", "--format", "json", cwd=repo.root)
    # The api's first arrival (in every env at once) is a new app's warning, before any
    # approval existed; the last commit's two skips are both approved.
    found = assert_report(result, [("PROMO003", WARN, API.path("staging"), 7),
                                   ("PROMO003", WARN, API.path("prod"), 7),
                                   ("PROMO009", WARN, P, 7),
                                   ("PROMO009", WARN, API.path("prod"), 7)])
    reasons = sorted(f["message"].split(f"{APPROVALS}:", 1)[1][:8] for f in found
                     if f["rule"] == "PROMO009")
    assert reasons == ["2 (INC-1", "3 (INC-2"]
    assert all(f["message"].startswith(f"commit {sha[:7]}: ") for f in found
               if f["rule"] == "PROMO009")


def test_audit_ignores_a_broken_approvals_file_in_history(tmp_path: Path,
                                                          run_cli: RunCli) -> None:
    """A past file that does not parse approved nothing: the audit reports the skip and
    carries on (only the candidate's approvals file is config that must be right)."""
    history = [*seed(config=WITH_APPROVALS), bump(40, V1, "dev"),
               Step(45, {APPROVALS: "approvals: [\n"})]
    result, sha = scenario(tmp_path, run_cli, "audit", history, bump(50, V1, "prod"))
    assert_report(result, [("PROMO001", ERR, P, 7)], sha)


def test_check_stops_on_a_broken_approvals_file_already_committed(tmp_path: Path,
                                                                  run_cli: RunCli) -> None:
    history = [*seed(config=WITH_APPROVALS), bump(40, V1, "dev"),
               Step(45, {APPROVALS: "approvals:\n  - text\n"})]
    result, _ = scenario(tmp_path, run_cli, "check", history, bump(50, V1, "prod"))
    assert (result.code, result.out) == (2, "")
    assert result.err == f"gitops-guard: error: {APPROVALS}:2: an approval must be a mapping\n"
