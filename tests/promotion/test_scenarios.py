"""`gitops-guard promotion check|audit|status` end to end, on real git history.

Each scenario builds a repository whose commits carry chosen committer times (hours after T0),
then runs the CLI from its root and compares the findings of the JSON report, exactly: rule,
severity, path and line, plus the exit code. Most scenarios run in both modes:

- audit: the last step is committed and `promotion audit` replays the history; every finding
  comes from that last commit, so its message starts `commit <sha7>: `;
- check: the last step is only staged and `promotion check --now <its time>` judges the index.

The seed history is clean: the app reaches dev at T0, staging 1 h later, prod 30 h later.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import pytest
import yaml

from tests.conftest import CliRun
from tests.promotion.gitrepo import GitRepo

RunCli = Callable[..., CliRun]
Expected = tuple[str, str, str, int]  # rule, severity, path, line

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
ERR, WARN, INFO = "error", "warning", "info"
V0, V1, V2 = "1.0.0", "1.1.0", "1.2.0"
CONFIG = ".gitops-guard.yaml"
IMAGE = "ghcr.io/acme/web"
MODES = ("audit", "check")
# An app that appears in every environment in one commit: each non-source environment gets a
# finding at the `new_app` level. Its version entered the upstream environment in that same
# commit, so it is reported under the same-commit rule (see the report to the lead).
NEW_APP_RULE = "PROMO003"


def at(hours: float) -> str:
    """T0 plus `hours`, to the second, as ISO 8601 (what git dates and `--now` take)."""
    return (T0 + datetime.timedelta(seconds=round(hours * 3600))).isoformat()


# -- files -----------------------------------------------------------------------------------

BASE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
"""


