"""Each hook in .pre-commit-hooks.yaml run by the real pre-commit (`pre-commit try-repo`), in
a fresh git repository, as a team adopting it would: it installs this checkout into its own
environment, selects files by type and fails the commit on findings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, write

REPO_ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin" / "pre-commit"

FILES = {
    "apps/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
    "apps/typo.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {}\n"
                      "dta: {}\n",
    "apps/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n"
                        "  password: hunter2-Prod\n",
    "apps/.env": "GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyz\n",
    "README.md": "# docs\n",
    "apps/debug.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: apps}\n"
                       "spec:\n  automountServiceAccountToken: false\n  containers:\n"
                       "    - name: shell\n      image: busybox:1.36\n"
                       "      securityContext: {privileged: true}\n",
    "deploy/web/dev/kustomization.yaml": "images:\n  - {name: ghcr.io/acme/web, newTag: 1.2.0}\n",
    "deploy/web/prod/kustomization.yaml": "images:\n  - {name: ghcr.io/acme/web, newTag: latest}\n",
    ".gitops-guard.yaml": "sops:\n  paths: ['apps/**']\n"
                          "promotion:\n  environments: [dev, prod]\n  apps:\n"
                          "    - name: '{app}'\n      locations:\n"
                          "        - {path: 'deploy/{app}/{env}/kustomization.yaml', "
                          "extractor: kustomize-images}\n",
}

# hook id -> the rules its run must report (and nothing outside these checks)
EXPECTED = {
    "gitops-guard-manifest": {"GG-MANIFEST-002"},
    "gitops-guard-schema": {"GG-SCHEMA-002"},
    "gitops-guard-secrets": {"GG-SECRET-001", "GG-SECRET-002"},
    "gitops-guard-sops": {"GG-SOPS-001"},
    "gitops-guard": {"GG-MANIFEST-002", "GG-SCHEMA-002", "GG-SECRET-001", "GG-SOPS-001",
                     "pss-baseline-privileged"},
    "gitops-guard-policy": {"pss-baseline-privileged"},
    # The staged tree of a repository without commits: prod names a floating tag.
    "gitops-guard-promotion": {"PROMO005"},
}
# Errors only: the policy check also warns (restricted controls, best practices).
FINDING = re.compile(r"^\s+\d+:\d+\s+error\s+(\S+)", re.M)


@pytest.fixture(scope="module")
def hook_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One `pre-commit try-repo` run of every hook (one install); each hook's output."""
    program = str(PRE_COMMIT) if PRE_COMMIT.exists() else shutil.which("pre-commit")
    if program is None:
        pytest.skip("pre-commit is not installed")
    repo = tmp_path_factory.mktemp("adopter")
    git(repo, "init", "-q", "-b", "main")
    write(repo, FILES)
    git(repo, "add", ".")
    result = subprocess.run(
        [program, "try-repo", str(REPO_ROOT), "--all-files", "--color", "never"],
        cwd=repo, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("home"))})
    output = result.stdout + result.stderr
    if "Could not find a version" in output or "Failed to establish" in output:
        pytest.skip("pre-commit could not install the hook's dependencies (no package index)")
    assert result.returncode == 1, output
    sections = re.split(r"^- hook id: (\S+)$", output, flags=re.M)
    return dict(zip(sections[1::2], sections[2::2], strict=True))


@pytest.mark.parametrize("hook", sorted(EXPECTED))
def test_hook_runs_under_pre_commit(hook: str, hook_outputs: dict[str, str]) -> None:
    output = hook_outputs[hook]
    assert "- exit code: 1" in output
    reported = set(FINDING.findall(output))
    assert reported == EXPECTED[hook], output
    assert "hunter2-Prod" not in output and "ghp_0123" not in output
