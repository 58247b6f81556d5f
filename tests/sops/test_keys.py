"""Master keys against the real tools: `age`, `age-keygen`, `ssh-keygen`, `gpg`, and sops files.

Key material is never printed: comparisons go through `assert_same_key`, and messages are
checked for secrets with `assert_no_secret`, so a failing test shows neither.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pyrage  # type: ignore[import-untyped]
import pytest
import yaml

from gitops_guard.errors import GuardError
from gitops_guard.sops import keys
from gitops_guard.sops.age_identities import (
    AgeIdentities,
    load_age_identities,
    same_recipient,
    user_config_dir,
)
from gitops_guard.sops.metadata import AgeKey, KeyGroup, PgpKey

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = SHARED / "interop" / "sops"
TEST_PGP_KEY = VECTORS / "getsops-sops" / "pgp" / "sops_functional_tests_key.asc"
TEST_PGP_FP = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
TEST_PGP_FP_2 = "D7229043384BCC60326C6FB9D8720D957C3D3074"


def requires(*tools: str) -> pytest.MarkDecorator:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed")


needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")


def assert_same_key(got: bytes, want: bytes) -> None:
    same = hmac.compare_digest(got, want)
    assert same, f"keys differ ({len(got)} and {len(want)} bytes)"


def assert_no_secret(text: str, *secrets: str | bytes) -> None:
    for secret in secrets:
        forms = ([secret.hex(), base64.b64encode(secret).decode()]
                 if isinstance(secret, bytes) else [secret, secret.lower()])
        leaked = any(form in text for form in forms)
        assert not leaked, "a message contains key material"


def base_environ() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath)}


def run(*argv: str | Path, stdin: bytes = b"", env: dict[str, str] | None = None) -> bytes:
    result = subprocess.run([str(a) for a in argv], input=stdin, capture_output=True,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def age_key(tmp_path: Path) -> tuple[Path, str, str]:
    """A key file (as age-keygen writes it), its secret and its recipient."""
    secret, recipient = keys.generate_age_identity()
    path = tmp_path / "keys.txt"
    path.write_text(keys.age_key_file_text(secret, recipient, datetime.datetime.now(datetime.UTC)))
    return path, secret, recipient


def identities_from(key_file: Path, home: Path) -> AgeIdentities:
    return load_age_identities({"SOPS_AGE_KEY_FILE": str(key_file)}, home)


# -- age: armor and interop with the age binaries ----------------------------------------------

def test_wrap_age_writes_the_armor_sops_stores(age_key: tuple[Path, str, str]) -> None:
    _, _, recipient = age_key
    enc = keys.wrap_age(os.urandom(32), recipient)
    lines = enc.split("\n")
    assert lines[0] == "-----BEGIN AGE ENCRYPTED FILE-----"
    assert lines[-2:] == ["-----END AGE ENCRYPTED FILE-----", ""]
    body = lines[1:-2]
    assert all(len(line) == 64 for line in body[:-1]) and 0 < len(body[-1]) <= 64
    header = base64.b64decode("".join(body)).split(b"\n---")[0].decode()
    stanzas = [line.split()[1] for line in header.splitlines() if line.startswith("-> ")]
    # One recipient stanza; pyrage adds a grease stanza, which age readers skip.
    assert [s for s in stanzas if not s.endswith("-grease")] == ["X25519"]


@requires("age")
def test_age_decrypts_what_we_wrap(age_key: tuple[Path, str, str], tmp_path: Path) -> None:
    key_file, _, recipient = age_key
    data_key = os.urandom(32)
    wrapped = tmp_path / "enc.age"
    wrapped.write_text(keys.wrap_age(data_key, recipient))
    assert_same_key(run("age", "-d", "-i", key_file, wrapped), data_key)


@requires("age")
def test_we_unwrap_what_age_wraps(age_key: tuple[Path, str, str], home: Path) -> None:
    key_file, _, recipient = age_key
    data_key = os.urandom(32)
    enc = run("age", "-e", "-a", "-r", recipient, stdin=data_key).decode()
    assert_same_key(keys.unwrap_age(enc, identities_from(key_file, home).identities), data_key)


@requires("age-keygen")
def test_generated_identity_agrees_with_age_keygen(tmp_path: Path) -> None:
    secret, recipient = keys.generate_age_identity()
    assert secret.startswith("AGE-SECRET-KEY-1") and recipient.startswith("age1")
    key_file = tmp_path / "k.txt"
    key_file.write_text(keys.age_key_file_text(secret, recipient,
                                               datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)))
    assert key_file.read_text().startswith("# created: 2024-01-02T00:00:00Z\n")
    assert run("age-keygen", "-y", key_file).decode().strip() == recipient
    assert keys.age_recipient_of(secret) == recipient


@requires("age-keygen")
def test_age_recipient_of_a_keygen_identity(tmp_path: Path) -> None:
    key_file = tmp_path / "k.txt"
    run("age-keygen", "-o", key_file)
    secret = next(line for line in key_file.read_text().splitlines()
                  if line.startswith("AGE-SECRET-KEY-1"))
    expected = run("age-keygen", "-y", key_file).decode().strip()
    assert keys.age_recipient_of(f"  {secret}\n") == expected


@pytest.mark.parametrize(("line", "message"), [
    ("AGE-SECRET-KEY-PQ-1QQQQQQQQQQ", "post-quantum"),
    ("AGE-PLUGIN-YUBIKEY-1QQQQQQ", "plugin"),
    ("AGE-SECRET-KEY-1NOTBECH32", "not a valid age identity"),
    ("age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29", "public key"),
    ("hunter2", "not an age identity"),
])
def test_age_recipient_of_refuses(line: str, message: str) -> None:
    with pytest.raises(GuardError, match=message) as caught:
        keys.age_recipient_of(line)
    assert_no_secret(str(caught.value), line)


@pytest.mark.parametrize(("recipient", "message"), [
    ("age1pq1ehusfwsvrente8p6gafr4jemv2urnqfm4c59ng5dgqqzlk2vv9rcek", "post-quantum"),
    ("age1yubikey1qgtar0k2elwymtm92ws84zpw2c3ehalxwj8cnevf7lunnva7l8xju03lfl5", "plugin"),
    ("age1notbech32", "not valid"),
    ("ssh-ed25519 AAAAnotbase64", "not valid"),
    ("ecdsa-sha2-nistp256 AAAA", "unknown type"),
    ("", "unknown type"),
])
def test_parse_age_recipient_refuses(recipient: str, message: str) -> None:
    with pytest.raises(GuardError, match=message):
        keys.parse_age_recipient(recipient)


def test_unwrap_age_errors() -> None:
    with pytest.raises(GuardError, match="no age identities"):
        keys.unwrap_age("x", [])
    _, recipient = keys.generate_age_identity()
    other, _ = keys.generate_age_identity()
    loaded = load_age_identities({"SOPS_AGE_KEY": other}, Path("/nonexistent"))
    with pytest.raises(GuardError, match="age decryption failed") as caught:
        keys.unwrap_age(keys.wrap_age(b"k" * 32, recipient), loaded.identities)
    assert_no_secret(str(caught.value), other)
    with pytest.raises(GuardError, match="not ASCII"):
        keys.unwrap_age("-----BEGIN AGE ENCRYPTED FILE-----\n€", loaded.identities)


def test_unwrap_age_tolerates_yaml_whitespace(age_key: tuple[Path, str, str], home: Path) -> None:
    key_file, _, recipient = age_key
    data_key = os.urandom(32)
    enc = keys.wrap_age(data_key, recipient)
    identities = identities_from(key_file, home).identities
    for variant in (enc.rstrip("\n"), f"\n  {enc}  \n", enc.replace("\n", "\r\n")):
        assert_same_key(keys.unwrap_age(variant, identities), data_key)


# -- age: SSH recipients -----------------------------------------------------------------------

@pytest.fixture(params=["ed25519", "rsa"])
def ssh_key(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not installed")
    path = tmp_path / f"id_{request.param}"
    run("ssh-keygen", "-q", "-t", request.param, "-N", "", "-C", "test@example", "-f", path)
    return path, Path(f"{path}.pub").read_text().strip()


@requires("age")
def test_ssh_recipients_interoperate_with_age(ssh_key: tuple[Path, str], home: Path,
                                              tmp_path: Path) -> None:
    private, public = ssh_key
    data_key = os.urandom(32)
    wrapped = tmp_path / "enc.age"
    wrapped.write_text(keys.wrap_age(data_key, public))
    assert_same_key(run("age", "-d", "-i", private, wrapped), data_key)

    loaded = load_age_identities({"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(private)}, home)
    (identity,) = loaded.identities
    assert same_recipient(public, identity.recipient)
    by_age = run("age", "-e", "-a", "-R", f"{private}.pub", stdin=data_key).decode()
    assert_same_key(keys.unwrap_age(by_age, loaded.identities), data_key)


def test_default_ssh_keys_are_found(ssh_key: tuple[Path, str], home: Path) -> None:
    private, public = ssh_key
    (home / ".ssh").mkdir()
    name = "id_ed25519" if "ed25519" in public else "id_rsa"
    shutil.copy(private, home / ".ssh" / name)
    loaded = load_age_identities({}, home)
    (identity,) = loaded.identities
    assert identity.source == str(home / ".ssh" / name)
    data_key = os.urandom(32)
    assert_same_key(keys.unwrap_age(keys.wrap_age(data_key, public), loaded.identities), data_key)


def test_ssh_key_from_a_command(ssh_key: tuple[Path, str], home: Path) -> None:
    private, public = ssh_key
    loaded = load_age_identities({**base_environ(),
                                  "SOPS_AGE_SSH_PRIVATE_KEY_CMD": f"cat '{private}'"}, home)
    (identity,) = loaded.identities
    assert identity.source == "SOPS_AGE_SSH_PRIVATE_KEY_CMD"
    assert same_recipient(public, identity.recipient)


@requires("ssh-keygen")
@pytest.mark.parametrize(("args", "message"), [
    (("-t", "ed25519", "-N", "a passphrase"), "passphrase-protected SSH keys are not supported"),
    (("-t", "ecdsa", "-N", ""), "cannot use the SSH key"),
])
def test_unusable_ssh_keys_are_problems(args: tuple[str, ...], message: str, home: Path,
                                        tmp_path: Path) -> None:
    private = tmp_path / "id"
    run("ssh-keygen", "-q", *args, "-f", private)
    loaded = load_age_identities({"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(private)}, home)
    assert loaded.identities == ()
    assert any(message in problem for problem in loaded.problems)
    assert_no_secret("\n".join(loaded.problems), private.read_text())


@requires("ssh-keygen")
def test_pem_rsa_keys_know_their_recipient(home: Path, tmp_path: Path) -> None:
    private = tmp_path / "id_rsa"
    run("ssh-keygen", "-q", "-t", "rsa", "-m", "PEM", "-N", "", "-C", "pem", "-f", private)
    assert private.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    loaded = load_age_identities({"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(private)}, home)
    (identity,) = loaded.identities
    assert same_recipient(Path(f"{private}.pub").read_text(), identity.recipient)


def test_unreadable_key_files_are_problems(tmp_path: Path, home: Path) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    loaded = load_age_identities({"SOPS_AGE_KEY_FILE": str(directory),
                                  "SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(directory)}, home)
    assert loaded.identities == ()
    assert [p.split(":")[0] for p in loaded.problems] == [
        f"SOPS_AGE_SSH_PRIVATE_KEY_FILE ({directory})", f"SOPS_AGE_KEY_FILE ({directory})"]
    assert all("cannot read" in p for p in loaded.problems)


def test_same_recipient() -> None:
    assert same_recipient("ssh-ed25519 AAAA comment", "ssh-ed25519 AAAA")
    assert not same_recipient("ssh-ed25519 AAAA", "ssh-ed25519 BBBB")
    assert not same_recipient("age1x", None)


# -- age: where identities come from -----------------------------------------------------------

Setup = Callable[[Path, Path, str], tuple[dict[str, str], str]]


def _env_var(tmp: Path, home: Path, secret: str) -> tuple[dict[str, str], str]:
    return {"SOPS_AGE_KEY": secret}, "SOPS_AGE_KEY line 1"


def _env_var_among_others(tmp: Path, home: Path, secret: str) -> tuple[dict[str, str], str]:
    other, _ = keys.generate_age_identity()
    return {"SOPS_AGE_KEY": f"# mine\n{other}  {secret}\t\n\n"}, "SOPS_AGE_KEY line 2"


def _key_file(tmp: Path, home: Path, secret: str) -> tuple[dict[str, str], str]:
    path = tmp / "elsewhere.txt"
    path.write_text(f"# a comment\n\n{secret}\n")
    return {"SOPS_AGE_KEY_FILE": str(path)}, f"SOPS_AGE_KEY_FILE ({path}) line 3"


def _key_command(tmp: Path, home: Path, secret: str) -> tuple[dict[str, str], str]:
    path = tmp / "secret.txt"
    path.write_text(secret)
    return {**base_environ(), "SOPS_AGE_KEY_CMD": f"cat '{path}'"}, "SOPS_AGE_KEY_CMD line 1"


def _xdg_config(tmp: Path, home: Path, secret: str) -> tuple[dict[str, str], str]:
    keys_txt = tmp / "xdg" / "sops" / "age" / "keys.txt"
    keys_txt.parent.mkdir(parents=True)
    keys_txt.write_text(secret + "\n")
    return {"XDG_CONFIG_HOME": str(tmp / "xdg")}, f"{keys_txt} line 1"


def _dot_config(tmp: Path, home: Path, secret: str) -> tuple[dict[str, str], str]:
    keys_txt = home / ".config" / "sops" / "age" / "keys.txt"
    keys_txt.parent.mkdir(parents=True)
    keys_txt.write_text(secret + "\n")
    return {}, f"{keys_txt} line 1"


@pytest.mark.parametrize("setup", [_env_var, _env_var_among_others, _key_file, _key_command,
                                   _xdg_config, _dot_config])
def test_identity_sources(setup: Setup, tmp_path: Path, home: Path) -> None:
    secret, recipient = keys.generate_age_identity()
    environ, source = setup(tmp_path, home, secret)
    loaded = load_age_identities(environ, home, platform="linux")
    found = [i for i in loaded.identities if i.recipient == recipient]
    assert [i.source for i in found] == [source]
    assert loaded.problems == ()
    data_key = os.urandom(32)
    assert_same_key(keys.unwrap_age(keys.wrap_age(data_key, recipient), loaded.identities),
                    data_key)
    assert_no_secret(repr(loaded), secret)


def test_all_sources_are_read_together(tmp_path: Path, home: Path) -> None:
    setups = [_env_var, _key_file, _key_command, _dot_config]
    environ: dict[str, str] = {}
    for setup in setups:
        environ.update(setup(tmp_path, home, keys.generate_age_identity()[0])[0])
    assert len(load_age_identities(environ, home, platform="linux").identities) == len(setups)


def test_key_command_is_told_the_recipient(tmp_path: Path, home: Path) -> None:
    secret, recipient = keys.generate_age_identity()
    path = tmp_path / "secret.txt"
    path.write_text(secret)
    # Not run by a shell: the quoting is shlex's, the `sh -c` is the command's own.
    command = f"sh -c 'test \"$SOPS_AGE_RECIPIENT\" = {recipient} && cat \"$0\"' '{path}'"
    environ = {**base_environ(), "SOPS_AGE_KEY_CMD": command}
    assert len(load_age_identities(environ, home, recipient=recipient).identities) == 1
    refused = load_age_identities(environ, home, recipient="age1other")
    assert refused.identities == ()
    assert refused.problems == ("SOPS_AGE_KEY_CMD: the command exited with status 1",)


@pytest.mark.parametrize(("command", "message"), [
    ("false", "exited with status 1"),
    ("/nonexistent/keys-please", "cannot run '/nonexistent/keys-please'"),
    ("echo 'unterminated", "cannot parse the command"),
    ("   ", None),  # blank: as if unset
])
def test_key_command_failures(command: str, message: str | None, home: Path) -> None:
    loaded = load_age_identities({**base_environ(), "SOPS_AGE_KEY_CMD": command}, home)
    assert loaded.identities == ()
    if message is None:
        assert loaded.problems == ("SOPS_AGE_KEY_CMD: the command is empty",)
    else:
        assert len(loaded.problems) == 1 and message in loaded.problems[0]


def test_unusable_lines_are_problems_and_do_not_hide_good_ones(tmp_path: Path,
                                                               home: Path) -> None:
    secret, recipient = keys.generate_age_identity()
    lines = {
        "AGE-SECRET-KEY-PQ-1Z8QMHKS77CVF95LF38SMLQQQQ": "line 1: post-quantum",
        "AGE-PLUGIN-YUBIKEY-1QQQQQQQQ": "line 2: age plugin keys are not supported",
        "AGE-SECRET-KEY-1TYPO": "line 3: not a valid age identity",
        recipient: "line 4: this is a public key",
        "password=hunter2": "line 5: not an age identity",
    }
    path = tmp_path / "keys.txt"
    path.write_text("\n".join([*lines, secret]) + "\n")
    loaded = identities_from(path, home)
    assert [i.recipient for i in loaded.identities] == [recipient]
    for problem, expected in zip(loaded.problems, lines.values(), strict=True):
        assert problem.startswith(f"SOPS_AGE_KEY_FILE ({path}) {expected}")
    assert_no_secret("\n".join(loaded.problems), secret, "hunter2",
                     "AGE-SECRET-KEY-PQ-1Z8QMHKS77CVF95LF38SMLQQQQ")


def test_passphrase_protected_key_file_is_a_clear_problem(tmp_path: Path, home: Path) -> None:
    secret, _ = keys.generate_age_identity()
    path = tmp_path / "keys.age"
    path.write_bytes(pyrage.passphrase.encrypt(secret.encode(), "correct horse", armored=True))
    loaded = identities_from(path, home)
    assert loaded.identities == ()
    (problem,) = loaded.problems
    assert "passphrase-protected" in problem and "SOPS_AGE_KEY_CMD" in problem


def test_missing_sources(tmp_path: Path, home: Path) -> None:
    loaded = load_age_identities({"SOPS_AGE_KEY_FILE": str(tmp_path / "nope.txt")}, home,
                                 platform="linux")
    assert loaded.identities == ()
    assert loaded.problems == (f"SOPS_AGE_KEY_FILE ({tmp_path / 'nope.txt'}): no such file",)
    assert loaded.unused == (
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
        str(home / ".ssh" / "id_ed25519"), str(home / ".ssh" / "id_rsa"), "SOPS_AGE_KEY",
        "SOPS_AGE_KEY_CMD", str(home / ".config" / "sops" / "age" / "keys.txt"))


@pytest.mark.parametrize(("environ", "platform", "expected"), [
    ({}, "linux", "HOME/.config"),
    ({"XDG_CONFIG_HOME": "/xdg"}, "linux", "/xdg"),
    ({"XDG_CONFIG_HOME": "relative/xdg"}, "linux", None),
    ({}, "darwin", "HOME/Library/Application Support"),
    ({"XDG_CONFIG_HOME": "/xdg"}, "darwin", "/xdg"),
    ({"AppData": "C:/Users/u/AppData/Roaming"}, "win32", "C:/Users/u/AppData/Roaming"),
    ({"APPDATA": "C:/Users/u/AppData/Roaming"}, "win32", "C:/Users/u/AppData/Roaming"),
    ({}, "win32", None),
])
def test_user_config_dir(environ: dict[str, str], platform: str, expected: str | None) -> None:
    home = Path("/home/user")
    found = user_config_dir(environ, home, platform)
    want = None if expected is None else Path(expected.replace("HOME", str(home)))
    assert found == want


def test_relative_xdg_config_home_is_reported(home: Path) -> None:
    loaded = load_age_identities({"XDG_CONFIG_HOME": "rel"}, home, platform="linux")
    assert "XDG_CONFIG_HOME is relative (rel); the user config dir is unset" in loaded.problems


# -- age: the published vectors ----------------------------------------------------------------

def _yaml_age(path: Path) -> list[tuple[str, str]]:
    sops = yaml.safe_load(path.read_text())["sops"]
    return [(entry["recipient"], entry["enc"]) for entry in sops["age"]]


def _json_age(path: Path) -> list[tuple[str, str]]:
    sops = json.loads(path.read_text())["sops"]
    return [(entry["recipient"], entry["enc"]) for entry in sops["age"]]


def _dotenv_age(path: Path) -> list[tuple[str, str]]:
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    enc = values["sops_age__list_0__map_enc"].replace("\\n", "\n")
    return [(values["sops_age__list_0__map_recipient"], enc)]


AGE_VECTORS = [
    ("fluxcd-kustomize-controller/algorithms/age.yaml", "fluxcd-kustomize-controller/keys/age.txt",
     _yaml_age),
    ("fluxcd-kustomize-controller/global/secret.yaml",
     "fluxcd-kustomize-controller/keys/age-global.txt", _yaml_age),
    ("fluxcd-kustomize-controller/patches/merge1.yaml", "fluxcd-kustomize-controller/keys/age.txt",
     _yaml_age),
    ("fluxcd-kustomize-controller/files/file.txt", "fluxcd-kustomize-controller/keys/age.txt",
     _json_age),
    ("fluxcd-kustomize-controller/envs/env.env", "fluxcd-kustomize-controller/keys/age.txt",
     _dotenv_age),
    ("Mic92-sops-nix/secrets.yaml", "Mic92-sops-nix/age-keys.txt", _yaml_age),
    ("jkroepke-helm-secrets/values/sops/secrets.age.yaml", "jkroepke-helm-secrets/age/key.txt",
     _yaml_age),
]


@needs_vectors
@pytest.mark.parametrize(("vector", "key_file", "entries"), AGE_VECTORS)
def test_age_vectors_unwrap(vector: str, key_file: str,
                            entries: Callable[[Path], list[tuple[str, str]]], home: Path,
                            tmp_path: Path) -> None:
    loaded = identities_from(VECTORS / key_file, home)
    (identity,) = loaded.identities
    group = KeyGroup(age=tuple(AgeKey(r, enc) for r, enc in entries(VECTORS / vector)))
    assert identity.recipient in [key.recipient for key in group.age]
    env = keys.KeyEnvironment({"SOPS_AGE_KEY_FILE": str(VECTORS / key_file)}, home)
    data_key = keys.unwrap_key_groups((group,), 0, env)
    assert len(data_key) == 32
    if shutil.which("age") is not None:  # and the real age agrees
        mine = next(key for key in group.age if key.recipient == identity.recipient)
        (tmp_path / "enc").write_text(mine.enc)
        assert_same_key(run("age", "-d", "-i", VECTORS / key_file, tmp_path / "enc"), data_key)


@needs_vectors
def test_post_quantum_vector_is_refused_clearly(home: Path) -> None:
    key_file = VECTORS / "fluxcd-kustomize-controller/keys/age-pq.txt"
    loaded = identities_from(key_file, home)
    assert loaded.identities == ()
    assert any("post-quantum" in p for p in loaded.problems)
    entries = _yaml_age(VECTORS / "fluxcd-kustomize-controller/algorithms/age-pq.yaml")
    group = KeyGroup(age=tuple(AgeKey(r, enc) for r, enc in entries))
    env = keys.KeyEnvironment({"SOPS_AGE_KEY_FILE": str(key_file)}, home)
    with pytest.raises(keys.DataKeyError, match="post-quantum") as caught:
        keys.unwrap_key_groups((group,), 0, env)
    secret = key_file.read_text().split()[-1]
    assert_no_secret(str(caught.value), secret)


# -- key groups: which key gives the data key, and why none did --------------------------------

def test_data_key_error_names_every_key_and_reason(tmp_path: Path, home: Path) -> None:
    mine, _ = keys.generate_age_identity()
    _, first = keys.generate_age_identity()
    _, second = keys.generate_age_identity()
    group = KeyGroup(age=(AgeKey(first, keys.wrap_age(b"k" * 32, first)),
                          AgeKey(second, keys.wrap_age(b"k" * 32, second))),
                     pgp=(PgpKey("ABCDEF0123456789", "-----BEGIN PGP MESSAGE-----", ""),))
    env = keys.KeyEnvironment({"SOPS_AGE_KEY": mine, "PATH": ""}, home)
    with pytest.raises(keys.DataKeyError) as caught:
        keys.unwrap_key_groups((group,), 0, env)
    error = caught.value
    assert [key for key, _ in error.attempts] == [f"age {first}", f"age {second}",
                                                  "pgp ABCDEF0123456789"]
    assert "none of the 1 age identities loaded is this recipient's" in error.attempts[0][1]
    assert "loaded from SOPS_AGE_KEY" in error.attempts[0][1]
    assert "gpg not found" in error.attempts[2][1]
    assert str(error).startswith("could not decrypt the data key with any master key\n  - age ")
    assert_no_secret(str(error), mine, b"k" * 32)


def test_a_damaged_enc_for_a_loaded_identity(home: Path) -> None:
    secret, recipient = keys.generate_age_identity()
    enc = keys.wrap_age(b"k" * 32, recipient)
    lines = enc.split("\n")
    lines[2] = lines[2][::-1]
    group = KeyGroup(age=(AgeKey(recipient, "\n".join(lines)),))
    with pytest.raises(keys.DataKeyError) as caught:
        keys.unwrap_group(group, keys.KeyEnvironment({"SOPS_AGE_KEY": secret}, home))
    ((_, reason),) = caught.value.attempts
    assert reason.startswith("age decryption failed")


def test_no_identity_at_all(home: Path) -> None:
    _, recipient = keys.generate_age_identity()
    group = KeyGroup(age=(AgeKey(recipient, keys.wrap_age(b"k" * 32, recipient)),))
    with pytest.raises(keys.DataKeyError, match="no age identity found; nothing in "):
        keys.unwrap_key_groups((group,), 0, keys.KeyEnvironment({}, home))


def test_foreign_keys_are_named_when_nothing_works(home: Path) -> None:
    from gitops_guard.sops.metadata import ForeignKey
    from gitops_guard.sops.values import Mapping

    group = KeyGroup(foreign=(ForeignKey("kms", Mapping()),))
    with pytest.raises(keys.DataKeyError, match="kms: not supported here"):
        keys.unwrap_group(group, keys.KeyEnvironment({}, home))


@pytest.mark.parametrize(("order", "first"), [("", "age"), ("pgp,age", "pgp"), ("pgp", "pgp"),
                                              ("kms, age", "age")])
def test_decryption_order(order: str, first: str, home: Path) -> None:
    _, recipient = keys.generate_age_identity()
    group = KeyGroup(age=(AgeKey(recipient, "x"),), pgp=(PgpKey("ABCD", "x", ""),))
    env = keys.KeyEnvironment({"SOPS_DECRYPTION_ORDER": order, "PATH": ""}, home)
    with pytest.raises(keys.DataKeyError) as caught:
        keys.unwrap_group(group, env)
    assert caught.value.attempts[0][0].split()[0] == first


def _groups_for(recipients: list[str]) -> tuple[KeyGroup, ...]:
    return tuple(KeyGroup(age=(AgeKey(r, ""),)) for r in recipients)


def test_wrap_and_unwrap_one_group(home: Path) -> None:
    secrets = [keys.generate_age_identity() for _ in range(2)]
    group = KeyGroup(age=tuple(AgeKey(r, "") for _, r in secrets))
    data_key = os.urandom(32)
    (wrapped,) = keys.wrap_key_groups(data_key, (group,), 0, {})
    assert [k.recipient for k in wrapped.age] == [r for _, r in secrets]
    for secret, _ in secrets:
        env = keys.KeyEnvironment({"SOPS_AGE_KEY": secret}, home)
        assert_same_key(keys.unwrap_key_groups((wrapped,), 0, env), data_key)


def test_entries_that_have_an_enc_are_kept(home: Path) -> None:
    _, recipient = keys.generate_age_identity()
    kept = AgeKey("age1kept", "already wrapped")
    (wrapped,) = keys.wrap_key_groups(os.urandom(32), (KeyGroup(age=(kept, AgeKey(recipient,
                                                                                   ""))),), 0, {})
    assert wrapped.age[0] is kept and wrapped.age[1].enc.startswith("-----BEGIN AGE")
    # With several groups the shares are new, so nothing is kept.
    again = keys.wrap_key_groups(os.urandom(32), (KeyGroup(age=(AgeKey(recipient, "old"),)),
                                                  KeyGroup(age=(AgeKey(recipient, "old"),))),
                                 0, {})
    assert all(group.age[0].enc.startswith("-----BEGIN AGE") for group in again)


@pytest.mark.parametrize(("groups", "threshold", "available", "works"), [
    (3, 2, [0, 2], True),
    (3, 2, [1], False),
    (3, 0, [0, 1], False),  # 0: every group is needed
    (3, 0, [0, 1, 2], True),
    (4, 3, [1, 2, 3], True),
])
def test_key_groups_with_shamir(groups: int, threshold: int, available: list[int], works: bool,
                                home: Path) -> None:
    pairs = [keys.generate_age_identity() for _ in range(groups)]
    data_key = os.urandom(32)
    wrapped = keys.wrap_key_groups(data_key, _groups_for([r for _, r in pairs]), threshold, {})
    assert all(len(group.age) == 1 for group in wrapped)
    env = keys.KeyEnvironment({"SOPS_AGE_KEY": " ".join(pairs[i][0] for i in available)}, home)
    if works:
        assert_same_key(keys.unwrap_key_groups(wrapped, threshold, env), data_key)
    else:
        with pytest.raises(keys.DataKeyError, match=r"only \d of the \d key groups") as caught:
            keys.unwrap_key_groups(wrapped, threshold, env)
        assert caught.value.attempts[0][0].startswith("key group ")


def test_group_errors(home: Path) -> None:
    with pytest.raises(GuardError, match="the key group has no master keys"):
        keys.unwrap_group(KeyGroup(), keys.KeyEnvironment({}, home))
    with pytest.raises(GuardError, match="no key groups"):
        keys.unwrap_key_groups((), 0, keys.KeyEnvironment({}, home))
    with pytest.raises(GuardError, match="no key groups"):
        keys.wrap_key_groups(b"k" * 32, (), 0, {})
    secret, recipient = keys.generate_age_identity()
    short = KeyGroup(age=(AgeKey(recipient, keys.wrap_age(b"short", recipient)),))
    with pytest.raises(GuardError, match="the data key is 5 bytes, not 32"):
        keys.unwrap_key_groups((short,), 0, keys.KeyEnvironment({"SOPS_AGE_KEY": secret}, home))


# -- PGP through gpg ---------------------------------------------------------------------------

def _gnupg_home(import_test_key: bool) -> Iterator[dict[str, str]]:
    if shutil.which("gpg") is None:
        pytest.skip("gpg not installed")
    if import_test_key and not TEST_PGP_KEY.is_file():
        pytest.skip(f"{TEST_PGP_KEY} is absent")
    # Short: gpg-agent's socket lives in GNUPGHOME, and socket paths are limited.
    gnupghome = Path(tempfile.mkdtemp(prefix="gg-gpg-", dir="/tmp"))
    environ = {**base_environ(), "GNUPGHOME": str(gnupghome), "HOME": str(gnupghome)}
    try:
        if import_test_key:
            run("gpg", "--batch", "--import", TEST_PGP_KEY, env=environ)
        yield environ
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=environ, capture_output=True,
                       check=False)
        shutil.rmtree(gnupghome, ignore_errors=True)


@pytest.fixture(scope="module")
def gnupg() -> Iterator[dict[str, str]]:
    """A GNUPGHOME holding sops' functional-test secret keys."""
    yield from _gnupg_home(import_test_key=True)


