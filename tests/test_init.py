"""`gitops-guard init`, through main(argv), on temporary GitOps repositories: what it detects,
that the config it writes is accepted, the pre-commit snippet, and that it never overwrites."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gitops_guard import __version__
from gitops_guard.init_command import CRDS_CATALOG, order_environments
from tests.conftest import GOOD_CONFIGMAP, CliRun, write

GIT_REPOSITORY = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m, url: "https://example.com/repo.git", ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
HELM_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ingress, namespace: ingress}
spec:
  interval: 10m
  chart:
    spec: {chart: ingress-nginx, version: 4.10.0, sourceRef: {kind: HelmRepository, name: ingress}}
"""
ARGO_APPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://example.com/repo.git", path: apps/web, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: all, namespace: argocd}
spec: {generators: [], template: {metadata: {name: x}, spec: {project: default}}}
"""
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
images:
  - {name: ghcr.io/acme/web, newTag: 1.0.0}
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: backups.platform.example.com}
spec:
  group: platform.example.com
  names: {kind: Backup, plural: backups, singular: backup}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                schedule: {type: string}
"""
SOPS_CONFIG = """\
creation_rules:
  - path_regex: ^secrets/
    encrypted_regex: ^(data|stringData)$
    age: age14skpty6m3ag6hwtf3z6q7clztc0vp28q55rjqw4jparfdkdunypql68fnv
"""


def init_and_check(repo: Path, run_cli: Callable[..., CliRun], *args: str) -> tuple[CliRun, str]:
    """Run init, then prove `check` accepts what it wrote (exit 0 or 1, never 2)."""
    result = run_cli("init", *args, cwd=repo)
    assert (result.code, result.err) == (0, "")
    config = (repo / ".gitops-guard.yaml").read_text(encoding="utf-8")
    checked = run_cli("check", cwd=repo)
    assert checked.code in (0, 1), checked.err
    assert "error:" not in checked.err
    return result, config


def uncommented(config: str, key: str) -> str:
    """The config with its commented-out `key:` section (up to a blank line) switched on."""
    lines = config.splitlines()
    start = lines.index(f"# {key}:")
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    block = [line[2:] for line in lines[start:end] if not line.startswith("#   #")]
    return "\n".join(lines[:start] + block + lines[end:]) + "\n"


def test_flux(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {"clusters/prod/flux-system/gotk-sync.yaml": GIT_REPOSITORY,
                     "infrastructure/ingress.yaml": HELM_RELEASE})
    result, config = init_and_check(git_repo, run_cli)
    assert result.out.splitlines()[0] == (
        "wrote .gitops-guard.yaml (Flux: 1 GitRepository, 1 HelmRelease, 1 Kustomization)")
    assert "#   - Flux: 1 GitRepository, 1 HelmRelease, 1 Kustomization\n" in config
    # No Flux CRDs in the repository: the CRDs-catalog is offered, commented (it downloads).
    assert f'#   locations: ["{CRDS_CATALOG}"]\n' in config


def test_flux_crds_in_the_repository_need_no_catalog(git_repo: Path,
                                                     run_cli: Callable[..., CliRun]) -> None:
    flux_crd = CRD.replace("platform.example.com", "kustomize.toolkit.fluxcd.io")
    write(git_repo, {"clusters/prod/flux-system/gotk-sync.yaml": GIT_REPOSITORY,
                     "clusters/prod/flux-system/gotk-components.yaml": flux_crd})
    _, config = init_and_check(git_repo, run_cli)
    assert "crds: [clusters/prod/flux-system/]\n" in config
    assert CRDS_CATALOG not in config


def test_argo_cd(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {"argocd/apps.yaml": ARGO_APPS})
    result, config = init_and_check(git_repo, run_cli)
    assert "(Argo CD: 1 Application, 1 ApplicationSet)" in result.out
    assert "#   - Argo CD: 1 Application, 1 ApplicationSet\n" in config
    assert CRDS_CATALOG in config


