"""The keyword rule: which keys name credentials, which values stand for something else."""

from __future__ import annotations

import pytest

from gitops_guard.checks.secrets.keywords import (
    key_class,
    literal_credential,
    stands_for_something_else,
)


@pytest.mark.parametrize(("key", "kind"), [
    ("password", "password"), ("DB_PASSWORD", "password"), ("adminPassword", "password"),
    ("passwd", "password"), ("pwd", "password"), ("pass", "password"),
    ("passphrase", "password"),
    ("secret", "secret"), ("client_secret", "secret"), ("clientSecret", "secret"),
    ("token", "secret"), ("GITHUB_TOKEN", "secret"), ("apiKey", "secret"),
    ("api-key", "secret"), ("API_KEY", "secret"), ("accessKey", "secret"),
    ("privateKey", "secret"), ("credentials", "secret"), ("auth", "secret"),
    ("connectionString", "secret"), ("secretKey", "secret"),
    # references, locations, shapes and flags
    ("existingSecret", None), ("secretName", None), ("secretKeyRef", None),
    ("passwordSecretRef", None), ("tokenSecretRef", None), ("secretStoreRef", None),
    ("PASSWORD_FILE", None), ("passwordFile", None), ("tokenPath", None), ("token_url", None),
    ("tokenEndpoint", None), ("keyId", None), ("clientId", None), ("publicKey", None),
    ("passwordPolicy", None), ("tokenTTL", None), ("token_duration", None),
    ("secretProviderClass", None), ("passwordLength", None), ("secret_sha256", None),
    ("checksum/secret", None), ("username", None), ("user", None), ("name", None),
    ("image", None), ("enableTokenAuth", None), ("tokenType", None),
])
def test_key_class(key: str, kind: str | None) -> None:
    assert key_class(key) == kind


@pytest.mark.parametrize(("value", "expected"), [
    ("${DB_PASSWORD}", True), ("{{ .Values.password }}", True), ("$(DB_PASSWORD)", True),
    ("#{password}#", True), ("%{password}", True), ("((db_password))", True),
    ("$DB_PASSWORD", True), ("<password>", True), ("[[ .password ]]", True),
    ("changeme", True), ("CHANGE_ME", True), ("replace-me", True), ("REPLACE_ME", True),
    ("xxx", True), ("XXXXXXXX", True), ("****", True), ("...", True), ("redacted", True),
    ("password", True), ("secret", True), ("your-password-here", True), ("dummy", True),
    ("true", True), ("no", True), ("12345", True), ("30s", True), ("1h30m", True),
    ("/run/secrets/db_password", True), ("./secrets/token", True), ("file:/etc/token", True),
    ("vault:secret/data/db#password", True), ("op://vault/db/password", True),
    ("arn:aws:secretsmanager:eu-west-1:123:secret:db", True),
    ("projects/p/secrets/db/versions/1", True), ("DB_PASSWORD", True),
    ("ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]", True), ("", True),
    ("hunter2", False), ("S3cure-Pa55word", False), ("admin123", False),
    ("correct horse battery staple", False),
])
def test_values_that_stand_for_something_else(value: str, expected: bool) -> None:
    assert stands_for_something_else(value) is expected


@pytest.mark.parametrize(("key", "value", "flagged"), [
    ("password", "hunter2", True),
    ("password", "abc", False),  # too short to be a password anyone uses
    ("password", "${DB_PASSWORD}", False),
    ("token", "a8f3k2m9q1w7e5r0", True),
    ("token", "enabled", False),
    ("secret", "mysecretvalue", False),  # a placeholder-like word under a weak key
    ("client_secret", "Xy7$kq2!mZ9@wP4", True),
    ("apiKey", "aB3dE5gH7jK9mN1p", True),
    ("name", "hunter2hunter2", False),
    ("password", "line one\nline two\n", False),
])
def test_literal_credential(key: str, value: str, flagged: bool) -> None:
    assert literal_credential(key, value) is flagged
