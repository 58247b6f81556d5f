"""Rule ids of the secrets check (imported cheaply by the registry)."""

from __future__ import annotations

from gitops_guard.findings import Rule, Severity

RULE_PLAINTEXT_SECRET = "GG-SECRET-001"
RULE_TOKEN = "GG-SECRET-002"
RULE_KEYWORD = "GG-SECRET-003"
RULE_CONFIGMAP = "GG-SECRET-004"
RULE_ENV = "GG-SECRET-005"
RULE_KEYSTORE = "GG-SECRET-006"

_E = Severity.ERROR
RULES = (
    Rule(RULE_PLAINTEXT_SECRET, "PlaintextSecret", _E,
         "A Secret (or a kustomize secretGenerator) holds values in plain text, not encrypted "
         "with SOPS or sealed."),
    Rule(RULE_TOKEN, "KnownCredential", _E,
         "A credential in a well-known format (cloud, VCS, chat, payment, registry, private key, "
         "token, URL with a password, ...)."),
    Rule(RULE_KEYWORD, "LiteralCredential", _E,
         "A literal value under a key whose name says it is a credential (password, token, "
         "apiKey, ...)."),
    Rule(RULE_CONFIGMAP, "CredentialInConfigMap", _E,
         "A credential-like key with a literal value in a ConfigMap; keep it in a Secret."),
    Rule(RULE_ENV, "CredentialInEnv", _E,
         "A container env variable named like a credential has a literal value; use "
         "valueFrom.secretKeyRef."),
    Rule(RULE_KEYSTORE, "KeystoreFile", _E,
         "A PKCS#12 or Java keystore (private keys) is committed."),
)
