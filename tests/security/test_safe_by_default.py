"""Safe by default: what the tool reads, runs and reaches without being asked.

- a symlink that leaves the repository is not followed (discovery and named paths);
- the config cannot name files outside its repository without --allow-outside-repo;
- no shell: no `shell=True`, `os.system` or `os.popen`; every subprocess gets an argv list;
- policy files cannot run code: CEL has no filesystem, environment or network functions, and
  YAML tags that would build Python objects are errors in every file the tool reads as config;
- no network: every command on a realistic repository runs with every socket connect refused.
"""

from __future__ import annotations

import ast
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops_guard import config, confine
from tests.conftest import (
    GOOD_CONFIGMAP,
    NAMELESS_CONFIGMAP,
    WIDGET,
    WIDGET_CRD,
    CliRun,
    git,
    write,
)
from tests.promotion.gitrepo import GitRepo
from tests.security.conftest import PlantedRepo, RunCli

PACKAGE = Path(__file__).resolve().parents[2] / "gitops_guard"
OUTSIDE_NOTE = "a symlink leading outside the repository"


def reported_files(result: CliRun) -> set[str]:
    return {path for _, path, _ in result.findings()}


# -- symlinks ------------------------------------------------------------------------------


@pytest.fixture
def linked_repo(tmp_path: Path) -> Path:
    """A git work tree with symlinks out of it, and one inside it. The outside file would
    give a finding (GG-MANIFEST-005) if it were read."""
    write(tmp_path / "outside", {"nameless.yaml": NAMELESS_CONFIGMAP,
                                 "dir/nameless.yaml": NAMELESS_CONFIGMAP})
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, {"good.yaml": GOOD_CONFIGMAP, "real/nameless.yaml": NAMELESS_CONFIGMAP})
    (repo / "out.yaml").symlink_to("../outside/nameless.yaml")
    (repo / "abs.yaml").symlink_to(tmp_path / "outside" / "nameless.yaml")
    (repo / "outdir").symlink_to("../outside/dir")
    (repo / "in.yaml").symlink_to("real/nameless.yaml")
    return repo


@pytest.mark.parametrize("tracked", [False, True], ids=["untracked", "tracked"])
def test_directory_discovery_skips_symlinks_leaving_the_repository(
        linked_repo: Path, run_cli: RunCli, tracked: bool) -> None:
    if tracked:
        git(linked_repo, "add", "-A")
    result = run_cli("check", "--checks", "manifest", "--format", "json", ".", cwd=linked_repo)
    assert reported_files(result) == {"in.yaml", "real/nameless.yaml"}
    assert result.code == 1
    assert f"abs.yaml: {OUTSIDE_NOTE}" in result.err
    assert f"out.yaml: {OUTSIDE_NOTE}" in result.err
    assert "in.yaml" not in result.err  # a symlink inside the repository is fine


@pytest.mark.parametrize(("path", "note"), [
    ("out.yaml", "out.yaml"),
    ("abs.yaml", "abs.yaml"),
    ("outdir/nameless.yaml", "outdir/nameless.yaml"),  # through a symlinked directory
    ("outdir", "outdir"),  # a named directory that is such a symlink
])
def test_named_paths_leaving_the_repository_are_skipped(
        linked_repo: Path, run_cli: RunCli, path: str, note: str) -> None:
    result = run_cli("check", "--checks", "manifest", "--format", "json", path, "good.yaml",
                     cwd=linked_repo)
    assert (result.code, reported_files(result)) == (0, set())
    assert f"gitops-guard: warning: {note}: {OUTSIDE_NOTE} (.); not read" in result.err


def test_a_named_symlink_inside_the_repository_is_read(linked_repo: Path,
                                                       run_cli: RunCli) -> None:
    result = run_cli("check", "--checks", "manifest", "--format", "json", "in.yaml",
                     cwd=linked_repo)
    assert (result.code, reported_files(result), result.err) == (1, {"in.yaml"}, "")


def test_outside_git_the_named_directory_is_the_boundary(tmp_path: Path,
                                                         run_cli: RunCli) -> None:
    write(tmp_path, {"outside.yaml": NAMELESS_CONFIGMAP, "tree/real.yaml": NAMELESS_CONFIGMAP})
    (tmp_path / "tree" / "up.yaml").symlink_to("../outside.yaml")
    (tmp_path / "tree" / "same.yaml").symlink_to("real.yaml")
    result = run_cli("check", "--checks", "manifest", "--format", "json", "tree",
                     cwd=tmp_path)
    assert reported_files(result) == {"tree/real.yaml", "tree/same.yaml"}
    assert f"tree/up.yaml: {OUTSIDE_NOTE} (tree); not read" in result.err
    # A named file: its own directory is the boundary.
    named = run_cli("check", "--checks", "manifest", "tree/up.yaml", cwd=tmp_path)
    assert (named.code, f"tree/up.yaml: {OUTSIDE_NOTE} (tree); not read" in named.err) == (
        0, True)


