""".pre-commit-hooks.yaml: valid for pre-commit, runnable entries, documented, right files."""

from __future__ import annotations

import shlex
import subprocess
import sys
from typing import Any

import pytest
import yaml
from identify.identify import tags_from_filename

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
    args = build_parser().parse_args([*argv, "some-file.yaml"])
    assert args.paths == ["some-file.yaml"]


def test_readme_documents_every_hook() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [hook_id for hook_id in HOOK_IDS if f"id: {hook_id}\n" not in readme]
    assert missing == []


def selects(hook: dict[str, Any], filename: str) -> bool:
    """Whether pre-commit would pass `filename` to the hook (types/types_or/files/exclude)."""
    import re

    tags = tags_from_filename(filename)
    if not set(hook.get("types", ["file"])) <= tags | {"file"}:
        return False
    types_or = hook.get("types_or", [])
    if types_or and not set(types_or) & tags:
        return False
    if not re.search(hook.get("files", ""), filename):
        return False
    return not re.search(hook.get("exclude", "^$"), filename)


@pytest.mark.parametrize("hook", HOOKS, ids=HOOK_IDS)
@pytest.mark.parametrize(("filename", "selected"), [
    ("clusters/prod/app.yaml", True),
    ("apps/web/kustomization.yml", True),
    ("apps/web/configmap.json", True),
    ("charts/web/templates/deployment.yaml", True),
    ("README.md", False),
    ("scripts/deploy.sh", False),
    ("apps/web/.env", False),
])
def test_hook_file_selection(hook: dict[str, Any], filename: str, selected: bool) -> None:
    assert selects(hook, filename) is selected
