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
         "with SOPS or sealed.",
         why="A Secret's data is only base64-encoded: everyone who can read the repository, "
             "its history and every clone of it has the values, long after they are deleted.",
         fix="Encrypt the file with SOPS (gitops-guard sops encrypt -i FILE), or replace it "
             "with a SealedSecret or an ExternalSecret; rotate the values that were "
             "committed."),
    Rule(RULE_TOKEN, "KnownCredential", _E,
         "A credential in a well-known format (cloud, VCS, chat, payment, registry, private key, "
         "token, URL with a password, ...).",
         why="A credential in a well-known format (a cloud key, a GitHub token, a private "
             "key) is compromised once committed: git history keeps it after it is deleted, "
             "and these formats are exactly what attackers scan repositories for.",
         fix="Revoke and rotate the credential, remove it from the file, and reference it "
             "from a SOPS-encrypted Secret or a secret store instead. A value the finding "
             "names only by its format and length is never printed."),
    Rule(RULE_KEYWORD, "LiteralCredential", _E,
         "A literal value under a key whose name says it is a credential (password, token, "
         "apiKey, ...).",
         why="A literal value under a key named password, token, apiKey, ... is a credential "
             "in plain text in every clone of the repository.",
         fix="Move the value into a SOPS-encrypted Secret or a secret store and refer to it "
             "(existingSecret, secretKeyRef, ${VAR}), then rotate it. For test fixtures, "
             "secrets.allow_paths, allow_regexes or stopwords."),
    Rule(RULE_CONFIGMAP, "CredentialInConfigMap", _E,
         "A credential-like key with a literal value in a ConfigMap; keep it in a Secret.",
         why="ConfigMaps are not meant for credentials: they are readable by more people "
             "(RBAC treats them as plain configuration), and they end up in plain text in the "
             "repository.",
         fix="Keep the value in a Secret (SOPS-encrypted in the repository) and mount or "
             "reference that instead."),
    Rule(RULE_ENV, "CredentialInEnv", _E,
         "A container env variable named like a credential has a literal value; use "
         "valueFrom.secretKeyRef.",
         why="A literal env value is in plain text in the manifest, in the repository and in "
             "every read of the workload object.",
         fix="Use valueFrom.secretKeyRef to read it from a Secret (SOPS-encrypted in the "
             "repository)."),
    Rule(RULE_KEYSTORE, "KeystoreFile", _E,
         "A PKCS#12 or Java keystore (private keys) is committed.",
         why="A PKCS#12 or Java keystore holds private keys, often behind a weak or default "
             "password; committed, they are exposed to everyone with read access.",
         fix="Remove the file, rotate the keys in it, and keep it SOPS-encrypted or in a "
             "secret store.",
         inline=("annotation",),
         waive="A keystore file is binary and holds no comment: waive it in the config (by "
               "path) or in the baseline. PKCS#12 data inside a Secret can take an "
               "annotation."),
)