def test_overlays_suggest_a_promotion_section_that_loads(git_repo: Path,
                                                         run_cli: Callable[..., CliRun]) -> None:
    files = {f"apps/{app}/overlays/{env}/kustomization.yaml": KUSTOMIZATION
             for app in ("web", "api") for env in ("prod", "dev", "staging")}
    files |= {f"apps/{app}/base/kustomization.yaml": "resources: []\n" for app in ("web", "api")}
    files |= {"infrastructure/ingress.yaml": HELM_RELEASE, "argocd/apps.yaml": ARGO_APPS}
    write(git_repo, files)
    result, config = init_and_check(git_repo, run_cli)
    assert "kustomize overlays: dev, staging, prod" in result.out
    assert "      # - id: gitops-guard-promotion   # once promotion: is set up\n" in result.out
    assert "promotion:" not in config.replace("# promotion:", "")  # commented out
    section = config[config.index("# promotion:"):]
    assert section == (
        "# promotion:\n"
        "#   environments:\n"
        "#     - dev\n"
        "#     - {name: staging, min_soak: 24h}\n"
        "#     - {name: prod, min_soak: 24h}\n"
        "#   apps:\n"
        "#     - name: \"{app}\"\n"
        "#       locations:\n"
        "#         - {path: \"apps/{app}/overlays/{env}/kustomization.yaml\", "
        "extractor: kustomize-images}\n"
        "#   # HelmRelease chart versions: extractor: helmrelease-chart\n"
        "#   # Argo CD Application revisions: extractor: argocd-app\n")
    # Switched on as written, it is a valid promotion config.
    (git_repo / ".gitops-guard.yaml").write_text(uncommented(config, "promotion"),
                                                 encoding="utf-8")
    assert run_cli("check", cwd=git_repo).code in (0, 1)
    assert run_cli("rules", cwd=git_repo).code == 0


