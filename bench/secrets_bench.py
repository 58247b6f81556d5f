"""Secret detection against detect-secrets, in one run: recall, precision, speed.

    python bench/secrets_bench.py [--files 2000] [--seed 11] [--runs 3]

Writes a labelled GitOps corpus (seeded): planted secrets of every token family, in every place
a GitOps repository hides them (plain YAML, base64 Secret data, stringData, dockerconfigjson,
kubeconfig, container env, Helm values, .env, kustomize secretGenerator, ConfigMap), next to at
least as many benign look-alikes (SOPS values, SealedSecrets, ExternalSecrets, digests,
checksums, git SHAs, UUIDs, caBundles, certificates, SSH public keys, documented example keys,
placeholders, references, templates). The index lists every expected finding as (file, line).

A tool's report is scored by (file, line): a reported line that holds a planted secret is a
true positive, any other reported line a false positive. Recall is given per family and per
place. detect-secrets is installed from PyPI into its own venv and run on the same files.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".out" / "venvs" / "detect-secrets"
ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
HEX = "0123456789abcdef"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\n"


class Corpus:
    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.expected: list[dict[str, Any]] = []  # {file, line, family, place}
        self.benign_kinds: Counter[str] = Counter()
        self.files = 0

    # Random material.
    def chars(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def b64(self, text: str | bytes) -> str:
        return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()

    def password(self) -> str:
        words = ["Orchid", "Falcon", "Granite", "Lantern", "Mosaic", "Harbor", "Quartz"]
        return (self.rng.choice(words) + self.chars("!#%+-", 1) + self.chars(HEX, 4)
                + self.rng.choice(words))

    def token(self) -> tuple[str, str]:
        """A fake credential of a random family, as (family, text)."""
        c = self.chars
        jwt_header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').decode().rstrip("=")
        jwt_body = base64.urlsafe_b64encode(
            json.dumps({"sub": c(ALNUM, 12), "iat": 1700000000}).encode()).decode().rstrip("=")
        options = {
            "aws-access-key-id": "AKIA" + c("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
            "github-classic-token": "ghp_" + c(ALNUM, 36),
            "github-fine-grained-token": "github_pat_" + c(ALNUM, 22) + "_" + c(ALNUM, 59),
            "github-oauth-token": "gho_" + c(ALNUM, 36),
            "github-app-token": "ghs_" + c(ALNUM, 36),
            "gitlab-token": "glpat-" + c(ALNUM, 20),
            "gitlab-runner-token": "glrt-" + c(ALNUM, 24),
            "slack-token": "xoxb-" + c("0123456789", 11) + "-" + c("0123456789", 12) + "-"
                           + c(ALNUM, 24),
            "slack-webhook": "https://hooks.slack.com/services/T" + c(ALNUM.upper(), 8) + "/B"
                             + c(ALNUM.upper(), 8) + "/" + c(ALNUM, 24),
            "stripe-secret-key": "sk_live_" + c(ALNUM, 24),
            "google-api-key": "AIza" + c(ALNUM, 35),
            "sendgrid-api-key": "SG." + c(ALNUM, 22) + "." + c(ALNUM, 43),
            "twilio-api-key": "SK" + c(HEX, 32),
            "npm-token": "npm_" + c(ALNUM, 36),
            "pypi-token": "pypi-AgEIcHlwaS5vcmc" + c(ALNUM, 60),
            "dockerhub-token": "dckr_pat_" + c(ALNUM, 27),
            "vault-token": "hvs." + c(ALNUM, 90),
            "openai-api-key": "sk-proj-" + c(ALNUM, 20) + "T3BlbkFJ" + c(ALNUM, 20),
            "anthropic-api-key": "sk-ant-api03-" + c(ALNUM, 93),
            "digitalocean-token": "dop_v1_" + c(HEX, 64),
            "jwt": jwt_header + "." + jwt_body + "." + c(ALNUM, 43),
            "age-secret-key": "AGE-SECRET-KEY-1" + c(BECH32, 58).upper(),
            "url-password": f"postgres://app:{self.password()}@db-{c(HEX, 4)}.internal:5432/app",
        }
        family = self.rng.choice(sorted(options))
        return family, options[family]

    # Writing.
    def write(self, name: str, lines: list[str], planted: dict[int, tuple[str, str]],
              also: dict[int, tuple[int, ...]] | None = None) -> None:
        """`planted`: 1-based line -> (family, place) of what a detector must report there;
        `also`: other lines where reporting the same finding counts (a plaintext Secret may be
        reported at `data:` or at the value)."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for line, (family, place) in planted.items():
            self.expected.append({"file": name, "lines": [line, *(also or {}).get(line, ())],
                                  "family": family, "place": place})
        self.files += 1

    # Positives, one place each.
    def plain_yaml(self, n: int) -> None:
        family, token = self.token()
        key = self.rng.choice(["apiToken", "webhook", "upstreamAuth", "registryToken", "dsn"])
        self.write(f"apps/app{n}/values-extra.yaml",
                   ["replicaCount: 2", "integration:", f"  {key}: {token}", "  timeout: 30s"],
                   {3: (family, "plain-yaml")})

    def secret_data(self, n: int) -> None:
        family, token = self.token()
        self.write(f"apps/app{n}/secret.yaml", [
            "apiVersion: v1", "kind: Secret", f"metadata:\n  name: app{n}-creds",
            "type: Opaque", "data:", f"  token: {self.b64(token)}"],
            {6: ("plaintext-secret", "secret-data"), 7: (family, "secret-data")}, {6: (7,)})

    def secret_string_data(self, n: int) -> None:
        password = self.password()
        self.write(f"apps/app{n}/secret.yaml", [
            "apiVersion: v1", "kind: Secret", f"metadata:\n  name: app{n}-db",
            "stringData:", "  username: app", f"  password: {password}"],
            {5: ("plaintext-secret", "stringData")}, {5: (7,)})

    def dockerconfig(self, n: int) -> None:
        auth = self.b64(f"ci:{self.password()}")
        config = json.dumps({"auths": {"registry.example.com": {"auth": auth}}})
        self.write(f"apps/app{n}/pull-secret.yaml", [
            "apiVersion: v1", "kind: Secret", f"metadata:\n  name: app{n}-pull",
            "type: kubernetes.io/dockerconfigjson", "data:",
            f"  .dockerconfigjson: {self.b64(config)}"],
            {6: ("plaintext-secret", "dockerconfigjson"), 7: ("docker-auth", "dockerconfigjson")},
            {6: (7,)})

    def kubeconfig(self, n: int) -> None:
        _family, jwt = "jwt", self.token()[1]
        while not jwt.startswith("eyJ"):
            _family, jwt = self.token()
        self.write(f"clusters/c{n}/kubeconfig.yaml", [
            "apiVersion: v1", "kind: Config", "clusters:", "  - name: prod", "    cluster:",
            "      server: https://k8s.example.com",
            f"      certificate-authority-data: {self.b64(CERTIFICATE + self.chars(ALNUM, 200))}",
            "users:", "  - name: ci", "    user:", f"      token: {jwt}"],
            {11: ("jwt", "kubeconfig")})

    def env(self, n: int) -> None:
        name = self.rng.choice(["DB_PASSWORD", "SMTP_PASSWORD", "ADMIN_PASSWORD"])
        self.write(f"apps/app{n}/deployment.yaml", [
            "apiVersion: apps/v1", "kind: Deployment", f"metadata:\n  name: app{n}", "spec:",
            "  template:", "    spec:", "      containers:", f"        - name: app{n}",
            "          image: ghcr.io/example/app:1.2.3", "          env:",
            "            - name: LOG_LEVEL", "              value: info",
            f"            - name: {name}", f"              value: {self.password()}"],
            {15: ("password", "env")})

    def helm_values(self, n: int) -> None:
        self.write(f"apps/app{n}/values.yaml", [
            "postgresql:", "  auth:", "    username: app", f"    password: {self.password()}",
            "    existingSecret: \"\"", "redis:", "  auth:", "    enabled: true"],
            {4: ("password", "helm-values")})

    def dotenv(self, n: int) -> None:
        family, token = self.token()
        self.write(f"apps/app{n}/.env", [
            "LOG_LEVEL=debug", f"DATABASE_PASSWORD={self.password()}", f"SERVICE_TOKEN={token}",
            "FEATURE_X=true"],
            {2: ("password", "dotenv"), 3: (family, "dotenv")})

    def secret_generator(self, n: int) -> None:
        self.write(f"apps/app{n}/kustomization.yaml", [
            "resources:", "  - deployment.yaml", "secretGenerator:", f"  - name: app{n}-db",
            "    literals:", "      - username=app", f"      - password={self.password()}"],
            {5: ("plaintext-secret", "secretGenerator")}, {5: (7,)})

    def configmap(self, n: int) -> None:
        self.write(f"apps/app{n}/configmap.yaml", [
            "apiVersion: v1", "kind: ConfigMap", f"metadata:\n  name: app{n}", "data:",
            "  DB_HOST: db.internal", f"  DB_PASSWORD: {self.password()}"],
            {7: ("password", "configmap")})

    # Look-alikes that must never be reported.
    def benign(self, n: int) -> None:
        c = self.chars
        kind = self.rng.choice(["sops", "sealed", "external", "digests", "checksum",
                                "git-sha", "uuid", "ca-bundle", "certificate", "ssh",
                                "example-key", "placeholders", "references", "template"])
        self.benign_kinds[kind] += 1
        enc = (f"ENC[AES256_GCM,data:{c(ALNUM, 24)}=,iv:{c(ALNUM, 43)}=,tag:{c(ALNUM, 22)}==,"
               "type:str]")
        cert = ["-----BEGIN CERTIFICATE-----", *[c(ALNUM, 64) for _ in range(6)],
                "-----END CERTIFICATE-----"]
        lines = {
            "sops": ["apiVersion: v1", "kind: Secret", "metadata:", f"  name: s{n}", "data:",
                     f"  password: {enc}", "sops:", "  age:",
                     f"    - recipient: age1{c(BECH32, 58)}", "      enc: |",
                     "        -----BEGIN AGE ENCRYPTED FILE-----", f"        {c(ALNUM, 64)}",
                     "        -----END AGE ENCRYPTED FILE-----",
                     f"  mac: ENC[AES256_GCM,data:{c(ALNUM, 44)},iv:{c(ALNUM, 43)}=,tag:"
                     f"{c(ALNUM, 22)}==,type:str]", "  lastmodified: '2026-01-01T00:00:00Z'",
                     "  encrypted_regex: ^(data|stringData)$", "  version: 3.9.4"],
            "sealed": ["apiVersion: bitnami.com/v1alpha1", "kind: SealedSecret", "metadata:",
                       f"  name: s{n}", "spec:", "  encryptedData:",
                       f"    password: Ag{c(ALNUM + '+/', 400)}=="],
            "external": ["apiVersion: external-secrets.io/v1", "kind: ExternalSecret",
                         "metadata:", f"  name: e{n}", "spec:", "  secretStoreRef:",
                         "    name: vault", "  data:", "    - secretKey: password",
                         "      remoteRef:", "        key: prod/db", "        property: password"],
            "digests": [f"image: ghcr.io/example/app@sha256:{c(HEX, 64)}",
                        f"digest: sha256:{c(HEX, 64)}"],
            "checksum": ["metadata:", "  annotations:", f"    checksum/config: {c(HEX, 64)}",
                         f"    checksum/secret: {c(HEX, 64)}"],
            "git-sha": ["spec:", "  source:", "    repoURL: https://github.com/example/repo",
                        f"    targetRevision: {c(HEX, 40)}", f"  revision: {c(HEX, 40)}"],
            "uuid": [f"tenantId: {c(HEX, 8)}-{c(HEX, 4)}-4{c(HEX, 3)}-a{c(HEX, 3)}-{c(HEX, 12)}",
                     f"clientId: {c(HEX, 8)}-{c(HEX, 4)}-4{c(HEX, 3)}-b{c(HEX, 3)}-{c(HEX, 12)}"],
            "ca-bundle": ["webhooks:", "  - name: w.example.com", "    clientConfig:",
                          f"      caBundle: {self.b64(chr(10).join(cert))}"],
            "certificate": ["tls.crt: |", *[f"  {line}" for line in cert]],
            "ssh": ["known_hosts: github.com ssh-ed25519 "
                    f"AAAAC3NzaC1lZDI1NTE5AAAAI{c(ALNUM, 43)}"],
            "example-key": ["# from the AWS documentation", "accessKeyId: AKIAIOSFODNN7EXAMPLE"],
            "placeholders": ["password: changeme", "apiKey: ${API_KEY}", "token: <your-token>",
                             "secret: REPLACE_ME", "password: '{{ .Values.password }}'"],
            "references": ["existingSecret: db-credentials", "secretName: tls-cert",
                           "passwordSecretRef: {name: db, key: password}",
                           "DB_PASSWORD_FILE: /run/secrets/db_password",
                           "secretKeyRef: {name: api, key: token}"],
            "template": ["apiVersion: v1", "kind: Secret", "metadata:", f"  name: t{n}",
                         "stringData:", "  password: ${DB_PASSWORD}", "  token: ${API_TOKEN}"],
        }[kind]
        self.write(f"infra/benign{n}-{kind}.yaml", lines, {})


