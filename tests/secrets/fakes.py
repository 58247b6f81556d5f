"""Fake credentials in real formats, built at run time so no token-shaped literal is committed
(push protection and other scanners would stop at this test suite otherwise)."""

from __future__ import annotations

import base64
import json

ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def chars(alphabet: str, length: int, start: int = 7) -> str:
    return "".join(alphabet[(start + i * 13) % len(alphabet)] for i in range(length))


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


PEM_BODY = "\n".join(chars(ALNUM, 64, start=i) for i in range(5))

TOKENS: dict[str, str] = {
    "aws-access-key-id": "AKIA" + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    "github-classic-token": "ghp" + "_" + chars(ALNUM, 36),
    "github-fine-grained-token": "github" + "_pat_" + chars(ALNUM, 22) + "_" + chars(ALNUM, 59),
    "github-oauth-token": "gho" + "_" + chars(ALNUM, 36, 3),
    "github-app-token": "ghs" + "_" + chars(ALNUM, 36, 5),
    "github-refresh-token": "ghr" + "_" + chars(ALNUM, 76, 9),
    "gitlab-token": "glpat" + "-" + chars(ALNUM, 20),
    "gitlab-runner-token": "glrt" + "-" + chars(ALNUM, 24),
    "gitlab-deploy-token": "gldt" + "-" + chars(ALNUM, 24),
    "gitlab-ci-job-token": "glcbt" + "-64_" + chars(ALNUM, 20),
    "slack-token": "xoxb" + "-1234567890-1234567890123-" + chars(ALNUM, 24),
    "slack-app-token": "xapp" + "-1-A0123ABC-1234567890-" + chars("0123456789abcdef", 64),
    "slack-webhook": "https://hooks.slack.com/services/T0" + "1234567/B0123456/"
                     + chars(ALNUM, 24),
    "stripe-secret-key": "sk" + "_live_" + chars(ALNUM, 24),
    "google-api-key": "AIza" + chars(ALNUM, 35),
    "azure-storage-key": "AccountKey=" + chars(ALNUM, 86) + "==",
    "azure-ad-client-secret": "a1B" + "8Q~" + chars(ALNUM, 34),
    "sendgrid-api-key": "SG." + chars(ALNUM, 22) + "." + chars(ALNUM, 43),
    "twilio-api-key": "SK" + chars("0123456789abcdef", 32),
    "mailgun-api-key": "key" + "-" + chars("0123456789abcdef", 32),
    "npm-token": "npm" + "_" + chars(ALNUM, 36),
    "pypi-token": "pypi" + "-AgEIcHlwaS5vcmc" + chars(ALNUM, 60),
    "dockerhub-token": "dckr" + "_pat_" + chars(ALNUM, 27),
    "vault-token": "hvs." + chars(ALNUM, 90),
    "datadog-api-key": "DD_API_KEY=" + chars("0123456789abcdef", 32),
    "openai-api-key": "sk-proj-" + chars(ALNUM, 20) + "T3Blbk" + "FJ" + chars(ALNUM, 20),
    "anthropic-api-key": "sk-ant" + "-api03-" + chars(ALNUM, 93),
    "digitalocean-token": "dop" + "_v1_" + chars("0123456789abcdef", 64),
    "jwt": "eyJ" + b64url({"alg": "HS256", "typ": "JWT"})[3:] + "." + b64url(
        {"sub": "1234567890", "name": "ci"}) + "." + chars(ALNUM, 43),
    "age-secret-key": "AGE-SECRET-KEY-1" + chars(BECH32, 58).upper(),
    "private-key": "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY
                   + "\n-----END RSA PRIVATE KEY-----",
    "url-password": "postgres://app:" + "Sup3r-S3cret" + "@db.internal:5432/app",
    "connection-string": "Server=tcp:db.example.net,1433;Database=shop;User ID=app;"
                         "Password=" + "Sup3r-S3cret" + ";Encrypt=true",
    "kubeadm-bootstrap-token": "token: " + "abcdef.0123456789abcdef",
    "aws-secret-access-key": "aws_secret_access_key = " + chars(ALNUM + "+/", 40),
    "gcp-service-account": json.dumps({
        "type": "service_account", "project_id": "demo", "private_key_id": "abc",
        "private_key": "-----BEGIN PRIVATE KEY-----\\n" + chars(ALNUM, 120)
                       + "\\n-----END PRIVATE KEY-----\\n", "client_email": "x@demo.iam"}),
}
