"""Where history and candidates come from, and what happens when they are odd: edge cases of
git plumbing and of the three commands, through the CLI on real repositories.

Uses the scenario helpers (tests/promotion/test_scenarios.py): the seed history has the app
in dev at T0, staging 1 h later, prod 30 h later; `at(h)` is T0 + h hours.
"""

from __future__ import annotations

import gc
import json
import re
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import yaml

from gitops_guard.errors import GuardError
from gitops_guard.promotion import gitdata, run, timeline
from tests.conftest import REPO_ROOT, SHARED, CliRun
from tests.promotion.gitrepo import GitRepo
from tests.promotion.test_scenarios import (
    API,
    CLUSTER_SEED,
    CLUSTERS,
    CONFIG,
    DIGEST_A,
    ENVIRONMENTS,
    ERR,
    EVERYWHERE,
    IMAGE,
    IN_STAGING,
    NEW_APP_RULE,
    OVERRIDE,
    REASON,
    V0,
    V1,
    V2,
    WARN,
    WEB,
    WEB_BASE,
    P,
    RunCli,
    Step,
    apply,
    assert_report,
    at,
    bump,
    commit,
    digest_overlay,
    on_clusters,
    overlay,
    play,
    promotion_config,
    scenario,
    seed,
    status_rows,
)

MODES = ("audit", "check")
STAGING = WEB.path("staging")
HOUR = 3600


def no_deploy_ref_config() -> str:
    """The scenarios' config without `deploy_ref`: history is HEAD's (or --base's)."""
    section = {"environments": list(ENVIRONMENTS), "apps": list(WEB.apps)}
    return yaml.safe_dump({"promotion": section}, sort_keys=False)


def usage_error(result: CliRun) -> str:
    """The one stderr line of an exit-2 run, without the `gitops-guard: error: ` prefix."""
    assert (result.code, result.out) == (2, ""), (result.out, result.err)
    assert "Traceback" not in result.err
    line, = result.err.splitlines()
    assert line.startswith("gitops-guard: error: "), line
    return str(line.removeprefix("gitops-guard: error: "))


# -- no repository, no git -------------------------------------------------------------------

COMMANDS = [pytest.param(("check", "--now", at(1)), id="check"),
            pytest.param(("audit",), id="audit"),
            pytest.param(("status",), id="status")]


@pytest.mark.parametrize("command", COMMANDS)
def test_not_a_git_repository(tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
                              command: tuple[str, ...]) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "plain"
    root.mkdir()
    (root / CONFIG).write_text(promotion_config(), encoding="utf-8")
    result = run_cli("promotion", *command, cwd=root)
    assert usage_error(result) == (f"{root.resolve()} is not inside a git work tree: the "
                                   "promotion check reads git history")


@pytest.mark.parametrize("command", COMMANDS)
def test_git_is_not_installed(tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
                              command: tuple[str, ...]) -> None:
    repo = play(tmp_path / "repo", seed())
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run_cli("promotion", *command, cwd=repo.root)
    assert usage_error(result) == "git is not installed; the promotion check reads git history"


def test_git_plumbing_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GuardError, match=r"^git is not installed; "):
        gitdata.git(tmp_path, "log")


# -- an empty repository ---------------------------------------------------------------------

def stage_first_commit(root: Path, config: str, envs: tuple[str, ...]) -> GitRepo:
    repo = GitRepo.init(root)
    repo.write({CONFIG: config, **WEB.common, **WEB.at(V0, *envs)})
    repo.stage()
    return repo


FIRST_COMMIT = [
    pytest.param(("dev",), [], id="dev-only"),
    pytest.param(EVERYWHERE, [(NEW_APP_RULE, WARN, WEB.path(e), 7) for e in ("staging", "prod")],
                 id="every-env-a-new-app"),
]


@pytest.mark.parametrize(("envs", "expected"), FIRST_COMMIT)
def test_the_first_commit_of_a_repository(tmp_path: Path, run_cli: RunCli,
                                          envs: tuple[str, ...], expected: list[Any]) -> None:
    repo = stage_first_commit(tmp_path / "repo", no_deploy_ref_config(), envs)
    result = run_cli("promotion", "check", "--now", at(0), "--format", "json", cwd=repo.root)
    assert_report(result, expected)