@pytest.fixture(scope="module")
def empty_gnupg() -> Iterator[dict[str, str]]:
    yield from _gnupg_home(import_test_key=False)


def _json_pgp(path: Path) -> list[tuple[str, str]]:
    return [(e["fp"], e["enc"]) for e in json.loads(path.read_text())["sops"]["pgp"]]


def _yaml_pgp(path: Path) -> list[tuple[str, str]]:
    return [(e["fp"], e["enc"]) for e in yaml.safe_load(path.read_text())["sops"]["pgp"]]


@needs_vectors
@pytest.mark.parametrize(("vector", "entries"), [
    ("getsops-sops/functional-tests/res/format.enc.json", _json_pgp),
    ("getsops-sops/functional-tests/res/format.enc.yaml", _yaml_pgp),  # 3.13: no final newline
    ("getsops-sops/functional-tests/res/multiple_keys.yaml", _yaml_pgp),
    ("getsops-sops/example.yaml", _yaml_pgp),
])
def test_pgp_vectors_unwrap(vector: str, entries: Callable[[Path], list[tuple[str, str]]],
                            gnupg: dict[str, str]) -> None:
    found = entries(VECTORS / vector)
    assert {fp for fp, _ in found} <= {TEST_PGP_FP, TEST_PGP_FP_2}
    data_keys = [keys.unwrap_pgp(enc, fp, gnupg) for fp, enc in found]
    assert all(len(data_key) == 32 for data_key in data_keys)
    for data_key in data_keys[1:]:
        assert_same_key(data_key, data_keys[0])


