"""Files the real Go sops wrote: every one decrypts here with its published key and its MAC
verifies; re-encrypting one with its own data key and IVs gives back the same bytes; any
change to a value, the MAC or lastmodified is caught."""

from __future__ import annotations

import base64
import io
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from gitops_guard.errors import GuardError
from gitops_guard.sops import commands, sopsfile
from gitops_guard.sops.masterkeys import LocalKeyring
from gitops_guard.sops.metadata import layout_of
from gitops_guard.sops.stores import EmitOptions, format_for_path
from tests.sops.conftest import vectors_or_skip

FLUX = "fluxcd-kustomize-controller"
# (vector, age key file or "pgp", text the plaintext must contain)
VECTORS = [
    (f"{FLUX}/algorithms/age.yaml", f"{FLUX}/keys/age.txt", "key: value"),
    (f"{FLUX}/algorithms/pgp.yaml", "pgp", "key: value"),
    (f"{FLUX}/global/secret.yaml", f"{FLUX}/keys/age-global.txt", "kind: Secret"),
    (f"{FLUX}/patches/merge1.yaml", f"{FLUX}/keys/age.txt", "kind"),
    (f"{FLUX}/patches/merge2.yaml", f"{FLUX}/keys/age.txt", "kind"),
    (f"{FLUX}/envs/env.env", f"{FLUX}/keys/age.txt", "key=value"),
    (f"{FLUX}/component/env.env", f"{FLUX}/keys/age.txt", "="),
    (f"{FLUX}/remote/env.env", f"{FLUX}/keys/age.txt", "="),
    (f"{FLUX}/files/file.txt", f"{FLUX}/keys/age.txt", "value"),
    ("Mic92-sops-nix/secrets.yaml", "Mic92-sops-nix/age-keys.txt", ":"),
    ("Mic92-sops-nix/secrets.json", "pgp", "{"),
    ("Mic92-sops-nix/secrets.env", "pgp", "="),
    ("Mic92-sops-nix/secrets.ini", "pgp", "["),
    ("Mic92-sops-nix/secrets.bin", "pgp", "binary_value"),
    ("jkroepke-helm-secrets/values/sops/secrets.age.yaml", "jkroepke-helm-secrets/age/key.txt",
     ":"),
    ("jkroepke-helm-secrets/values/sops/secrets.yaml", "pgp", ":"),
    ("jkroepke-helm-secrets/values/sops/secrets.trailing-newline.yaml", "pgp", ":"),
    ("jkroepke-helm-secrets/values/sops/secrets.trailing-newline.raw", "pgp", ""),
    ("jkroepke-helm-secrets/values/sops/files/file.json", "pgp", "{"),
    ("jkroepke-helm-secrets/values/sops/files/file.properties", "pgp", "="),
    ("getsops-sops/functional-tests/res/format.enc.yaml", "pgp", "foo: bar"),
    ("getsops-sops/functional-tests/res/format.enc.json", "pgp", '"foo": "bar"'),
    ("getsops-sops/functional-tests/res/format.enc.env", "pgp", "foo = bar"),
    ("getsops-sops/functional-tests/res/format.enc.ini", "pgp", "bar = baz"),
    ("getsops-sops/functional-tests/res/format-2.enc.ini", "pgp", "bar = baz"),
    ("getsops-sops/functional-tests/res/comments.enc.yaml", "pgp", "#"),
    ("getsops-sops/functional-tests/res/comments_unencrypted_comments.yaml", "pgp", "#"),
    ("getsops-sops/functional-tests/res/multiple_keys.yaml", "pgp", ":"),
    ("getsops-sops/example.yaml", "pgp", "nested_unencrypted"),
    ("getsops-sops/example.json", "pgp", '"firstName": "John"'),
    ("getsops-sops/example.ini", "pgp", "firstName = John"),
    ("getsops-sops/example.txt", "pgp", "Welcome to SOPS!"),
    ("viaduct-ai-kustomize-sops/test/krm/single/secret.enc.yaml", "pgp", "kind: Secret"),
    ("viaduct-ai-kustomize-sops/test/krm/metadata/secret.enc.env", "pgp", "="),
]
# Plaintexts published beside their encrypted form.
PLAINTEXTS = {
    "getsops-sops/functional-tests/res/comments.enc.yaml":
        "getsops-sops/functional-tests/res/comments.yaml",
    "jkroepke-helm-secrets/values/sops/secrets.trailing-newline.raw":
        "jkroepke-helm-secrets/values/sops/secrets.trailing-newline.dec.raw",
}


