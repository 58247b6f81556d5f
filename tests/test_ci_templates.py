"""The CI gate templates in hooks/: YAML with the fields GitHub Actions and GitLab CI require,
and every gitops-guard command in them accepted by the CLI as it is today."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_guard.cli import build_parser
from tests.conftest import REPO_ROOT

GITHUB = REPO_ROOT / "hooks" / "github-actions.yml"
GITLAB = REPO_ROOT / "hooks" / "gitlab-ci.yml"
# Top-level keys of .gitlab-ci.yml that are not jobs.
GITLAB_KEYWORDS = frozenset({"default", "include", "stages", "variables", "workflow", "image",
                             "services", "cache", "before_script", "after_script"})


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def commands(script: str) -> Iterator[list[str]]:
    """Each gitops-guard command line of a shell script, split as the shell would."""
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)  # `;`, `||` and `&&` are words of their own
        for start, word in enumerate(words):
            if word == "gitops-guard":
                end = next((i for i in range(start, len(words))
                            if words[i] in ("||", "&&", ";")), len(words))
                yield words[start + 1:end]


def parses(argv: list[str]) -> bool:
    try:
        build_parser().parse_args(argv)
    except SystemExit:
        return False
    return True


# -- GitHub Actions ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return load(GITHUB)


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_github_workflow_shape(workflow: dict[Any, Any]) -> None:
    # YAML 1.1 reads the key `on` as true, which is how PyYAML hands it back.
    triggers = workflow.get("on", workflow.get(True))
    assert set(triggers) == {"pull_request", "push"}
    assert workflow["jobs"]
    for job in workflow["jobs"].values():
        assert isinstance(job["runs-on"], str)
        assert job["steps"]
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
            # Expressions pasted into a script are an injection risk; they go through env.
            assert "${{" not in step.get("run", "")


def test_github_checkout_fetches_all_history(workflow: dict[Any, Any]) -> None:
    [checkout] = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0
    assert [s for s in steps(workflow) if s.get("uses", "").startswith("actions/setup-python@")]


def test_github_sarif_upload(workflow: dict[Any, Any]) -> None:
    [job] = workflow["jobs"].values()
    assert job["permissions"]["security-events"] == "write"
    [sarif] = [s for s in steps(workflow) if "--format sarif" in s.get("run", "")]
    assert sarif["continue-on-error"] is True  # findings must not stop the upload
    output = re.search(r"--output (\S+)", sarif["run"])
    assert output is not None
    [upload] = [s for s in steps(workflow)
                if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert upload["with"]["sarif_file"] == output[1]
    assert "!cancelled()" in upload["if"]
    order = steps(workflow)
    assert order.index(sarif) < order.index(upload)


def test_github_annotations_and_promotion(workflow: dict[Any, Any]) -> None:
    [gate] = [s for s in steps(workflow) if "check --format github" in s.get("run", "")]
    assert "continue-on-error" not in gate  # this step fails the job
    [promotion] = [s for s in steps(workflow) if "promotion check" in s.get("run", "")]
    assert "github.event_name == 'pull_request'" in promotion["if"]
    assert promotion["env"]["BASE_REF"] == "${{ github.base_ref }}"
    [argv] = commands(promotion["run"])
    assert argv[argv.index("--base") + 1] == "origin/$BASE_REF"
    assert argv[argv.index("--head") + 1] == "HEAD"


# -- GitLab CI -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pipeline() -> dict[Any, Any]:
    return load(GITLAB)


def jobs(pipeline: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    """The jobs, each with its `extends` template merged in (one level, as used here)."""
    resolved = {}
    for name, job in pipeline.items():
        if name in GITLAB_KEYWORDS or name.startswith("."):
            continue
        template = pipeline.get(job.get("extends", ""), {})
        resolved[name] = {**template, **job}
    return resolved


def test_gitlab_jobs_shape(pipeline: dict[Any, Any]) -> None:
    assert set(jobs(pipeline)) == {"gitops-guard", "gitops-guard-promotion"}
    for job in jobs(pipeline).values():
        assert job["script"] and all(isinstance(line, str) for line in job["script"])
        assert job.get("image") or pipeline.get("image") or pipeline.get("default", {}).get(
            "image")
        assert job["variables"]["GIT_DEPTH"] == "0"


def test_gitlab_junit_report(pipeline: dict[Any, Any]) -> None:
    job = jobs(pipeline)["gitops-guard"]
    [junit, text] = [argv for line in job["script"] for argv in commands(line)]
    assert junit[:3] == ["check", "--format", "junit"]
    assert job["artifacts"]["reports"]["junit"] == junit[junit.index("--output") + 1]
    assert job["artifacts"]["when"] == "always"  # uploaded when the job fails too
    assert text[0] == "check" and "--format" not in text


def test_gitlab_promotion_on_merge_requests(pipeline: dict[Any, Any]) -> None:
    job = jobs(pipeline)["gitops-guard-promotion"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    [argv] = [argv for line in job["script"] for argv in commands(line)]
    assert argv[argv.index("--base") + 1] == "$CI_MERGE_REQUEST_DIFF_BASE_SHA"
    assert argv[argv.index("--head") + 1] == "$CI_COMMIT_SHA"


# -- both ----------------------------------------------------------------------------------------

def all_commands() -> list[tuple[str, list[str]]]:
    found = []
    for step in steps(load(GITHUB)):
        found += [("github", argv) for argv in commands(step.get("run", ""))]
    for job in jobs(load(GITLAB)).values():
        found += [("gitlab", argv) for line in job["script"] for argv in commands(line)]
    return found


@pytest.mark.parametrize(("platform", "argv"), all_commands(),
                         ids=lambda value: value if isinstance(value, str) else " ".join(value))
def test_every_command_is_accepted_by_the_cli(platform: str, argv: list[str]) -> None:
    assert parses(argv)


def test_the_commands_that_were_found() -> None:
    assert [(platform, argv[0], argv[1]) for platform, argv in all_commands()] == [
        ("github", "check", "--format"), ("github", "check", "--format"),
        ("github", "promotion", "check"),
        ("gitlab", "check", "--format"), ("gitlab", "check", "--color"),
        ("gitlab", "promotion", "check")]


# -- shipped in the wheel --------------------------------------------------------------------

@pytest.mark.slow
def test_hooks_ship_in_the_wheel_and_are_found_there(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "dist"), str(REPO_ROOT)], check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("gitops_guard-*.whl")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    for name in ("pre-commit", "pre-push", "github-actions.yml", "gitlab-ci.yml"):
        assert (target / "gitops_guard/git_hooks" / name).read_bytes() == \
            (REPO_ROOT / "hooks" / name).read_bytes()
    found = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "from gitops_guard.install_hooks import hooks_directory; print(hooks_directory())",
         str(target)], check=True, capture_output=True, text=True).stdout.strip()
    assert found == str(target / "gitops_guard/git_hooks")