def test_pgp_round_trip(gnupg: dict[str, str]) -> None:
    data_key = os.urandom(32)
    enc = keys.wrap_pgp(data_key, " ".join([TEST_PGP_FP[:20], TEST_PGP_FP[20:]]), gnupg)
    assert enc.startswith("-----BEGIN PGP MESSAGE-----\n")
    assert enc.endswith("-----END PGP MESSAGE-----")  # as sops 3.13 writes it
    assert_same_key(keys.unwrap_pgp(enc, TEST_PGP_FP, gnupg), data_key)


def test_pgp_key_groups(gnupg: dict[str, str], home: Path) -> None:
    data_key = os.urandom(32)
    groups = (KeyGroup(pgp=(PgpKey(TEST_PGP_FP, "", ""),)),
              KeyGroup(pgp=(PgpKey(TEST_PGP_FP_2, "", "2020-01-01T00:00:00Z"),)))
    now = datetime.datetime(2024, 11, 12, 13, 33, 42, tzinfo=datetime.UTC)
    wrapped = keys.wrap_key_groups(data_key, groups, 2, gnupg, now=now)
    assert [g.pgp[0].created_at for g in wrapped] == ["2024-11-12T13:33:42Z",
                                                      "2020-01-01T00:00:00Z"]
    env = keys.KeyEnvironment(gnupg, home)
    assert_same_key(keys.unwrap_key_groups(wrapped, 2, env), data_key)