@pytest.mark.parametrize(("envs", "expected"), FIRST_COMMIT)
def test_the_first_commit_with_deploy_ref_the_unborn_branch(
        tmp_path: Path, run_cli: RunCli, envs: tuple[str, ...], expected: list[Any]) -> None:
    repo = stage_first_commit(tmp_path / "repo", promotion_config(), envs)
    result = run_cli("promotion", "check", "--now", at(0), "--format", "json", cwd=repo.root)
    assert_report(result, expected)


def test_status_of_an_empty_repository(tmp_path: Path, run_cli: RunCli) -> None:
    repo = stage_first_commit(tmp_path / "repo", no_deploy_ref_config(), EVERYWHERE)
    result = run_cli("promotion", "status", "--now", at(0), cwd=repo.root)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "APP  ARTIFACT  dev  staging  prod",
        "no versions found in the configured locations",
        "(0 artifacts, 0 commits read; age: how long each environment has run its version)"]


# -- revisions that name nothing -------------------------------------------------------------

NOW = ("--now", at(40))
# deploy_ref in the config ("main" as in the scenarios, a branch that does not exist, or
# none), the command, and the error it must stop with.
BAD_REFS = [
    pytest.param("main", ("check", "--base", "nope", "--head", "main", *NOW),
                 "--base 'nope' names no commit", id="check-base"),
    pytest.param("main", ("check", "--head", "nope", *NOW), "--head 'nope' names no commit",
                 id="check-head"),
    pytest.param("main", ("check", "--base", "main", "--head", "nope", *NOW),
                 "--head 'nope' names no commit", id="check-base-and-bad-head"),
    pytest.param("release", ("check", *NOW), "deploy_ref 'release' names no commit in {root}",
                 id="check-deploy-ref"),
    pytest.param("main", ("audit", "nope"), "'nope' names no commit", id="audit-ref"),
    pytest.param("release", ("audit",), "'release' names no commit", id="audit-deploy-ref"),
    pytest.param("main", ("status", "--ref", "nope", *NOW), "'nope' names no commit",
                 id="status-ref"),
    pytest.param(None, ("check", "--base", "nope", "--head", "main", *NOW),
                 "--base 'nope' names no commit", id="check-base-without-deploy-ref"),
]


@pytest.mark.parametrize(("deploy_ref", "command", "message"), BAD_REFS)
def test_a_revision_that_names_no_commit(tmp_path: Path, run_cli: RunCli,
                                         deploy_ref: str | None, command: tuple[str, ...],
                                         message: str) -> None:
    config = promotion_config(deploy_ref=deploy_ref) if deploy_ref else no_deploy_ref_config()
    repo = play(tmp_path / "repo", seed(config=config))
    result = run_cli("promotion", *command, cwd=repo.root)
    assert usage_error(result) == message.format(root=repo.root)


# -- --now -----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["check", "status"])
@pytest.mark.parametrize("now", ["yesterday", "2026-13-01", "05/03/2026 02:00", ""])
def test_now_must_be_iso_8601(tmp_path: Path, run_cli: RunCli, command: str, now: str) -> None:
    repo = play(tmp_path / "repo", seed())
    result = run_cli("promotion", command, "--now", now, cwd=repo.root)
    assert usage_error(result) == (f"--now {now!r} is not an ISO 8601 time "
                                   "(2026-11-27T10:00:00Z)")


# Staging got 1.1.0 at T0 + 41 h = 2026-03-04T02:00Z: prod may have it 24 h later.
@pytest.mark.parametrize(("now", "expected"), [
    pytest.param("2026-03-05T02:00:00Z", [], id="utc-exactly-24h"),
    pytest.param("2026-03-05T02:00:00", [], id="no-zone-is-utc"),
    pytest.param("2026-03-05T01:59:00", [("PROMO002", ERR, P, 7)], id="no-zone-a-minute-short"),
    pytest.param("2026-03-05T03:00:00+01:00", [], id="offset-exactly-24h"),
    pytest.param("2026-03-05T02:00:00+01:00", [("PROMO002", ERR, P, 7)],
                 id="offset-an-hour-short"),
    pytest.param("2026-03-05", [("PROMO002", ERR, P, 7)], id="a-date-is-midnight-utc"),
])
def test_now_sets_the_time_soak_is_measured_to(tmp_path: Path, run_cli: RunCli, now: str,
                                               expected: list[Any]) -> None:
    repo = play(tmp_path / "repo", [*seed(), *IN_STAGING])
    apply(repo, bump(0, V1, "prod"))  # the step's own time is not used by `check`
    result = run_cli("promotion", "check", "--now", now, "--format", "json", cwd=repo.root)
    assert_report(result, expected)


