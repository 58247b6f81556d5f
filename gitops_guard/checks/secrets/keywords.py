"""The keyword rule: a literal value under a key whose name says it holds a credential.

The key decides, not the value's entropy: `password: admin123` is a leak whatever its
randomness, while a 64-character digest under `checksum/config` is not. Values that stand for
something else are skipped: templates and variables, placeholders, references to secrets kept
elsewhere, paths, booleans and numbers. Entropy only breaks ties for short values under
weaker key names (`token`, `secret`), never on its own.
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Key names are compared lower-cased, without `-`, `_` and `.`: apiKey, api_key, API-KEY.
_PASSWORD_KEY = re.compile(r"(?:password|passwd|passphrase|pwd|^pass$|dbpass|userpass|rootpass)")
_SECRET_KEY = re.compile(
    r"(?:secret|token|apikey|accesskey|authkey|privatekey|clientkey|credential|"
    r"signingkey|encryptionkey|masterkey|^auth$|bearer|sessionkey|licensekey|"
    r"connectionstring)")
# Names that say the value is a reference, a location, a flag or a shape, not the credential.
_NOT_A_CREDENTIAL = re.compile(
    r"(?:secretname|secretref|existingsecret|secretkeyref|secretstore|secretprovider|"
    r"keyref|ref$|name$|names$|file$|files$|path$|paths$|dir$|url$|uri$|endpoint|id$|ids$|"
    r"type$|mode$|length$|ttl$|duration|expir|timeout|policy|enabled$|enable$|required$|"
    r"header$|field$|env$|format$|version$|count$|size$|prefix$|suffix$|regex$|pattern$|"
    r"rotation|hash$|checksum|sha$|sha\d+|md5|digest|public|template$|selector|label|"
    r"annotation|"
    r"mount|volume|provider$|issuer|audience|scope$|algorithm|cipher$|strength|minimum|"
    r"maximum|^tokenreview|kind$|class$|source$|store$|backend$|method$|"
    # switches: `enableTokenAuth`, `useSecretManager`, ...
    r"^(?:enable|disable|use|allow|require|skip|insecure|is|has|show|create|generate|rotate|"
    r"auto))")
_SEPARATORS = re.compile(r"[-_.\s]")

_TEMPLATE = re.compile(r"\{\{.*\}\}|\$\{.*\}|\$\(.*\)|#\{.*\}#?|%\{.*\}|\(\(.*\)\)|"
                       r"^\$[A-Za-z_][A-Za-z0-9_]*$|^<[^>]*>$|^\[\[.*\]\]$")
_PLACEHOLDER = re.compile(
    r"^(?:change[-_ ]?me|change[-_ ]?it|replace[-_ ]?me|to[-_ ]?be[-_ ]?replaced|todo|tbd|"
    r"x{3,}|\*{3,}|\.{3}|…|none|null|nil|empty|redacted|hidden|masked|unset|undefined|"
    r"secret|password|passwd|token|key|apikey|api[-_]key|example|sample|dummy|placeholder|"
    r"fake|not[-_ ]?a[-_ ]?secret|insert[-_ ].*|enter[-_ ].*|your[-_ ].*|my[-_ ]?(?:password|"
    r"secret|token|key|api[-_ ]?key).*|(?:s|p)3cr3t|test|testing|default|foo|bar|baz|"
    r"foobar)$", re.I)
# Pointers to where the secret really lives.
_REFERENCE = re.compile(
    r"^(?:/|\./|\.\./|~/|file:|vault:|ref\+|op://|secret://|sm://|azurekeyvault|"
    r"arn:aws:(?:secretsmanager|ssm|kms)|projects/[^/]+/secrets/|https?://|env:|awssm|gcpsm|"
    r"k8s://|kubernetes://|secretref)", re.I)
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_DURATION = re.compile(r"^\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h))*$")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_BOOLEAN = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n"})

MIN_PASSWORD = 4
MIN_SECRET = 8


def key_class(key: str) -> str | None:
    """"password" or "secret" when the key names a credential, else None."""
    name = _SEPARATORS.sub("", key.lower())
    if not name or _NOT_A_CREDENTIAL.search(name):
        return None
    if _PASSWORD_KEY.search(name):
        return "password"
    if _SECRET_KEY.search(name):
        return "secret"
    return None


def stands_for_something_else(value: str) -> bool:
    """Templates, variables, placeholders, references, flags and numbers."""
    stripped = value.strip().strip("\"'")
    if not stripped:
        return True
    lowered = stripped.lower()
    return bool(lowered in _BOOLEAN or _NUMBER.match(stripped) or _DURATION.match(lowered)
                or _TEMPLATE.search(stripped) or _PLACEHOLDER.match(stripped)
                or _REFERENCE.match(stripped) or _ENV_NAME.match(stripped)
                or stripped.startswith("ENC[") or set(lowered) <= set("x*.-_ "))


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def literal_credential(key: str, value: str) -> bool:
    """Whether `value`, found under `key`, is a credential written in plain text."""
    kind = key_class(key)
    if kind is None or not isinstance(value, str) or "\n" in value.strip():
        return False
    if stands_for_something_else(value):
        return False
    text = value.strip().strip("\"'")
    if kind == "password":
        return len(text) >= MIN_PASSWORD
    # `token: enabled` or `secret: mysecret` are words; real ones are long or mixed.
    return len(text) >= MIN_SECRET and (entropy(text) >= 3.0 or _mixed(text))


def _mixed(text: str) -> bool:
    classes = sum(bool(re.search(p, text)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    return classes >= 3