def test_a_staged_run_never_reads_symlinks(linked_repo: Path, run_cli: RunCli) -> None:
    git(linked_repo, "add", "-A")
    result = run_cli("check", "--checks", "manifest", "--format", "json", "--staged",
                     cwd=linked_repo)
    assert reported_files(result) == {"real/nameless.yaml"}


# -- the config stays in its repository ----------------------------------------------------


OUTSIDE_CONFIGS = [
    pytest.param("schema:\n  crds: [../outside/crds]\n", 2, "schema.crds[0]",
                 "../outside/crds", id="schema.crds"),
    pytest.param("schema:\n  crds:\n    - crds\n    - /etc\n", 4, "schema.crds[1]", "/etc",
                 id="schema.crds-absolute"),
    pytest.param("schema:\n  crds: [linked-crds]\n", 2, "schema.crds[0]", "linked-crds",
                 id="schema.crds-symlink"),
    pytest.param("schema:\n  offline: true\n  locations:\n    - ../outside/schemas\n", 4,
                 "schema.locations[0]", "../outside/schemas", id="schema.locations-dir"),
    pytest.param("schema:\n  locations: ['../outside/{{.ResourceKind}}.json']\n", 2,
                 "schema.locations[0]", "../outside", id="schema.locations-template"),
    pytest.param("schema:\n  locations: [/tmp/k.json]\n", 2, "schema.locations[0]",
                 "/tmp/k.json", id="schema.locations-file"),
    pytest.param("policy:\n  paths: [../outside/policies]\n", 2, "policy.paths[0]",
                 "../outside/policies", id="policy.paths"),
    pytest.param("baseline: ../outside/known.json\n", 1, "baseline", "../outside/known.json",
                 id="baseline"),
    pytest.param("promotion:\n  overrides:\n    approvals_file: ../outside/approvals.yaml\n",
                 3, "promotion.overrides.approvals_file", "../outside/approvals.yaml",
                 id="promotion.overrides.approvals_file"),
]


def test_every_key_the_schema_marks_as_a_path_has_a_row_above() -> None:
    """confine guards the keys the config schema marks (confine.READS): a check adding a
    path-valued key marks it, and it is then refused outside the repository."""
    rows = {re.sub(r"\[\d+\]", "[]", param.values[2]) for param in OUTSIDE_CONFIGS}
    assert set(confine.path_keys(config.schema())) == rows


@pytest.fixture
def config_repo(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    write(outside, {"crds/crd.yaml": "kind: CustomResourceDefinition\n",
                    "policies/p.yaml": "not: a policy\n", "known.json": "{}\n"})
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, {"good.yaml": GOOD_CONFIGMAP, "crds/.keep": ""})
    (repo / "linked-crds").symlink_to(outside / "crds")
    return repo


@pytest.mark.parametrize(("config", "line", "key", "written"), OUTSIDE_CONFIGS)
def test_config_paths_outside_the_repository_are_refused(
        config_repo: Path, run_cli: RunCli, config: str, line: int, key: str,
        written: str) -> None:
    write(config_repo, {".gitops-guard.yaml": config})
    result = run_cli("check", "good.yaml", cwd=config_repo)
    assert result.code == 2
    assert result.out == ""
    assert "Traceback" not in result.err
    assert f".gitops-guard.yaml:{line}:" in result.err
    assert f"{key}: {written!r} is outside the repository" in result.err
    assert "pass --allow-outside-repo to read it" in result.err


@pytest.mark.parametrize("config", [
    "schema:\n  crds: [crds, ./crds/../crds]\n",
    "schema:\n  offline: true\n  locations: [default, 'https://example.com/{{.ResourceKind}}"
    ".json', 'schemas/{{.ResourceKind}}.json', '{{.ResourceKind}}.json']\n",
    "baseline: sub/../known.json\n",
], ids=["crds-inside", "locations-urls-and-inside", "baseline-inside"])
def test_config_paths_inside_the_repository_and_urls_are_fine(
        config_repo: Path, run_cli: RunCli, config: str) -> None:
    write(config_repo, {".gitops-guard.yaml": config})
    result = run_cli("check", "--checks", "manifest,schema", "good.yaml", cwd=config_repo)
    assert (result.code, result.err) == (0, "")


