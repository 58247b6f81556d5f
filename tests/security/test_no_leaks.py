"""No planted secret in any output: every report format of every command that reads files,
the baseline commands, and the same as a real process (its own stderr), each with --debug.

The repository (tests/security/corpus.py) holds plaintext Secrets (data and stringData),
tokens of every family the secrets check knows, .env files, a kubeconfig with a token and a
client key, docker configs, Helm values and templates with passwords, SOPS files whose
plaintext is known, and secrets inside files that do not parse.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import CliRun, git, write
from tests.security.conftest import PlantedRepo, RunCli, no_leaks, run_process
from tests.security.leaks import encodings, views, windows

FORMATS = ("text", "json", "sarif", "junit", "github")
# Each command that reports findings, and a rule its report must show (it read the files).
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "check": (("check",), "GG-SECRET-002"),
    "schema": (("schema",), "GG-SCHEMA-"),
    "secrets scan": (("secrets", "scan"), "GG-SECRET-001"),
    "policy check": (("policy", "check"), "secret-pin-numeric"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_reports_show_no_secret(planted_repo: PlantedRepo, run_cli: RunCli, command: str,
                                fmt: str) -> None:
    argv, shown = COMMANDS[command]
    repo, sandbox = planted_repo.repo, planted_repo.sandbox
    before = sandbox.start()
    to_stdout = run_cli(*argv, "--format", fmt, "--debug", "-j", "1", cwd=repo)
    report = repo / f"report.{fmt}"
    to_file = run_cli(*argv, "--format", fmt, "--debug", "-j", "1", "--output", str(report),
                      cwd=repo)
    assert (to_stdout.code, to_file.code) == (1, 1), to_stdout.err
    assert to_file.out == ""
    assert shown in to_stdout.out and shown in report.read_text()
    no_leaks(sandbox, before, {"stdout": to_stdout.out, "stderr": to_stdout.err,
                               "stdout (--output)": to_file.out,
                               "stderr (--output)": to_file.err})


def test_the_run_reads_every_planted_file(planted_repo: PlantedRepo, run_cli: RunCli) -> None:
    """The no-leak tests mean something only if the secrets were seen: each file is reported
    (a finding, or a parse error), and SOPS files are not taken for plaintext."""
    result = run_cli("check", "--format", "json", "-j", "1", cwd=planted_repo.repo)
    paths = {finding["path"] for finding in result.json()["findings"]}
    # Not here, and reported to the lead as gaps of the secrets check (not leaks): `kubeconfig`
    # without a suffix is read as plain text (token formats only), a Helm template's literal
    # apiKey is not a known format, and a .env with a NUL byte is skipped as binary.
    expected = {"secrets/plain.yaml", "secrets/registry.yaml", "values.yaml", ".env",
                "clusters/admin-kubeconfig.yaml", "docker/config.json",
                "apps/web/deployment.yaml", "apps/web/kustomization.yaml",
                "apps/web/creds.env", "id_rsa", ".git-credentials", "enc/added.yaml",
                *(f"broken/{p.name}" for p in (planted_repo.repo / "broken").iterdir()
                  if p.name != "nul.env")}
    assert sorted(expected - paths) == []
    rules = {(f["path"], f["rule"]) for f in result.json()["findings"]}
    assert ("enc/secret.yaml", "GG-SECRET-001") not in rules
    assert ("enc/added.yaml", "GG-SOPS-002") in rules


# -- the baseline -------------------------------------------------------------------------------

def test_baseline_create_update_audit_show_no_secret(planted_repo: PlantedRepo,
                                                     run_cli: RunCli) -> None:
    repo, sandbox = planted_repo.repo, planted_repo.sandbox
    before = sandbox.start()
    outputs: dict[str, str] = {}

    def run(name: str, *argv: str) -> CliRun:
        result = run_cli(*argv, cwd=repo)
        outputs[f"{name} stdout"], outputs[f"{name} stderr"] = result.out, result.err
        return result

    assert run("create", "secrets", "baseline", "create", "--debug", "-j", "1").code == 0
    baseline = repo / ".gitops-guard-baseline.json"
    assert '"secret_sha256"' in baseline.read_text()
    known = run("check", "secrets", "scan", "--format", "json", "--debug", "-j", "1")
    assert known.code == 1  # files that do not parse still fail; known secrets do not
    assert known.json()["suppressed"], "the baseline suppresses nothing"
    no_leaks(sandbox, before, outputs)
    # A new secret and a stale entry, for audit and update to report.
    new_secret = planted_repo.planted.add("added after the baseline", "Wn4bQs8xKt2vHc6m")
    write(repo, {"later/.env": f"DB_PASSWORD={new_secret}\n"})
    (repo / "apps/web/creds.env").unlink()
    before, outputs = sandbox.start(), {}
    audit = run("audit", "secrets", "baseline", "audit", "--debug", "-j", "1")
    assert audit.code == 1 and "stale:" in audit.out and "new: later/.env" in audit.out
    assert run("update", "secrets", "baseline", "update", "--debug", "-j", "1").code == 0
    assert run("audit again", "secrets", "baseline", "audit", "--debug", "-j", "1").code == 0
    no_leaks(sandbox, before, outputs)


# -- other ways to run a check --------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "json"])
def test_staged_with_a_summary_shows_no_secret(planted_repo: PlantedRepo, run_cli: RunCli,
                                               fmt: str) -> None:
    """`check --staged` reads the index, not the files; --summary adds a table."""
    repo = planted_repo.repo
    git(repo, "add", "-A")
    before = planted_repo.sandbox.start()
    result = run_cli("check", "--staged", "--summary", "--format", fmt, "--debug", "-j", "1",
                     cwd=repo)
    assert result.code == 1 and "GG-SECRET-002" in result.out + result.err
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


KUSTOMIZE = shutil.which("kustomize") or shutil.which("kubectl")
needs_kustomize = pytest.mark.skipif(KUSTOMIZE is None, reason="neither kustomize nor kubectl "
                                     "is installed")


@needs_kustomize
@pytest.mark.parametrize("fmt", ["text", "sarif"])
def test_rendered_kustomizations_show_no_secret(planted_repo: PlantedRepo, run_cli: RunCli,
                                                fmt: str) -> None:
    """--render kustomize builds apps/web: its secretGenerator becomes a Secret holding the
    literal and the env file's values."""
    before = planted_repo.sandbox.start()
    result = run_cli("check", "--render", "kustomize", "--format", fmt, "--debug", "-j", "1",
                     "apps", cwd=planted_repo.repo)
    assert result.code == 1 and "GG-SECRET-001" in result.out
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


