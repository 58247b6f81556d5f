"""Which files a run checks: git's view inside a work tree, a walk elsewhere, excludes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_guard.checks.base import yaml_or_json
from gitops_guard.discovery import discover
from gitops_guard.errors import GuardError
from tests.conftest import git, write

FILES = {
    "apps/a.yaml": "a: 1\n",
    "apps/b.yml": "b: 1\n",
    "apps/c.json": "{}\n",
    "apps/readme.md": "# not yaml\n",
    "vendor/v.yaml": "v: 1\n",
    "build/out.yaml": "o: 1\n",
}


def names(root: Path, paths: list[str], **kwargs: object) -> list[str]:
    found = discover(paths, cwd=root, wanted=yaml_or_json, **kwargs)  # type: ignore[arg-type]
    return [c.display for c in found]


def test_walk_outside_git(tmp_path: Path) -> None:
    write(tmp_path, {**FILES, ".git-not/x.yaml": "x: 1\n"})
    (tmp_path / "sub").mkdir()
    assert names(tmp_path, ["."]) == [".git-not/x.yaml", "apps/a.yaml", "apps/b.yml",
                                      "apps/c.json", "build/out.yaml", "vendor/v.yaml"]


def test_git_work_tree_means_tracked_plus_untracked_not_ignored(git_repo: Path) -> None:
    write(git_repo, {**FILES, ".gitignore": "build/\n"})
    git(git_repo, "add", "apps/a.yaml", "vendor/v.yaml")
    git(git_repo, "commit", "-qm", "init")
    (git_repo / "vendor" / "v.yaml").unlink()  # tracked but deleted: not checked
    assert names(git_repo, []) == ["apps/a.yaml", "apps/b.yml", "apps/c.json"]
    assert names(git_repo, ["apps"]) == ["apps/a.yaml", "apps/b.yml", "apps/c.json"]


def test_git_skips_dot_git_and_nested_repos_content(git_repo: Path) -> None:
    write(git_repo, {"a.yaml": "a: 1\n", ".git/fake.yaml": "x: 1\n"})
    assert names(git_repo, []) == ["a.yaml"]


def test_ignored_directory_named_explicitly_is_walked(git_repo: Path) -> None:
    write(git_repo, {**FILES, ".gitignore": "build/\n"})
    assert names(git_repo, ["build"]) == ["build/out.yaml"]


def test_explicit_files_are_taken_whatever_their_suffix(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert names(tmp_path, ["apps/readme.md", "apps/a.yaml", "apps/a.yaml"]) == [
        "apps/a.yaml", "apps/readme.md"]


def test_excludes_are_globs_from_the_config_root(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert names(tmp_path, [], exclude=("vendor/", "*.json", "build/**")) == [
        "apps/a.yaml", "apps/b.yml"]
    # explicit files are excluded too, so pre-commit runs honour the config
    assert names(tmp_path, ["vendor/v.yaml"], exclude=("vendor",)) == []
    # relative to the root given, not to the working directory
    assert names(tmp_path / "apps", ["."], exclude=("apps/a.yaml",),
                 exclude_root=tmp_path) == ["b.yml", "c.json"]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(GuardError, match=r"no such file or directory: nope\.yaml"):
        names(tmp_path, ["nope.yaml"])


def test_directory_named_like_a_file_is_walked(tmp_path: Path) -> None:
    write(tmp_path, {"x.yaml/inner.yaml": "a: 1\n"})
    assert names(tmp_path, ["x.yaml"]) == ["x.yaml/inner.yaml"]
    assert names(tmp_path, []) == ["x.yaml/inner.yaml"]


def test_symlinked_directories_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, {"real/a.yaml": "a: 1\n"})
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert names(tmp_path, []) == ["real/a.yaml"]


def test_paths_outside_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path, {"other/a.yaml": "a: 1\n", "here/b.yaml": "b: 1\n"})
    assert names(tmp_path / "here", ["../other"]) == ["../other/a.yaml"]
