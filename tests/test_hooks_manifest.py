""".pre-commit-hooks.yaml: valid for pre-commit, runnable entries, the right files, stages and
batching, documented in the README."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from identify.identify import tags_from_path

from gitops_guard.cli import build_parser
from tests.conftest import REPO_ROOT

HOOKS: list[dict[str, Any]] = yaml.safe_load(
    (REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
HOOK_IDS = [hook["id"] for hook in HOOKS]
BY_ID = {hook["id"]: hook for hook in HOOKS}
FILE_HOOKS = [hook_id for hook_id in HOOK_IDS if hook_id != "gitops-guard-promotion"]
# pre-commit 3.2 renamed the stages (commit -> pre-commit, push -> pre-push).
NEW_STAGE_NAMES = {"pre-commit", "pre-merge-commit", "pre-push", "manual"}


def test_pre_commit_accepts_the_manifest() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_hook_for_everything_and_one_per_check() -> None:
    assert HOOK_IDS == ["gitops-guard", "gitops-guard-manifest", "gitops-guard-schema",
                        "gitops-guard-policy", "gitops-guard-secrets", "gitops-guard-sops",
                        "gitops-guard-promotion"]


# hook id -> (the command its entry runs, the checks that run)
COMMANDS = {
    "gitops-guard": ("check", None),
    "gitops-guard-manifest": ("check", ["manifest"]),
    "gitops-guard-schema": ("schema", None),
    "gitops-guard-policy": ("policy", None),
    "gitops-guard-secrets": ("secrets", None),
    "gitops-guard-sops": ("check", ["sops"]),
    "gitops-guard-promotion": ("promotion", None),
}


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_entry_is_a_valid_command_line(hook_id: str) -> None:
    hook = BY_ID[hook_id]
    program, *argv = shlex.split(hook["entry"])
    assert program == "gitops-guard"
    if hook.get("pass_filenames", True):
        args = build_parser().parse_args([*argv, "a.yaml", "b.yaml"])
        assert args.paths == ["a.yaml", "b.yaml"]
        # pre-commit already runs one process per CPU; the hook must not fork more.
        assert args.jobs == 1
    else:
        args = build_parser().parse_args(argv)
    assert (args.command, getattr(args, "checks", None)) == COMMANDS[hook_id]


@pytest.mark.parametrize("hook_id", FILE_HOOKS)
def test_file_hooks_run_in_parallel_batches(hook_id: str) -> None:
    """Every file hook takes file names and may be split into parallel batches: the checks
    that need other files find them in the repository (tests/test_repo_context.py)."""
    hook = BY_ID[hook_id]
    assert hook.get("pass_filenames", True) is True
    assert hook["require_serial"] is False
    assert hook.get("always_run", False) is False


def test_promotion_reads_history_not_file_names() -> None:
    hook = BY_ID["gitops-guard-promotion"]
    assert (hook["pass_filenames"], hook["always_run"]) == (False, True)
    # It judges the index: at push time that is not what is being pushed.
    assert hook["stages"] == ["pre-commit", "pre-merge-commit", "manual"]


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_stages_are_named_and_need_pre_commit_3_2(hook_id: str) -> None:
    hook = BY_ID[hook_id]
    assert set(hook["stages"]) <= NEW_STAGE_NAMES
    assert "pre-commit" in hook["stages"] and "manual" in hook["stages"]
    assert hook["minimum_pre_commit_version"] == "3.2.0"


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_no_hook_writes_files_outside_the_manual_stage(hook_id: str) -> None:
    """A hook that rewrites files fails the commit it runs in: encryption is opt-in only."""
    hook = BY_ID[hook_id]
    argv = shlex.split(hook["entry"])
    writes = argv[1:2] == ["sops"] or "--in-place" in argv or "-i" in argv
    assert not writes or hook["stages"] == ["manual"]


def test_readme_documents_every_hook() -> None:
    """Each id in the README's hook table (with what it runs) and in its config example."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([\w-]+)` \| (.+) \|$", section, flags=re.M))
    assert sorted(rows) == sorted(HOOK_IDS)
    for hook_id, row in rows.items():
        command = shlex.split(BY_ID[hook_id]["entry"])[1]
        assert command in row, (hook_id, row)
    listed = re.findall(r"^\s*- id: ([\w-]+)", section, flags=re.M)
    assert sorted(set(listed)) == sorted(HOOK_IDS)


def selects(hook: dict[str, Any], filename: str, root: Path) -> bool:
    """Whether pre-commit would pass `filename` to the hook (files, exclude, types, types_or,
    exclude_types), with tags from a real file as pre-commit computes them."""
    path = root / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    binary = filename.endswith((".png", ".p12", ".jks", ".tar.gz"))
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff" if binary else b"a: b\n")
    tags = tags_from_path(str(path))
    if not re.search(hook.get("files", ""), filename):
        return False
    if re.search(hook.get("exclude", "^$"), filename):
        return False
    if not set(hook.get("types", ["file"])) <= tags:
        return False
    types_or = hook.get("types_or", [])
    if types_or and not set(types_or) & tags:
        return False
    return not set(hook.get("exclude_types", [])) & tags


MANIFEST_FILES = {
    "clusters/prod/app.yaml": True,
    "apps/web/kustomization.yml": True,
    "apps/web/configmap.json": True,
    "charts/web/templates/deployment.yaml": True,
    "README.md": False,
    "scripts/deploy.sh": False,
    "apps/web/.env": False,
    "certs/client.p12": False,
    "certs/server.jks": False,
    "assets/logo.png": False,
    "dist/bundle.tar.gz": False,
}
# Secrets leak in every text file, and keystores are binary: all but media and archives.
EVERY_FILE = {**dict.fromkeys(MANIFEST_FILES, True), "assets/logo.png": False,
              "dist/bundle.tar.gz": False}
SELECTIONS = {
    "gitops-guard": EVERY_FILE,
    "gitops-guard-manifest": MANIFEST_FILES,
    "gitops-guard-schema": MANIFEST_FILES,
    "gitops-guard-policy": MANIFEST_FILES,
    "gitops-guard-secrets": EVERY_FILE,
    # .sops.yaml creation rules may cover any text file; keystores are no SOPS files.
    "gitops-guard-sops": {**EVERY_FILE, "certs/client.p12": False, "certs/server.jks": False},
    # No file names (pass_filenames: false), on every commit (always_run).
    "gitops-guard-promotion": dict.fromkeys(MANIFEST_FILES, True),
}


@pytest.mark.parametrize(("hook_id", "filename", "selected"), [
    (hook_id, filename, selected) for hook_id in HOOK_IDS
    for filename, selected in SELECTIONS[hook_id].items()])
def test_hook_file_selection(hook_id: str, filename: str, selected: bool,
                             tmp_path: Path) -> None:
    assert selects(BY_ID[hook_id], filename, tmp_path) is selected