def test_odd_files_do_not_stop_it(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    from tests.test_explain import TEAM_POLICY

    write(git_repo, {
        "notes.yaml": "- toolkit.fluxcd.io is a list item here\n",
        "half.yaml": "apiVersion: argoproj.io/v1alpha1\nmetadata: {name: no-kind}\n",
        "crds/odd.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                         "metadata: {name: odd}\nspec: []\n",
        "policies/two.yaml": TEAM_POLICY + "---\n" + TEAM_POLICY.replace(
            "require-team-label", "require-owner-label"),
        "broken.yaml": "kind: HelmRelease\napiVersion: helm.toolkit.fluxcd.io/v2\n: :\n",
        "overlays/prod/Kustomization": KUSTOMIZATION,
    })
    (git_repo / "dangling.yaml").symlink_to(git_repo / "nowhere.yaml")
    result = run_cli("init", cwd=git_repo)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[0] == (
        "wrote .gitops-guard.yaml (kustomize overlays: prod; CRDs in crds/; policies in "
        "policies/two.yaml)")
    assert '{path: "overlays/{env}/Kustomization", extractor: kustomize-images}' in \
        (git_repo / ".gitops-guard.yaml").read_text()


def test_a_config_that_cannot_be_written(git_repo: Path,
                                         run_cli: Callable[..., CliRun]) -> None:
    (git_repo / ".gitops-guard.yaml").mkdir()
    result = run_cli("init", cwd=git_repo)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("gitops-guard: error: cannot write .gitops-guard.yaml: ")


def test_overlays_at_the_root_and_unknown_stage_names(git_repo: Path,
                                                      run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {f"overlays/{env}/kustomization.yaml": KUSTOMIZATION
                     for env in ("green", "blue")})
    _, config = init_and_check(git_repo, run_cli)
    assert "# The environment names below are sorted by name: put them in promotion order.\n" \
        in config
    assert "#     - blue\n#     - {name: green, min_soak: 24h}\n" in config
    assert '#     - name: app\n' in config
    assert '{path: "overlays/{env}/kustomization.yaml", extractor: kustomize-images}' in config


@pytest.mark.parametrize(("names", "ordered"), [
    (["prod", "dev", "staging"], ["dev", "staging", "prod"]),
    (["production", "qa", "development", "uat"], ["development", "qa", "uat", "production"]),
    (["prod", "test", "dev"], ["dev", "test", "prod"]),
    (["prod-eu", "dev"], ["dev", "prod-eu"]),  # not recognisable: by name
    (["prod", "canary", "dev"], ["canary", "dev", "prod"]),
    ([], []),
])
def test_environment_order(names: list[str], ordered: list[str]) -> None:
    assert order_environments(names) == ordered


def test_sops(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": SOPS_CONFIG, "apps/cm.yaml": GOOD_CONFIGMAP})
    result, config = init_and_check(git_repo, run_cli)
    assert "(.sops.yaml)" in result.out
    assert "sops:\n  # .sops.yaml found: every file its creation rules cover must be " \
           "SOPS-encrypted,\n" in config
    assert "  creation_rules: true\n" in config


def test_crds_become_schema_crds_for_hooks(git_repo: Path,
                                           run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {
        "platform/crds/backup.yaml": CRD,
        "apps/backup.yaml": "apiVersion: platform.example.com/v1\nkind: Backup\n"
                            "metadata: {name: nightly}\nspec: {schedul: daily}\n",
    })
    _, config = init_and_check(git_repo, run_cli)
    assert "schema:\n" in config
    assert "  crds: [platform/crds/]\n" in config
    # As a hook that passes only the custom resource: its CRD is still known.
    hook = run_cli("check", "--format", "json", "apps/backup.yaml", cwd=git_repo)
    assert [rule for rule, _, _ in hook.findings()] == ["GG-SCHEMA-002"]


def test_team_policies_are_suggested(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    from tests.test_explain import TEAM_POLICY

    write(git_repo, {"policies/team.yaml": TEAM_POLICY})
    _, config = init_and_check(git_repo, run_cli)
    assert "#   paths: [policies/team.yaml]\n" in config
    (git_repo / ".gitops-guard.yaml").write_text(uncommented(config, "policy"),
                                                 encoding="utf-8")
    assert "require-team-label" in run_cli("rules", cwd=git_repo).out


def test_an_empty_repository_gets_the_defaults(git_repo: Path,
                                               run_cli: Callable[..., CliRun]) -> None:
    result, config = init_and_check(git_repo, run_cli)
    assert result.out.splitlines()[0] == "wrote .gitops-guard.yaml"
    assert all(line.startswith("#") or not line.strip() for line in config.splitlines())


def test_the_pre_commit_snippet_is_printed_not_written(git_repo: Path,
                                                       run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("init", cwd=git_repo)
    assert "save this as .pre-commit-config.yaml (not written)" in result.out
    assert not (git_repo / ".pre-commit-config.yaml").exists()
    snippet = result.out[result.out.index("repos:"):]
    assert yaml.safe_load(snippet) == {"repos": [{
        "repo": "https://github.com/<your-org>/gitops-guard", "rev": f"v{__version__}",
        "hooks": [{"id": "gitops-guard"}]}]}


def test_an_existing_pre_commit_config_is_left_alone(git_repo: Path,
                                                     run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".pre-commit-config.yaml": "repos: []\n"})
    result = run_cli("init", cwd=git_repo)
    assert "Add these hooks to the repos: of .pre-commit-config.yaml (not changed):" in result.out
    assert (git_repo / ".pre-commit-config.yaml").read_text() == "repos: []\n"


@pytest.mark.parametrize("name", [".gitops-guard.yaml", ".gitops-guard.yml"])
def test_an_existing_config_is_kept_without_force(name: str, git_repo: Path,
                                                  run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {name: "fail_on: warning\n", ".sops.yaml": SOPS_CONFIG})
    refused = run_cli("init", cwd=git_repo)
    assert (refused.code, refused.out, refused.err) == (
        2, "", f"gitops-guard: error: {name} already exists; use --force to replace it\n")
    assert (git_repo / name).read_text() == "fail_on: warning\n"
    forced = run_cli("init", "--force", cwd=git_repo)
    assert forced.code == 0
    assert forced.out.startswith(f"wrote {name} (")
    assert "creation_rules: true" in (git_repo / name).read_text()
    assert sorted(p.name for p in git_repo.glob(".gitops-guard.y*ml")) == [name]


def test_the_repository_root_by_default_or_dir(git_repo: Path,
                                               run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {"team-a/apps/cm.yaml": GOOD_CONFIGMAP})
    from_below = run_cli("init", cwd=git_repo / "team-a" / "apps")
    assert from_below.out.startswith("wrote ../../.gitops-guard.yaml\n")
    assert "review it, then run: gitops-guard check ../..\n" in from_below.out
    assert (git_repo / ".gitops-guard.yaml").is_file()
    into_dir = run_cli("init", "team-a", cwd=git_repo)
    assert into_dir.out.startswith("wrote team-a/.gitops-guard.yaml\n")
    missing = run_cli("init", "nope", cwd=git_repo)
    assert (missing.code, missing.err) == (2, "gitops-guard: error: not a directory: nope\n")


def test_outside_git_the_working_directory(tmp_path: Path,
                                           run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"overlays/dev/kustomization.yaml": KUSTOMIZATION})
    result = run_cli("init", cwd=tmp_path)
    assert result.code == 0
    assert "#     - dev\n" in (tmp_path / ".gitops-guard.yaml").read_text()
