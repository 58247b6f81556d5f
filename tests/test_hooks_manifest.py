""".pre-commit-hooks.yaml: valid for pre-commit, runnable entries, documented, right files."""

from __future__ import annotations

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


def test_pre_commit_accepts_the_manifest() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ids_are_prefixed_and_unique() -> None:
    assert len(HOOK_IDS) == len(set(HOOK_IDS))
    assert all(hook_id == "gitops-guard" or hook_id.startswith("gitops-guard-")
               for hook_id in HOOK_IDS)
    assert {"gitops-guard", "gitops-guard-manifest"} <= set(HOOK_IDS)


@pytest.mark.parametrize("hook", HOOKS, ids=HOOK_IDS)
def test_entry_is_a_valid_command_line(hook: dict[str, Any]) -> None:
    program, *argv = shlex.split(hook["entry"])
    assert program == "gitops-guard"
    if hook.get("pass_filenames", True):
        args = build_parser().parse_args([*argv, "some-file.yaml"])
        assert args.paths == ["some-file.yaml"]
    else:
        # A hook that reads the repository's history runs once, with no file names.
        assert hook.get("always_run") is True
        build_parser().parse_args(argv)


def test_readme_documents_every_hook() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [hook_id for hook_id in HOOK_IDS if f"id: {hook_id}\n" not in readme]
    assert missing == []


def selects(hook: dict[str, Any], filename: str, root: Path) -> bool:
    """Whether pre-commit would pass `filename` to the hook (types/types_or/files/exclude),
    with tags from a real file as pre-commit computes them (text or binary by content)."""
    import re

    path = root / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" if filename.endswith(".png") else b"a: b\n")
    tags = tags_from_path(str(path))
    if not set(hook.get("types", ["file"])) <= tags | {"file"}:
        return False
    types_or = hook.get("types_or", [])
    if types_or and not set(types_or) & tags:
        return False
    if not re.search(hook.get("files", ""), filename):
        return False
    return not re.search(hook.get("exclude", "^$"), filename)


MANIFEST_FILES = {
    "clusters/prod/app.yaml": True,
    "apps/web/kustomization.yml": True,
    "apps/web/configmap.json": True,
    "charts/web/templates/deployment.yaml": True,
    "README.md": False,
    "scripts/deploy.sh": False,
    "apps/web/.env": False,
    "assets/logo.png": False,
}
# The secrets hook reads every text file: .env, scripts and docs leak too.
SELECTIONS = dict.fromkeys(HOOK_IDS, MANIFEST_FILES)
SELECTIONS["gitops-guard-secrets"] = {**MANIFEST_FILES, "README.md": True,
                                      "scripts/deploy.sh": True, "apps/web/.env": True}
# The sops hook needs .env and .ini files too; other text files cost a read and are skipped.
SELECTIONS["gitops-guard-sops"] = SELECTIONS["gitops-guard-secrets"]
# The promotion hook runs on every commit (always_run, no file names): it reads git itself.
SELECTIONS["gitops-guard-promotion"] = dict.fromkeys(MANIFEST_FILES, True)


@pytest.mark.parametrize(("hook", "filename", "selected"), [
    (hook, filename, selected) for hook in HOOKS
    for filename, selected in SELECTIONS[hook["id"]].items()])
def test_hook_file_selection(hook: dict[str, Any], filename: str, selected: bool,
                             tmp_path: Path) -> None:
    assert selects(hook, filename, tmp_path) is selected
