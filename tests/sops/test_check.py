"""The sops check: what must be encrypted is, completely; correct files pass as they are."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_guard.sops import keys
from tests.conftest import CliRun, write
from tests.sops.conftest import vectors_or_skip


@pytest.fixture
def recipient(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    secret, public = keys.generate_age_identity()
    key_file = tmp_path / "age.txt"
    key_file.write_text(secret + "\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    for name in ("SOPS_CONFIG", "SOPS_AGE_RECIPIENTS"):
        monkeypatch.delenv(name, raising=False)
    return public


def findings(run_cli: Callable[..., CliRun], repo: Path) -> list[tuple[str, str, int | None]]:
    result = run_cli("check", "--checks", "sops", "--format", "json", cwd=repo)
    assert result.code in (0, 1), result.err
    return result.findings()


FLUX_RULE = ("creation_rules:\n  - path_regex: .*\\.ya?ml$\n"
             "    encrypted_regex: ^(data|stringData)$\n    age: {r}\n")
SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\n"
          "stringData:\n  password: hunter2\n  user: app\n")
DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n"


def encrypt(run_cli: Callable[..., CliRun], repo: Path, name: str, *flags: str) -> None:
    result = run_cli("sops", "encrypt", "-i", *flags, name, cwd=repo)
    assert result.code == 0, result.err


def test_flux_style_files_pass_when_correct(git_repo: Path, recipient: str,
                                            run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": FLUX_RULE.format(r=recipient),
                     "apps/secret.yaml": SECRET,
                     "apps/two.yml": SECRET + "---\n" + SECRET.replace("name: db", "name: db2"),
                     "apps/deploy.yaml": DEPLOYMENT})
    encrypt(run_cli, git_repo, "apps/secret.yaml")
    encrypt(run_cli, git_repo, "apps/two.yml")
    text = (git_repo / "apps" / "two.yml").read_text()
    assert text.count("kind: Secret") == 2 and text.count("sops:") == 2
    assert findings(run_cli, git_repo) == []


def test_a_value_added_after_encryption_is_reported_at_its_line(
        git_repo: Path, recipient: str, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": FLUX_RULE.format(r=recipient), "secret.yaml": SECRET})
    encrypt(run_cli, git_repo, "secret.yaml")
    path = git_repo / "secret.yaml"
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("stringData:")) + 1
    lines.insert(at, "    extra: plain-value\n")
    path.write_text("".join(lines))
    result = run_cli("check", "--checks", "sops", "--format", "json", cwd=git_repo)
    assert result.findings() == [("GG-SOPS-002", "secret.yaml", at + 1)]
    assert "plain-value" not in result.out
    assert "stringData.extra" in result.json()["findings"][0]["message"]


def test_plaintext_files_a_rule_covers(git_repo: Path, recipient: str,
                                       run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": FLUX_RULE.format(r=recipient), "secret.yaml": SECRET,
                     "deploy.yaml": DEPLOYMENT,
                     "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                                "data: {}\n"})
    # The rule encrypts only data/stringData: a Deployment or an empty ConfigMap has nothing
    # it would encrypt, so only the Secret must be encrypted.
    assert findings(run_cli, git_repo) == [("GG-SOPS-001", "secret.yaml", 7)]


@pytest.mark.parametrize(("files", "expected"), [
    ({"secrets/db.yaml": SECRET}, [("GG-SOPS-001", "secrets/db.yaml", 7)]),
    ({"secrets/app.env": "# db\nDB_PASSWORD=hunter2\n"}, [("GG-SOPS-001", "secrets/app.env", 2)]),
    ({"secrets/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                         "data:\n  a: b\n"}, []),
    ({"other/db.yaml": SECRET}, []),
    ({"secrets/empty.yaml": SECRET.replace("stringData:\n  password: hunter2\n  user: app\n",
                                           "stringData: {}\n")}, []),
])
def test_secrets_and_env_files_under_sops_paths(git_repo: Path, files: dict[str, str],
                                                expected: list[tuple[str, str, int]],
                                                run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".gitops-guard.yaml": "sops:\n  paths: ['secrets/**']\n", **files})
    assert findings(run_cli, git_repo) == expected


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace("    mac: ENC[", "    macx: ENC["), "no MAC"),
    (lambda t: _drop_block(t, "    age:"), "no master key"),
    (lambda t: t.replace("    version: 3.13.2", "    version: gitops-guard"), "not a sops version"),
    (lambda t: t.replace("password: ENC[AES256_GCM,", "password: ENC[AES256_XXX,"),
     "not a valid ENC"),
])
def test_broken_metadata(git_repo: Path, recipient: str, change: Callable[[str], str],
                         message: str, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {"secret.yaml": SECRET})
    encrypt(run_cli, git_repo, "secret.yaml", "--age", recipient)
    path = git_repo / "secret.yaml"
    changed = change(path.read_text())
    assert changed != path.read_text()
    path.write_text(changed)
    result = run_cli("check", "--checks", "sops", "--format", "json", cwd=git_repo)
    assert [f["rule"] for f in result.json()["findings"]] == ["GG-SOPS-003"]
    assert message in result.json()["findings"][0]["message"]


def _drop_block(text: str, start: str) -> str:
    lines = text.splitlines(keepends=True)
    begin = next(i for i, line in enumerate(lines) if line.startswith(start))
    end = begin + 1
    while end < len(lines) and lines[end].startswith("        "):
        end += 1
    return "".join(lines[:begin] + lines[end:])


def test_master_keys_that_differ_from_the_rule_are_a_warning(
        git_repo: Path, recipient: str, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": FLUX_RULE.format(r=recipient), "secret.yaml": SECRET})
    encrypt(run_cli, git_repo, "secret.yaml")
    other = keys.generate_age_identity()[1]
    write(git_repo, {".sops.yaml": FLUX_RULE.format(r=f"{recipient},{other}")})
    result = run_cli("check", "--checks", "sops", "--format", "json", cwd=git_repo)
    assert result.code == 0  # a warning does not fail the run
    [finding] = result.json()["findings"]
    assert finding["rule"] == "GG-SOPS-004" and f"+age {other}" in finding["message"]
    assert run_cli("sops", "updatekeys", "--yes", "secret.yaml", cwd=git_repo).code == 0
    assert findings(run_cli, git_repo) == []


@pytest.mark.parametrize(("name", "plain", "added", "line"), [
    ("app.env", "DB_PASSWORD=hunter2\nUSER=app\n", "EXTRA=plain\n", 1),
    ("app.ini", "[db]\npassword = hunter2\n", None, None),
])
def test_text_formats(git_repo: Path, recipient: str, name: str, plain: str,
                      added: str | None, line: int | None,
                      run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {name: plain})
    encrypt(run_cli, git_repo, name, "--age", recipient)
    assert findings(run_cli, git_repo) == []
    if added is not None:
        path = git_repo / name
        path.write_text(added + path.read_text())
        assert findings(run_cli, git_repo) == [("GG-SOPS-002", name, line)]


def test_comment_selectors_are_honoured(git_repo: Path, recipient: str,
                                        run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {"v.yaml": "clear: a\n# sops:enc\nsecret: b\nalso_clear: c\n"})
    encrypt(run_cli, git_repo, "v.yaml", "--age", recipient, "--encrypted-comment-regex",
            "sops:enc")
    text = (git_repo / "v.yaml").read_text()
    assert "clear: a" in text and "secret: ENC[" in text
    assert findings(run_cli, git_repo) == []


def test_a_bad_sops_config_is_reported_on_itself(git_repo: Path,
                                                 run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": "creation_rules:\n  - path_regex: '(unclosed'\n"
                                   "    age: age1x\n", "a.yaml": "a: b\n"})
    result = findings(run_cli, git_repo)
    assert [(rule, path) for rule, path, _ in result] == [("GG-SOPS-005", ".sops.yaml")]


def test_every_real_sops_file_passes(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    """Files written by sops 3.3 to 3.13 (their .sops.yaml files set aside): complete, all
    of them, except the one written without a MAC."""
    vectors = vectors_or_skip()
    repo = tmp_path / "vectors"
    shutil.copytree(vectors, repo, ignore=shutil.ignore_patterns(".sops.yaml"))
    for path in repo.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    assert findings(run_cli, repo) == [
        ("GG-SOPS-003", "getsops-sops/functional-tests/res/no_mac.yaml", 2)]


def test_a_plain_file_under_a_comment_rule(git_repo: Path, recipient: str,
                                           run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": "creation_rules:\n  - encrypted_comment_regex: sops:enc\n"
                                   f"    age: {recipient}\n",
                     "marked.yaml": "a: 1\n# sops:enc\nb: 2\n", "unmarked.yaml": "a: 1\n"})
    assert findings(run_cli, git_repo) == [("GG-SOPS-001", "marked.yaml", 3)]


def test_a_rule_without_selection_implies_the_unencrypted_suffix(
        git_repo: Path, recipient: str, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": f"creation_rules:\n  - age: {recipient}\n",
                     "clear.yaml": "note_unencrypted: x\n", "plain.yaml": "a: 1\n"})
    assert findings(run_cli, git_repo) == [("GG-SOPS-001", "plain.yaml", 1)]


def test_a_bad_path_regex_is_reported_once(git_repo: Path,
                                           run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": "creation_rules:\n  - path_regex: ok\n    age: age1x\n"
                                   "  - path_regex: '(bad'\n    age: age1x\n"
                                   "  - age: age1x\n"})
    assert findings(run_cli, git_repo) == [("GG-SOPS-005", ".sops.yaml", 4)]


def test_a_broken_sops_config_outside_the_run_is_reported_on_what_it_governs(
        git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": "creation_rules: [\n", "apps/s.yaml": SECRET})
    result = run_cli("check", "--checks", "sops", "--format", "json", "apps/s.yaml",
                     cwd=git_repo)
    [finding] = result.json()["findings"]
    assert (finding["rule"], finding["path"]) == ("GG-SOPS-005", "apps/s.yaml")
    assert ".sops.yaml" in finding["message"]


def test_fingerprints_do_not_depend_on_plaintext(git_repo: Path, recipient: str,
                                                 run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".sops.yaml": FLUX_RULE.format(r=recipient), "s.yaml": SECRET})
    prints = []
    for value in ("hunter2", "another-one"):
        write(git_repo, {"s.yaml": SECRET.replace("hunter2", value)})
        result = run_cli("check", "--checks", "sops", "--format", "json", cwd=git_repo)
        prints.append([f["fingerprint"] for f in result.json()["findings"]])
    assert prints[0] == prints[1] and len(prints[0]) == 1


def test_the_secrets_check_accepts_a_secret_holding_a_sops_file(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    vectors = vectors_or_skip()
    write(tmp_path, {"secret.yaml": (vectors / "fluxcd-kustomize-controller" / "inside" /
                                     "secret.yaml").read_text()})
    result = run_cli("check", "--checks", "secrets,sops", "--format", "json", cwd=tmp_path)
    assert result.code == 0 and result.json()["findings"] == []