PLACES = ("plain_yaml", "secret_data", "secret_string_data", "dockerconfig", "kubeconfig",
          "env", "helm_values", "dotenv", "secret_generator", "configmap")


def generate(root: Path, files: int, seed: int) -> Corpus:
    corpus = Corpus(root, seed)
    for n in range(files):
        if n % 2 == 0:
            getattr(corpus, PLACES[(n // 2) % len(PLACES)])(n)
        else:
            corpus.benign(n)
    (root / "index.json").write_text(json.dumps(corpus.expected, indent=1), encoding="utf-8")
    return corpus


# -- running and scoring -----------------------------------------------------------------------

def run_ours(root: Path, env: dict[str, str]) -> tuple[float, set[tuple[str, int]]]:
    tool = Path(sys.executable).parent / "gitops-guard"
    start = time.perf_counter()
    result = subprocess.run([str(tool), "secrets", "scan", "apps", "clusters", "infra",
                             "--format", "json"], cwd=root, env=env, capture_output=True,
                            text=True, check=False)
    seconds = time.perf_counter() - start
    report = json.loads(result.stdout)
    return seconds, {(f["path"], f["line"]) for f in report["findings"]}


def run_detect_secrets(root: Path, env: dict[str, str]) -> tuple[float, set[tuple[str, int]]]:
    tool = VENV / "bin" / "detect-secrets"
    if not tool.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "detect-secrets==1.5.0"], check=True)
    start = time.perf_counter()
    result = subprocess.run([str(tool), "scan", "--all-files", "apps", "clusters", "infra"],
                            cwd=root, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    report = json.loads(result.stdout)
    return seconds, {(name, item["line_number"]) for name, items in report["results"].items()
                     for item in items}


def score(name: str, seconds: float, reported: set[tuple[str, int]],
          expected: list[dict[str, Any]], ours: float) -> None:
    acceptable = {(e["file"], line) for e in expected for line in e["lines"]}
    found = [e for e in expected if any((e["file"], line) in reported for line in e["lines"])]
    false = reported - acceptable
    recall = len(found) / len(expected)
    precision = (len(reported) - len(false)) / len(reported) if reported else 1.0
    print(f"\n{name}: {seconds:.2f} s ({seconds / ours:.1f}x ours), recall {recall:.3f} "
          f"({len(found)}/{len(expected)}), precision {precision:.3f} "
          f"({len(false)} false of {len(reported)} reported)")
    by: dict[str, dict[str, list[int]]] = {"family": defaultdict(lambda: [0, 0]),
                                           "place": defaultdict(lambda: [0, 0])}
    for entry in expected:
        hit = any((entry["file"], line) in reported for line in entry["lines"])
        for axis in ("family", "place"):
            by[axis][entry[axis]][0] += hit
            by[axis][entry[axis]][1] += 1
    for axis in ("place", "family"):
        cells = [f"{key} {found}/{total}" for key, (found, total) in sorted(by[axis].items())
                 if found < total]
        print(f"  recall below 1 by {axis}: {', '.join(cells) or 'none'}")
    kinds = Counter(path.split("-", 1)[-1].rsplit(".", 1)[0] for path, _ in false
                    if path.startswith("infra/"))
    if false:
        other = len(false) - sum(kinds.values())
        cells = [f"{kind} {count}" for kind, count in kinds.most_common()]
        if other:
            cells.append(f"in planted files {other}")
        print(f"  false positives: {', '.join(cells)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="gitops-guard-secrets-bench-") as temp:
        root = Path(temp)
        corpus = generate(root, args.files, args.seed)
        print(f"corpus: {corpus.files} files, {len(corpus.expected)} expected findings, "
              f"{sum(corpus.benign_kinds.values())} benign look-alike files "
              f"({len(corpus.benign_kinds)} kinds)")
        run_ours(root, env)  # warm byte-code caches
        ours = [run_ours(root, env) for _ in range(args.runs)]
        run_detect_secrets(root, env)
        theirs = [run_detect_secrets(root, env) for _ in range(args.runs)]
        our_time = statistics.median(s for s, _ in ours)
        score("gitops-guard secrets scan", our_time, ours[-1][1], corpus.expected, our_time)
        score("detect-secrets 1.5.0 scan --all-files", statistics.median(s for s, _ in theirs),
              theirs[-1][1], corpus.expected, our_time)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