def test_outside_git_the_config_directory_is_the_boundary(tmp_path: Path,
                                                          run_cli: RunCli) -> None:
    write(tmp_path, {"crds/crd.yaml": "kind: CustomResourceDefinition\n",
                     "cfg/.gitops-guard.yaml": "schema:\n  crds: [../crds]\n",
                     "cfg/good.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", "good.yaml", cwd=tmp_path / "cfg")
    assert result.code == 2
    assert ".gitops-guard.yaml:2:" in result.err and "schema.crds[0]" in result.err


def test_allow_outside_repo_reads_them(config_repo: Path, run_cli: RunCli,
                                       tmp_path: Path) -> None:
    write(tmp_path / "outside", {"crds/crd.yaml": WIDGET_CRD})
    write(config_repo, {".gitops-guard.yaml": "schema:\n  crds: [../outside/crds]\n",
                        "widget.yaml": WIDGET})
    refused = run_cli("check", "--checks", "schema", "widget.yaml", cwd=config_repo)
    assert refused.code == 2
    allowed = run_cli("check", "--checks", "schema", "--allow-outside-repo", "--format",
                      "json", "widget.yaml", cwd=config_repo)
    # The outside CRD was read: the Widget's size is validated against it.
    assert allowed.code == 1
    assert [rule for rule, _, _ in allowed.findings()] == ["GG-SCHEMA-001"]


# Every command that reads a config, each with what it needs in the repository.
CONFIG_COMMANDS = {
    "check": ("check", "good.yaml"),
    "schema": ("schema", "good.yaml"),
    "secrets scan": ("secrets", "scan", "good.yaml"),
    "secrets baseline create": ("secrets", "baseline", "create", "good.yaml"),
    "policy check": ("policy", "check", "good.yaml"),
    "policy list": ("policy", "list"),
    "rules": ("rules",),
    "explain": ("explain", "GG-SCHEMA-001"),
    "promotion check": ("promotion", "check"),
    "promotion audit": ("promotion", "audit"),
    "promotion status": ("promotion", "status"),
}
PROMOTION = ("promotion:\n  environments: [dev, prod]\n  apps:\n    - name: web\n"
             "      locations: [{path: 'envs/{env}/values.yaml', extractor: yaml-path,\n"
             "                   field: version}]\n")


@pytest.mark.parametrize("argv", list(CONFIG_COMMANDS.values()), ids=list(CONFIG_COMMANDS))
def test_every_command_refuses_config_paths_outside_unless_allowed(
        config_repo: Path, run_cli: RunCli, argv: tuple[str, ...]) -> None:
    write(config_repo, {".gitops-guard.yaml": "baseline: ../outside/known.json\n" + PROMOTION,
                        "envs/dev/values.yaml": "version: 1.0.0\n"})
    write(config_repo.parent / "outside", {"known.json": '{"version": 1, "findings": []}\n'})
    git(config_repo, "add", "-A")
    git(config_repo, "commit", "-qm", "start")
    refused = run_cli(*argv, cwd=config_repo)
    assert refused.code == 2
    assert ".gitops-guard.yaml:1:" in refused.err
    assert "pass --allow-outside-repo to read it" in refused.err
    allowed = run_cli(*argv, "--allow-outside-repo", cwd=config_repo)
    assert allowed.code in (0, 1), allowed.err
    assert "outside the repository" not in allowed.err


# -- no shell ------------------------------------------------------------------------------


SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output", "getoutput",
                    "getstatusoutput"}
FORBIDDEN = {("os", "system"), ("os", "popen"), ("os", "spawnl"), ("os", "spawnlp"),
             ("asyncio", "create_subprocess_shell"), ("subprocess", "getoutput"),
             ("subprocess", "getstatusoutput")}


def package_modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE.parent).as_posix(), ast.parse(path.read_text(), str(path))


def dotted(node: ast.expr) -> tuple[str, ...]:
    if isinstance(node, ast.Attribute):
        return (*dotted(node.value), node.attr)
    if isinstance(node, ast.Name):
        return (node.id,)
    return ()