# -- commands that list, explain or write set-up files -------------------------------------------

@pytest.mark.parametrize("argv", [
    ("rules",), ("policy", "list", "--all"), ("config-schema",), ("explain", "GG-SECRET-001"),
    ("explain", "secret-pin-numeric"), ("init", "--force"), ("install-hooks",)], ids=" ".join)
def test_other_commands_show_no_secret(planted_repo: PlantedRepo, run_cli: RunCli,
                                       argv: tuple[str, ...]) -> None:
    """`init` looks at the whole repository and writes a config; `install-hooks` writes into
    .git/hooks: what they write is searched too."""
    before = planted_repo.sandbox.start()
    result = run_cli(*argv, cwd=planted_repo.repo)
    assert result.code == 0 and result.out
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


POLICY_TEST = """\
policies: [../policies/secret-pin.yaml]
resources: [{resources}]
results:
  - policy: secret-pin-numeric
    resources: [Secret/db, Secret/prod/db]
    result: pass
"""


@pytest.mark.parametrize("resources", ["../secrets/plain.yaml", "../broken/secret-syntax.yaml",
                                       "../broken/secret-duplicate.yaml"])
def test_policy_test_shows_no_secret(planted_repo: PlantedRepo, run_cli: RunCli,
                                     resources: str) -> None:
    repo = planted_repo.repo
    write(repo, {"policy-tests/gitops-guard-test.yaml": POLICY_TEST.format(resources=resources)})
    before = planted_repo.sandbox.start()
    result = run_cli("policy", "test", "policy-tests", "--debug", cwd=repo)
    assert result.code in (1, 2) and (result.out + result.err).strip()
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


# -- a real process ------------------------------------------------------------------------------

PROCESS_RUNS: dict[str, tuple[tuple[str, ...], int]] = {
    "check text": (("check", "--debug"), 1),
    "check sarif to a file": (("check", "--format", "sarif", "--output", "out.sarif",
                               "--debug"), 1),
    "schema junit": (("schema", "--format", "junit", "--debug"), 1),
    "secrets scan github": (("secrets", "scan", "--format", "github", "--debug"), 1),
    "policy check json": (("policy", "check", "--format", "json", "--debug"), 1),
    "baseline create": (("secrets", "baseline", "create", "--debug"), 0),
    "sops decrypt without its key": (("sops", "decrypt", "enc/secret.yaml", "--debug"), 2),
    "sops encrypt of a file that does not parse": (
        ("sops", "encrypt", "broken/secret-syntax.yaml", "--debug"), 2),
}


@pytest.mark.parametrize("name", list(PROCESS_RUNS))
def test_a_real_process_shows_no_secret(planted_repo: PlantedRepo, name: str) -> None:
    argv, code = PROCESS_RUNS[name]
    before = planted_repo.sandbox.start()
    env = {"SOPS_AGE_KEY_FILE": ""} if argv[0] == "sops" else None
    result = run_process(argv, planted_repo.repo, env)
    assert result.code == code, result.err
    no_leaks(planted_repo.sandbox, before, {"stdout": result.out, "stderr": result.err})


