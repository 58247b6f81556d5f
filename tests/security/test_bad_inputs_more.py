"""More bad input, beyond tests/test_bad_inputs.py: malformed SOPS files through `check` and
`sops decrypt`, broken CRDs, policies and baselines, and adversarial YAML the first suite does
not hold (100,000 keys, a 20 MB scalar, BOM with CRLF), each run as a real process under a
time limit. Each: a clear message naming the file (and line), the right exit code, no
traceback, and the good file beside it still reported where the error is per file."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import NAMELESS_CONFIGMAP, CliRun, write
from tests.security.conftest import AgeKey, RunCli, run_process

GOOD = ("GG-MANIFEST-005", "good.yaml", 3)
SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n"
          "  password: hunter2\n  n: 5\n")
PASSWORD = r"(password: ENC\[AES256_GCM,data:[^,]*,iv:[^,]*,tag:[^,]*,type:)"


def clean(result: CliRun) -> None:
    assert "Traceback" not in result.err + result.out
    assert "internal error" not in result.err


@pytest.fixture
def encrypted(tmp_path: Path, key: AgeKey, run_cli: RunCli) -> tuple[Path, str]:
    """A repository with `secret.yaml` encrypted for `key` and a good file beside it."""
    repo = tmp_path / "repo"
    write(repo, {"secret.yaml": SECRET, "good.yaml": NAMELESS_CONFIGMAP,
                 ".sops.yaml": f"creation_rules:\n  - path_regex: secret\\.yaml$\n"
                               f"    age: {key.recipient}\n"})
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    assert run_cli("sops", "encrypt", "-i", "secret.yaml", cwd=repo).code == 0
    return repo, (repo / "secret.yaml").read_text()


def _armor_line(text: str) -> str:
    return text.split("BEGIN AGE ENCRYPTED FILE-----\n")[1].split("\n")[1]


Change = Callable[[str], str]
SOPS_CASES: list[tuple[str, Change, tuple[int, str] | None, str]] = [
    # (id, change, (line, message) of the sops check's GG-SOPS-003 or None, decrypt message)
    ("enc-unterminated", lambda t: re.sub(r"(password: ENC\[[^\]]*)\]", r"\1", t),
     (6, "stringData.password is not a valid ENC[AES256_GCM,...] value"),
     "value at stringData:password is not a valid sops ENC[AES256_GCM,...] string"),
    ("enc-data-not-base64", lambda t: re.sub(r"(password: ENC\[AES256_GCM,data:)[^,]*",
                                             r"\1!!!notb64", t),
     (6, "stringData.password is not a valid ENC[AES256_GCM,...] value"),
     "value at stringData:password is not a valid sops ENC[AES256_GCM,...] string"),
    ("iv-too-short", lambda t: re.sub(r"(password: ENC\[AES256_GCM,data:[^,]*,iv:)[^,]*",
                                      r"\1AAAA", t),
     (6, "stringData.password is not a valid ENC[AES256_GCM,...] value"),
     "value at stringData:password is not a valid sops ENC[AES256_GCM,...] string"),
    ("tag-too-short", lambda t: re.sub(r"(password: ENC\[AES256_GCM,data:[^,]*,iv:[^,]*,tag:)"
                                       r"[^,]*", r"\1AAAA", t),
     (6, "stringData.password is not a valid ENC[AES256_GCM,...] value"),
     "value at stringData:password is not a valid sops ENC[AES256_GCM,...] string"),
    ("unknown-type", lambda t: re.sub(PASSWORD + "str", r"\1widget", t),
     (6, "stringData.password is not a valid ENC[AES256_GCM,...] value"),
     "value at stringData:password is not a valid sops ENC[AES256_GCM,...] string"),
    ("missing-mac", lambda t: re.sub(r"    mac: .*\n", "", t),
     (8, "the sops metadata has no MAC"),
     "has no MAC, so its integrity cannot be verified"),
    ("age-armor-corrupt", lambda t: t.replace(_armor_line(t), " " * 12 + "not*base64"), None,
     "age decryption failed: invalid armor"),
    ("age-armor-without-end", lambda t: t.replace(
        "            -----END AGE ENCRYPTED FILE-----\n", ""), None,
     "age decryption failed: invalid armor"),
    ("metadata-a-scalar", lambda t: t.split("sops:\n")[0] + "sops: 5\n", None,
     "the `sops` metadata must be a mapping"),
    ("metadata-a-list", lambda t: t.split("sops:\n")[0] + "sops:\n  - a\n", None,
     "the `sops` metadata must be a mapping"),
    ("age-not-a-list", lambda t: re.sub(r"    age:\n( {8,}.*\n)+", "    age: yes\n", t),
     (8, "sops metadata: age must be a list"), "sops metadata: age must be a list"),
    ("version-a-list", lambda t: t.replace("version: 3", "version: [3]").replace(
        "version: [3].", "version: [3]\n    x: "),
     (8, "sops metadata holds a nested value where text belongs"),
     "sops metadata holds a nested value where text belongs"),
]


@pytest.mark.parametrize(("change", "finding", "decrypt_message"), [
    pytest.param(change, finding, message, id=case) for case, change, finding, message
    in SOPS_CASES])
def test_malformed_sops_files(encrypted: tuple[Path, str], run_cli: RunCli, change: Change,
                              finding: tuple[int, str] | None, decrypt_message: str) -> None:
    repo, text = encrypted
    broken = change(text)
    assert broken != text
    (repo / "secret.yaml").write_text(broken)
    checked = run_cli("check", "--checks", "manifest,sops", "--format", "json", cwd=repo)
    clean(checked)
    assert checked.code == 1
    sops = [(line, f["message"]) for f in checked.json()["findings"]
            for line in [f["line"]] if f["path"] == "secret.yaml"]
    assert GOOD in checked.findings()
    if finding is None:
        assert sops == []
    else:
        [(line, message)] = sops
        assert (line, finding[1] in message) == (finding[0], True)
    decrypted = run_cli("sops", "decrypt", "secret.yaml", cwd=repo)
    clean(decrypted)
    assert (decrypted.code, decrypted.out) == (2, "")
    assert decrypted.err.startswith("gitops-guard: error: secret.yaml")
    assert decrypt_message in decrypted.err


@pytest.mark.parametrize("case", ["iv-too-short", "tag-too-short", "unknown-type"])
def test_the_sops_check_flags_enc_values_no_sops_can_decrypt(
        encrypted: tuple[Path, str], run_cli: RunCli, case: str) -> None:
    repo, text = encrypted
    change = next(c for name, c, _, _ in SOPS_CASES if name == case)
    (repo / "secret.yaml").write_text(change(text))
    checked = run_cli("check", "--checks", "sops", "--format", "json", cwd=repo)
    assert [(rule, line) for rule, path, line in checked.findings()
            if path == "secret.yaml"] == [("GG-SOPS-003", 6)]


# -- the tool's own files ------------------------------------------------------------------


@pytest.mark.parametrize(("content", "message"), [
    ("not json{\n", ".gitops-guard-baseline.json:1:1: the baseline is not JSON"),
    ('{"version": 99, "findings": []}\n', "not a gitops-guard baseline (version 1"),
    ("[1, 2]\n", "not a gitops-guard baseline (version 1"),
    ('{"version": 1, "findings": 5}\n', "not a gitops-guard baseline (version 1"),
    ('{"version": 1, "findings": [5, "x"]}\n', ".gitops-guard-baseline.json"),
    ("", ".gitops-guard-baseline.json"),
], ids=["not-json", "wrong-version", "a-list", "findings-not-a-list", "entries-not-objects",
        "empty"])
def test_malformed_baselines(tmp_path: Path, run_cli: RunCli, content: str,
                             message: str) -> None:
    write(tmp_path, {"good.yaml": NAMELESS_CONFIGMAP, ".gitops-guard-baseline.json": content})
    for command in (("secrets", "scan"), ("check",), ("secrets", "baseline", "audit")):
        result = run_cli(*command, cwd=tmp_path)
        clean(result)
        assert (result.code, result.out) == (2, ""), (command, result.err)
        assert f"error: {message}" in result.err or message in result.err


BROKEN_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: 5
          properties: [a]
"""


