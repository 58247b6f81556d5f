"""Where secrets hide in a GitOps repository, and where they never do.

Documents are walked by structure: a Secret's `data` is base64-decoded and scanned, a
dockerconfigjson (or older dockercfg) is decoded down to its `auth`, a kubeconfig's `*-data`
fields are decoded (a file named as a kubeconfig is read as one even without `kind: Config`),
ConfigMaps and container `env` get findings of their own, a kustomize `secretGenerator` is a
Secret by another name. What structure says is encrypted or a reference is never flagged,
whatever its entropy: SOPS values and the `sops` block, a SealedSecret's `encryptedData`, an
ExternalSecret's references. Every other string is searched for known credential formats, and
key/value pairs go through the keyword rule. Other text files are scanned line by line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from gitops_guard import pointer as jp
from gitops_guard.checks.secrets.formats import Format
from gitops_guard.checks.secrets.keywords import literal_credential, stands_for_something_else
from gitops_guard.checks.secrets.rules import (
    RULE_CONFIGMAP,
    RULE_ENV,
    RULE_KEYSTORE,
    RULE_KEYWORD,
    RULE_PLAINTEXT_SECRET,
    RULE_TOKEN,
)
from gitops_guard.checks.secrets.tokens import Match, find_tokens
from gitops_guard.documents import DocRole, Document, file_lines
from gitops_guard.findings import Problem
from gitops_guard.sops.detect import holds_sops_file
from gitops_guard.workloads import CONTAINER_LISTS, get, pod_template

MAX_DECODED = 64 * 1024  # bytes; larger base64 values are not decoded
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_KEY_VALUE = re.compile(r"""^\s*(?:export\s+)?["']?([A-Za-z0-9_.\-]+)["']?\s*[:=]\s*(.*?)\s*$""")
_NPMRC_PAIR = re.compile(r"^\s*(?://\S*?:)?([A-Za-z0-9_.\-]+)\s*=\s*(.*?)\s*$")
_NETRC_PASSWORD = re.compile(r"(?:^|\s)(password)\s+(\S+)")
_PKCS12_HEADER = re.compile(rb"^\x30\x82..\x02\x01\x03", re.S)
KEYSTORE_SUFFIXES = frozenset({".p12", ".pfx", ".jks", ".keystore"})
# Files scanned for key=value pairs (the keyword rule); any other text gets only the token rules.
KEY_VALUE_SUFFIXES = frozenset({".env", ".ini", ".properties", ".conf", ".cfg", ".tfvars", ".tf",
                                ".toml", ".npmrc", ".pypirc", ".netrc"})


class Options(NamedTuple):
    disabled: frozenset[str] = frozenset()  # rule ids and token family names
    stopwords: tuple[str, ...] = ()
    allow: tuple[re.Pattern[str], ...] = ()

    def allowed(self, secret: str, line: str = "") -> bool:
        """Config allowlists: a stopword in the secret, or a regex on the secret or its line."""
        lowered = secret.lower()
        if any(word.lower() in lowered for word in self.stopwords):
            return True
        return any(p.search(secret) or (line and p.search(line)) for p in self.allow)


def secret_identity(secret: str) -> str:
    """What identifies a secret in fingerprints and baselines: its hash, never its text."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def redact(secret: str, prefix: str = "") -> str:
    """A secret as reports show it: a known, public prefix at most, and the length."""
    shown = prefix if prefix and secret.lower().startswith(prefix.lower()) else ""
    return f"{secret[:len(shown)]}…({len(secret)} chars)" if shown else f"({len(secret)} chars)"


def _public_prefix(match: Match) -> str:
    """The family's marker when it is a prefix such as `ghp_` (public, and says what it is)."""
    marker = match.family.markers[0]
    return marker if marker[-1] in "_-.1" else ""


def _describe(match: Match, text: str) -> str:
    line = text.count("\n", 0, match.start) + 1
    where = f" (line {line} of the value)" if line > 1 else ""
    return f"{match.family.title}: {redact(match.secret, _public_prefix(match))}{where}"


def _strip_value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 3 and value[-1] == "," and value[-2] in "\"'":
        value = value[:-1]  # a JSON member: "password": "value",
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def decode(value: str) -> str | bytes | None:
    """Strict base64: the whole value, correctly padded. Text when it is UTF-8, else bytes."""
    compact = "".join(value.split())
    if not compact or len(compact) % 4 or len(compact) > MAX_DECODED * 4 // 3 + 4 \
            or not _BASE64.match(compact):
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    return text if text.isprintable() or "\n" in text else raw


# -- documents ----------------------------------------------------------------------------------

class DocumentScan:
    def __init__(self, doc: Document, options: Options, lines: list[str],
                 known: Format | None = None) -> None:
        self.doc = doc
        self.options = options
        self.lines = lines  # the file's lines, for allowlist regexes on the original line
        self.known = known  # what the file's name says it is (formats.py)
        self.problems: list[Problem] = []

    def run(self) -> list[Problem]:
        data = self.doc.data
        if not isinstance(data, dict):
            return []
        api_version, kind = data.get("apiVersion"), data.get("kind")
        group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
        skip: set[tuple[str, ...]] = set()
        if self.doc.role is DocRole.SOPS:
            skip.add(("sops",))
        if kind == "Secret" and group == "" and self.doc.role is not DocRole.SOPS:
            self._secret(data)
            skip |= {("data",), ("stringData",)}
        elif kind == "SealedSecret" and group.startswith("bitnami.com"):
            skip.add(("spec", "encryptedData"))
        elif group.startswith("external-secrets.io"):
            skip |= {("spec", "data"), ("spec", "dataFrom"), ("spec", "provider")}
        elif "users" in data and ((kind == "Config" and api_version == "v1")
                                  or self.known is Format.KUBECONFIG):
            # kubectl reads a kubeconfig without apiVersion and kind; its name says what it is.
            self._kubeconfig(data)
            skip.add(("users",))
        elif kind == "ConfigMap" and group == "":
            self._configmap(data)
            skip |= {("data",), ("binaryData",)}
        elif self.doc.role is DocRole.KUSTOMIZATION:
            self._kustomization(data)
            skip.add(("secretGenerator",))
        if isinstance(data.get("auths"), dict):
            self._docker_config(data["auths"], ())
            skip.add(("auths",))
        elif self.known is Format.DOCKERCFG:
            skip |= self._docker_config(data, (), under=())
        template = pod_template(kind) if isinstance(kind, str) else None
        if template is not None:
            skip |= self._env(data, template.spec)
        self._walk(data, (), skip)
        return self.problems

    # What every string goes through.
    def _walk(self, node: Any, at: tuple[str, ...], skip: set[tuple[str, ...]]) -> None:
        if at in skip:
            return
        if isinstance(node, dict):
            # `{name: DB_PASSWORD, value: ...}`: the name is the key that counts.
            named_value = isinstance(node.get("name"), str) and "value" in node
            for key, value in node.items():
                here = (*at, str(key))
                if isinstance(value, str):
                    name = str(node["name"]) if named_value and key == "value" else str(key)
                    self._pair(name, value, here, RULE_KEYWORD)
                else:
                    self._walk(value, here, skip)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                here = (*at, str(index))
                if isinstance(item, str):
                    self._text(item, here, "")
                else:
                    self._walk(item, here, skip)

    def _pair(self, key: str, value: str, at: tuple[str, ...], rule: str,
              note: str = "") -> None:
        """A key and its string value: known formats first, then the keyword rule."""
        if value.startswith("ENC[") and "AES256_GCM" in value[:20]:
            return  # SOPS ciphertext
        if self._text(value, at, note):
            return
        if rule not in self.options.disabled and literal_credential(key, value) \
                and not self._allowed(value, at):
            what = {RULE_CONFIGMAP: "a ConfigMap holds a credential in plain text",
                    RULE_ENV: "a container env variable holds a credential in plain text",
                    }.get(rule, "credential in plain text")
            hint = {RULE_CONFIGMAP: "; keep it in a Secret",
                    RULE_ENV: "; use valueFrom.secretKeyRef"}.get(rule, "")
            self._add(rule, f'{what}: "{key}" = {redact(value.strip())}{note}{hint}', at, value)

    def _text(self, text: str, at: tuple[str, ...], note: str) -> bool:
        """Known credential formats anywhere in `text`; whether any was found."""
        token_lines: set[int] = set()
        for match in find_tokens(text, disabled=self.options.disabled):
            if self._allowed(match.secret, at, text):
                continue
            token_lines.add(text.count("\n", 0, match.start) + 1)
            self._add(RULE_TOKEN, _describe(match, text) + note, at, match.secret)
        found = bool(token_lines)
        if "\n" in text.strip():
            # An embedded file (a config in a ConfigMap or a Secret): its own key = value lines.
            found |= self._embedded_pairs(text, at, note, token_lines)
        return found

    def _embedded_pairs(self, text: str, at: tuple[str, ...], note: str,
                        token_lines: set[int]) -> bool:
        if RULE_KEYWORD in self.options.disabled:
            return False
        found = False
        for number, line in enumerate(file_lines(text), start=1):
            if number in token_lines:
                continue
            pair = _KEY_VALUE.match(line)
            if pair is None:
                continue
            key, value = pair[1], _strip_value(pair[2])
            if literal_credential(key, value) and not self._allowed(value, at, line):
                found = True
                self._add(RULE_KEYWORD, f'credential in plain text: "{key}" = {redact(value)} '
                          f"(line {number} of the value){note}", at, value)
        return found

    # Kubernetes Secrets.
    def _secret(self, data: dict[str, Any]) -> None:
        if data.get("$patch") == "delete":
            return
        literal: list[str] = []
        for field, encoded in (("data", True), ("stringData", False)):
            values = data.get(field)
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                if not isinstance(value, str) or stands_for_something_else(value) or \
                        (encoded and holds_sops_file(value)):
                    continue  # Flux decrypts a SOPS file held in Secret data
                literal.append(str(key))
                self._secret_value(str(key), value, (field, str(key)), encoded,
                                   data.get("type"))
        if literal and RULE_PLAINTEXT_SECRET not in self.options.disabled:
            field = "stringData" if "stringData" in data and "data" not in data else "data"
            names = sorted(set(literal))
            keys = ", ".join(names[:5]) + ("…" if len(names) > 5 else "")
            self.problems.append(Problem(
                RULE_PLAINTEXT_SECRET, f"plaintext Secret committed ({keys}): encrypt it with "
                "SOPS, seal it, or reference it with an ExternalSecret", jp.join(field),
                at_key=True, identity="secret"))

    def _secret_value(self, key: str, value: str, at: tuple[str, ...], encoded: bool,
                      secret_type: Any) -> None:
        if not encoded:
            self._text(value, at, "")
            return
        decoded = decode(value)
        if isinstance(decoded, bytes):
            if _PKCS12_HEADER.match(decoded) and RULE_KEYSTORE not in self.options.disabled:
                self._add(RULE_KEYSTORE, f'"{key}" is a PKCS#12 keystore (decoded from base64)',
                          at, value)
            return
        if decoded is None:
            return
        registries = _docker_registries(key, secret_type, decoded)
        if registries is not None:
            self._docker_config(registries, at, " (decoded from base64)")
            return
        self._text(decoded, at, " (decoded from base64)")

    def _docker_config(self, registries: dict[str, Any], at: tuple[str, ...], note: str = "",
                       under: tuple[str, ...] = ("auths",)) -> set[tuple[str, ...]]:
        """The registries of a docker config: its `auths`, or the top level of an older
        `.dockercfg` (`under` says which). Inside a Secret, findings point at the Secret's key
        (`at`); in a file, at the field itself. Returns where the entries it read are."""
        read: set[tuple[str, ...]] = set()
        for registry, entry in registries.items():
            if not isinstance(entry, dict):
                continue
            read.add((*under, str(registry)))
            base = at or (*under, str(registry))
            auth = entry.get("auth")
            if isinstance(auth, str):
                credentials = decode(auth)
                if isinstance(credentials, str) and ":" in credentials:
                    password = credentials.split(":", 1)[1]
                    if password and not stands_for_something_else(password) \
                            and not self._allowed(password, at):
                        self._add(RULE_TOKEN, f"registry credentials for {registry} "
                                  f"(user:password {redact(password)}){note}",
                                  base if at else (*base, "auth"), password)
            for key in ("password", "identitytoken", "registrytoken"):
                value = entry.get(key)
                if isinstance(value, str):
                    self._pair(key, value, base if at else (*base, key), RULE_KEYWORD, note)
        return read

    def _kubeconfig(self, data: dict[str, Any]) -> None:
        users = data.get("users")
        for index, entry in enumerate(users if isinstance(users, list) else []):
            user = entry.get("user") if isinstance(entry, dict) else None
            if not isinstance(user, dict):
                continue
            at = ("users", str(index), "user")
            for key, value in user.items():
                if not isinstance(value, str):
                    if key == "auth-provider" and isinstance(value, dict):
                        self._walk(value, (*at, key), set())
                    continue
                if key.endswith("-data"):
                    if key == "client-key-data":
                        decoded = decode(value)
                        if isinstance(decoded, str):
                            self._text(decoded, (*at, key), " (decoded from base64)")
                    continue  # certificate data is public
                self._pair(key, value, (*at, key), RULE_KEYWORD)

    def _configmap(self, data: dict[str, Any]) -> None:
        values = data.get("data")
        for key, value in (values.items() if isinstance(values, dict) else []):
            if isinstance(value, str):
                self._pair(str(key), value, ("data", str(key)), RULE_CONFIGMAP)

    def _env(self, data: dict[str, Any], spec_at: tuple[str, ...]) -> set[tuple[str, ...]]:
        """Container env values, with a finding of their own; returns what it handled."""
        handled: set[tuple[str, ...]] = set()
        spec = get(data, spec_at)
        if not isinstance(spec, dict):
            return handled
        for group in CONTAINER_LISTS:
            containers = spec.get(group)
            for index, container in enumerate(containers if isinstance(containers, list) else []):
                env = container.get("env") if isinstance(container, dict) else None
                for position, item in enumerate(env if isinstance(env, list) else []):
                    if isinstance(item, dict) and isinstance(item.get("name"), str) \
                            and isinstance(item.get("value"), str):
                        at = (*spec_at, group, str(index), "env", str(position))
                        self._pair(item["name"], item["value"], (*at, "value"), RULE_ENV)
                        handled.add(at)
        return handled

    def _kustomization(self, data: dict[str, Any]) -> None:
        generators = data.get("secretGenerator")
        for index, generator in enumerate(generators if isinstance(generators, list) else []):
            if not isinstance(generator, dict):
                continue
            at = ("secretGenerator", str(index))
            literals = generator.get("literals")
            keys = []
            for position, literal in enumerate(literals if isinstance(literals, list) else []):
                if not isinstance(literal, str) or "=" not in literal:
                    continue
                key, value = literal.split("=", 1)
                if stands_for_something_else(value):
                    continue
                keys.append(key)
                self._text(value, (*at, "literals", str(position)), "")
            if keys and RULE_PLAINTEXT_SECRET not in self.options.disabled:
                name = generator.get("name", "?")
                self.problems.append(Problem(
                    RULE_PLAINTEXT_SECRET, f"secretGenerator {name!s} commits secret values in "
                    f"plain text ({', '.join(keys[:5])}): encrypt them with SOPS (ksops) instead",
                    jp.join(*at, "literals"), at_key=True, identity=f"generator:{name}"))
            for field in ("files", "envs"):
                entries = generator.get(field)
                for position, entry in enumerate(entries if isinstance(entries, list) else []):
                    if isinstance(entry, str):
                        self._generator_file(entry, (*at, field, str(position)))

    def _generator_file(self, entry: str, at: tuple[str, ...]) -> None:
        relative = entry.split("=", 1)[1] if "=" in entry else entry
        path = self.doc.path.parent / relative
        try:
            text = path.read_text(encoding="utf-8")[:MAX_DECODED]
        except (OSError, UnicodeDecodeError):
            return  # missing or binary: kustomize itself reports a missing file
        if "sops" in text and "ENC[" in text:
            return  # encrypted with SOPS (ksops)
        if text.strip() and RULE_PLAINTEXT_SECRET not in self.options.disabled:
            self.problems.append(Problem(
                RULE_PLAINTEXT_SECRET, f"secretGenerator reads {relative}, which is committed in "
                "plain text: encrypt it with SOPS (ksops) instead", jp.join(*at),
                identity=f"generator-file:{relative}"))

    def _allowed(self, secret: str, at: tuple[str, ...], context: str = "") -> bool:
        """Config allowlists, with regexes also tried on the file's line where the value is."""
        if self.options.allowed(secret, context):
            return True
        if not self.options.allow or not self.lines:
            return False
        number = self.doc.locate(jp.join(*at))[0]
        line = self.lines[number - 1] if 0 < number <= len(self.lines) else ""
        return self.options.allowed(secret, line)

    def _add(self, rule: str, message: str, at: tuple[str, ...], secret: str) -> None:
        if rule in self.options.disabled:
            return
        self.problems.append(Problem(rule, message, jp.join(*at),
                                     identity=secret_identity(secret)))


def scan_document(doc: Document, options: Options, lines: list[str],
                  known: Format | None = None) -> list[Problem]:
    return DocumentScan(doc, options, lines, known).run()


def _docker_registries(key: str, secret_type: Any, decoded: str) -> dict[str, Any] | None:
    """The registries of a docker config held in Secret data: `.dockerconfigjson` keeps them
    under `auths`, the older `.dockercfg` at the top level. None: not a docker config."""
    legacy = key == ".dockercfg" or secret_type == "kubernetes.io/dockercfg"
    if not legacy and key != ".dockerconfigjson" \
            and secret_type != "kubernetes.io/dockerconfigjson":
        return None
    try:
        config = json.loads(decoded)
    except ValueError:
        return None
    if not isinstance(config, dict):
        return None
    auths = config.get("auths")
    if isinstance(auths, dict):
        return auths
    # Only registry entries at the top: anything else is scanned as the text it is.
    if legacy and config and all(isinstance(entry, dict) for entry in config.values()):
        return config
    return None


# -- other text files --------------------------------------------------------------------------

def scan_text(path: Path, text: str, options: Options, *,
              key_values: bool | None = None) -> Iterator[Problem]:
    """Token rules over the whole text (a PEM key spans lines); key = value lines for config
    files (.env, .ini, .properties, .tf, ...), or when `key_values` says so."""
    token_lines: set[int] = set()
    for match in find_tokens(text, disabled=options.disabled):
        line_start = text.rfind("\n", 0, match.start) + 1
        line_end = text.find("\n", match.start)
        line = text[line_start:line_end if line_end >= 0 else len(text)]
        if options.allowed(match.secret, line):
            continue
        number = text.count("\n", 0, match.start) + 1
        token_lines.add(number)
        yield Problem(RULE_TOKEN, f"{match.family.title}: "
                      f"{redact(match.secret, _public_prefix(match))}",
                      line=number, column=match.start - line_start + 1,
                      identity=secret_identity(match.secret))
    if key_values is None:
        suffix = path.suffix.lower() or path.name.lower()
        key_values = suffix in KEY_VALUE_SUFFIXES or path.name.lower().startswith(".env")
    if not key_values or RULE_KEYWORD in options.disabled:
        return
    name = path.name.lower()
    # .npmrc scopes settings to a registry with a `//host/:` prefix (no comment there);
    # .netrc is `machine h login u password p`, no `=` at all.
    pattern = (_NPMRC_PAIR if name.endswith(".npmrc") else
               _NETRC_PASSWORD if name.endswith(".netrc") else _KEY_VALUE)
    comments = ("#", ";") if pattern is not _KEY_VALUE else ("#", ";", "//")
    for number, line in enumerate(file_lines(text), start=1):
        if number in token_lines or line.lstrip().startswith(comments):
            continue
        pair = pattern.search(line)
        if pair is None:
            continue
        key, value = pair[1], _strip_value(pair[2])
        if literal_credential(key, value) and not options.allowed(value, line):
            yield Problem(RULE_KEYWORD, f'credential in plain text: "{key}" = {redact(value)}',
                          line=number, column=pair.start(2) + 1, identity=secret_identity(value))