def test_parallel_workers_show_no_secret(planted_repo: PlantedRepo) -> None:
    """Enough files for worker processes (-j 2): what they write to stderr is covered too."""
    repo = planted_repo.repo
    for number in range(60):
        value = planted_repo.planted.add(f"bulk file {number}", f"Bk{number:02d}x7Qw3vLp9Zs4")
        write(repo, {f"bulk/cm-{number:02d}.yaml": (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{number}\ndata:\n"
            f"  db_password: {value}\n")})
    sandbox = planted_repo.sandbox
    before = sandbox.start()
    result = run_process(("check", "-j", "2", "--format", "json", "--debug"), repo)
    assert result.code == 1, result.err
    assert "bulk/cm-59.yaml" in result.out
    no_leaks(sandbox, before, {"stdout": result.out, "stderr": result.err})


def test_the_planted_values_are_in_the_files(planted_repo: PlantedRepo) -> None:
    """The detector itself: each planted value (or its base64 form) is in the files written,
    and a leak of it would be found."""
    repo = planted_repo.repo
    text = "\n".join(p.read_bytes().decode("utf-8", "replace")
                     for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    seen = "\n".join(views(text))
    missing = [label for label, value in planted_repo.planted.values.items()
               if not any(piece in seen for form in (value, *encodings(value))
                          for piece in windows(form))]
    # Encrypted, kept outside the repository, and base64 inside base64.
    assert sorted(missing) == ["SOPS plaintext", "age identity", "registry auth password"]
    detector = planted_repo.sandbox.detector
    for label, value in planted_repo.planted.values.items():
        assert detector.find(f"x {value[3:11]} y"), label
        assert detector.find(encodings(value)[0]), label


# -- leaks found by this suite, fixed since --------------------------------------------------

# An unquoted password that starts with `!` is a YAML tag; `!!int` on a value that is none.
TAGGED = {
    "password starting with !": ("db:\n  password: !{secret}\n", "Xk9vBang7Qz4Lw2p"),
    "!!int on a password": ("db:\n  password: !!int {secret}\n", "Rt6mInt3Vx8Kp1w"),
}


@pytest.mark.parametrize("argv", [("check", "tagged/values.yaml", "--debug"),
                                  ("policy", "test", "policy-tests", "--debug")],
                         ids=lambda argv: " ".join(argv[:2]))
@pytest.mark.parametrize("case", list(TAGGED))
def test_a_yaml_tag_error_does_not_echo_the_value(planted_repo: PlantedRepo, run_cli: RunCli,
                                                  case: str, argv: tuple[str, ...]) -> None:
    template, secret = TAGGED[case]
    planted = planted_repo.planted
    planted.add(case, secret)
    repo = planted_repo.repo
    write(repo, {"tagged/values.yaml": template.format(secret=secret),
                 "policy-tests/gitops-guard-test.yaml": POLICY_TEST.format(
                     resources="../tagged/values.yaml")})
    sandbox = planted_repo.sandbox
    before = sandbox.start()
    result = run_cli(*argv, cwd=repo)
    # check: a GG-MANIFEST-001 finding; policy test: an error naming the resource file.
    assert (result.code, "GG-MANIFEST-001" in result.out) == (1, True) or \
        (result.code, "tagged/values.yaml:2:" in result.err) == (2, True)
    no_leaks(sandbox, before, {"stdout": result.out, "stderr": result.err})


@needs_kustomize
def test_a_kustomize_error_does_not_echo_a_literal(planted_repo: PlantedRepo,
                                                   run_cli: RunCli) -> None:
    planted = planted_repo.planted
    secret = planted.add("secretGenerator literal written with a colon", "Zq8wLm3vKt6xNb1c")
    write(planted_repo.repo, {"apps/web/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [deployment.yaml]\nsecretGenerator:\n  - name: creds\n"
        f"    literals: [\"DB_PASSWORD:{secret}\"]\n")})
    sandbox = planted_repo.sandbox
    before = sandbox.start()
    result = run_cli("check", "--render", "kustomize", "--debug", "-j", "1", "apps",
                     cwd=planted_repo.repo)
    assert result.code == 1 and "GG-RENDER-001" in result.out
    no_leaks(sandbox, before, {"stdout": result.out, "stderr": result.err})


@pytest.mark.parametrize("where", ["container env", "ConfigMap"])
def test_schema_errors_do_not_show_a_numeric_credential(planted_repo: PlantedRepo,
                                                        run_cli: RunCli, where: str) -> None:
    planted = planted_repo.planted
    pin = planted.add(f"numeric {where} password", "8473629105")
    manifest = {
        "container env": (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
            "    - name: c\n      image: nginx:1.27\n      env:\n        - name: DB_PASSWORD\n"
            f"          value: {pin}\n"),
        "ConfigMap": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n"
                     f"  db_password: {pin}\n"}[where]
    write(planted_repo.repo, {"numeric/manifest.yaml": manifest})
    sandbox = planted_repo.sandbox
    before = sandbox.start()
    result = run_cli("schema", "numeric/manifest.yaml", "--debug", cwd=planted_repo.repo)
    assert result.code == 1 and "expected string" in result.out
    no_leaks(sandbox, before, {"stdout": result.out, "stderr": result.err})
