"""Finding, validating and reading .gitops-guard.yaml."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from gitops_guard.config import (
    Config,
    Waiver,
    find_config,
    load_config,
    parse_size,
    schema,
)
from gitops_guard.errors import GuardError
from gitops_guard.findings import Severity
from tests.conftest import write


def test_explicit_flag_wins(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": "", "b.yaml": "", ".gitops-guard.yaml": ""})
    found = find_config("a.yaml", {"GITOPS_GUARD_CONFIG": "b.yaml"}, tmp_path)
    assert found == tmp_path / "a.yaml"


def test_environment_before_search(tmp_path: Path) -> None:
    write(tmp_path, {"b.yaml": "", ".gitops-guard.yaml": ""})
    assert find_config(None, {"GITOPS_GUARD_CONFIG": "b.yaml"}, tmp_path) == tmp_path / "b.yaml"


@pytest.mark.parametrize(("explicit", "env", "message"), [
    ("missing.yaml", {}, "config file not found: missing.yaml"),
    (None, {"GITOPS_GUARD_CONFIG": "gone.yaml"}, "gone.yaml (from $GITOPS_GUARD_CONFIG)"),
])
def test_named_config_must_exist(tmp_path: Path, explicit: str | None, env: dict[str, str],
                                 message: str) -> None:
    with pytest.raises(GuardError, match=message.replace("$", r"\$").replace("(", r"\(")
                       .replace(")", r"\)")):
        find_config(explicit, env, tmp_path)


def test_search_walks_up_to_the_git_root(git_repo: Path) -> None:
    write(git_repo.parent, {".gitops-guard.yaml": ""})  # outside the repo: never used
    write(git_repo, {"clusters/prod/x.yaml": ""})
    deep = git_repo / "clusters" / "prod"
    assert find_config(None, {}, deep) is None
    write(git_repo, {".gitops-guard.yml": ""})
    assert find_config(None, {}, deep) == git_repo / ".gitops-guard.yml"
    write(git_repo, {"clusters/.gitops-guard.yaml": ""})
    assert find_config(None, {}, deep) == git_repo / "clusters" / ".gitops-guard.yaml"


def test_no_config_gives_defaults(tmp_path: Path) -> None:
    config = load_config(None, tmp_path)
    assert config == Config(root=tmp_path)
    assert config.fail_on is Severity.ERROR
    assert config.max_file_size == 8 * 1024 * 1024


def test_full_config(tmp_path: Path) -> None:
    write(tmp_path, {".gitops-guard.yaml": """\
checks: [manifest]
exclude: ["vendor/", "*.tmp.yaml"]
max_file_size: 2MiB
fail_on: warning
rules:
  GG-MANIFEST-013: off
  GG-MANIFEST-005: warning
waivers:
  - rules: [GG-MANIFEST-00*]
    match: {paths: [legacy/], kinds: [ConfigMap], namespaces: [team-*], names: [old-*]}
    reason: migrating in Q1
    expires: 2031-03-31
  - rules: [GG-MANIFEST-002]
manifest: {}
"""})
    config = load_config(tmp_path / ".gitops-guard.yaml", tmp_path)
    assert config.checks == ("manifest",)
    assert config.exclude == ("vendor/", "*.tmp.yaml")
    assert config.max_file_size == 2 * 1024 * 1024
    assert config.fail_on is Severity.WARNING
    assert config.rules == {"GG-MANIFEST-013": None, "GG-MANIFEST-005": Severity.WARNING}
    assert config.waivers == (
        Waiver(rules=("GG-MANIFEST-00*",), reason="migrating in Q1",
               expires=datetime.date(2031, 3, 31), paths=("legacy/",), kinds=("ConfigMap",),
               namespaces=("team-*",), names=("old-*",), line=9, column=5),
        Waiver(rules=("GG-MANIFEST-002",), reason="", expires=None, line=13, column=5,
               index=1),
    )
    assert config.root == tmp_path
    assert config.section("manifest") == {}


@pytest.mark.parametrize(("text", "expected"), [
    ("exlude: []\n", "1:1: unknown key 'exlude'; did you mean 'exclude'?"),
    ("fail_on: never\n", "1:10: fail_on: "),
    ("checks: [manifest, nope]\n", "1:20: checks[1]: "),
    ("max_file_size: lots\n", "1:16: max_file_size: "),
    ("rules:\n  GG-MANIFST-002: off\n", "2:3: unknown rule id 'GG-MANIFST-002'; did you mean "
                                        "'GG-MANIFEST-002'?"),
    ("rules:\n  GG-MANIFEST-002: loud\n", "2:20: rules.GG-MANIFEST-002: "),
    ("waivers:\n  - rules: [GG-NOPE-*]\n    reason: x\n",
     "2:13: waiver names no known rule: 'GG-NOPE-*'"),
    ("waivers:\n  - reason: x\n", "2:5: waivers[0]: \"rules\" is a required property"),
    ("waivers:\n  - rules: [GG-MANIFEST-002]\n    expires: 2030-02-30\n    reason: x\n",
     "3:14: expires is not a real date: '2030-02-30'"),
    ("waivers:\n  - rules: [GG-MANIFEST-002]\n    expires: soon\n",
     "3:14: waivers[0].expires: "),
    ("waivers:\n  - rules: [GG-MANIFEST-002]\n    match: {kind: [Pod]}\n",
     "3:13: unknown key 'kind'; did you mean 'kinds'?"),
    ("manifest: {strict: true}\n", "1:12: unknown key 'strict'"),
    ("- a\n- b\n", "1:1: "),
    ("exclude: ['[z-a]']\n", "1:11: invalid glob '[z-a]'"),
])
def test_invalid_config_names_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, {".gitops-guard.yaml": text})
    with pytest.raises(GuardError) as caught:
        load_config(tmp_path / ".gitops-guard.yaml", tmp_path)
    assert f".gitops-guard.yaml:{expected}" in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("a: [\n", ".gitops-guard.yaml:2:1: "),
    ("a: 1\na: 2\n", '.gitops-guard.yaml:2:1: duplicate key "a" (first at line 1)'),
    ("a: 1\n---\nb: 2\n", ".gitops-guard.yaml:3: config file must hold one YAML document"),
])
def test_unparsable_config(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, {".gitops-guard.yaml": text})
    with pytest.raises(GuardError) as caught:
        load_config(tmp_path / ".gitops-guard.yaml", tmp_path)
    assert str(caught.value).startswith(expected)


def test_empty_config_is_defaults(tmp_path: Path) -> None:
    write(tmp_path, {".gitops-guard.yaml": "# nothing yet\n"})
    config = load_config(tmp_path / ".gitops-guard.yaml", tmp_path)
    assert config.checks is None and config.waivers == ()


def test_not_utf8_config(tmp_path: Path) -> None:
    write(tmp_path, {".gitops-guard.yaml": b"a: \xff\n"})
    with pytest.raises(GuardError, match="cannot read config file"):
        load_config(tmp_path / ".gitops-guard.yaml", tmp_path)


@pytest.mark.parametrize(("value", "size"), [
    (123, 123), ("10", 10), ("1KB", 1000), ("1KiB", 1024), ("8MiB", 8 * 1024**2),
    ("2 MB", 2 * 1000**2), ("1G", 1000**3), ("1gib", 1024**3),
])
def test_parse_size(value: int | str, size: int) -> None:
    assert parse_size(value) == size


def test_schema_lists_every_check_section() -> None:
    document = schema()
    assert document["additionalProperties"] is False
    assert "manifest" in document["properties"]
