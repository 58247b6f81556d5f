"""The user docs stay true: the README links every page, rule ids named in the pages exist, the
manifest page lists every manifest rule, and the examples are what the tool prints."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_guard.catalog import rule_catalog
from gitops_guard.checks.manifest import RULES as MANIFEST_RULES
from tests.conftest import REPO_ROOT, CliRun, write

DOCS = REPO_ROOT / "docs"
NEW_PAGES = ("manifest.md", "output-formats.md", "config-reference.md", "migrating.md")
_RULE_ID = re.compile(r"`((?:GG-[A-Z]+-\d{3})|(?:PROMO\d{3})|(?:(?:pss|bp)-[a-z-]+[a-z]))`")
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def example(text: str, command: str) -> str:
    """What a ```console block shows after `$ command`, up to the next command or fence."""
    start = text.index(f"$ {command}\n") + len(command) + 3
    end = min(i for i in (text.find("\n$ ", start), text.find("\n```", start)) if i != -1)
    return text[start:end + 1]


@pytest.mark.parametrize("name", NEW_PAGES)
def test_the_readme_links_the_page(name: str) -> None:
    assert f"(docs/{name})" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NEW_PAGES)
def test_rule_ids_and_links_in_the_page_exist(name: str) -> None:
    text = page(name)
    unknown = sorted({rule for rule in _RULE_ID.findall(text) if rule not in rule_catalog()}
                     - {"pss-restricted-*"})
    assert unknown == []
    broken = [target for target in _LINK.findall(text)
              if not target.startswith("http") and not (DOCS / target).exists()]
    assert broken == []


def test_the_manifest_page_lists_every_manifest_rule_and_level() -> None:
    rows = re.findall(r"^\| (GG-MANIFEST-\d{3}) \| (\w+) \|", page("manifest.md"), re.M)
    assert rows == [(rule.id, rule.severity.value)
                    for rule in sorted(MANIFEST_RULES, key=lambda r: r.id)]


WEB = """\
apiVersion: v1
kind: ConfigMap
metadata:
  labels: {app: web}
data:
  mode: fast
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: db
data:
  password: hunter2-Prod
"""


@pytest.mark.parametrize("fmt", ["", " --format json", " --format junit", " --format github"])
def test_output_format_examples_are_real(fmt: str, git_repo: Path,
                                         run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {"apps/web.yaml": WEB})
    command = f"gitops-guard check --checks manifest,secrets{fmt}"
    result = run_cli(*command.split()[1:], cwd=git_repo)
    assert result.out == example(page("output-formats.md"), command)


def test_the_sarif_example_is_real(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {"apps/web.yaml": WEB})
    result = run_cli("check", "--checks", "manifest,secrets", "--format", "sarif", cwd=git_repo)
    shown = example(page("output-formats.md"),
                    "gitops-guard check --checks manifest,secrets --format sarif")
    real = result.out.replace(git_repo.as_uri(), "file:///tmp/odemo")
    # The page elides rules and results with "...": every line it shows is in the output.
    lines = real.splitlines()
    shown_lines = [line for line in shown.splitlines() if line.strip() != "..."]
    missing = [line for line in shown_lines if line not in lines]
    assert missing == []


def test_the_summary_example_is_real(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {"apps/web.yaml": WEB})
    result = run_cli("check", "--checks", "manifest,secrets", "--format", "json", "--summary",
                     cwd=git_repo)
    assert result.err == example(page("output-formats.md"), "gitops-guard check --checks "
                                 "manifest,secrets --format json --summary > report.json")


def test_the_manifest_example_is_real(git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {
        "apps/web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n"
                         "  mode: fast\n  mode: safe\n---\napiVersion: v1\nkind: Y\n"
                         "metadata:\n  name: no\n---\nkind: Service\nmetadata: {name: api}\n"
                         "---\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: listed}\n",
        "apps/tabs.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabbed\n",
        "apps/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\n",
        "apps/empty.yaml": "# placeholder\n",
        "apps/values-template.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                     "  name: {{ .Values.name }}\n",
    })
    result = run_cli("check", "--checks", "manifest", cwd=git_repo)
    assert result.out == example(page("manifest.md"), "gitops-guard check --checks manifest")