# -- the commit-msg hook ---------------------------------------------------------------------

MESSAGE_FILE = ".git/COMMIT_EDITMSG"


@pytest.mark.parametrize(("options", "message", "rule"), [
    pytest.param({}, f"prod: 1.1.0\n\n{OVERRIDE}: prod app=web {REASON}\n", "PROMO009",
                 id="trailer"),
    pytest.param({}, f"prod: 1.1.0\n\n{OVERRIDE}: prod app=web version=1.1.0 {REASON}\n",
                 "PROMO009", id="trailer-with-the-version"),
    pytest.param({}, f"prod: 1.1.0\n\n{OVERRIDE}: prod app=web version=1.0.9 {REASON}\n",
                 "PROMO001", id="trailer-for-another-version"),
    pytest.param({}, "prod: 1.1.0\n", "PROMO001", id="no-trailer"),
    pytest.param({}, f"prod: 1.1.0\n\n{OVERRIDE}: prod app=web\n", "PROMO001",
                 id="trailer-without-a-reason"),
    pytest.param({"overrides": {"trailer": False}},
                 f"prod: 1.1.0\n\n{OVERRIDE}: prod app=web {REASON}\n", "PROMO001",
                 id="trailers-turned-off"),
])
def test_commit_msg_file_carries_the_override(tmp_path: Path, run_cli: RunCli,
                                              options: dict[str, Any], message: str,
                                              rule: str) -> None:
    repo = play(tmp_path / "repo", [*seed(config=promotion_config(**options)),
                                    bump(40, V1, "dev")])
    apply(repo, bump(50, V1, "prod"))
    (repo.root / MESSAGE_FILE).write_text(message, encoding="utf-8")
    result = run_cli("promotion", "check", "--now", at(50), "--commit-msg", MESSAGE_FILE,
                     "--format", "json", cwd=repo.root)
    [finding] = assert_report(result, [(rule, WARN if rule == "PROMO009" else ERR, P, 7)])
    if rule == "PROMO009":
        assert "overridden by trailer in " in finding["message"], finding


def test_a_missing_commit_msg_file(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", seed())
    result = run_cli("promotion", "check", "--now", at(50), "--commit-msg", "no/such/file",
                     cwd=repo.root)
    assert usage_error(result) == ("no/such/file: cannot read the commit message: No such "
                                   "file or directory")


# -- merges ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("trailers", "rule"), [
    pytest.param(((OVERRIDE, f"prod app=web {REASON}"),), "PROMO009", id="trailer-on-branch"),
    pytest.param((), "PROMO001", id="no-trailer"),
])
def test_audit_reads_the_trailers_of_a_merged_branch(tmp_path: Path, run_cli: RunCli,
                                                     trailers: tuple[tuple[str, str], ...],
                                                     rule: str) -> None:
    repo = play(tmp_path / "repo", [*seed(), bump(40, V1, "dev")])
    repo.branch("hotfix")
    repo.checkout("hotfix")
    branch_sha = commit(repo, bump(45, V1, "prod", trailers=trailers))
    commit(repo, Step(46, {"NOTES.md": "why\n"}, message="notes"))
    repo.checkout("main")
    merge = repo.merge("hotfix", at(50), message="Merge hotfix")  # the merge's own message
    result = run_cli("promotion", "audit", "--format", "json", cwd=repo.root)
    [finding] = assert_report(result, [(rule, WARN if rule == "PROMO009" else ERR, P, 7)],
                              merge)
    if rule == "PROMO009":
        assert f"overridden by trailer in {branch_sha[:7]} (INC-1)" in finding["message"]