def test_pgp_empty_plaintext(gnupg: dict[str, str]) -> None:
    enc = keys.wrap_pgp(b"", TEST_PGP_FP, gnupg)
    with pytest.raises(GuardError, match="gpg returned nothing"):
        keys.unwrap_pgp(enc, TEST_PGP_FP, gnupg)


def test_gpg_failures_never_show_session_keys() -> None:
    stderr = (b"[GNUPG:] SESSION_KEY 9:0123456789ABCDEF\n"
              b"gpg: session key: '9:0123456789ABCDEF'\n"
              b"[GNUPG:] NO_SECKEY 25294A17CD90507F\n"
              b"gpg: decryption failed: No secret key\n")
    message = keys._gpg_failure(2, stderr)
    assert message == ("gpg failed (exit status 2): decryption failed: No secret key "
                       "[NO_SECKEY 25294A17CD90507F]")


def test_pgp_to_an_unknown_key(gnupg: dict[str, str]) -> None:
    data_key = os.urandom(32)
    with pytest.raises(GuardError) as caught:
        keys.wrap_pgp(data_key, "0000000000000000000000000000000000000000", gnupg)
    message = str(caught.value)
    assert message.startswith("PGP key 0000000000000000000000000000000000000000: gpg failed")
    assert "No public key" in message and "INV_RECP" in message
    assert_no_secret(message, data_key)


def test_pgp_without_the_secret_key(gnupg: dict[str, str], empty_gnupg: dict[str, str]) -> None:
    enc = keys.wrap_pgp(os.urandom(32), TEST_PGP_FP, gnupg)
    with pytest.raises(GuardError, match=f"PGP key {TEST_PGP_FP}: gpg failed .*No secret key"):
        keys.unwrap_pgp(enc, TEST_PGP_FP, empty_gnupg)


def test_pgp_garbage(empty_gnupg: dict[str, str]) -> None:
    with pytest.raises(GuardError, match=r"gpg failed .*NODATA"):
        keys.unwrap_pgp("not a message", "ABCD", empty_gnupg)


@pytest.mark.parametrize("environ", [{"PATH": ""}, {"PATH": os.defpath,
                                                    "SOPS_GPG_EXEC": "no-such-gpg"}])
def test_gpg_missing(environ: dict[str, str]) -> None:
    with pytest.raises(GuardError, match="gpg not found"):
        keys.unwrap_pgp("x", "ABCD", environ)
    with pytest.raises(GuardError, match="gpg not found"):
        keys.wrap_pgp(b"k" * 32, "ABCD", environ)