def list_names(function: ast.AST) -> set[str]:
    """Names assigned a list or tuple in a function (`argv = [...]`, `shlex.split(...)`)."""
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and (
                isinstance(node.value, (ast.List, ast.Tuple))
                or (isinstance(node.value, ast.Call) and dotted(node.value.func) == (
                    "shlex", "split"))):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_no_shell_anywhere_in_the_package() -> None:
    shells, forbidden, not_lists, subprocess_calls = [], [], [], 0
    for name, module in package_modules():
        functions = [n for n in ast.walk(module)
                     if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for function in functions:
            lists = list_names(function)
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                where = f"{name}:{call.lineno}"
                target = dotted(call.func)
                if any(k.arg == "shell" for k in call.keywords):
                    shells.append(where)
                if target[-2:] in FORBIDDEN or target[-1:] == ("system",):
                    forbidden.append(where)
                if target[:1] == ("subprocess",) and target[-1] in SUBPROCESS_CALLS:
                    subprocess_calls += 1
                    argv = call.args[0] if call.args else next(
                        (k.value for k in call.keywords if k.arg == "args"), None)
                    if not (isinstance(argv, (ast.List, ast.Tuple))
                            or (isinstance(argv, ast.Name) and argv.id in lists)):
                        not_lists.append(where)
    assert (shells, forbidden, not_lists) == ([], [], [])
    assert subprocess_calls >= 10  # the scan sees the calls that exist (git, gpg, editor)


def test_subprocess_is_only_imported_as_a_module() -> None:
    """`from subprocess import run` would hide calls from the scan above."""
    hidden = [f"{name}:{node.lineno}" for name, module in package_modules()
              for node in ast.walk(module)
              if isinstance(node, ast.ImportFrom) and node.module in ("subprocess", "os")
              and any(a.name in SUBPROCESS_CALLS | {"system", "popen"} for a in node.names)]
    assert hidden == []


# -- policy files cannot run code ----------------------------------------------------------


POLICY = """\
apiVersion: policy.gitops-guard.io/v1alpha1
kind: Policy
metadata: {{name: probe}}
spec:
  id: probe
  title: A probe
  description: Tries to reach outside the object.
  remediation: None.
  match:
    kinds: [ConfigMap]
  validations:
    - expression: {expression}
      message: probe
"""


@pytest.mark.parametrize("expression", [
    "'x' == readFile('/etc/passwd')",
    "env('HOME') != ''",
    "getenv('HOME') != ''",
    "http.get('http://127.0.0.1/') == ''",
    "exec('touch pwned') == 0",
    "open('/etc/passwd') != null",
    "import('os') != null",
    "__import__('os') != null",
    "os.system('touch pwned') == 0",
])
def test_cel_has_no_functions_that_reach_outside(tmp_path: Path, run_cli: RunCli,
                                                 expression: str) -> None:
    write(tmp_path, {"policies/probe.yaml": POLICY.format(expression=f'"{expression}"'),
                     ".gitops-guard.yaml": "policy:\n  paths: [policies]\n",
                     "cm.yaml": GOOD_CONFIGMAP})
    result = run_cli("check", "--checks", "policy", "--format", "json", "cm.yaml",
                     cwd=tmp_path)
    assert not (tmp_path / "pwned").exists()
    assert "Traceback" not in result.err
    if result.code == 2:  # not even CEL: the policy file is refused, named
        assert "policies/probe.yaml" in result.err
        return
    # Valid CEL calling what does not exist: the policy cannot be evaluated (a warning).
    [finding] = result.json()["findings"]
    assert (result.code, finding["rule"]) == (0, "probe")
    assert "could not be evaluated on this object" in finding["message"]
    assert "Undefined variable or function" in finding["message"]


PYTHON_TAG = "!!python/object/apply:os.system ['touch {marker}']"


@pytest.mark.parametrize(("name", "content"), [
    (".gitops-guard.yaml", "fail_on: {tag}\n"),
    ("policies/p.yaml", "apiVersion: policy.gitops-guard.io/v1alpha1\nkind: Policy\n"
                        "metadata: {tag}\n"),
    ("approvals.yaml", "approvals:\n  - {tag}\n"),
    (".sops.yaml", "creation_rules: {tag}\n"),
])
def test_python_yaml_tags_are_errors_not_code(tmp_path: Path, run_cli: RunCli, name: str,
                                              content: str) -> None:
    marker = tmp_path / "pwned"
    repo = GitRepo.init(tmp_path / "repo")
    config = "policy:\n  paths: [policies]\n" if name != ".gitops-guard.yaml" else ""
    write(repo.root, {".gitops-guard.yaml": config, "cm.yaml": GOOD_CONFIGMAP,
                      "policies/.keep": ""})
    write(repo.root, {name: content.format(tag=PYTHON_TAG.format(marker=marker))})
    if name == "approvals.yaml":
        command = promotion_repo(repo, approvals="approvals.yaml")
    elif name == ".sops.yaml":
        command = ("sops", "encrypt", "cm.yaml")
    else:
        command = ("check", "cm.yaml")
    result = run_cli(*command, cwd=repo.root)
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err
    assert name in result.err
    assert not marker.exists()


# -- no network ----------------------------------------------------------------------------


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connect refused, loopback and unix sockets included, and no name lookups."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args[1:] if args and isinstance(args[0], socket.socket) else args)
        raise OSError("network access in a no-network test")

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse)
    for name in ("getaddrinfo", "gethostbyname", "create_connection"):
        monkeypatch.setattr(socket, name, refuse)
    return attempts