def test_a_crd_with_a_broken_schema_is_reported_on_itself(tmp_path: Path,
                                                           run_cli: RunCli) -> None:
    write(tmp_path, {"crds/crd.yaml": BROKEN_CRD, "good.yaml": NAMELESS_CONFIGMAP,
                     "w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"})
    result = run_cli("check", "--checks", "manifest,schema", "--format", "json", cwd=tmp_path)
    clean(result)
    found = result.findings()
    assert ("GG-SCHEMA-012", "crds/crd.yaml", 15) in found
    assert ("GG-SCHEMA-003", "w.yaml", 2) in found  # no usable schema: the CR is not checked
    assert GOOD in found
    assert result.code == 1


def test_a_broken_crd_named_in_the_config_is_reported_on_itself(tmp_path: Path,
                                                                run_cli: RunCli) -> None:
    write(tmp_path, {"crds/crd.yaml": BROKEN_CRD, "good.yaml": NAMELESS_CONFIGMAP,
                     ".gitops-guard.yaml": "schema:\n  crds: [crds]\n"})
    result = run_cli("check", "--checks", "manifest,schema", "--format", "json", "good.yaml",
                     cwd=tmp_path)
    clean(result)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("gitops-guard: error: crds/crd.yaml:15: schema.crds: the CRD "
                                 "cannot be used: "), result.err