def environ_for(key: str, gnupg: Path | None, vectors: Path) -> dict[str, str]:
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent"}
    if key == "pgp":
        assert gnupg is not None
        environ["GNUPGHOME"] = str(gnupg)
    else:
        environ["SOPS_AGE_KEY_FILE"] = str(vectors / key)
    return environ


def decrypt(path: Path, environ: dict[str, str], *extra: str) -> bytes:
    out = io.BytesIO()
    request = commands.Request(file=path, cwd=path.parent, environ=environ, stdout=out,
                               stderr=io.StringIO(), ignore_mac="--ignore-mac" in extra,
                               input_type="binary" if "--binary" in extra else None)
    assert commands.decrypt(request) == 0
    return out.getvalue()


@pytest.fixture
def pgp_home(request: pytest.FixtureRequest) -> Path | None:
    key = request.node.callspec.params.get("key")
    return request.getfixturevalue("gnupg_home") if key == "pgp" else None


@pytest.mark.parametrize(("vector", "key", "expected"), VECTORS)
def test_every_vector_decrypts_and_its_mac_verifies(vector: str, key: str, expected: str,
                                                    pgp_home: Path | None) -> None:
    vectors = vectors_or_skip()
    plaintext = decrypt(vectors / vector, environ_for(key, pgp_home, vectors))
    assert expected.encode() in plaintext
    assert b"ENC[AES256_GCM" not in plaintext
    if vector in PLAINTEXTS:
        # The published plaintext is what went into sops (hand-written): same content, with
        # comments; byte-identical where the format has no layout of its own (binary).
        published = (vectors / PLAINTEXTS[vector]).read_bytes()
        fmt = format_for_path(Path(vector))
        assert sopsfile.load_plain(plaintext, fmt) == sopsfile.load_plain(published, fmt)
        if fmt == "binary":
            assert plaintext == published


def test_a_secret_holding_a_sops_file(tmp_path: Path) -> None:
    """Flux's case: a Secret's data.key is a base64 binary-store sops file."""
    vectors = vectors_or_skip()
    text = (vectors / FLUX / "inside" / "secret.yaml").read_text()
    encoded = re.search(r"^\s+key: (\S+)$", text, re.M)
    assert encoded is not None
    inner = tmp_path / "inner.bin"
    inner.write_bytes(base64.b64decode(encoded[1]))
    environ = environ_for(f"{FLUX}/keys/age.txt", None, vectors)
    assert decrypt(inner, environ, "--binary") == b"value"


def test_post_quantum_age_keys_are_reported_as_unsupported() -> None:
    vectors = vectors_or_skip()
    environ = environ_for(f"{FLUX}/keys/age-pq.txt", None, vectors)
    with pytest.raises(GuardError, match="post-quantum") as caught:
        decrypt(vectors / FLUX / "algorithms" / "age-pq.yaml", environ)
    secret = next(line for line in (vectors / FLUX / "keys" / "age-pq.txt").read_text()
                  .splitlines() if line.startswith("AGE-SECRET-KEY"))
    assert secret not in str(caught.value) and secret[20:40] not in str(caught.value)


def test_a_file_without_mac_is_refused_unless_asked(gnupg_home: Path) -> None:
    vectors = vectors_or_skip()
    path = vectors / "getsops-sops" / "functional-tests" / "res" / "no_mac.yaml"
    environ = environ_for("pgp", gnupg_home, vectors)
    with pytest.raises(GuardError, match="has no MAC"):
        decrypt(path, environ)
    assert b"ENC[" not in decrypt(path, environ, "--ignore-mac")


# -- golden: decrypt, re-encrypt with the same data key and IVs, same bytes --------------------

GOLDEN = [
    (f"{FLUX}/algorithms/age.yaml", f"{FLUX}/keys/age.txt"),  # YAML, 2 spaces, 3.9.0
    (f"{FLUX}/global/secret.yaml", f"{FLUX}/keys/age-global.txt"),  # 3.10.2 layout
    (f"{FLUX}/patches/merge1.yaml", f"{FLUX}/keys/age.txt"),
    ("Mic92-sops-nix/secrets.yaml", "Mic92-sops-nix/age-keys.txt"),  # 4 spaces, 3.7.1
    ("jkroepke-helm-secrets/values/sops/secrets.age.yaml", "jkroepke-helm-secrets/age/key.txt"),
    ("getsops-sops/example.yaml", "pgp"),  # encrypted comments, bool, float, lists
    ("getsops-sops/functional-tests/res/format.enc.yaml", "pgp"),  # 3.13.1
    ("jkroepke-helm-secrets/values/sops/secrets.trailing-newline.yaml", "pgp"),
    (f"{FLUX}/envs/env.env", f"{FLUX}/keys/age.txt"),  # dotenv, 3.9.0
    ("getsops-sops/functional-tests/res/format.enc.env", "pgp"),  # dotenv, 3.13.1
    ("getsops-sops/functional-tests/res/format.enc.json", "pgp"),  # JSON, final newline
    ("getsops-sops/example.json", "pgp"),  # JSON 3.5.0, float
    ("jkroepke-helm-secrets/values/sops/files/file.json", "pgp"),  # JSON 3.7.3, nulls
    ("getsops-sops/functional-tests/res/format.enc.ini", "pgp"),  # INI 3.13.2
    (f"{FLUX}/files/file.txt", f"{FLUX}/keys/age.txt"),  # binary, no final newline
    ("jkroepke-helm-secrets/values/sops/secrets.trailing-newline.raw", "pgp"),  # binary 3.10
]