def test_check_head_without_base_judges_the_branch_since_it_left(tmp_path: Path,
                                                                  run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", seed())
    repo.branch("feature")
    commit(repo, bump(35, "1.5.0", "prod"))  # main's own skip, after the branch point
    repo.checkout("feature")
    commit(repo, bump(40, V1, "dev"))
    commit(repo, bump(41, V1, "prod"))
    repo.checkout("main")
    result = run_cli("promotion", "check", "--head", "feature", "--now", at(60),
                     "--format", "json", cwd=repo.root)
    [finding] = assert_report(result, [("PROMO001", ERR, P, 7)])
    assert "prod 1.0.0 -> 1.1.0" in finding["message"], finding


# -- files that do not parse -----------------------------------------------------------------

BROKEN_OVERLAY = overlay(V0).replace("kind: Kustomization", "kind: Kustomization: [")  # line 2


@pytest.mark.parametrize(("content", "line", "message"), [
    pytest.param(BROKEN_OVERLAY.encode(), 2, "web (staging): the file does not parse: ",
                 id="yaml-error"),
    pytest.param(overlay(V0).replace("newTag", "newTäg").encode("latin-1"), None,
                 "web (staging): the file is not UTF-8", id="not-utf-8"),
])
def test_an_unreadable_location_is_reported_with_the_rest(tmp_path: Path, run_cli: RunCli,
                                                          content: bytes, line: int | None,
                                                          message: str) -> None:
    repo = play(tmp_path / "repo", [*seed(), bump(40, V1, "dev")])
    repo.write(WEB.at(V1, "prod"))
    (repo.root / STAGING).write_bytes(content)
    repo.stage()
    result = run_cli("promotion", "check", "--now", at(50), "--format", "json", cwd=repo.root)
    expected: list[Any] = [("PROMO001", ERR, P, 7), ("PROMO011", ERR, STAGING, line)]
    found = assert_report(result, expected)
    [unreadable] = [f for f in found if f["rule"] == "PROMO011"]
    assert unreadable["message"].startswith(message), unreadable


def test_an_unreadable_location_has_a_column(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", seed())
    apply(repo, Step(50, {STAGING: BROKEN_OVERLAY}))
    result = run_cli("promotion", "check", "--now", at(50), "--format", "json", cwd=repo.root)
    [finding] = assert_report(result, [("PROMO011", ERR, STAGING, 2)])
    assert isinstance(finding["column"], int) and finding["column"] >= 1, finding


def test_a_base_that_does_not_parse_is_reported(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", seed())
    apply(repo, Step(50, {WEB_BASE: "resources: [\n"}))
    result = run_cli("promotion", "check", "--now", at(50), "--format", "json", cwd=repo.root)
    assert result.code == 1, (result.out, result.err)
    assert {(f["rule"], f["path"]) for f in result.json()["findings"]} == {
        ("PROMO011", WEB_BASE)}


def test_an_unreadable_file_already_in_history_is_not_reported_again(tmp_path: Path,
                                                                      run_cli: RunCli) -> None:
    """PROMO011 is about the change being checked: an unrelated change passes."""
    repo = play(tmp_path / "repo", [*seed(), Step(40, {STAGING: BROKEN_OVERLAY})])
    apply(repo, bump(50, V1, "dev"))
    result = run_cli("promotion", "check", "--now", at(50), "--format", "json", cwd=repo.root)
    assert_report(result, [])


@pytest.mark.parametrize("mode", MODES)
def test_a_file_broken_then_fixed_is_not_a_promotion(tmp_path: Path, run_cli: RunCli,
                                                     mode: str) -> None:
    # rollback: deny, so that a fix read as "going back" would be an error too.
    steps = [*seed(config=promotion_config(rollback="deny")), Step(40, {P: BROKEN_OVERLAY})]
    result, sha = scenario(tmp_path, run_cli, mode, steps, Step(45, {P: overlay(V0)}))
    assert_report(result, [], sha)


def test_a_location_missing_from_the_object_store(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", [*seed(), bump(40, V1, "dev")])
    apply(repo, bump(50, V1, "staging"))
    blob = repo.git("ls-files", "--stage", "--", STAGING).split()[1]
    (repo.root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    result = run_cli("promotion", "check", "--now", at(50), "--format", "json", cwd=repo.root)
    no_line: list[Any] = [("PROMO011", ERR, STAGING, None)]
    [finding] = assert_report(result, no_line)
    assert finding["message"] == ("web (staging): the file's content is missing from the "
                                  "repository")


def test_a_corrupt_history_is_a_git_error(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", seed())
    tree = repo.git("rev-parse", "HEAD:apps/web/overlays/prod").strip()
    (repo.root / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    result = run_cli("promotion", "audit", cwd=repo.root)
    assert usage_error(result).startswith("git log failed: ")


# -- tags and digests ------------------------------------------------------------------------

def bare_digest_overlay(digest: str) -> str:
    # The digest is on line 6, as in digest_overlay.
    return f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - {{name: {IMAGE}, digest: "{digest}"}}
"""


BY_DIGEST = Step(70, {P: bare_digest_overlay(DIGEST_A)}, message="prod by digest")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("history", "expected"), [
    pytest.param(IN_STAGING, [("PROMO007", ERR, P, 6)], id="tag-upstream-digest-downstream"),
    pytest.param([Step(40, {WEB.path("dev"): digest_overlay(V1, DIGEST_A)}),
                  bump(41, V1, "staging")], [], id="a-tag-at-digest-in-dev-pairs-them"),
    pytest.param([Step(40, {WEB.path("dev"): bare_digest_overlay(DIGEST_A)}),
                  Step(41, {STAGING: bare_digest_overlay(DIGEST_A)})], [],
                 id="digest-everywhere"),
])
def test_tag_upstream_digest_downstream(tmp_path: Path, run_cli: RunCli, mode: str,
                                        history: list[Step], expected: list[Any]) -> None:
    result, sha = scenario(tmp_path, run_cli, mode, [*seed(), *history], BY_DIGEST)
    found = assert_report(result, expected, sha)
    for finding in found:
        assert (f"prod pins {DIGEST_A} by digest but staging pins by tag"
                in finding["message"]), finding


# -- locations the config does not quite name ------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_a_folder_that_is_no_environment_is_ignored(tmp_path: Path, run_cli: RunCli,
                                                    mode: str) -> None:
    result, sha = scenario(tmp_path, run_cli, mode, seed(), bump(40, V2, "qa"))
    assert_report(result, [], sha)


@pytest.mark.parametrize("mode", MODES)
def test_a_location_replaced_by_a_symlink_holds_no_version(tmp_path: Path, run_cli: RunCli,
                                                           mode: str) -> None:
    """Only regular files are read: a symlink to dev's file is no prod location (and so no
    skip), as if the file were gone."""
    repo = play(tmp_path / "repo", [*seed(), bump(40, V1, "dev")])
    (repo.root / P).unlink()
    (repo.root / P).symlink_to("../dev/kustomization.yaml")
    repo.stage()
    if mode == "audit":
        sha: str | None = repo.commit("prod follows dev", at(50))
        result = run_cli("promotion", "audit", "--format", "json", cwd=repo.root)
    else:
        sha = None
        result = run_cli("promotion", "check", "--now", at(50), "--format", "json",
                         cwd=repo.root)
    assert_report(result, [], sha)
    if mode == "audit":  # the committed symlink is in HEAD's tree: nothing staged to judge
        check = run_cli("promotion", "check", "--now", at(50), "--format", "json",
                        cwd=repo.root)
        assert_report(check, [])
        status = run_cli("promotion", "status", "--now", at(50), "--format", "json",
                         cwd=repo.root)
        cells = status_rows(status)[("web", IMAGE)]
        assert {env: [c[0] for c in found] for env, found in cells.items()} == {
            "dev": [V1], "staging": [V0], "prod": []}


TWO_LOCATIONS = ({"name": "{app}", "locations": [
    {"path": "apps/{app}/overlays/{env}/kustomization.yaml", "extractor": "kustomize-images"},
    {"path": "apps/{app}/overlays/{env}/*.yaml", "extractor": "yaml-path",
     "field": "images.0.newTag"}]},)


@pytest.mark.parametrize("mode", MODES)
def test_a_file_two_locations_match_is_read_by_both(tmp_path: Path, run_cli: RunCli,
                                                    mode: str) -> None:
    config = promotion_config(WEB._replace(apps=TWO_LOCATIONS))
    steps = [*seed(config=config), bump(40, V1, "dev")]
    result, sha = scenario(tmp_path, run_cli, mode, steps, bump(50, V1, "prod"))
    found = assert_report(result, [("PROMO001", ERR, P, 7), ("PROMO001", ERR, P, 7)], sha)
    subjects = [re.search(r"\bweb (\S+): prod ", f["message"]) for f in found]
    assert sorted(s.group(1) for s in subjects if s) == sorted([IMAGE, "images.0.newTag"])


SIDECAR = "ghcr.io/acme/sidecar"


@pytest.mark.parametrize("mode", MODES)
def test_an_artifact_no_upstream_env_ever_ran(tmp_path: Path, run_cli: RunCli,
                                              mode: str) -> None:
    with_sidecar = overlay(V0) + f"  - name: {SIDECAR}\n    newTag: 2.0.0\n"  # line 9
    result, sha = scenario(tmp_path, run_cli, mode, seed(), Step(40, {P: with_sidecar}))
    [finding] = assert_report(result, [("PROMO001", ERR, P, 9)], sha)
    assert f"staging history: never ran {SIDECAR}; " in finding["message"], finding


@pytest.mark.parametrize("mode", MODES)
def test_an_overlay_whose_base_is_gone_still_has_its_version(tmp_path: Path, run_cli: RunCli,
                                                             mode: str) -> None:
    steps = [*seed(), Step(35, delete=("apps/web/base",)), bump(40, V1, "dev")]
    result, sha = scenario(tmp_path, run_cli, mode, steps, bump(50, V1, "prod"))
    assert_report(result, [("PROMO001", ERR, P, 7)], sha)


# -- more than one cluster per environment ---------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_a_second_cluster_catching_up_is_no_rollback(tmp_path: Path, run_cli: RunCli,
                                                     mode: str) -> None:
    config = promotion_config(CLUSTERS, rollback="deny")
    plan = (*CLUSTER_SEED[:2], (30, ("prod/eu-1", "prod/us-1", "prod/ap-1")))
    steps = [*seed(CLUSTERS, config, plan), on_clusters(40, V1, "dev/local"),
             on_clusters(41, V1, "staging/eu-1"), on_clusters(70, V1, "prod/eu-1")]
    result, sha = scenario(tmp_path, run_cli, mode, steps, on_clusters(75, V1, "prod/us-1"))
    assert_report(result, [], sha)


# -- every output format, for one PROMO001 -----------------------------------------------------

SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
COLUMN = overlay(V1).splitlines()[6].index(V1) + 1  # where the tag starts on line 7


@pytest.fixture
def one_skip(tmp_path: Path, run_cli: RunCli) -> tuple[GitRepo, dict[str, Any]]:
    """A staged skip of staging, and its one finding as the JSON report has it."""
    repo = play(tmp_path / "repo", [*seed(), bump(40, V1, "dev")])
    apply(repo, bump(50, V1, "prod"))
    [finding] = assert_report(report(run_cli, repo, "json"), [("PROMO001", ERR, P, 7)])
    return repo, finding


def report(run_cli: RunCli, repo: GitRepo, fmt: str) -> Any:
    return run_cli("promotion", "check", "--now", at(50), "--format", fmt, "--color", "never",
                   cwd=repo.root)


def test_json_finding_fields(one_skip: tuple[GitRepo, dict[str, Any]]) -> None:
    _, finding = one_skip
    assert {key: finding[key] for key in finding if key not in ("message", "fingerprint")} == {
        "check": "promotion", "rule": "PROMO001", "severity": "error", "path": P, "line": 7,
        "column": COLUMN, "resource": None, "pointer": "/images/0/newTag"}
    assert re.fullmatch(r"[0-9a-f]{32}", finding["fingerprint"])
    assert finding["message"].startswith(f"web {IMAGE}: prod 1.0.0 -> 1.1.0, but 1.1.0 was "
                                         "never in staging (prod.after=[staging], "
                                         "require=all); staging history: 1.0.0 since ")


def test_text_report(run_cli: RunCli, one_skip: tuple[GitRepo, dict[str, Any]]) -> None:
    repo, finding = one_skip
    result = report(run_cli, repo, "text")
    assert result.code == 1, result.err
    lines = result.out.splitlines()
    assert lines[0] == P
    row = re.fullmatch(rf"  7:{COLUMN}\s+error\s+PROMO001\s+(.*)", lines[1])
    assert row is not None, lines[1]
    assert row.group(1) == finding["message"]
    assert lines[-1] == "failed: 1 error in 1 file (4 commits of history, 1 app)"


def sarif_result(run_cli: RunCli, repo: GitRepo) -> dict[str, Any]:
    result = report(run_cli, repo, "sarif")
    assert result.code == 1, result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def test_sarif_report(run_cli: RunCli, one_skip: tuple[GitRepo, dict[str, Any]]) -> None:
    repo, finding = one_skip
    [sarif_run] = sarif_result(run_cli, repo)["runs"]
    rule_ids = [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]]
    assert rule_ids == ["PROMO001", "PROMO002", "PROMO003", "PROMO004", "PROMO005",
                        "PROMO007", "PROMO009", "PROMO011"]
    [result] = sarif_run["results"]
    assert rule_ids[result["ruleIndex"]] == result["ruleId"] == "PROMO001"
    assert result["level"] == "error"
    assert result["message"]["text"] == finding["message"]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": P, "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 7, "startColumn": COLUMN}}


@pytest.mark.skipif(not SARIF_SCHEMA.is_file(), reason="../shared/schemas is not present")
def test_sarif_report_validates(run_cli: RunCli,
                                one_skip: tuple[GitRepo, dict[str, Any]]) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif_result(run_cli, one_skip[0]))


def test_junit_report(run_cli: RunCli, one_skip: tuple[GitRepo, dict[str, Any]]) -> None:
    repo, finding = one_skip
    result = report(run_cli, repo, "junit")
    assert result.code == 1, result.err
    suites = ET.fromstring(result.out)
    assert (suites.tag, suites.get("tests"), suites.get("failures")) == ("testsuites", "1", "1")
    [suite] = suites
    assert suite.get("name") == P
    [failure] = suite.iter("failure")
    assert (failure.get("type"), failure.get("message")) == ("PROMO001", finding["message"])
    assert failure.text == f"{P}:7:{COLUMN} error PROMO001 {finding['message']}"


def test_github_annotations(run_cli: RunCli, one_skip: tuple[GitRepo, dict[str, Any]]) -> None:
    repo, finding = one_skip
    result = report(run_cli, repo, "github")
    assert result.code == 1, result.err
    annotations = [line for line in result.out.splitlines() if line.startswith("::")]
    assert annotations == [
        f"::error file={P},line=7,col={COLUMN},title=PROMO001::{finding['message']}"]


# -- status ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("where", "cwd", "args"), [
    pytest.param(".", ".", (), id="at-the-root"),
    pytest.param("examples", "examples", (), id="in-a-subdirectory"),
    pytest.param("examples", ".", ("--config", f"examples/{CONFIG}"), id="config-flag"),
])
def test_status_of_the_examples(tmp_path: Path, run_cli: RunCli, where: str, cwd: str,
                                args: tuple[str, ...]) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    shutil.copytree(REPO_ROOT / "examples", repo.root / where, dirs_exist_ok=True)
    sha = repo.commit("the examples", at(0))
    result = run_cli("promotion", "status", *args, "--now", at(2), "--format", "json",
                     cwd=repo.root / cwd)
    assert status_rows(result) == {("web", "ghcr.io/example-org/web"): {
        "dev": [("1.5.0-rc.2", at(0), sha[:7], 2 * HOUR)],
        "staging": [("1.4.2", at(0), sha[:7], 2 * HOUR)],
        "prod": [("1.4.2", at(0), sha[:7], 2 * HOUR)]}}
    text = run_cli("promotion", "status", *args, "--now", at(2), cwd=repo.root / cwd)
    assert text.code == 0, text.err
    assert [line.split() for line in text.out.splitlines()[:2]] == [
        ["APP", "ARTIFACT", "dev", "staging", "prod"],
        ["web", "ghcr.io/example-org/web", "1.5.0-rc.2", "(2h)", "1.4.2", "(2h)", "1.4.2",
         "(2h)"]]


def test_status_leaves_out_an_app_removed_everywhere(tmp_path: Path, run_cli: RunCli) -> None:
    steps = [*seed(), Step(40, delete=("apps/web",)),
             Step(41, {**API.common, **API.at(V2, "dev")})]
    repo = play(tmp_path / "repo", steps)
    result = run_cli("promotion", "status", "--now", at(50), "--format", "json",
                     cwd=repo.root)
    rows = status_rows(result)
    assert list(rows) == [("api", "ghcr.io/acme/api")]
    assert {env: [c[0] for c in cells] for env, cells in rows[("api", "ghcr.io/acme/api")]
            .items()} == {"dev": [V2], "staging": [], "prod": []}


# -- plumbing details --------------------------------------------------------------------------

def test_the_object_reader(tmp_path: Path) -> None:
    repo = play(tmp_path / "repo", seed())
    head = repo.rev()
    blob = repo.git("rev-parse", f"HEAD:{P}").strip()
    missing = "f" * 40
    with gitdata.ObjectReader(repo.root) as reader:
        reader.prefetch([])  # nothing to read ahead
        reader.prefetch([blob, blob, missing])
        assert reader.read(blob) == overlay(V0).encode()
        assert reader.read(blob) == overlay(V0).encode()  # read again, not from the prefetch
        assert reader.read(missing) is None
        assert reader.message(missing) == ""
        assert reader.message(head) == "deploy 1.0.0 to prod\n"


def test_unrelated_histories_have_no_merge_base(tmp_path: Path) -> None:
    repo = play(tmp_path / "repo", seed())
    repo.git("checkout", "-q", "--orphan", "other")
    repo.commit("unrelated", at(1), files={"README.md": "other\n"})
    assert gitdata.merge_base(repo.root, "main", "other") is None
    assert gitdata.merge_base(repo.root, "main", "main~1") == repo.rev("main~1")


@pytest.mark.parametrize("enabled", [True, False])
def test_replay_leaves_the_cycle_collector_as_it_found_it(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with run._collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_full_cache_drops_its_oldest_half() -> None:
    cache: dict[int, str] = {}
    for key in range(6):
        timeline._bounded_put(cache, key, str(key), 4)
    # 0-3 fill it; 4 drops 0 and 1; 5 fits.
    assert cache == {2: "2", 3: "3", 4: "4", 5: "5"}


def test_a_detached_head_is_judged_like_a_branch(tmp_path: Path, run_cli: RunCli) -> None:
    """A CI checkout of one commit has no branch: HEAD's history is what counts."""
    repo = play(tmp_path / "repo", [*seed(), *IN_STAGING])
    repo.git("checkout", "-q", "--detach", "HEAD")
    apply(repo, bump(100, V1, "prod"))
    assert_report(run_cli("promotion", "check", "--now", at(100), "--format", "json",
                          cwd=repo.root), [])
    apply(repo, bump(100, V2, "prod"))
    assert_report(run_cli("promotion", "check", "--now", at(100), "--format", "json",
                          cwd=repo.root), [("PROMO001", ERR, P, 7)])
    assert_report(run_cli("promotion", "audit", "--format", "json", cwd=repo.root), [])


def test_a_branch_with_unrelated_history_is_judged_from_its_base(tmp_path: Path,
                                                                 run_cli: RunCli) -> None:
    """No merge base: the change is everything `--head` has against `--base`'s tree."""
    repo = play(tmp_path / "repo", seed())
    repo.git("checkout", "-q", "--orphan", "other")
    repo.commit("unrelated", at(40), files={"README.md": "other\n"})
    result = run_cli("promotion", "check", "--base", "main", "--head", "other", "--format",
                     "json", cwd=repo.root)
    # `checkout --orphan` keeps the index, so `other` holds main's files plus a README: no
    # version moved, and the missing merge base is no error.
    assert_report(result, [])
    assert repo.git("ls-tree", "-r", "--name-only", "other").count("kustomization.yaml") > 0
