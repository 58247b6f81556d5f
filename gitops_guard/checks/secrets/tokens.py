"""Well-known credential formats: one precompiled regex per family behind a cheap prefilter.

Each family names the literal text its tokens always contain (a prefix such as `ghp_`, a
header such as `-----BEGIN`); a text is searched with a family's regex only if one of those
markers occurs in it, and a file's text is first searched once for all markers together, so
most files cost one scan. Patterns are written from the formats' public descriptions.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

# Documented example credentials: found in docs and tests everywhere, never real.
EXAMPLES = frozenset({
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
})


class Family(NamedTuple):
    name: str  # stable id, used in messages, config and fingerprints
    title: str
    markers: tuple[str, ...]  # lower-case text every match contains
    pattern: re.Pattern[str]
    group: int = 0  # the regex group that is the secret itself
    # Extra test on the secret (checksums, structure); False drops the match.
    accept: Callable[[str], bool] | None = None


class Match(NamedTuple):
    family: Family
    secret: str
    start: int  # offset of the secret in the scanned text
    end: int


def _jwt(token: str) -> bool:
    header = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def _not_example(token: str) -> bool:
    return token not in EXAMPLES and "EXAMPLE" not in token


_B64 = r"[A-Za-z0-9+/]"
_B64URL = r"[A-Za-z0-9_-]"

FAMILIES: tuple[Family, ...] = (
    Family("aws-access-key-id", "AWS access key id", ("akia", "asia", "abia", "acca"),
           re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Z0-9])"), 1,
           _not_example),
    Family("aws-secret-access-key", "AWS secret access key",
           ("aws", "secret_access", "secretaccess"),
           re.compile(r"(?i)aws.{0,20}?secret.{0,20}?[\"']?\s*[:=]\s*[\"']?"
                      rf"({_B64}{{40}})(?![A-Za-z0-9+/])"), 1, _not_example),
    Family("github-classic-token", "GitHub personal access token (classic)", ("ghp_",),
           re.compile(r"\b(ghp_[A-Za-z0-9]{36})\b"), 1),
    Family("github-fine-grained-token", "GitHub fine-grained personal access token",
           ("github_pat_",), re.compile(r"\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b"), 1),
    Family("github-oauth-token", "GitHub OAuth access token", ("gho_",),
           re.compile(r"\b(gho_[A-Za-z0-9]{36})\b"), 1),
    Family("github-app-token", "GitHub App token", ("ghu_", "ghs_"),
           re.compile(r"\b(gh[us]_[A-Za-z0-9]{36})\b"), 1),
    Family("github-refresh-token", "GitHub refresh token", ("ghr_",),
           re.compile(r"\b(ghr_[A-Za-z0-9]{36,76})\b"), 1),
    Family("gitlab-token", "GitLab personal, project or group access token", ("glpat-",),
           re.compile(r"\b(glpat-[A-Za-z0-9_-]{20,})"), 1),
    Family("gitlab-runner-token", "GitLab runner token", ("glrt-", "gr1348941"),
           re.compile(r"\b(glrt-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,})"), 1),
    Family("gitlab-deploy-token", "GitLab deploy token", ("gldt-",),
           re.compile(r"\b(gldt-[A-Za-z0-9_-]{20,})"), 1),
    Family("gitlab-ci-job-token", "GitLab CI/CD job token", ("glcbt-",),
           re.compile(r"\b(glcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20,})"), 1),
    Family("slack-token", "Slack bot, user or workspace token", ("xoxb-", "xoxp-", "xoxa-",
                                                                  "xoxr-", "xoxe-"),
           re.compile(r"\b(xox[bpare]-[0-9]{8,13}-[0-9A-Za-z-]{16,})"), 1),
    Family("slack-app-token", "Slack app-level token", ("xapp-",),
           re.compile(r"\b(xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{32,})"), 1),
    Family("slack-webhook", "Slack incoming webhook URL", ("hooks.slack.com",),
           re.compile(r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/"
                      r"[A-Za-z0-9+/_-]{20,})"), 1),
    Family("stripe-secret-key", "Stripe secret or restricted key", ("sk_live_", "sk_test_",
                                                                     "rk_live_", "rk_test_"),
           re.compile(r"\b([sr]k_(?:live|test)_[0-9a-zA-Z]{20,99})\b"), 1),
    Family("google-api-key", "Google API key", ("aiza",),
           re.compile(r"\b(AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])"), 1, _not_example),
    Family("gcp-service-account", "Google service account key (JSON)", ("service_account",),
           re.compile(r"\"type\"\s*:\s*\"service_account\"[^}]*?\"private_key\"\s*:\s*"
                      r"\"(-----BEGIN PRIVATE KEY-----[^\"]{64,})\"", re.S), 1),
    Family("azure-storage-key", "Azure storage account key", ("accountkey=",),
           re.compile(rf"(?i)AccountKey=({_B64}{{86}}==)"), 1),
    Family("azure-ad-client-secret", "Azure AD (Entra ID) client secret", ("q~",),
           re.compile(r"(?<![A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})"
                      r"(?![A-Za-z0-9_~.-])"), 1),
    Family("sendgrid-api-key", "SendGrid API key", ("sg.",),
           re.compile(r"\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])"), 1),
    Family("twilio-api-key", "Twilio API key", ("sk",),
           re.compile(r"(?<![A-Za-z0-9])(SK[0-9a-fA-F]{32})(?![A-Za-z0-9])"), 1),
    Family("mailgun-api-key", "Mailgun API key", ("key-",),
           re.compile(r"(?<![A-Za-z0-9])(key-[0-9a-f]{32})(?![A-Za-z0-9])"), 1),
    Family("npm-token", "npm access token", ("npm_",),
           re.compile(r"\b(npm_[A-Za-z0-9]{36})\b"), 1),
    Family("pypi-token", "PyPI API token", ("pypi-ageichlwas5vcmc",),
           re.compile(r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})"), 1),
    Family("dockerhub-token", "Docker Hub personal access token", ("dckr_pat_",),
           re.compile(r"\b(dckr_pat_[A-Za-z0-9_-]{27,})"), 1),
    Family("vault-token", "HashiCorp Vault token", ("hvs.", "hvb.", "hvr."),
           re.compile(r"\b(hv[sbr]\.[A-Za-z0-9_-]{24,})"), 1),
    Family("datadog-api-key", "Datadog API or application key", ("datadog", "dd_api", "dd-api",
                                                                  "dd_app", "dd-app", "ddapi",
                                                                  "ddapp"),
           re.compile(r"(?i)(?:datadog|dd)[_-]?(?:api|app(?:lication)?)[_-]?key[\"']?\s*[:=]\s*"
                      r"[\"']?([a-f0-9]{32,40})(?![a-f0-9])"), 1),
    Family("openai-api-key", "OpenAI API key", ("sk-",),
           re.compile(r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ"
                      r"[A-Za-z0-9_-]{20,}|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,})"), 1),
    Family("anthropic-api-key", "Anthropic API key", ("sk-ant-",),
           re.compile(r"\b(sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,})"), 1),
    Family("digitalocean-token", "DigitalOcean token", ("dop_v1_", "doo_v1_", "dor_v1_"),
           re.compile(r"\b(do[opr]_v1_[a-f0-9]{64})\b"), 1),
    Family("jwt", "JSON Web Token", ("eyj",),
           re.compile(rf"\b(eyJ{_B64URL}{{10,}}\.eyJ{_B64URL}{{10,}}\.{_B64URL}{{10,}})"), 1, _jwt),
    Family("age-secret-key", "age secret key", ("age-secret-key-1",),
           re.compile(r"(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})"), 1),
    Family("private-key", "private key (PEM)", ("-----begin",),
           re.compile(r"(-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----"
                      r"[\s\S]{64,}?-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----)"), 1),
    Family("url-password", "URL with a password", ("://",),
           re.compile(r"\b([a-z][a-z0-9+.-]{1,20}://[^\s/:@\"'<>{}$]{1,64}:"
                      r"([^\s/@\"'<>{}$]{3,128})@[A-Za-z0-9.-]+)", re.I), 2),
    Family("connection-string", "database connection string with a password",
           ("password=", "pwd="),
           re.compile(r"(?i)(?:server|host|data source|address|addr)\s*=[^;\"'\n]+;"
                      r"[^\"'\n]*?(?:password|pwd)\s*=\s*([^;\"'\s]{3,})"), 1),
    Family("kubeadm-bootstrap-token", "kubeadm bootstrap token", ("token",),
           re.compile(r"(?i)token[\"']?\s*[:=]\s*[\"']?([a-z0-9]{6}\.[a-z0-9]{16})(?![a-z0-9])"),
           1),
)

_ALL_MARKERS = re.compile("|".join(sorted({re.escape(marker) for family in FAMILIES
                                           for marker in family.markers}, key=len,
                                          reverse=True)))


def may_contain_tokens(lowered: str) -> bool:
    """One scan of a whole (lower-cased) text: can any family match in it at all?"""
    return _ALL_MARKERS.search(lowered) is not None


def find_tokens(text: str, lowered: str | None = None,
                disabled: frozenset[str] = frozenset()) -> Iterator[Match]:
    """Every credential in `text`, best-known format first, overlapping matches dropped."""
    lowered = text.lower() if lowered is None else lowered
    if not may_contain_tokens(lowered):
        return
    taken: list[tuple[int, int]] = []
    for family in FAMILIES:
        if family.name in disabled or not any(m in lowered for m in family.markers):
            continue
        for found in family.pattern.finditer(text):
            secret = found.group(family.group)
            start, end = found.start(family.group), found.end(family.group)
            if family.accept is not None and not family.accept(secret):
                continue
            if _placeholder_password(family, secret):
                continue
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            yield Match(family, secret, start, end)


_URL_PLACEHOLDER = re.compile(r"^(?:\*+|x+|password|pass|passwd|secret|changeme|redacted|"
                              r"\$.*|%.*|<.*>|\.\.\.)$", re.I)


def _placeholder_password(family: Family, secret: str) -> bool:
    return (family.name in ("url-password", "connection-string")
            and _URL_PLACEHOLDER.match(secret) is not None)