PROMOTION_CONFIG = """\
promotion:
  deploy_ref: main
  environments: [dev, prod]
  apps:
    - name: web
      locations:
        - {{path: 'apps/web/{{env}}/kustomization.yaml', extractor: kustomize-images}}
{overrides}"""


def promotion_repo(repo: GitRepo, approvals: str | None = None) -> tuple[str, ...]:
    """Commit a promotion config and two environments; returns the command to check it."""
    overrides = f"  overrides:\n    approvals_file: {approvals}\n" if approvals else ""
    kustomization = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                     "images:\n  - name: web\n    newTag: '1.0'\n")
    repo.write({".gitops-guard.yaml": PROMOTION_CONFIG.format(overrides=overrides),
                "apps/web/dev/kustomization.yaml": kustomization,
                "apps/web/prod/kustomization.yaml": kustomization})
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "start", when="2025-01-01T00:00:00Z")
    return ("promotion", "check", "--now", "2025-02-01T00:00:00Z")


@pytest.mark.parametrize("command", [
    ("check",), ("check", "--jobs", "1"), ("schema",), ("policy", "check"),
    ("secrets", "scan"), ("check", "--checks", "sops"),
])
def test_no_network_on_a_realistic_repository(planted_repo: PlantedRepo, run_cli: RunCli,
                                              no_sockets: list[Any],
                                              command: tuple[str, ...]) -> None:
    result = run_cli(*command, "--format", "json", cwd=planted_repo.repo)
    assert result.code == 1, result.err
    assert "internal error" not in result.err
    assert no_sockets == []


def test_no_network_decrypting_and_checking_promotion(planted_repo: PlantedRepo,
                                                       run_cli: RunCli, tmp_path: Path,
                                                       no_sockets: list[Any]) -> None:
    decrypted = run_cli("sops", "decrypt", "enc/secret.yaml", cwd=planted_repo.repo)
    assert decrypted.code == 0, decrypted.err
    repo = GitRepo.init(tmp_path / "promotion")
    promoted = run_cli(*promotion_repo(repo), cwd=repo.root)
    assert promoted.code == 0, promoted.err
    assert no_sockets == []


def test_no_network_on_the_example_repository(run_cli: RunCli, no_sockets: list[Any]) -> None:
    result = run_cli("check", "--format", "json", "examples", cwd=PACKAGE.parent)
    assert result.code == 1
    assert "internal error" not in result.err
    assert no_sockets == []


@pytest.mark.parametrize(("api_version", "kind"), [
    ("v1", "../../outside"), ("v1", "x/../../outside"), ("../../v1", "Thing"),
    ("example.com/v1", "Thing%2F"), ("v1", "Thing\n"),
])
def test_a_checked_files_kind_cannot_lead_a_schema_location_elsewhere(
        tmp_path: Path, api_version: str, kind: str) -> None:
    from gitops_guard.checks.schema.locations import SchemaLocations

    schemas = tmp_path / "repo" / "schemas"
    schemas.mkdir(parents=True)
    (tmp_path / "outside.json").write_text('{"type": "object"}', encoding="utf-8")
    (tmp_path / "repo" / "outside.json").write_text('{"type": "object"}', encoding="utf-8")
    locations = SchemaLocations(["schemas/{{ .ResourceKind }}.json"], root=tmp_path / "repo",
                                version="1.37", strict=True, offline=True,
                                cache_dir=tmp_path / "cache", timeout=1.0)
    assert locations.find(api_version, kind) is None
    # The same location finds a real kind's schema.
    (schemas / "thing.json").write_text('{"type": "object"}', encoding="utf-8")
    assert locations.find("example.com/v1", "Thing") is not None