def emit_options(data: bytes, fmt: str) -> EmitOptions:
    if fmt == "yaml":
        indent = re.search(rb"^( +)\S", data, re.M)
        return EmitOptions(indent=len(indent[1]) if indent else 4)
    return EmitOptions(final_newline=data.endswith(b"\n"))


@pytest.mark.parametrize(("vector", "key"), GOLDEN)
def test_re_encrypting_with_the_same_key_and_ivs_gives_the_same_bytes(
        vector: str, key: str, pgp_home: Path | None) -> None:
    vectors = vectors_or_skip()
    path = vectors / vector
    original = path.read_bytes()
    fmt = format_for_path(path)
    encrypted = sopsfile.load_encrypted(original, fmt, vector)
    assert encrypted is not None
    keyring = LocalKeyring(environ_for(key, pgp_home, vectors), Path("/nonexistent"))
    plain = sopsfile.decrypt(encrypted, keyring, vector)
    again = sopsfile.encrypt(plain.documents, plain.metadata, plain.data_key,
                             stash=plain.stash, keep_lastmodified=True)
    assert again.metadata.mac == encrypted.metadata.mac
    data = sopsfile.emit_encrypted(again, fmt, emit_options(original, fmt),
                                   layout_of(encrypted.metadata.version))
    assert data == original


# -- tampering ---------------------------------------------------------------------------------

AGE_YAML = f"{FLUX}/algorithms/age.yaml"


def tampered(original: str, what: str) -> str:
    if what == "value":
        return re.sub(r"(key: ENC\[AES256_GCM,data:)(.)", lambda m: m[1] + (
            "A" if m[2] != "A" else "B"), original, count=1)
    if what == "mac":
        return re.sub(r"(mac: ENC\[AES256_GCM,data:)(.)", lambda m: m[1] + (
            "A" if m[2] != "A" else "B"), original, count=1)
    if what == "lastmodified":
        return original.replace('lastmodified: "2024-11-12T13:33:42Z"',
                                'lastmodified: "2024-11-12T13:33:43Z"')
    if what == "clear value":
        return original.replace("name: age", "name: other")
    if what == "added value":
        return original.replace("stringData:\n", "stringData:\n  extra: plain\n")
    raise AssertionError(what)


@pytest.mark.parametrize(("what", "message"), [
    ("value", "does not decrypt"),
    ("mac", "MAC"),
    ("lastmodified", "MAC"),
    ("clear value", "MAC mismatch"),  # unencrypted values are in the MAC too
    ("added value", "in plain text"),
])
def test_tampering_is_caught(tmp_path: Path, what: str, message: str) -> None:
    vectors = vectors_or_skip()
    original = (vectors / AGE_YAML).read_text()
    changed = tampered(original, what)
    assert changed != original
    path = tmp_path / "secret.yaml"
    path.write_text(changed)
    environ = environ_for(f"{FLUX}/keys/age.txt", None, vectors)
    with pytest.raises(GuardError, match=message) as caught:
        decrypt(path, environ)
    assert "value" not in str(caught.value).replace("value at", "").replace("a value", "")


def test_ignore_mac_reads_a_file_whose_mac_fails(tmp_path: Path) -> None:
    vectors = vectors_or_skip()
    path = tmp_path / "secret.yaml"
    path.write_text(tampered((vectors / AGE_YAML).read_text(), "clear value"))
    environ = environ_for(f"{FLUX}/keys/age.txt", None, vectors)
    out = io.BytesIO()
    stderr = io.StringIO()
    request = commands.Request(file=path, cwd=tmp_path, environ=environ, stdout=out,
                               stderr=stderr, ignore_mac=True)
    assert commands.decrypt(request) == 0
    assert b"key: value" in out.getvalue()
    assert "WARNING" in stderr.getvalue()
    assert replace(request, ignore_mac=False) != request
