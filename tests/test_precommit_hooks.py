"""Every hook in .pre-commit-hooks.yaml run by the real pre-commit (`pre-commit try-repo`) on
fresh GitOps repositories, as a team adopting it would, and offline.

pre-commit installs this checkout (as it would be committed now) into a new virtualenv with
`pip install .`; pip is pointed at a wheelhouse built here from what is installed
(tests/wheelhouse.py: the build backend and every runtime dependency), with the package index
off (`PIP_NO_INDEX`). Where the machine allows it the run also gets a network namespace of its
own, so nothing can be fetched even by mistake.

Two runs, one install each: one where every hook fails, one where every hook passes. Both give
pre-commit enough file names, and long enough ones, that it splits them into batches whatever
the number of CPUs; the failing run also leaves the CRD and the Namespace out of the file names,
and still sees them (gitops_guard/repo_context.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, WIDGET_CRD, git, write
from tests.test_hooks_manifest import BY_ID, HOOK_IDS, selects

pytestmark = pytest.mark.slow

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"

# pre-commit cuts a batch when its command line would pass 2**17 bytes, whatever the CPUs:
# 48 custom resources under a ~2,800-character directory always make several batches.
DEEP = "apps/widgets/" + "/".join(f"{i:02d}" + "w" * 198 for i in range(14))
WIDGETS = [f"{DEEP}/widget-{n:02d}.yaml" for n in range(48)]
WIDGET = ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w{n}, namespace: apps}}\n"
          "spec:\n  size: {size}\n")

NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: apps
  labels: {{pod-security.kubernetes.io/enforce: {level}}}
"""
PROMOTION = """\
promotion:
  environments: [dev, prod]
  apps:
    - name: '{app}'
      locations:
        - {path: 'deploy/{app}/{env}/kustomization.yaml', extractor: kustomize-images}
"""
# Meets every restricted control but one: an error only where the Namespace says restricted.
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: apps}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: web
      image: ghcr.io/acme/web:1.2.0
      securityContext: {capabilities: {drop: [ALL]}, privileged: %s}