@pytest.mark.parametrize(("policy", "where"), [
    ("apiVersion: policy.gitops-guard.io/v1alpha1\nkind: Policy\nspec: [\n", "p.yaml:4:1:"),
    ("apiVersion: policy.gitops-guard.io/v1alpha1\nkind: Policy\nmetadata: {name: x}\n"
     "spec:\n  id: x\n", "p.yaml:5:3:"),
    ("{}\n", "p.yaml"),
    ("- a list\n", "p.yaml"),
    (b"\xff\xfe not utf-8\n", "p.yaml"),
], ids=["bad-yaml", "missing-keys", "empty-mapping", "a-list", "invalid-utf8"])
def test_malformed_policy_files(tmp_path: Path, run_cli: RunCli, policy: str | bytes,
                                where: str) -> None:
    write(tmp_path, {"pol/p.yaml": policy, "good.yaml": NAMELESS_CONFIGMAP,
                     ".gitops-guard.yaml": "policy:\n  paths: [pol]\n"})
    for command in (("check", "--checks", "policy", "good.yaml"), ("policy", "list")):
        result = run_cli(*command, cwd=tmp_path)
        clean(result)
        assert (result.code, where in result.err) == (2, True), (command, result.err)


@pytest.mark.parametrize(("config", "where"), [
    ("checks: [manifest\n", ".gitops-guard.yaml:2:1:"),
    ("fail_on: 3\n", ".gitops-guard.yaml:1:10:"),
    ("- a list\n", ".gitops-guard.yaml:1:1:"),
    ("a: 1\n---\nb: 2\n", ".gitops-guard.yaml:3: config file must hold one YAML document"),
    (b"fail_on: caf\xe9\n", ".gitops-guard.yaml: cannot read config file"),
    ("\ufefffail_on: warning\r\nexclude: ['*.json']\r\n", None),
], ids=["bad-yaml", "wrong-type", "a-list", "two-documents", "invalid-utf8", "bom-crlf-ok"])
def test_malformed_configs(tmp_path: Path, run_cli: RunCli, config: str | bytes,
                           where: str | None) -> None:
    write(tmp_path, {".gitops-guard.yaml": config, "good.yaml": NAMELESS_CONFIGMAP})
    result = run_cli("check", "--format", "json", "good.yaml", cwd=tmp_path)
    clean(result)
    if where is None:
        assert result.code == 1 and GOOD in result.findings()
    else:
        assert (result.code, where in result.err) == (2, True), result.err


# -- adversarial YAML, as a real process under a time limit ---------------------------------


LIMIT = 60  # seconds; each case takes well under a few seconds


def run_bounded(argv: list[str], cwd: Path) -> CliRun:
    try:
        return run_process(argv, cwd)
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure this guards against
        pytest.fail(f"gitops-guard {' '.join(argv)} did not finish in {LIMIT} s")


def many_keys(count: int) -> bytes:
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n"
            + "".join(f"  k{i}: v\n" for i in range(count))).encode()


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("keys.yaml", many_keys(100_000), None),
    ("keys.json", json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "big"},
                              "data": {f"k{i}": "v" for i in range(100_000)}}).encode(), None),
    ("huge.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: h}\ndata:\n  k: "
     + b"x" * (20 * 1024 * 1024) + b"\n", ("GG-MANIFEST-010", "over the 8,388,608-byte limit")),
    ("bom-crlf.yaml", b"\xef\xbb\xbfapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n"
     b"  labels: {a: b}\r\n", ("GG-MANIFEST-005", "no metadata.name")),
    ("bom-crlf-dup.yaml", b"\xef\xbb\xbfapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n"
     b"  name: a\r\n  name: b\r\n", ("GG-MANIFEST-002", 'duplicate key "name"')),
], ids=["100k-keys-yaml", "100k-keys-json", "20MB-scalar", "bom-crlf", "bom-crlf-duplicate"])
def test_adversarial_yaml_is_bounded(tmp_path: Path, name: str, content: bytes,
                                     expected: tuple[str, str] | None) -> None:
    write(tmp_path, {name: content, "good.yaml": NAMELESS_CONFIGMAP})
    for checks in ("manifest,schema,policy,secrets,sops", "secrets"):
        result = run_bounded(["check", "--checks", checks, "--format", "json", "--jobs", "1"],
                             tmp_path)
        clean(result)
        found = {(f["rule"], f["path"]): f["message"] for f in json.loads(result.out)["findings"]}
        if "manifest" in checks:
            assert ("GG-MANIFEST-005", "good.yaml") in found
        if expected is not None and "manifest" in checks:
            assert expected[1] in found[(expected[0], name)]
        assert result.code in (0, 1)


def test_a_20mb_sops_file_over_the_limit_is_refused_by_decrypt(tmp_path: Path) -> None:
    write(tmp_path, {"big.yaml": b"k: " + b"x" * (20 * 1024 * 1024) + b"\nsops: {}\n"})
    result = run_bounded(["sops", "decrypt", "big.yaml"], tmp_path)
    clean(result)
    assert (result.code, result.out) == (2, "")
    assert "big.yaml" in result.err