def deployment(app: str, image: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
spec:
  selector:
    matchLabels: {{app: {app}}}
  template:
    metadata:
      labels: {{app: {app}}}
    spec:
      containers:
        - name: {app}
          image: {image}
"""


def overlay(tag: str, base: str = "../../base", image: str = IMAGE) -> str:
    # The tag is on line 7.
    return f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {base}
images:
  - name: {image}
    newTag: {tag}
"""


def digest_overlay(tag: str, digest: str) -> str:
    # One flow mapping on line 6, so the line is the same whichever key the value is read from.
    return f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - {{name: {IMAGE}, newTag: "{tag}", digest: "{digest}"}}
"""


UNTAGGED_OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
"""


def tagged_base(tag: str) -> str:
    # The tag is on line 7.
    return BASE + f"images:\n  - name: {IMAGE}\n    newTag: {tag}\n"


COMPONENT_OVERLAY = UNTAGGED_OVERLAY + "components:\n  - pin\n"


def pin_component(tag: str) -> str:
    return f"""\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
images:
  - name: {IMAGE}
    newTag: {tag}
"""


def helm_values(tag: str) -> str:
    # The tag is on line 4.
    return f"""\
replicaCount: 2
image:
  repository: ghcr.io/stefanprodan/podinfo
  tag: {tag}
  pullPolicy: IfNotPresent
"""


def argocd_application(revision: str) -> str:
    # targetRevision is on line 11.
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/acme/guestbook.git
    path: deploy
    targetRevision: {revision}
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
"""


class Layout(NamedTuple):
    """Where each environment keeps the version of one app, and the config that says so."""

    apps: tuple[dict[str, Any], ...]   # the `apps:` section of the config
    common: Mapping[str, str]          # files every environment shares (a kustomize base)
    template: str                      # an environment's file; {env} is its folder
    render: Callable[[str], str]       # version -> that file's text
    line: int                          # the line of the version in it

    def path(self, env: str) -> str:
        return self.template.format(env=env)

    def at(self, version: str, *envs: str) -> dict[str, str]:
        return {self.path(env): self.render(version) for env in envs}


def kustomize(app: str = "web", image: str = IMAGE) -> Layout:
    return Layout(
        apps=({"name": "{app}", "locations": [
            {"path": "apps/{app}/overlays/{env}/kustomization.yaml",
             "extractor": "kustomize-images"}]},),
        common={f"apps/{app}/base/kustomization.yaml": BASE,
                f"apps/{app}/base/deployment.yaml": deployment(app, image)},
        template=f"apps/{app}/overlays/{{env}}/kustomization.yaml",
        render=lambda tag: overlay(tag, image=image),
        line=7)


WEB = kustomize()
API = kustomize("api", "ghcr.io/acme/api")
P = WEB.path("prod")
WEB_BASE = "apps/web/base/kustomization.yaml"
# One environment, several clusters: `{env}/**` (environment folders passed as "prod/eu-1").
CLUSTERS = Layout(
    apps=({"name": "{app}", "locations": [
        {"path": "apps/{app}/envs/{env}/**/kustomization.yaml",
         "extractor": "kustomize-images"}]},),
    common=WEB.common,
    template="apps/web/envs/{env}/kustomization.yaml",
    render=lambda tag: overlay(tag, base="../../../base"),
    line=7)
# The tag lives in the base that every overlay includes.
BASE_TAGGED = WEB._replace(common={**WEB.common, WEB_BASE: tagged_base(V0)},
                           render=lambda _tag: UNTAGGED_OVERLAY)
HELM = Layout(
    apps=({"name": "podinfo", "locations": [
        {"path": "apps/podinfo/values-{env}.yaml", "extractor": "helm-values",
         "field": "image.tag", "key_field": "image.repository"}]},),
    common={},
    template="apps/podinfo/values-{env}.yaml",
    render=helm_values,
    line=4)
ARGO = Layout(
    apps=({"name": "guestbook", "locations": [
        {"path": "clusters/{env}/apps/guestbook.yaml", "extractor": "argocd-app"}]},),
    common={},
    template="clusters/{env}/apps/guestbook.yaml",
    render=argocd_application,
    line=11)


def env(name: str, after: str | list[str], **more: Any) -> dict[str, Any]:
    return {"name": name, "after": [after] if isinstance(after, str) else after, **more}


PROD: dict[str, Any] = {"name": "prod", "after": ["staging"], "min_soak": "24h"}
ENVIRONMENTS: tuple[Any, ...] = ("dev", "staging", PROD)


def promotion_config(layout: Layout = WEB, environments: Sequence[Any] = ENVIRONMENTS,
                     **options: Any) -> str:
    section = {"deploy_ref": "main", "environments": list(environments), **options,
               "apps": list(layout.apps)}
    return yaml.safe_dump({"promotion": section}, sort_keys=False)


# -- history ---------------------------------------------------------------------------------

NOTHING: Mapping[str, str] = MappingProxyType({})


class Step(NamedTuple):
    hours: float                                 # committer (and author) time: T0 + hours
    files: Mapping[str, str] = NOTHING           # written after moves and deletes
    delete: tuple[str, ...] = ()                 # `git rm -r`
    move: tuple[tuple[str, str], ...] = ()       # `git mv`
    trailers: tuple[tuple[str, str], ...] = ()
    message: str = "change"


def bump(hours: float, version: str, *envs: str, layout: Layout = WEB,
         trailers: tuple[tuple[str, str], ...] = ()) -> Step:
    return Step(hours, layout.at(version, *envs), trailers=trailers,
                message=f"{', '.join(envs)}: {version}")


SEED_PLAN: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0, ("dev",)), (1, ("staging",)), (30, ("prod",)))


def seed(layout: Layout = WEB, config: str | None = None,
         plan: Sequence[tuple[float, tuple[str, ...]]] = SEED_PLAN,
         version: str = V0) -> list[Step]:
    """The app enters each group of environments in turn; the first step adds the config."""
    steps = []
    for index, (hours, envs) in enumerate(plan):
        files = layout.at(version, *envs)
        if index == 0:
            files = {CONFIG: config or promotion_config(layout), **layout.common, **files}
        steps.append(Step(hours, files, message=f"deploy {version} to {', '.join(envs)}"))
    return steps


def apply(repo: GitRepo, step: Step) -> None:
    """Make the step's changes in the working tree and stage them."""
    for source, target in step.move:
        repo.move(source, target)
    if step.delete:
        repo.delete(*step.delete)
    repo.write(step.files)
    repo.stage()


def commit(repo: GitRepo, step: Step) -> str:
    apply(repo, step)
    return repo.commit(step.message, at(step.hours), trailers=step.trailers)


def play(root: Path, steps: Sequence[Step]) -> GitRepo:
    repo = GitRepo.init(root)
    for step in steps:
        commit(repo, step)
    return repo


def run_last(run_cli: RunCli, repo: GitRepo, mode: str, last: Step) -> tuple[CliRun, str | None]:
    """Commit and audit the last step, or stage it and check the index at its time."""
    if mode == "audit":
        sha = commit(repo, last)
        return run_cli("promotion", "audit", "--format", "json", cwd=repo.root), sha
    apply(repo, last)
    return run_cli("promotion", "check", "--now", at(last.hours), "--format", "json",
                   cwd=repo.root), None


def scenario(tmp_path: Path, run_cli: RunCli, mode: str, history: Sequence[Step],
             last: Step) -> tuple[CliRun, str | None]:
    return run_last(run_cli, play(tmp_path / "repo", history), mode, last)


def findings(result: CliRun) -> list[dict[str, Any]]:
    assert result.code in (0, 1), result.err
    assert "Traceback" not in result.err
    found: list[dict[str, Any]] = result.json()["findings"]
    return found


def assert_report(result: CliRun, expected: Sequence[Expected],
                  commit_sha: str | None = None) -> list[dict[str, Any]]:
    """Exactly the expected findings; exit 1 when one is an error, else 0."""
    found = findings(result)
    assert sorted((f["rule"], f["severity"], f["path"], f["line"]) for f in found) == \
        sorted(expected), result.out
    assert all(f["check"] == "promotion" for f in found)
    if commit_sha is not None:
        for finding in found:
            assert finding["message"].startswith(f"commit {commit_sha[:7]}: "), finding
    assert result.code == (1 if any(e[1] == ERR for e in expected) else 0), result.out
    return found


# -- the helper itself -----------------------------------------------------------------------

def test_the_git_helper_makes_the_history_it_is_asked_for(tmp_path: Path) -> None:
    repo = play(tmp_path / "repo", seed())
    assert repo.committed_at() == at(30) == "2026-03-03T15:00:00+00:00"
    assert repo.git("log", "-1", "--format=%aI").strip() == at(30)
    assert repo.git("rev-list", "--count", "HEAD").strip() == "3"
    sha = commit(repo, bump(40, V1, "prod", trailers=(
        ("Promotion-Override", 'prod app=web reason="INC-1"'),)))
    assert repo.trailers(sha) == 'Promotion-Override: prod app=web reason="INC-1"'
    repo.move("apps/web/overlays/prod", "apps/web/overlays/production")
    repo.write({"apps/web/overlays/dev/kustomization.yaml": overlay(V2)})
    assert "newTag: 1.0.0" in repo.staged("apps/web/overlays/dev/kustomization.yaml")
    assert "R  apps/web/overlays/prod/kustomization.yaml" in repo.git("status", "--short")
    shallow = repo.shallow_clone(tmp_path / "shallow")
    assert shallow.is_shallow() and not repo.is_shallow()
    assert shallow.rev("main") == sha
    assert not repo.clone(tmp_path / "full").is_shallow()


# -- order, soak, same commit, rollback, floating --------------------------------------------

FLOATING = (("latest", "latest"), ("placeholder", "${IMAGE_TAG}"), ("branch", "main"))
IN_STAGING = [bump(40, V1, "dev"), bump(41, V1, "staging")]
IN_PROD = [*IN_STAGING, bump(70, V1, "prod")]

ORDER_CASES = [
    pytest.param([bump(40, V1, "dev")], bump(100, V1, "prod"),
                 [("PROMO001", ERR, P, 7)], id="skipped-stage"),
    pytest.param(IN_STAGING, bump(100, V1, "prod"), [], id="through-staging"),
    pytest.param([bump(40, V1, "dev"), bump(41, V2, "dev"), bump(42, V2, "staging")],
                 bump(70, V2, "prod"), [], id="skipping-a-version-is-fine"),
    pytest.param(IN_STAGING, bump(64, V1, "prod"), [("PROMO002", ERR, P, 7)], id="soak-23h"),
    pytest.param(IN_STAGING, bump(64 + 59 / 60, V1, "prod"), [("PROMO002", ERR, P, 7)],
                 id="soak-a-minute-short"),
    pytest.param(IN_STAGING, bump(65, V1, "prod"), [], id="soak-exactly-24h"),
    pytest.param([*IN_STAGING, bump(70, V2, "dev"), bump(71, V2, "staging")],
                 bump(72, V1, "prod"), [], id="a-30h-stay-counts-after-it-ended"),
    pytest.param([*IN_STAGING, bump(50, V2, "dev"), bump(51, V2, "staging")],
                 bump(200, V1, "prod"), [("PROMO002", ERR, P, 7)],
                 id="an-ended-10h-stay-does-not-grow"),
    pytest.param([bump(40, V1, "dev")], bump(50, V1, "staging", "prod"),
                 [("PROMO003", ERR, P, 7)], id="staging-and-prod-in-one-commit"),
    pytest.param(IN_PROD, bump(80, V0, "prod"), [("PROMO004", INFO, P, 7)], id="rollback"),
    *(pytest.param([], bump(40, tag, "prod"), [("PROMO005", ERR, P, 7)],
                   id=f"{name}-in-prod") for name, tag in FLOATING),
    *(pytest.param([], bump(40, tag, "dev"), [], id=f"{name}-in-dev-the-source")
      for name, tag in FLOATING),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("history", "last", "expected"), ORDER_CASES)
def test_order_soak_same_commit_rollback_floating(
        tmp_path: Path, run_cli: RunCli, mode: str, history: list[Step], last: Step,
        expected: list[Expected]) -> None:
    result, sha = scenario(tmp_path, run_cli, mode, [*seed(), *history], last)
    assert_report(result, expected, sha)


def test_the_seed_history_is_clean(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", seed())
    assert_report(run_cli("promotion", "audit", "--format", "json", cwd=repo.root), [])


def test_a_git_revert_of_a_promotion_is_a_rollback(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", [*seed(), *IN_PROD])
    sha = repo.revert("HEAD", at(80))
    result = run_cli("promotion", "audit", "--format", "json", cwd=repo.root)
    assert_report(result, [("PROMO004", INFO, P, 7)], sha)


CONFIG_CASES = [
    pytest.param({"environments": ("dev", "staging", env("prod", "staging",
                                                         allow_same_commit=True))},
                 [bump(40, V1, "dev")], bump(50, V1, "staging", "prod"),
                 [("PROMO003", WARN, P, 7)], id="allow_same_commit-warns"),
    # The same commit is allowed, but then the version soaked 0s upstream (reference R3).
    pytest.param({"environments": ("dev", "staging", {**PROD, "allow_same_commit": True})},
                 [bump(40, V1, "dev")], bump(50, V1, "staging", "prod"),
                 [("PROMO002", ERR, P, 7)], id="allow_same_commit-still-needs-min_soak"),
    pytest.param({"rollback": "allow"}, IN_PROD, bump(80, V0, "prod"),
                 [("PROMO004", INFO, P, 7)], id="rollback-allow"),
    pytest.param({"rollback": "deny"}, IN_PROD, bump(80, V0, "prod"),
                 [("PROMO004", ERR, P, 7)], id="rollback-deny"),
    pytest.param({"floating": "warning"}, [], bump(40, "latest", "prod"),
                 [("PROMO005", WARN, P, 7)], id="floating-warning"),
    pytest.param({"floating_tags": ["^stable$"]}, [], bump(40, "STABLE", "prod"),
                 [("PROMO005", ERR, P, 7)], id="own-floating-tags-ignore-case"),
    pytest.param({"floating_tags": ["^stable$"]},
                 [bump(40, "latest", "dev"), bump(41, "latest", "staging")],
                 bump(70, "latest", "prod"), [], id="own-floating-tags-replace-the-default"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("options", "history", "last", "expected"), CONFIG_CASES)
def test_config_options(tmp_path: Path, run_cli: RunCli, mode: str, options: dict[str, Any],
                        history: list[Step], last: Step, expected: list[Expected]) -> None:
    steps = [*seed(config=promotion_config(**options)), *history]
    result, sha = scenario(tmp_path, run_cli, mode, steps, last)
    assert_report(result, expected, sha)


# -- apps appearing, disappearing, moving ----------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("new_app", "severity"), [
    (None, WARN), ("warning", WARN), ("error", ERR), ("off", None)])
def test_a_new_app_in_every_env_at_once(tmp_path: Path, run_cli: RunCli, mode: str,
                                        new_app: str | None, severity: str | None) -> None:
    options = {} if new_app is None else {"new_app": new_app}
    last = Step(40, {**API.common, **API.at("2.0.0", "dev", "staging", "prod")})
    result, sha = scenario(tmp_path, run_cli, mode, seed(config=promotion_config(**options)),
                           last)
    expected = [] if severity is None else [
        (NEW_APP_RULE, severity, API.path(env), 7) for env in ("staging", "prod")]
    assert_report(result, expected, sha)


@pytest.mark.parametrize("mode", MODES)
def test_a_new_app_in_dev_only_is_not_a_finding(tmp_path: Path, run_cli: RunCli,
                                                mode: str) -> None:
    last = Step(40, {**API.common, **API.at("2.0.0", "dev")})
    result, sha = scenario(tmp_path, run_cli, mode, seed(), last)
    assert_report(result, [], sha)


REMOVE_PROD = Step(40, delete=("apps/web/overlays/prod",), message="drop prod")
REMOVE_APP = Step(40, delete=("apps/web",), message="drop web")
EVERYWHERE = ("dev", "staging", "prod")

REMOVAL_CASES = [
    pytest.param([], REMOVE_PROD, [], id="removing-is-not-an-event"),
    pytest.param([REMOVE_PROD], bump(50, V0, "prod"), [], id="prod-re-added-as-it-was"),
    pytest.param([REMOVE_APP], Step(50, {**WEB.common, **WEB.at(V0, *EVERYWHERE)}), [],
                 id="app-re-added-as-it-was-is-not-new"),
    pytest.param([REMOVE_PROD, bump(45, V1, "dev")], bump(50, V1, "prod"),
                 [("PROMO001", ERR, P, 7)], id="prod-re-added-with-a-skip"),
    pytest.param([REMOVE_APP], Step(50, {**WEB.common, **WEB.at(V1, *EVERYWHERE)}),
                 [("PROMO003", ERR, WEB.path("staging"), 7), ("PROMO003", ERR, P, 7)],
                 id="app-re-added-with-a-new-version-is-not-new"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("history", "last", "expected"), REMOVAL_CASES)
def test_removed_and_re_added(tmp_path: Path, run_cli: RunCli, mode: str,
                              history: list[Step], last: Step,
                              expected: list[Expected]) -> None:
    result, sha = scenario(tmp_path, run_cli, mode, [*seed(), *history], last)
    assert_report(result, expected, sha)


PRODUCTION = WEB.path("production")
CLUSTER_SEED = ((0, ("dev/local",)), (1, ("staging/eu-1", "staging/us-1")),
                (30, ("prod/eu-1", "prod/us-1")))

MOVE_CASES = [
    pytest.param(WEB, {"aliases": {"production": "prod"}},
                 Step(40, move=(("apps/web/overlays/prod", "apps/web/overlays/production"),)),
                 [], id="overlay-dir-renamed-to-an-alias"),
    pytest.param(WEB, {"aliases": {"production": "prod"}},
                 Step(40, move=((P, PRODUCTION),)), [], id="kustomization-moved-to-an-alias"),
    pytest.param(WEB, {"aliases": {"production": "prod"}},
                 Step(40, WEB.at(V1, "production"),
                      move=(("apps/web/overlays/prod", "apps/web/overlays/production"),)),
                 [("PROMO001", ERR, PRODUCTION, 7)], id="renamed-and-bumped-is-an-event"),
    pytest.param(CLUSTERS, {},
                 Step(40, move=(("apps/web/envs/prod/eu-1", "apps/web/envs/prod/eu-west-1"),)),
                 [], id="cluster-dir-renamed-under-double-star"),
    pytest.param(WEB, {}, Step(40, {P: COMPONENT_OVERLAY,
                                    "apps/web/overlays/prod/pin/kustomization.yaml":
                                        pin_component(V0)}),
                 [], id="tag-moved-into-a-component"),
    pytest.param(WEB, {}, Step(40, {WEB_BASE: tagged_base(V0),
                                    **{WEB.path(env): UNTAGGED_OVERLAY for env in EVERYWHERE}}),
                 [], id="tag-moved-from-the-overlays-into-the-base"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("layout", "options", "last", "expected"), MOVE_CASES)
def test_moves_without_a_version_change_are_not_events(
        tmp_path: Path, run_cli: RunCli, mode: str, layout: Layout, options: dict[str, Any],
        last: Step, expected: list[Expected]) -> None:
    plan = CLUSTER_SEED if layout is CLUSTERS else SEED_PLAN
    steps = seed(layout, promotion_config(layout, **options), plan)
    result, sha = scenario(tmp_path, run_cli, mode, steps, last)
    assert_report(result, expected, sha)


# -- a tag in a shared base ------------------------------------------------------------------

PINNED_OVERLAYS = Step(35, {WEB.path(env): overlay(V0) for env in ("staging", "prod")},
                       message="pin staging and prod in their overlays")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("history", "expected"), [
    pytest.param([], [("PROMO003", ERR, WEB_BASE, 7), ("PROMO003", ERR, WEB_BASE, 7)],
                 id="every-overlay-follows-the-base"),
    pytest.param([PINNED_OVERLAYS], [], id="overlay-pins-win-only-dev-moves"),
])
def test_a_tag_bumped_in_a_shared_base(tmp_path: Path, run_cli: RunCli, mode: str,
                                       history: list[Step], expected: list[Expected]) -> None:
    last = Step(40, {WEB_BASE: tagged_base(V1)}, message="bump the base")
    result, sha = scenario(tmp_path, run_cli, mode, [*seed(BASE_TAGGED), *history], last)
    found = assert_report(result, expected, sha)
    # One finding per downstream environment: staging's and prod's are told apart.
    assert len({f["fingerprint"] for f in found}) == len(found)
    assert len({f["message"] for f in found}) == len(found)


# -- fan-out, fan-in, several files per environment ------------------------------------------

REGIONS = ("dev", "staging", env("prod-eu", "staging", min_soak="24h"),
           env("prod-us", "staging", min_soak="24h"))
REGION_SEED = ((0, ("dev",)), (1, ("staging",)), (30, ("prod-eu", "prod-us")))
EU, US = WEB.path("prod-eu"), WEB.path("prod-us")


def fan_in(require: str) -> tuple[Any, ...]:
    return ("dev", "staging", env("qa", "dev"),
            env("prod", ["staging", "qa"], require=require, min_soak="24h"))


FAN_IN_SEED = ((0, ("dev",)), (1, ("staging", "qa")), (30, ("prod",)))
CLUSTER_EU, CLUSTER_US = CLUSTERS.path("prod/eu-1"), CLUSTERS.path("prod/us-1")


def on_clusters(hours: float, version: str, *where: str) -> Step:
    return bump(hours, version, *where, layout=CLUSTERS)


DAG_CASES = [
    pytest.param(WEB, REGIONS, REGION_SEED, IN_STAGING, bump(70, V1, "prod-eu", "prod-us"),
                 [], id="two-regions-after-staging"),
    pytest.param(WEB, REGIONS, REGION_SEED, [bump(40, V1, "dev")],
                 bump(70, V1, "prod-eu", "prod-us"),
                 [("PROMO001", ERR, EU, 7), ("PROMO001", ERR, US, 7)], id="two-regions-skip"),
    pytest.param(WEB, REGIONS, REGION_SEED, IN_STAGING, bump(50, V1, "prod-eu"),
                 [("PROMO002", ERR, EU, 7)], id="one-region-too-soon"),
    pytest.param(WEB, fan_in("all"), FAN_IN_SEED, IN_STAGING, bump(70, V1, "prod"),
                 [("PROMO001", ERR, P, 7)], id="require-all-misses-qa"),
    pytest.param(WEB, fan_in("any"), FAN_IN_SEED, IN_STAGING, bump(70, V1, "prod"),
                 [], id="require-any-staging-is-enough"),
    pytest.param(CLUSTERS, ENVIRONMENTS, CLUSTER_SEED,
                 [on_clusters(40, V1, "dev/local"), on_clusters(41, V1, "staging/eu-1")],
                 on_clusters(70, V1, "prod/eu-1", "prod/us-1"),
                 [], id="one-upstream-cluster-is-enough"),
    pytest.param(CLUSTERS, ENVIRONMENTS, CLUSTER_SEED, [on_clusters(40, V1, "dev/local")],
                 on_clusters(70, V1, "prod/eu-1"),
                 [("PROMO001", ERR, CLUSTER_EU, 7)], id="one-prod-cluster-skips"),
    pytest.param(CLUSTERS, ENVIRONMENTS, CLUSTER_SEED, [on_clusters(40, V1, "dev/local")],
                 on_clusters(70, V1, "prod/eu-1", "prod/us-1"),
                 [("PROMO001", ERR, CLUSTER_EU, 7), ("PROMO001", ERR, CLUSTER_US, 7)],
                 id="each-prod-cluster-file-is-its-own-event"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("layout", "environments", "plan", "history", "last", "expected"),
                         DAG_CASES)
def test_fan_out_and_fan_in(tmp_path: Path, run_cli: RunCli, mode: str, layout: Layout,
                            environments: tuple[Any, ...],
                            plan: tuple[tuple[float, tuple[str, ...]], ...],
                            history: list[Step], last: Step,
                            expected: list[Expected]) -> None:
    config = promotion_config(layout, environments)
    steps = [*seed(layout, config, plan), *history]
    result, sha = scenario(tmp_path, run_cli, mode, steps, last)
    assert_report(result, expected, sha)


# -- digests ---------------------------------------------------------------------------------

DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def pinned(hours: float, tag: str, digest: str, env_name: str) -> Step:
    return Step(hours, {WEB.path(env_name): digest_overlay(tag, digest)},
                message=f"{env_name}: {tag}@{digest[:14]}")


DIGEST_HISTORY = [pinned(40, "1.2", DIGEST_A, "dev"), pinned(41, "1.2", DIGEST_A, "staging")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("last", "expected"), [
    pytest.param(pinned(80, "1.3", DIGEST_A, "prod"), [], id="same-digest-other-tag-passes"),
    pytest.param(pinned(80, "1.2", DIGEST_B, "prod"), [("PROMO001", ERR, P, 6)],
                 id="same-tag-other-digest-fails"),
])
def test_the_digest_is_the_identity(tmp_path: Path, run_cli: RunCli, mode: str, last: Step,
                                    expected: list[Expected]) -> None:
    result, sha = scenario(tmp_path, run_cli, mode, [*seed(), *DIGEST_HISTORY], last)
    assert_report(result, expected, sha)


# -- helm values and Argo CD applications ----------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layout", [pytest.param(HELM, id="helm-values"),
                                    pytest.param(ARGO, id="argocd-app")])
@pytest.mark.parametrize(("through_staging", "version", "rule"), [
    pytest.param(False, V1, "PROMO001", id="skipped-stage"),
    pytest.param(True, V1, None, id="through-staging"),
    pytest.param(False, "main", "PROMO005", id="floating-in-prod"),
])
def test_other_extractors(tmp_path: Path, run_cli: RunCli, mode: str, layout: Layout,
                          through_staging: bool, version: str, rule: str | None) -> None:
    history = [bump(40, V1, "dev", layout=layout)]
    if through_staging:
        history.append(bump(41, V1, "staging", layout=layout))
    steps = [*seed(layout), *history]
    result, sha = scenario(tmp_path, run_cli, mode, steps, bump(80, version, "prod",
                                                                layout=layout))
    expected = [] if rule is None else [(rule, ERR, layout.path("prod"), layout.line)]
    assert_report(result, expected, sha)


# -- overrides -------------------------------------------------------------------------------

OVERRIDE = "Promotion-Override"
REASON = 'reason="INC-1"'

TRAILER_CASES = [
    pytest.param({}, OVERRIDE, f"prod app=web {REASON}", "PROMO009", id="trailer"),
    pytest.param({}, OVERRIDE, f"prod app=web version=1.1.0 {REASON}", "PROMO009",
                 id="trailer-with-the-version"),
    pytest.param({}, OVERRIDE, f"prod app=web version=1.0.9 {REASON}", "PROMO001",
                 id="trailer-for-another-version"),
    pytest.param({}, OVERRIDE, f"prod app=api {REASON}", "PROMO001", id="trailer-another-app"),
    pytest.param({}, OVERRIDE, f"staging app=web {REASON}", "PROMO001",
                 id="trailer-another-env"),
    pytest.param({"overrides": {"trailer": False}}, OVERRIDE, f"prod app=web {REASON}",
                 "PROMO001", id="trailers-turned-off"),
    pytest.param({"overrides": {"trailer": "Hotfix-Approved"}}, "Hotfix-Approved",
                 f"prod app=web {REASON}", "PROMO009", id="own-trailer-name"),
]


@pytest.mark.parametrize(("options", "key", "value", "rule"), TRAILER_CASES)
def test_override_by_commit_trailer(tmp_path: Path, run_cli: RunCli, options: dict[str, Any],
                                    key: str, value: str, rule: str) -> None:
    steps = [*seed(config=promotion_config(**options)), bump(40, V1, "dev")]
    last = bump(50, V1, "prod", trailers=((key, value),))
    result, sha = scenario(tmp_path, run_cli, "audit", steps, last)
    assert_report(result, [(rule, WARN if rule == "PROMO009" else ERR, P, 7)], sha)


HOTFIX = bump(40, "1.0.1", "prod", trailers=((OVERRIDE, f"prod app=web {REASON}"),))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("options", "severity"), [
    pytest.param({}, INFO, id="allowed"), pytest.param({"rollback": "deny"}, ERR, id="denied")])
def test_a_rollback_to_a_hotfix_only_prod_ran(tmp_path: Path, run_cli: RunCli, mode: str,
                                              options: dict[str, Any], severity: str) -> None:
    """Staging never ran 1.0.1 (an overridden hotfix), so only prod's own past allows it."""
    repo = play(tmp_path / "repo", seed(config=promotion_config(**options)))
    hotfix = commit(repo, HOTFIX)
    for step in (bump(41, V1, "dev"), bump(42, V1, "staging"), bump(70, V1, "prod")):
        commit(repo, step)
    result, sha = run_last(run_cli, repo, mode, bump(80, "1.0.1", "prod"))
    expected = [("PROMO004", severity, P, 7)]
    if mode == "audit":  # the audit also reports the hotfix itself
        expected.append(("PROMO009", WARN, P, 7))
    found = assert_report(result, expected)
    if sha is not None:
        for finding in found:
            made = hotfix if finding["rule"] == "PROMO009" else sha
            assert finding["message"].startswith(f"commit {made[:7]}: "), finding


APPROVALS = ".gitops-guard/approvals.yaml"


def approval(env_name: str = "prod", version: str = V1, expires: str = "2026-12-01") -> str:
    return (f"approvals:\n  - {{app: web, env: {env_name}, version: {version}, "
            f'reason: "INC-1", expires: {expires}}}\n')


@pytest.mark.parametrize(("configured", "approvals", "rule"), [
    pytest.param(True, approval(), "PROMO009", id="unexpired"),
    pytest.param(True, approval(expires="2026-03-01"), "PROMO001", id="expired"),
    pytest.param(True, approval(version="1.0.9"), "PROMO001", id="another-version"),
    pytest.param(True, approval(env_name="staging"), "PROMO001", id="another-env"),
    pytest.param(False, approval(), "PROMO001", id="file-not-configured"),
])
def test_override_by_approvals_file(tmp_path: Path, run_cli: RunCli, configured: bool,
                                    approvals: str, rule: str) -> None:
    options = {"overrides": {"approvals_file": APPROVALS}} if configured else {}
    steps = [*seed(config=promotion_config(**options)), bump(40, V1, "dev")]
    last = Step(50, {**WEB.at(V1, "prod"), APPROVALS: approvals})  # now: 2026-03-04T11:00Z
    result, _ = scenario(tmp_path, run_cli, "check", steps, last)
    assert_report(result, [(rule, WARN if rule == "PROMO009" else ERR, P, 7)])


# -- where the history and the candidate come from -------------------------------------------

@pytest.mark.parametrize("command", [
    pytest.param(("audit",), id="audit"),
    pytest.param(("check", "--now", at(50)), id="check"),
    pytest.param(("check", "--base", "main~1", "--head", "main", "--now", at(50)),
                 id="check-base-head"),
])
def test_a_shallow_clone_cannot_be_judged(tmp_path: Path, run_cli: RunCli,
                                          command: tuple[str, ...]) -> None:
    origin = play(tmp_path / "origin", [*seed(), bump(40, V1, "dev")])
    clone = origin.shallow_clone(tmp_path / "clone", depth=2)
    result = run_cli("promotion", *command, cwd=clone.root)
    assert result.code == 2, (result.out, result.err)
    assert "fetch-depth: 0" in result.err and "Traceback" not in result.err


def test_a_full_clone_is_judged(tmp_path: Path, run_cli: RunCli) -> None:
    origin = play(tmp_path / "origin", [*seed(), bump(40, V1, "dev")])
    clone = origin.clone(tmp_path / "clone")
    assert_report(run_cli("promotion", "audit", "--format", "json", cwd=clone.root), [])


def test_not_a_git_repository(tmp_path: Path, run_cli: RunCli,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "plain"
    root.mkdir()
    for name, text in {CONFIG: promotion_config(), **WEB.common,
                       **WEB.at(V0, *EVERYWHERE)}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    result = run_cli("promotion", "check", "--now", at(1), cwd=root)
    assert result.code == 2 and "git" in result.err and "Traceback" not in result.err


CI_CASES = [
    pytest.param([bump(40, V1, "prod"), Step(41, {**WEB.at(V0, "prod"), **WEB.at(V2, "dev")})],
                 [], id="a-skip-undone-on-the-branch-is-not-reported"),
    pytest.param([bump(40, V1, "dev"), bump(41, V1, "prod")], [("PROMO001", ERR, P, 7)],
                 id="the-net-skip-is-reported-once"),
    pytest.param([bump(40, V1, "dev"), bump(41, V1, "prod", trailers=(
        (OVERRIDE, f"prod app=web {REASON}"),))], [("PROMO009", WARN, P, 7)],
                 id="a-trailer-on-a-branch-commit"),
]


@pytest.mark.parametrize(("branch", "expected"), CI_CASES)
def test_ci_checks_the_net_change_of_the_branch(tmp_path: Path, run_cli: RunCli,
                                                branch: list[Step],
                                                expected: list[Expected]) -> None:
    repo = play(tmp_path / "repo", seed())
    repo.branch("feature")
    # main moves on after the branch point with a violation of its own: not the branch's.
    commit(repo, bump(35, "1.5.0", "prod"))
    repo.checkout("feature")
    for step in branch:
        commit(repo, step)
    result = run_cli("promotion", "check", "--base", "main", "--head", "feature",
                     "--now", at(60), "--format", "json", cwd=repo.root)
    assert_report(result, expected)


WORKING_TREE_NOTE = "# edited by hand, not staged\n# (shifts every line by two)\n"


@pytest.mark.parametrize(("staged", "unstaged", "expected"), [
    pytest.param(V1, V0, [("PROMO001", ERR, P, 7)], id="staged-skip-hidden-in-the-worktree"),
    pytest.param(V0, V1, [], id="unstaged-skip-is-not-checked"),
])
def test_pre_commit_checks_the_staged_content(tmp_path: Path, run_cli: RunCli, staged: str,
                                              unstaged: str,
                                              expected: list[Expected]) -> None:
    repo = play(tmp_path / "repo", [*seed(), bump(40, V1, "dev")])
    repo.write(WEB.at(staged, "prod"))
    repo.stage()
    repo.write({P: WORKING_TREE_NOTE + overlay(unstaged)})
    result = run_cli("promotion", "check", "--now", at(50), "--format", "json", cwd=repo.root)
    assert_report(result, expected)
    # The check reads; it leaves the index and the working tree as they were.
    assert repo.staged(P) == overlay(staged)
    assert repo.read(P) == WORKING_TREE_NOTE + overlay(unstaged)


# -- status ----------------------------------------------------------------------------------

StatusCell = tuple[str, str, str, int]  # version, since, sha7, age in seconds


def status_rows(result: CliRun) -> dict[tuple[str, str], dict[str, list[StatusCell]]]:
    """(app, artifact) -> env -> [(version, since, sha7, age in seconds)] of a JSON status.

    The shape: {"environments": [names in config order], "apps": [{"app", "artifact",
    "environments": {env: [{"version", "since" (ISO 8601), "commit", "age_seconds"}]}}]}; an
    environment holds a list because its locations (clusters) may run several versions.
    """
    assert result.code == 0, result.err
    document = result.json()
    assert document["environments"] == ["dev", "staging", "prod"]
    return {(app["app"], app["artifact"]): {
        env_name: [(cell["version"],
                    datetime.datetime.fromisoformat(cell["since"]).isoformat(),
                    cell["commit"][:7], cell["age_seconds"]) for cell in cells]
        for env_name, cells in app["environments"].items()} for app in document["apps"]}


def test_status_json_shows_each_env_and_since_when(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", [*seed(), *IN_STAGING])
    sha = [repo.rev(f"HEAD~{back}")[:7] for back in range(5)]  # sha[n]: HEAD~n
    hour = 3600
    result = run_cli("promotion", "status", "--now", at(50), "--format", "json",
                     cwd=repo.root)
    assert status_rows(result) == {("web", IMAGE): {
        "dev": [(V1, at(40), sha[1], 10 * hour)],
        "staging": [(V1, at(41), sha[0], 9 * hour)],
        "prod": [(V0, at(30), sha[2], 20 * hour)]}}
    result = run_cli("promotion", "status", "--ref", "HEAD~2", "--now", at(50),
                     "--format", "json", cwd=repo.root)
    assert status_rows(result) == {("web", IMAGE): {
        "dev": [(V0, at(0), sha[4], 50 * hour)],
        "staging": [(V0, at(1), sha[3], 49 * hour)],
        "prod": [(V0, at(30), sha[2], 20 * hour)]}}


def test_status_json_lists_each_cluster_of_an_env(tmp_path: Path, run_cli: RunCli) -> None:
    steps = [*seed(CLUSTERS, plan=CLUSTER_SEED), on_clusters(40, V1, "dev/local"),
             on_clusters(41, V1, "staging/eu-1"), on_clusters(70, V1, "prod/eu-1")]
    repo = play(tmp_path / "repo", steps)
    result = run_cli("promotion", "status", "--now", at(80), "--format", "json",
                     cwd=repo.root)
    envs = status_rows(result)[("web", IMAGE)]
    assert sorted(version for version, *_ in envs["staging"]) == [V0, V1]
    assert sorted(version for version, *_ in envs["prod"]) == [V0, V1]
    assert [version for version, *_ in envs["dev"]] == [V1]


def test_status_text_shows_each_env_and_how_long(tmp_path: Path, run_cli: RunCli) -> None:
    repo = play(tmp_path / "repo", [*seed(), *IN_STAGING])
    result = run_cli("promotion", "status", "--now", at(50), cwd=repo.root)
    assert result.code == 0 and "Traceback" not in result.err, result.err
    lines = result.out.splitlines()
    header = next(line for line in lines if "staging" in line)
    assert [word for word in header.split() if word in EVERYWHERE] == list(EVERYWHERE)
    row = next(line for line in lines if IMAGE in line)
    assert "web" in row.split()
    # dev 1.1.0 for 10h, staging 1.1.0 for 9h, prod 1.0.0 for 20h, in the header's order.
    assert re.search(r"\b1\.1\.0 \(10h\).*\b1\.1\.0 \(9h\).*\b1\.0\.0 \(20h\)", row), row


# -- config errors ---------------------------------------------------------------------------

GOOD_CONFIG = """\
promotion:
  deploy_ref: main
  environments:
    - dev
    - staging
    - {name: prod, after: [staging], min_soak: 24h}
  apps:
    - name: '{app}'
      locations:
        - {path: 'apps/{app}/overlays/{env}/kustomization.yaml', extractor: kustomize-images}
"""

CONFIG_ERRORS = [
    pytest.param("after: [staging]", "after: [stagin]", 6, "stagin", id="unknown-env-in-after"),
    pytest.param("overlays/{env}/", "overlays/prod/", 10, "{env}", id="location-without-env"),
    pytest.param("min_soak: 24h", "min_soak: 1 day", 6, "min_soak", id="min_soak-words"),
    pytest.param("min_soak: 24h", "min_soak: 24", 6, "min_soak", id="min_soak-no-unit"),
]
COMMANDS = [pytest.param(("check", "--now", at(50)), id="check"),
            pytest.param(("audit",), id="audit"),
            pytest.param(("status",), id="status")]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("old", "new", "line", "names"), CONFIG_ERRORS)
def test_config_errors_name_the_file_and_line(tmp_path: Path, run_cli: RunCli,
                                              command: tuple[str, ...], old: str, new: str,
                                              line: int, names: str) -> None:
    assert old in GOOD_CONFIG
    repo = play(tmp_path / "repo", seed(config=GOOD_CONFIG.replace(old, new)))
    result = run_cli("promotion", *command, cwd=repo.root)
    assert result.code == 2, (result.out, result.err)
    assert f"{CONFIG}:{line}:" in result.err and names in result.err, result.err
    assert "Traceback" not in result.err and result.out == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_the_good_config_runs(tmp_path: Path, run_cli: RunCli,
                              command: tuple[str, ...]) -> None:
    repo = play(tmp_path / "repo", seed(config=GOOD_CONFIG))
    result = run_cli("promotion", *command, cwd=repo.root)
    assert result.code == 0, (result.out, result.err)