"""

FAILING = {
    ".gitops-guard.yaml": "sops:\n  paths: ['apps/**']\n" + PROMOTION,
    # Not among the file names the hooks get: found in the repository.
    "crds/widget.yaml": WIDGET_CRD,
    "namespaces/apps.yaml": NAMESPACE.format(level="restricted"),
    "apps/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
    "apps/typo.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {}\n"
                      "dta: {}\n",
    "apps/widget.yaml": WIDGET.format(n="bad", size="big"),
    **{name: WIDGET.format(n=n, size=n) for n, name in enumerate(WIDGETS)},
    "apps/web.yaml": POD % "false",
    "apps/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n"
                        "  password: hunter2-Prod\n",
    "apps/.env": "GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyz\n",
    "certs/client.p12": b"0\x82\x05\x00\x02\x01\x030\x82\x04\xff\x00\x00",
    "README.md": "# platform\n",
    "deploy/web/dev/kustomization.yaml": "images:\n  - {name: ghcr.io/acme/web, newTag: 1.2.0}\n",
    "deploy/web/prod/kustomization.yaml": "images:\n  - {name: ghcr.io/acme/web, newTag: latest}\n",
}
NOT_PASSED = ("crds/widget.yaml", "namespaces/apps.yaml")

# hook id -> the (path, rule) of every error its run must report, and no other error.
BAD_WIDGET = {("apps/widget.yaml", "GG-SCHEMA-001")}  # its CRD is in crds/, not passed
RESTRICTED = {("apps/web.yaml", "pss-restricted-allow-privilege-escalation")}  # namespaces/
EXPECTED = {
    "gitops-guard-manifest": {("apps/broken.yaml", "GG-MANIFEST-002")},
    "gitops-guard-schema": {("apps/typo.yaml", "GG-SCHEMA-002"), *BAD_WIDGET},
    "gitops-guard-policy": RESTRICTED,
    "gitops-guard-secrets": {("apps/secret.yaml", "GG-SECRET-001"),
                             ("apps/.env", "GG-SECRET-002"),
                             ("certs/client.p12", "GG-SECRET-006")},
    "gitops-guard-sops": {("apps/secret.yaml", "GG-SOPS-001"), ("apps/.env", "GG-SOPS-001")},
    # The staged tree of a repository without commits: prod names a floating tag.
    "gitops-guard-promotion": {("deploy/web/prod/kustomization.yaml", "PROMO005")},
}
EXPECTED["gitops-guard"] = set().union(*(
    EXPECTED[hook_id] for hook_id in HOOK_IDS if hook_id not in (
        "gitops-guard", "gitops-guard-promotion")))

PASSING = {
    ".gitops-guard.yaml": "sops:\n  paths: ['secrets/**']\n" + PROMOTION,
    ".pre-commit-config.yaml": yaml.safe_dump({"repos": [{
        "repo": "https://github.com/acme/gitops-guard", "rev": "v0.1.0",
        "hooks": [{"id": hook_id} for hook_id in HOOK_IDS]}]}),
    "crds/widget.yaml": WIDGET_CRD,
    # This Namespace lets its pods run privileged (the default level, baseline, does not).
    "namespaces/apps.yaml": NAMESPACE.format(level="privileged"),
    **{name: WIDGET.format(n=n, size=n) for n, name in enumerate(WIDGETS)},
    "apps/debug.yaml": POD % "true",
    "apps/config.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},'
                        ' "data": {"LOG_LEVEL": "info"}}\n',
    "secrets/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: apps}\n"
                       "stringData:\n  password: hunter2-Prod\n",
    "README.md": "# platform\n\nSecrets are SOPS-encrypted for the cluster's age key.\n",
    "scripts/deploy.sh": "#!/bin/sh\nset -eu\nkubectl apply -k \"$1\"\n",
    "deploy/web/dev/kustomization.yaml": "images:\n  - {name: ghcr.io/acme/web, newTag: 1.2.0}\n",
    "deploy/web/prod/kustomization.yaml": "images:\n  - {name: ghcr.io/acme/web, newTag: 1.2.0}\n",
}

FINDING = re.compile(r"^  \S+\s+(error|warning|info)\s+(\S+)")
BATCH = re.compile(r"\((\d+) files?, \d+ documents? checked")
STATUS = re.compile(r"^(.+?)\.{3,}(?:\(no files to check\))?(Passed|Failed|Skipped)$", re.M)


@dataclass(frozen=True)
class HookRun:
    status: str  # Passed, Failed or Skipped
    exit_code: int
    output: str  # what the hook printed (every batch's, one after another)

    def errors(self) -> set[tuple[str, str]]:
        return {(path, rule) for path, severity, rule in self.findings() if severity == "error"}

    def findings(self) -> list[tuple[str, str, str]]:
        """(path, severity, rule) of each finding in the text report."""
        found, path = [], ""
        for line in self.output.splitlines():
            match = FINDING.match(line)
            if match:
                found.append((path, match[1], match[2]))
            elif line and not line.startswith((" ", "-")):
                path = line
        return found

    def batches(self) -> list[int]:
        """How many files each process of the hook checked (one summary per process)."""
        return [int(count) for count in BATCH.findall(self.output)]


@dataclass(frozen=True)
class Outcome:
    code: int  # pre-commit's exit code
    output: str
    hooks: dict[str, HookRun]


TryRepo = Callable[..., Outcome]


def parse(output: str) -> dict[str, HookRun]:
    """pre-commit's report (`--verbose`, no colour): each hook's status, exit code, output."""
    runs: dict[str, HookRun] = {}
    marks = list(STATUS.finditer(output))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        body = output[mark.end():following.start() if following else len(output)]
        hook_id = re.search(r"^- hook id: (\S+)$", body, re.M)
        assert hook_id is not None, body
        code = re.search(r"^- exit code: (\d+)$", body, re.M)
        text = body.split("\n\n", 1)[1] if "\n\n" in body else ""
        runs[hook_id[1]] = HookRun(mark[2], int(code[1]) if code else 0, text)
    return runs


def offline_prefix() -> list[str]:
    """A network namespace of the run's own (no interfaces up) where the kernel allows it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "--net", "--map-root-user", "true"],
                           capture_output=True, check=False)
    return [unshare, "--net", "--map-root-user"] if probe.returncode == 0 else []


