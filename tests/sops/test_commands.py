"""`gitops-guard sops ...` end to end, as a user runs it: real files, real keys, real `age`."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitops_guard import atomic
from gitops_guard.sops import cipher, keys, sopsfile
from tests.conftest import CliRun, write

requires_age = pytest.mark.skipif(shutil.which("age") is None, reason="age is not installed")


@pytest.fixture(autouse=True)
def clean_sops_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SOPS_", "XDG_CONFIG_HOME", "EDITOR", "GNUPGHOME")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             run_cli: Callable[..., CliRun]) -> str:
    """A fresh age identity in the file sops reads by default; returns its recipient."""
    config_home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    key_file = config_home / "sops" / "age" / "keys.txt"
    result = run_cli("sops", "keygen", "-o", str(key_file), cwd=tmp_path)
    assert result.code == 0
    match = re.fullmatch(r"Public key: (age1[0-9a-z]+)\n", result.err)
    assert match is not None
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    return match[1]


PLAIN = {
    "secret.yaml": (
        "# top comment\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata:\n"
        "    name: db  # inline\n"
        "stringData:\n"
        "    password: hunter2\n"
        "    port: 5432\n"
        "    ratio: 0.25\n"
        "    enabled: true\n"
        "    since: 2024-01-02T03:04:05Z\n"
        "    empty: \"\"\n"
        "    nothing: null\n"
        "    list:\n"
        "        - a\n"
        "        # in a list\n"
        "        - 2\n"
        "---\n"
        "second: document\n"),
    "config.json": '{\n\t"user": "app",\n\t"port": 8080,\n\t"nested": {\n\t\t"k": [1, 2.5, '
                   'true, null, "x"]\n\t}\n}\n',
    "app.env": "# comment\nDB_PASSWORD=hunter2\nEMPTY=\nSPACED = kept \n",
    "app.ini": "[db]\npassword = hunter2\nuser     = app\n",
    "blob.bin": "\x00\x01binary\xffdata",
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_encrypt_then_decrypt_gives_back_the_content(tmp_path: Path, identity: str, name: str,
                                                      run_cli: Callable[..., CliRun]) -> None:
    content = PLAIN[name]
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1") if name.endswith(".bin") else content.encode())
    result = run_cli("sops", "encrypt", "--age", identity, "-i", name, cwd=tmp_path)
    assert (result.code, result.err) == (0, "")
    encrypted = path.read_bytes()
    assert b"hunter2" not in encrypted and b"ENC[AES256_GCM" in encrypted
    assert identity.encode() in encrypted
    fmt = {"yaml": "yaml", "json": "json", "env": "dotenv", "ini": "ini"}.get(
        name.rsplit(".", 1)[1], "binary")
    decrypted = subprocess_free_decrypt(tmp_path, name, run_cli)
    assert sopsfile.load_plain(decrypted, fmt) == sopsfile.load_plain(path_plain(content, name),
                                                                      fmt)


def path_plain(content: str, name: str) -> bytes:
    return content.encode("latin-1") if name.endswith(".bin") else content.encode()


def subprocess_free_decrypt(cwd: Path, name: str, run_cli: Callable[..., CliRun]) -> bytes:
    out = cwd / f"{name}.out"
    result = run_cli("sops", "decrypt", name, "--output", out.name, cwd=cwd)
    assert result.code == 0, result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # a new plaintext file is private
    data = out.read_bytes()
    out.unlink()
    return data


def test_decrypt_writes_to_stdout_and_keeps_values_typed(tmp_path: Path, identity: str,
                                                         run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"values.yaml": "a: 1\nb: 'true'\nc: 2024-01-02\nd: yes\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "values.yaml",
                   cwd=tmp_path).code == 0
    text = (tmp_path / "values.yaml").read_text()
    types = dict(re.findall(r"^(\w): ENC\[.*,type:(\w+)\]$", text, re.M))
    assert types == {"a": "int", "b": "str", "c": "time", "d": "str"}
    result = run_cli("sops", "decrypt", "values.yaml", cwd=tmp_path)
    assert result.out == 'a: 1\nb: "true"\nc: 2024-01-02T00:00:00Z\nd: "yes"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["values.yaml", "xdg"]


@pytest.mark.parametrize(("flag", "value", "clear", "secret"), [
    ("--encrypted-regex", "^(data|stringData)$", ["kind: Secret", "name: db"], ["token"]),
    ("--unencrypted-regex", "^(kind|metadata)$", ["kind: Secret", "name: db"], ["token"]),
    ("--encrypted-suffix", "_secret", ["token: t0k3n"], ["pass_secret"]),
    ("--unencrypted-suffix", "_clear", ["note_clear: visible"], ["token"]),
])
def test_selector_flags(tmp_path: Path, identity: str, flag: str, value: str,
                        clear: list[str], secret: list[str],
                        run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "kind: Secret\nmetadata:\n    name: db\nstringData:\n"
                               "    token: t0k3n\n    pass_secret: p4ss\n"
                               "    note_clear: visible\n"})
    assert run_cli("sops", "encrypt", "--age", identity, flag, value, "-i", "s.yaml",
                   cwd=tmp_path).code == 0
    text = (tmp_path / "s.yaml").read_text()
    for line in clear:
        assert line in text
    for key in secret:
        assert re.search(rf"{key}: ENC\[", text)
    assert f"{flag[2:].replace('-', '_')}: {value}" in text
    assert run_cli("sops", "decrypt", "s.yaml", cwd=tmp_path).code == 0


def test_mac_only_encrypted(tmp_path: Path, identity: str,
                            run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "kind: Secret\nstringData:\n    token: t0k3n\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "--encrypted-regex", "^stringData$",
                   "--mac-only-encrypted", "-i", "s.yaml", cwd=tmp_path).code == 0
    path = tmp_path / "s.yaml"
    assert "mac_only_encrypted: true" in path.read_text()
    # A clear value outside the MAC may change (Flux patches kind/metadata); a secret may not.
    path.write_text(path.read_text().replace("kind: Secret", "kind: Other"))
    assert run_cli("sops", "decrypt", "s.yaml", cwd=tmp_path).out.startswith("kind: Other\n")


def test_creation_rules_first_match_wins(tmp_path: Path, identity: str,
                                         run_cli: Callable[..., CliRun]) -> None:
    other = keys.generate_age_identity()[1]
    write(tmp_path, {
        ".sops.yaml": "creation_rules:\n"
                      "  - path_regex: prod/.*\\.yaml$\n"
                      f"    age: {other}\n"
                      "    encrypted_regex: ^(data|stringData)$\n"
                      f"  - age: {identity}\n",
        "prod/s.yaml": "kind: Secret\nstringData:\n    a: b\n",
        "dev/s.yaml": "kind: Secret\nstringData:\n    a: b\n",
    })
    assert run_cli("sops", "encrypt", "-i", "prod/s.yaml", cwd=tmp_path).code == 0
    assert run_cli("sops", "encrypt", "-i", "dev/s.yaml", cwd=tmp_path).code == 0
    prod, dev = ((tmp_path / d / "s.yaml").read_text() for d in ("prod", "dev"))
    assert other in prod and identity not in prod and "kind: Secret" in prod
    assert identity in dev and "kind: ENC[" in dev
    # Only the dev file is for a key this machine holds.
    assert run_cli("sops", "decrypt", "dev/s.yaml", cwd=tmp_path).code == 0
    failed = run_cli("sops", "decrypt", "prod/s.yaml", cwd=tmp_path)
    assert failed.code == 2 and "prod/s.yaml" in failed.err and other in failed.err


@pytest.mark.parametrize(("config", "message"), [
    ("creation_rules:\n  - path_regex: nothing-matches\n    age: age1x\n",
     "no matching creation rule"),
    ("creation_rules:\n  - kms: arn:aws:kms:us-east-1:1:key/x\n", "kms"),
])
def test_unusable_rules_are_clear_errors(tmp_path: Path, config: str, message: str,
                                         run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".sops.yaml": config, "s.yaml": "a: b\n"})
    result = run_cli("sops", "encrypt", "s.yaml", cwd=tmp_path)
    assert result.code == 2 and message in result.err.lower()
    assert (tmp_path / "s.yaml").read_text() == "a: b\n"


def test_already_encrypted_is_refused(tmp_path: Path, identity: str,
                                      run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "a: b\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    before = (tmp_path / "s.yaml").read_bytes()
    result = run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path)
    assert result.code == 2 and "already encrypted" in result.err
    assert (tmp_path / "s.yaml").read_bytes() == before


def test_in_place_keeps_the_mode(tmp_path: Path, identity: str,
                                 run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "a: b\n"})
    (tmp_path / "s.yaml").chmod(0o640)
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    assert stat.S_IMODE((tmp_path / "s.yaml").stat().st_mode) == 0o640


def test_bad_input_names_file_and_line(tmp_path: Path, identity: str,
                                       run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "a: b\nc: [\n"})
    result = run_cli("sops", "encrypt", "--age", identity, "s.yaml", cwd=tmp_path)
    assert result.code == 2
    assert re.search(r"s\.yaml:\d+", result.err), result.err
    assert "Traceback" not in result.err


# -- interop with the real age binary ---------------------------------------------------------

@requires_age
def test_age_decrypts_the_data_key_we_wrap(tmp_path: Path, identity: str,
                                           run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "token: t0k3n-value\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    text = (tmp_path / "s.yaml").read_text()
    armored = re.search(r"(-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED "
                        r"FILE-----)", text, re.S)
    assert armored is not None
    block = "\n".join(line.strip() for line in armored[1].splitlines()) + "\n"
    key_file = tmp_path / "xdg" / "sops" / "age" / "keys.txt"
    data_key = subprocess.run(["age", "-d", "-i", str(key_file)], input=block.encode(),
                              capture_output=True, check=True).stdout
    assert len(data_key) == 32
    value = re.search(r"token: (ENC\[.*\])", text)
    assert value is not None
    parts = cipher.parse(value[1])
    assert parts is not None
    plain = AESGCM(data_key).decrypt(parts.iv, parts.data + parts.tag, b"token:")
    assert plain == b"t0k3n-value"


@requires_age
def test_we_decrypt_a_data_key_that_age_wrapped(tmp_path: Path, identity: str,
                                                run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "token: t0k3n-value\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    path = tmp_path / "s.yaml"
    encrypted = sopsfile.load_encrypted(path.read_bytes(), "yaml", "s.yaml")
    assert encrypted is not None
    key_file = tmp_path / "xdg" / "sops" / "age" / "keys.txt"
    ours = encrypted.metadata.key_groups[0].age[0].enc
    data_key = keys.unwrap_age(ours, _identities(key_file))
    by_age = subprocess.run(["age", "-e", "-a", "-r", identity], input=data_key,
                            capture_output=True, check=True).stdout.decode()
    text = path.read_text()
    indent = re.search(r"\n( +)-----BEGIN AGE", text)
    assert indent is not None
    old_block = re.search(r"( +-----BEGIN AGE ENCRYPTED FILE-----\n.*?-----END AGE ENCRYPTED "
                          r"FILE-----\n)", text, re.S)
    assert old_block is not None
    new_block = "".join(indent[1] + line + "\n" for line in by_age.splitlines())
    path.write_text(text.replace(old_block[1], new_block))
    assert run_cli("sops", "decrypt", "s.yaml", cwd=tmp_path).out == "token: t0k3n-value\n"


def _identities(key_file: Path) -> Any:
    from gitops_guard.sops.age_identities import load_age_identities

    loaded = load_age_identities({"SOPS_AGE_KEY_FILE": str(key_file)}, Path("/nonexistent"))
    return loaded.identities


# -- a failure at any step leaves the original alone -------------------------------------------

def _fail(*_: Any, **__: Any) -> Any:
    raise OSError(28, "No space left on device")


def _interrupt(*_: Any, **__: Any) -> Any:
    raise KeyboardInterrupt


# The steps before the write; each step of the write itself (every in-place command, failure
# and interrupt, with and without O_TMPFILE): tests/security/test_no_data_loss.py.
STEPS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "wrapping the data key": lambda m: m.setattr(keys, "wrap_age", _fail),
    "encrypting values": lambda m: m.setattr(cipher, "encrypt", _interrupt),
    "emitting": lambda m: m.setattr(sopsfile, "emit_encrypted", _fail),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_failure_at_each_step_leaves_the_original_intact(
        tmp_path: Path, identity: str, step: str, monkeypatch: pytest.MonkeyPatch,
        run_cli: Callable[..., CliRun]) -> None:
    folder = tmp_path / "repo"
    write(folder, {"s.yaml": "token: t0k3n-value\n"})
    (folder / "s.yaml").chmod(0o640)
    before = sorted(p.name for p in folder.iterdir())
    temp_before = set(Path(tempfile.gettempdir()).iterdir())
    STEPS[step](monkeypatch)
    try:
        code = run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=folder).code
    finally:
        monkeypatch.undo()
    assert code in (2, 3, 130)
    assert (folder / "s.yaml").read_bytes() == b"token: t0k3n-value\n"
    assert stat.S_IMODE((folder / "s.yaml").stat().st_mode) == 0o640
    assert sorted(p.name for p in folder.iterdir()) == before
    leaked = [p for p in set(Path(tempfile.gettempdir()).iterdir()) - temp_before
              if p.is_file() and b"t0k3n-value" in p.read_bytes()]
    assert leaked == []


def test_atomic_write_replaces_in_one_step(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")
    path.chmod(0o604)
    atomic.write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o604
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


# -- edit, rotate, updatekeys -------------------------------------------------------------------

EDITOR = """#!/bin/sh
# Records what it was given, then applies the edit the test asked for.
stat -c '%a' "$1" > "{log}.mode"
stat -c '%a' "$(dirname "$1")" > "{log}.dirmode"
echo "$1" > "{log}.path"
{action}
"""


def editor(tmp_path: Path, action: str) -> tuple[str, Path]:
    log = tmp_path / "editor-log"
    script = tmp_path / "editor.sh"
    script.write_text(EDITOR.format(log=log, action=action))
    script.chmod(0o755)
    return str(script), log


def ciphertexts(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(\w+): (ENC\[[^\]]*\])", text, re.M))


def test_edit_keeps_unchanged_ciphertext_and_removes_its_temp_file(
        tmp_path: Path, identity: str, monkeypatch: pytest.MonkeyPatch,
        run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "keep: same-value\nchange: old-value\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    before = ciphertexts((tmp_path / "s.yaml").read_text())
    script, log = editor(tmp_path, "sed -i 's/old-value/new-value/' \"$1\"")
    monkeypatch.setenv("EDITOR", script)
    assert run_cli("sops", "edit", "s.yaml", cwd=tmp_path).code == 0
    after = ciphertexts((tmp_path / "s.yaml").read_text())
    assert after["keep"] == before["keep"]
    assert after["change"] != before["change"]
    assert run_cli("sops", "decrypt", "s.yaml", cwd=tmp_path).out == (
        "keep: same-value\nchange: new-value\n")
    edited = Path((log.parent / "editor-log.path").read_text().strip())
    assert not edited.exists() and not edited.parent.exists()
    assert (log.parent / "editor-log.mode").read_text().strip() == "600"
    assert (log.parent / "editor-log.dirmode").read_text().strip() == "700"


@pytest.mark.parametrize(("action", "code", "message"), [
    ("true", 0, "unchanged"),
    ("exit 3", 2, "editor exited with 3"),
    ("echo 'a: [' > \"$1\"", 2, "not valid yaml"),
])
def test_edit_that_changes_nothing_or_fails_writes_nothing(
        tmp_path: Path, identity: str, monkeypatch: pytest.MonkeyPatch, action: str,
        code: int, message: str, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "a: b\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    before = (tmp_path / "s.yaml").read_bytes()
    script, log = editor(tmp_path, action)
    monkeypatch.setenv("EDITOR", script)
    result = run_cli("sops", "edit", "s.yaml", cwd=tmp_path)
    assert result.code == code and message in result.err.lower()
    assert (tmp_path / "s.yaml").read_bytes() == before
    assert not Path((log.parent / "editor-log.path").read_text().strip()).parent.exists()


def test_rotate_changes_the_data_key_not_the_content(tmp_path: Path, identity: str,
                                                     run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "a: one\nb: two\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    before = (tmp_path / "s.yaml").read_text()
    assert run_cli("sops", "rotate", "-i", "s.yaml", cwd=tmp_path).code == 0
    after = (tmp_path / "s.yaml").read_text()
    assert set(ciphertexts(after).values()).isdisjoint(ciphertexts(before).values())
    enc = re.compile(r"-----BEGIN AGE.*?-----END", re.S)
    assert enc.findall(after) != enc.findall(before)
    assert run_cli("sops", "decrypt", "s.yaml", cwd=tmp_path).out == "a: one\nb: two\n"


def test_updatekeys_follows_the_rule(tmp_path: Path, identity: str,
                                     run_cli: Callable[..., CliRun]) -> None:
    second_secret, second = keys.generate_age_identity()
    write(tmp_path, {".sops.yaml": f"creation_rules:\n  - age: {identity}\n",
                     "s.yaml": "a: one\n"})
    assert run_cli("sops", "encrypt", "-i", "s.yaml", cwd=tmp_path).code == 0
    before = ciphertexts((tmp_path / "s.yaml").read_text())
    up_to_date = run_cli("sops", "updatekeys", "s.yaml", "--yes", cwd=tmp_path)
    assert up_to_date.code == 0 and "already up to date" in up_to_date.err
    write(tmp_path, {".sops.yaml": f"creation_rules:\n  - age: {identity},{second}\n"})
    refused = run_cli("sops", "updatekeys", "s.yaml", cwd=tmp_path)
    assert refused.code == 2 and "--yes" in refused.err
    result = run_cli("sops", "updatekeys", "s.yaml", "--yes", cwd=tmp_path)
    assert result.code == 0 and f"+ age {second}" in result.err
    assert ciphertexts((tmp_path / "s.yaml").read_text()) == before
    write(tmp_path, {"second.txt": second_secret + "\n"})
    os.environ["SOPS_AGE_KEY_FILE"] = str(tmp_path / "second.txt")
    try:
        (tmp_path / "xdg").rename(tmp_path / "xdg-away")
        assert run_cli("sops", "decrypt", "s.yaml", cwd=tmp_path).out == "a: one\n"
    finally:
        del os.environ["SOPS_AGE_KEY_FILE"]


def test_keygen_refuses_to_overwrite(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"keys.txt": "existing\n"})
    result = run_cli("sops", "keygen", "-o", "keys.txt", cwd=tmp_path)
    assert result.code == 2 and (tmp_path / "keys.txt").read_text() == "existing\n"


def test_keygen_to_stdout(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    result = run_cli("sops", "keygen", cwd=tmp_path)
    secret = re.search(r"^AGE-SECRET-KEY-1[0-9A-Z]+$", result.out, re.M)
    recipient = re.search(r"public key: (age1\w+)", result.out)
    assert result.code == 0 and secret is not None and recipient is not None
    assert keys.age_recipient_of(secret[0]) == recipient[1]


# -- as sops does it ---------------------------------------------------------------------------

FLUX_RULE = ("creation_rules:\n  - path_regex: \\.ya?ml$\n"
             "    encrypted_regex: ^(data|stringData)$\n    age: {r}\n")


def test_flag_keys_still_follow_the_rules_selection(tmp_path: Path, identity: str,
                                                    run_cli: Callable[..., CliRun]) -> None:
    other = keys.generate_age_identity()[1]
    write(tmp_path, {".sops.yaml": FLUX_RULE.format(r=other),
                     "s.yaml": "kind: Secret\nstringData:\n    a: b\n", "notes.txt": "x\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    text = (tmp_path / "s.yaml").read_text()
    assert "kind: Secret" in text and "a: ENC[" in text and identity in text and other not in text
    result = run_cli("sops", "encrypt", "--age", identity, "notes.txt", cwd=tmp_path)
    assert result.code == 2 and "no matching creation rules" in result.err


def test_new_files_record_the_implied_suffix_and_binary_ignores_selection(
        tmp_path: Path, identity: str, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "a: b\n", "blob.txt": "payload\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    assert "unencrypted_suffix: _unencrypted" in (tmp_path / "s.yaml").read_text()
    assert run_cli("sops", "encrypt", "--age", identity, "--unencrypted-regex", "^data$", "-i",
                   "blob.txt", cwd=tmp_path).code == 0
    blob = (tmp_path / "blob.txt").read_text()
    assert "payload" not in blob and '"data": "ENC[' in blob and "unencrypted" not in blob


def test_a_file_named_dot_env_is_dotenv(tmp_path: Path, identity: str,
                                        run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".env": "TOKEN=t0k3n\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", ".env", cwd=tmp_path).code == 0
    assert (tmp_path / ".env").read_text().startswith("TOKEN=ENC[")
    assert run_cli("sops", "decrypt", ".env", cwd=tmp_path).out == "TOKEN=t0k3n\n"


def test_in_place_through_a_symlink_keeps_the_link(tmp_path: Path, identity: str,
                                                   run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"real/s.yaml": "a: b\n"})
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real" / "s.yaml")
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "link.yaml", cwd=tmp_path).code == 0
    assert (tmp_path / "link.yaml").is_symlink()
    assert "a: ENC[" in (tmp_path / "real" / "s.yaml").read_text()


def test_a_write_error_is_a_clear_error(tmp_path: Path, identity: str,
                                        run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "a: b\n"})
    result = run_cli("sops", "encrypt", "--age", identity, "--output", "missing/out.yaml",
                     "s.yaml", cwd=tmp_path)
    assert result.code == 2 and "cannot write" in result.err and "bug" not in result.err


def test_rotate_can_change_the_output_type(tmp_path: Path, identity: str,
                                           run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "a: b\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "-i", "s.yaml", cwd=tmp_path).code == 0
    result = run_cli("sops", "rotate", "--output-type", "json", "--output", "s.json", "s.yaml",
                     cwd=tmp_path)
    assert result.code == 0
    assert run_cli("sops", "decrypt", "s.json", cwd=tmp_path).out == '{\n\t"a": "b"\n}\n'


def test_sops_yml_is_ignored_with_a_warning(tmp_path: Path, identity: str,
                                            run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".sops.yml": f"creation_rules:\n  - age: {identity}\n", "s.yaml": "a: b\n"})
    result = run_cli("sops", "encrypt", "s.yaml", cwd=tmp_path)
    assert result.code == 2 and "warning: ignoring" in result.err and "no recipients" in result.err


def test_selector_regexes_are_re2(tmp_path: Path, identity: str,
                                  run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "secret: a\nsecret2: b\n"})
    assert run_cli("sops", "encrypt", "--age", identity, "--encrypted-regex", "^secret\\z", "-i",
                   "s.yaml", cwd=tmp_path).code == 0
    text = (tmp_path / "s.yaml").read_text()
    assert "secret: ENC[" in text and "secret2: b" in text