def snapshot(source: Path, target: Path) -> Path:
    """A one-commit repository of what `source` would commit now (tracked files as they are on
    disk, untracked ones not ignored): try-repo would leave out untracked files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=source,
        capture_output=True, check=True).stdout.split(b"\0")
    for name in map(os.fsdecode, filter(None, listed)):
        if (source / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", ".")
    commit(target, "snapshot")
    return target


def commit(repo: Path, message: str) -> None:
    # Module fixtures run before the per-test environment (tests/conftest.py) is set.
    git(repo, "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c",
        "commit.gpgsign=false", "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def try_repo(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> TryRepo:
    if not PRE_COMMIT.exists():
        pytest.skip(f"pre-commit is not installed in {PRE_COMMIT.parent}")
    hook_repo = snapshot(REPO_ROOT, tmp_path_factory.mktemp("hook-repo"))
    prefix = offline_prefix()
    dead = "http://127.0.0.1:9"  # no proxy listens there: any download fails at once
    home = tmp_path_factory.mktemp("home")  # nothing written to the real one
    env = {**os.environ, "HOME": str(home), "VIRTUALENV_OVERRIDE_APP_DATA": str(home / "venv"),
           "GIT_CONFIG_NOSYSTEM": "1", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_CONFIG_FILE": os.devnull,
           "VIRTUALENV_NO_PERIODIC_UPDATE": "1", "PRE_COMMIT_COLOR": "never",
           "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead,
           "ALL_PROXY": dead, "NO_PROXY": "", "no_proxy": ""}
    env.pop("PRE_COMMIT_NO_CONCURRENCY", None)

    def run(adopter: Path, *args: str) -> Outcome:
        env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
        result = subprocess.run(
            [*prefix, str(PRE_COMMIT), "try-repo", str(hook_repo), "--verbose",
             "--color", "never", *args],
            cwd=adopter, env=env, capture_output=True, text=True, timeout=900, check=False)
        output = result.stdout + result.stderr
        assert "An unexpected error has occurred" not in output, output
        return Outcome(result.returncode, output, parse(output))

    return run


@pytest.fixture(scope="module")
def failing(try_repo: TryRepo, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """Every hook fails; the CRD and the Namespace are in the repository, not in the files."""
    adopter = tmp_path_factory.mktemp("failing-adopter")
    git(adopter, "init", "-q", "-b", "main")
    write(adopter, FAILING)
    git(adopter, "add", ".")
    files = sorted(name for name in FAILING if name not in NOT_PASSED)
    return try_repo(adopter, "--files", *files)


@pytest.fixture(scope="module")
def passing(try_repo: TryRepo, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """Every hook passes, on every file of a committed repository (`--all-files`)."""
    adopter = tmp_path_factory.mktemp("passing-adopter")
    git(adopter, "init", "-q", "-b", "main")
    write(adopter, PASSING)
    encrypt(adopter, "secrets/db.yaml")
    git(adopter, "add", ".")
    commit(adopter, "platform")
    return try_repo(adopter, "--all-files")


def encrypt(adopter: Path, name: str) -> None:
    """Encrypt a file as a team would: .sops.yaml names the age recipient, then sops encrypt."""
    from pyrage import x25519

    recipient = str(x25519.Identity.generate().to_public())
    write(adopter, {".sops.yaml": "creation_rules:\n  - path_regex: ^secrets/\n"
                                  f"    encrypted_regex: ^(data|stringData)$\n"
                                  f"    age: {recipient}\n"})
    subprocess.run([sys.executable, "-m", "gitops_guard", "sops", "encrypt", "-i", name],
                   cwd=adopter, check=True, capture_output=True)
    assert "hunter2-Prod" not in (adopter / name).read_text(encoding="utf-8")


def test_the_file_names_are_too_long_for_one_batch() -> None:
    """What makes pre-commit split every file hook's run, even on one CPU."""
    assert sum(len(name) + 1 for name in WIDGETS) > 2**17


def test_every_hook_ran(failing: Outcome,
                        passing: Outcome) -> None:
    for outcome in (failing, passing):
        assert sorted(outcome.hooks) == sorted(HOOK_IDS), outcome.output
    assert (failing.code, passing.code) == (1, 0), failing.output + passing.output


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_hook_fails_on_findings(hook_id: str,
                                failing: Outcome) -> None:
    run = failing.hooks[hook_id]
    assert (run.status, run.exit_code) == ("Failed", 1), run.output
    assert run.errors() == EXPECTED[hook_id], run.output
    assert "hunter2-Prod" not in run.output and "ghp_0123" not in run.output


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_hook_passes_a_clean_repository(hook_id: str,
                                        passing: Outcome) -> None:
    run = passing.hooks[hook_id]
    assert (run.status, run.exit_code) == ("Passed", 0), run.output
    assert run.errors() == set(), run.output
    assert "hunter2-Prod" not in run.output


@pytest.mark.parametrize("hook_id", ["gitops-guard", "gitops-guard-schema"])
def test_a_crd_outside_the_batch_validates_its_resources(
        hook_id: str, failing: Outcome) -> None:
    """The bad Widget fails its CRD's schema (above) and none of the 48 good ones, spread over
    several processes, is reported as having no schema: every batch found the CRD."""
    run = failing.hooks[hook_id]
    assert len(run.batches()) >= 2, run.output
    schema_findings = {(path, rule) for path, _, rule in run.findings()
                       if rule.startswith("GG-SCHEMA-")}
    assert schema_findings == {("apps/typo.yaml", "GG-SCHEMA-002"), *BAD_WIDGET}


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_each_file_hook_checks_every_file_it_is_given_in_batches(
        hook_id: str, passing: Outcome,
        tmp_path: Path) -> None:
    """The processes' summaries add up to the files pre-commit selected for the hook (less
    the config file, which is read as config)."""
    run = passing.hooks[hook_id]
    if hook_id == "gitops-guard-promotion":
        assert run.batches() == [], run.output  # one run over history, no files
        return
    names = [*PASSING, ".sops.yaml"]
    given = [name for name in names if selects(BY_ID[hook_id], name, tmp_path)]
    assert len(run.batches()) >= 2, run.output
    assert sum(run.batches()) == len(given) - 1, run.output


def test_the_pod_gets_the_level_of_its_namespace_elsewhere(
        failing: Outcome,
        passing: Outcome) -> None:
    """Restricted there: a missing allowPrivilegeEscalation is an error (a warning under the
    default, baseline). Privileged there: a privileged container passes."""
    assert failing.hooks["gitops-guard-policy"].errors() >= RESTRICTED
    debug = [(severity, rule) for path, severity, rule in passing.hooks["gitops-guard-policy"]
             .findings() if path == "apps/debug.yaml" and rule.startswith("pss-")]
    assert debug == []
