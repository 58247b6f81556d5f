"""Where secrets hide in a GitOps repository, and the structures that are never secrets."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, write
from tests.secrets.fakes import ALNUM, PEM_BODY, TOKENS, chars

GITHUB = TOKENS["github-classic-token"]
PRIVATE_KEY = TOKENS["private-key"]


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def scan(run_cli: Callable[..., CliRun], root: Path, files: dict[str, str | bytes],
         *args: str) -> list[tuple[str, str, int | None]]:
    write(root, files)
    result = run_cli("secrets", "scan", "--format", "json", *args, cwd=root)
    assert result.code in (0, 1), result.err
    return [(f["rule"], f["path"], f["line"]) for f in result.json()["findings"]]


def messages(run_cli: Callable[..., CliRun], root: Path) -> list[str]:
    result = run_cli("secrets", "scan", "--format", "json", cwd=root)
    return [f["message"] for f in result.json()["findings"]]


SECRET = """\
apiVersion: v1
kind: Secret
metadata: {{name: app}}
type: {type}
data:
{data}
"""


def secret(data: dict[str, str], kind: str = "Opaque") -> str:
    lines = "\n".join(f"  {key}: {value}" for key, value in data.items())
    return SECRET.format(type=kind, data=lines)


@pytest.mark.parametrize(("files", "expected"), [
    # a plaintext Secret, and what its base64 data hides
    ({"s.yaml": secret({"token": b64(GITHUB)})},
     [("GG-SECRET-001", "s.yaml", 5), ("GG-SECRET-002", "s.yaml", 6)]),
    ({"s.yaml": secret({"password": b64("hunter2hunter2")})}, [("GG-SECRET-001", "s.yaml", 5)]),
    ({"s.yaml": secret({"tls.crt": b64("-----BEGIN CERTIFICATE-----\n" + PEM_BODY +
                                       "\n-----END CERTIFICATE-----"),
                        "tls.key": b64(PRIVATE_KEY)}, "kubernetes.io/tls")},
     [("GG-SECRET-001", "s.yaml", 5), ("GG-SECRET-002", "s.yaml", 7)]),
    # stringData is scanned as it is
    ({"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData:\n"
                f"  config.yaml: |\n    url: https://api\n    token: {GITHUB}\n"},
     [("GG-SECRET-001", "s.yaml", 4), ("GG-SECRET-002", "s.yaml", 5)]),
    # templated or placeholder values: nothing is committed
    ({"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData:\n"
                "  password: ${DB_PASSWORD}\n  token: '{{ .Values.token }}'\n"
                "  key: changeme\n"}, []),
    # a patch that deletes the Secret
    ({"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n$patch: delete\n"
                "data:\n  x: " + b64("value-value") + "\n"}, []),
    # a dockerconfigjson down to its auth
    ({"s.yaml": secret({".dockerconfigjson": b64(json.dumps(
        {"auths": {"ghcr.io": {"auth": b64("ci:Regi5try-Pa55")}}}))},
        "kubernetes.io/dockerconfigjson")},
     [("GG-SECRET-001", "s.yaml", 5), ("GG-SECRET-002", "s.yaml", 6)]),
    # the older kubernetes.io/dockercfg: registries at the top, no `auths`
    ({"s.yaml": secret({".dockercfg": b64(json.dumps(
        {"ghcr.io": {"auth": b64("ci:Regi5try-Pa55"), "email": "ci@example.com"}}))},
        "kubernetes.io/dockercfg")},
     [("GG-SECRET-001", "s.yaml", 5), ("GG-SECRET-002", "s.yaml", 6)]),
    # a PKCS#12 keystore inside Secret data
    ({"s.yaml": secret({"keystore.p12": b64(b"\x30\x82\x0a\x0b\x02\x01\x03" + bytes(40))})},
     [("GG-SECRET-001", "s.yaml", 5), ("GG-SECRET-006", "s.yaml", 6)]),
])
def test_secrets(tmp_path: Path, run_cli: Callable[..., CliRun],
                 files: dict[str, str], expected: list[Any]) -> None:
    assert scan(run_cli, tmp_path, files) == expected


def test_decoded_findings_say_so_and_never_show_the_value(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": secret({"token": b64(GITHUB)})})
    found = messages(run_cli, tmp_path)
    assert found[1] == ("GitHub personal access token (classic): ghp_…(40 chars) (decoded "
                        "from base64)")
    assert GITHUB not in json.dumps(found)


CERTIFICATE_DATA = b64("-----BEGIN CERTIFICATE-----\n" + PEM_BODY)
KUBECONFIG = f"""\
apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster:
      server: https://k8s.example.com
      certificate-authority-data: {CERTIFICATE_DATA}
users:
  - name: admin
    user:
      client-certificate-data: {CERTIFICATE_DATA}
      client-key-data: {b64(PRIVATE_KEY)}
  - name: ci
    user:
      token: {TOKENS["jwt"]}
  - name: basic
    user:
      username: admin
      password: Adm1n-Pa55
  - name: exec
    user:
      exec: {{command: aws, args: [eks, get-token]}}
"""


def test_kubeconfig(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    assert scan(run_cli, tmp_path, {"kubeconfig.yaml": KUBECONFIG}) == [
        ("GG-SECRET-002", "kubeconfig.yaml", 12),
        ("GG-SECRET-002", "kubeconfig.yaml", 15),
        ("GG-SECRET-003", "kubeconfig.yaml", 19),
    ]


def test_docker_config_json(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    config = json.dumps({"auths": {"registry.example.com": {"auth": b64("ci:Regi5try-Pa55")},
                                   "quay.io": {"identitytoken": "a8f3k2m9q1w7e5r0x"}},
                         "credHelpers": {"gcr.io": "gcloud"}}, indent=2)
    assert scan(run_cli, tmp_path, {"config.json": config}) == [
        ("GG-SECRET-002", "config.json", 4), ("GG-SECRET-003", "config.json", 7)]


KUBECONFIG_FOUND = [("GG-SECRET-002", 12), ("GG-SECRET-002", 15), ("GG-SECRET-003", 19)]
# kubectl needs neither apiVersion nor kind: a file named as a kubeconfig is read as one.
BARE_KUBECONFIG = "users:\n  - name: basic\n    user:\n      username: admin\n" \
                  "      password: Adm1n-Pa55\n"
CLEAN_KUBECONFIG = f"""\
apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster: {{server: https://k8s.example.com, certificate-authority-data: {CERTIFICATE_DATA}}}
users:
  - name: admin
    user:
      client-certificate-data: {CERTIFICATE_DATA}
      exec: {{command: aws, args: [eks, get-token]}}
contexts: [{{name: prod, context: {{cluster: prod, user: admin}}}}]
current-context: prod
"""
REGISTRY_AUTH = b64("ci:Regi5try-Pa55")
DOCKER_CONFIG = json.dumps({"auths": {"registry.example.com": {"auth": REGISTRY_AUTH}}},
                           indent=2)
DOCKERCFG = json.dumps({"registry.example.com": {"auth": REGISTRY_AUTH,
                                                 "email": "ci@example.com"}}, indent=2)


# Found by name or place, read by structure whatever the suffix (formats.py); a directory scan.
@pytest.mark.parametrize(("name", "text", "expected"), [
    ("kubeconfig", KUBECONFIG, KUBECONFIG_FOUND),
    ("prod.kubeconfig", KUBECONFIG, KUBECONFIG_FOUND),
    ("kubeconfig.yml", KUBECONFIG, KUBECONFIG_FOUND),
    (".kube/config", KUBECONFIG, KUBECONFIG_FOUND),
    ("clusters/ops/.kube/config", KUBECONFIG, KUBECONFIG_FOUND),
    ("kubeconfig", BARE_KUBECONFIG, [("GG-SECRET-003", 5)]),
    (".kube/config", BARE_KUBECONFIG, [("GG-SECRET-003", 5)]),
    ("kubeconfig.yaml", BARE_KUBECONFIG, [("GG-SECRET-003", 5)]),
    # a kubeconfig that does not parse: its `key: value` lines still count
    ("kubeconfig", BARE_KUBECONFIG + "contexts: [\n", [("GG-SECRET-003", 5)]),
    # not a mapping (a key pasted in): read as the text it is
    ("kubeconfig", PRIVATE_KEY + "\n", [("GG-SECRET-002", 1)]),
    (".dockercfg", f'["{GITHUB}"]\n', [("GG-SECRET-002", 1)]),
    # no credentials: certificates are public, exec plugins fetch tokens at run time
    ("kubeconfig", CLEAN_KUBECONFIG, []),
    (".kube/config", CLEAN_KUBECONFIG, []),
    # `config` outside `.kube/` is nothing known, and a directory scan does not read it
    ("config", KUBECONFIG, []),
    ("kube/config", KUBECONFIG, []),
    (".kube/config.bak", KUBECONFIG, []),
    (".docker/config.json", DOCKER_CONFIG, [("GG-SECRET-002", 4)]),
    ("regcred.dockerconfigjson", DOCKER_CONFIG, [("GG-SECRET-002", 4)]),
    (".dockercfg", DOCKERCFG, [("GG-SECRET-002", 3)]),
    ("ci/pull.dockercfg", DOCKERCFG, [("GG-SECRET-002", 3)]),
    (".docker/config.json", json.dumps({"auths": {"ghcr.io": {}}, "credsStore": "desktop"}), []),
    (".dockercfg", json.dumps({"ghcr.io": {"email": "ci@example.com"}}), []),
])
def test_credential_files_by_name(tmp_path: Path, run_cli: Callable[..., CliRun], name: str,
                                  text: str, expected: list[Any]) -> None:
    found = scan(run_cli, tmp_path, {name: text})
    assert [(rule, line) for rule, _path, line in found] == expected
    assert {path for _rule, path, _line in found} <= {name}


def workload(env: str) -> str:
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
            "    spec:\n      containers:\n        - name: web\n          env:\n" + env)


@pytest.mark.parametrize(("env", "expected"), [
    ("            - {name: DB_PASSWORD, value: Sup3r-S3cret}\n", [("GG-SECRET-005", 10)]),
    (f"            - {{name: GH, value: {GITHUB}}}\n", [("GG-SECRET-002", 10)]),
    ("            - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: pw}}}\n", []),
    ("            - {name: DB_PASSWORD_FILE, value: /run/secrets/db}\n", []),
    ("            - {name: LOG_LEVEL, value: debug}\n", []),
])
def test_container_env(tmp_path: Path, run_cli: Callable[..., CliRun], env: str,
                       expected: list[Any]) -> None:
    found = scan(run_cli, tmp_path, {"d.yaml": workload(env)})
    assert [(rule, line) for rule, _path, line in found] == expected


def test_configmap_and_embedded_config(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    configmap = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata:\n"
                 "  DB_HOST: db.internal\n  DB_PASSWORD: Sup3r-S3cret\n"
                 "  app.properties: |\n    db.user=app\n    db.password=An0ther-S3cret\n")
    assert scan(run_cli, tmp_path, {"cm.yaml": configmap}) == [
        ("GG-SECRET-004", "cm.yaml", 6), ("GG-SECRET-003", "cm.yaml", 7)]
    assert "keep it in a Secret" in messages(run_cli, tmp_path)[0]


def test_helm_values_and_helmrelease(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    files = {
        "values.yaml": "postgresql:\n  auth:\n    password: Sup3r-S3cret\n"
                       "    existingSecret: db\n  image: {digest: sha256:" + "a" * 64 + "}\n",
        "release.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
                        "metadata: {name: app}\nspec:\n  values:\n"
                        "    smtp: {password: Mai1-Pa55w0rd, host: smtp.example.com}\n"
                        "  valuesFrom: [{kind: Secret, name: app-values}]\n",
    }
    assert scan(run_cli, tmp_path, files) == [
        ("GG-SECRET-003", "release.yaml", 6), ("GG-SECRET-003", "values.yaml", 3)]


def test_kustomize_secret_generator(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    files = {
        "kustomization.yaml": "secretGenerator:\n  - name: db\n    literals:\n"
                              "      - username=app\n      - password=Sup3r-S3cret\n"
                              "  - name: api\n    envs: [api.env]\n"
                              "  - name: templated\n    literals: ['password=${DB_PASSWORD}']\n"
                              "  - name: encrypted\n    files: [secret.enc.txt]\n"
                              "configMapGenerator:\n  - name: cfg\n    literals: [a=b]\n",
        "api.env": "API_TOKEN=" + GITHUB + "\n",
        "secret.enc.txt": '{"data": "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", "sops": {}}',
    }
    assert scan(run_cli, tmp_path, files) == [
        ("GG-SECRET-002", "api.env", 1),
        ("GG-SECRET-001", "kustomization.yaml", 3),
        ("GG-SECRET-001", "kustomization.yaml", 7),
    ]


NEVER = {
    "sops.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n"
                 "  password: ENC[AES256_GCM,data:Zm9vYmFy,iv:" + "A" * 43 + "=,tag:"
                 + "B" * 22 + "==,type:str]\nsops:\n  age:\n    - recipient: age1"
                 + chars("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58) + "\n      enc: |\n"
                 "        -----BEGIN AGE ENCRYPTED FILE-----\n        " + chars(ALNUM, 60)
                 + "\n        -----END AGE ENCRYPTED FILE-----\n"
                 "  mac: ENC[AES256_GCM,data:" + "C" * 40 + ",iv:x,tag:y,type:str]\n"
                 "  lastmodified: '2026-01-01T00:00:00Z'\n  version: 3.9.4\n",
    "sealed.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s}\n"
                   "spec:\n  encryptedData:\n    password: Ag" + chars(ALNUM + "+/", 300) + "\n"
                   "  template:\n    metadata: {name: s}\n",
    "external.yaml": "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
                     "metadata: {name: db}\nspec:\n  secretStoreRef: {name: vault, kind: "
                     "ClusterSecretStore}\n  data:\n    - secretKey: password\n"
                     "      remoteRef: {key: prod/db, property: password}\n"
                     "  target:\n    template:\n      data:\n"
                     "        url: 'postgres://app:{{ .password }}@db/app'\n",
    "deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                   "  annotations:\n    checksum/config: " + chars("0123456789abcdef", 64)
                   + "\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
                   "          image: ghcr.io/x/web@sha256:" + chars("0123456789abcdef", 64)
                   + "\n",
    "argocd.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
                   "spec:\n  source:\n    repoURL: https://github.com/org/repo\n"
                   "    targetRevision: " + chars("0123456789abcdef", 40) + "\n",
    "webhook.yaml": "apiVersion: admissionregistration.k8s.io/v1\n"
                    "kind: ValidatingWebhookConfiguration\nmetadata: {name: w}\nwebhooks:\n"
                    "  - name: w.example.com\n    clientConfig:\n      caBundle: "
                    + b64("-----BEGIN CERTIFICATE-----\n" + PEM_BODY) + "\n",
    "ids.yaml": "tenantId: 5f6c2a7e-9c1b-4c51-8f8a-2b8a1c9d0e3f\n"
                "clientId: 0f6c2a7e-9c1b-4c51-8f8a-2b8a1c9d0e3f\n"
                "uid: 1f6c2a7e-9c1b-4c51-8f8a-2b8a1c9d0e3f\n",
    "keys.yaml": "ssh_known_hosts: github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
                 + chars(ALNUM, 43) + "\nexample: AKIAIOSFODNN7EXAMPLE\n"
                 "cert: |\n  -----BEGIN CERTIFICATE-----\n  " + chars(ALNUM, 64)
                 + "\n  -----END CERTIFICATE-----\n",
    "chart/Chart.lock": "digest: sha256:" + "b" * 64 + "\n",
}


@pytest.mark.parametrize("name", sorted(NEVER))
def test_never_flagged(tmp_path: Path, run_cli: Callable[..., CliRun], name: str) -> None:
    assert scan(run_cli, tmp_path, {name: NEVER[name]}) == []


def test_a_sops_file_with_a_plaintext_value_is_not_exempt(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    text = NEVER["sops.yaml"].replace(
        "data:\n", "stringData:\n  token: Sup3r-S3cret-T0ken\ndata:\n")
    found = scan(run_cli, tmp_path, {"db.sops.yaml": text})
    assert found == [("GG-SECRET-003", "db.sops.yaml", 5)]


@pytest.mark.parametrize(("name", "text", "expected"), [
    (".env", "DB_PASSWORD=Sup3r-S3cret\nDB_HOST=db\n# API_KEY=commented-out-value\n"
             "DB_PASSWORD_FILE=/run/secrets/db\nexport TOKEN='a8f3k2m9q1w7e5r0'\n",
     [("GG-SECRET-003", 1), ("GG-SECRET-003", 5)]),
    ("app.ini", "[db]\npassword = Sup3r-S3cret\nhost = db\n", [("GG-SECRET-003", 2)]),
    ("app.properties", "spring.datasource.password=Sup3r-S3cret\n", [("GG-SECRET-003", 1)]),
    ("main.tf", f'provider "github" {{\n  token = "{GITHUB}"\n}}\n', [("GG-SECRET-002", 2)]),
    ("deploy.sh", f"curl -H 'Authorization: token {GITHUB}' https://api\n",
     [("GG-SECRET-002", 1)]),
    ("README.md", f"Set `password: changeme`, then:\n\n    export GH={GITHUB}\n",
     [("GG-SECRET-002", 3)]),
    ("id_rsa", PRIVATE_KEY + "\n", [("GG-SECRET-002", 1)]),
    ("notes.md", "password: Sup3r-S3cret\n", []),  # prose: only known formats
    # .npmrc: settings scoped to a registry (`//host/:key=value`) are not comments
    (".npmrc", "registry=https://npm.example.com/\n"
               "//npm.example.com/:_authToken=Zq8v-Kx3m-Tt7w-Lp2n\n"
               "//npm.example.com/:_password=U3VwM3ItUzNjcmV0\n# _auth=commented-out-value\n"
               "//npm.example.com/:_authToken=${NPM_TOKEN}\n",
     [("GG-SECRET-003", 2), ("GG-SECRET-003", 3)]),
    # .netrc: whitespace-separated, on one line or several
    (".netrc", "machine git.example.com login ci password Sup3r-S3cret\n"
               "machine other.example.com\n  login ci\n  password An0ther-S3cret\n"
               "# machine old login ci password Old-S3cret-1\n",
     [("GG-SECRET-003", 1), ("GG-SECRET-003", 4)]),
    (".pypirc", "[pypi]\nusername = __token__\npassword = Sup3r-S3cret-Upl0ad\n",
     [("GG-SECRET-003", 3)]),
    (".git-credentials", "https://ci:Sup3r-S3cret@git.example.com\n", [("GG-SECRET-002", 1)]),
])
def test_text_files(tmp_path: Path, run_cli: Callable[..., CliRun], name: str, text: str,
                    expected: list[Any]) -> None:
    found = scan(run_cli, tmp_path, {name: text})
    assert [(rule, line) for rule, _path, line in found] == expected


def test_binary_and_keystore_files(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    keystore = b"\x30\x82\x01\x00\x02\x01\x03" + bytes(9)
    found = scan(run_cli, tmp_path, {"logo.png.txt": bytes(range(256)),
                                     "tls/keystore.p12": keystore})
    assert found == [("GG-SECRET-006", "tls/keystore.p12", 1)]


def test_helm_templates_get_the_token_rules(tmp_path: Path,
                                            run_cli: Callable[..., CliRun]) -> None:
    template = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\n"
                f"stringData:\n  password: {{{{ .Values.password }}}}\n  token: {GITHUB}\n")
    assert scan(run_cli, tmp_path, {"chart/Chart.yaml": "apiVersion: v2\nname: c\n",
                                    "chart/templates/secret.yaml": template}) == [
        ("GG-SECRET-002", "chart/templates/secret.yaml", 7)]


@pytest.mark.parametrize(("name", "text", "line"), [
    ("values.yaml", "a: 1\npassword: postgres://app:Sup3r-S3cret@db:5432/x\nb: [\n", 2),
    ("values.json", '{\n  "password": "Sup3r-S3cret-Pa55",\n  "b": [\n', 2),
])
def test_secrets_in_files_that_do_not_parse(tmp_path: Path, run_cli: Callable[..., CliRun],
                                            name: str, text: str, line: int) -> None:
    write(tmp_path, {name: text})
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    found = [(f["rule"], f["line"]) for f in result.json()["findings"]]
    assert ("GG-MANIFEST-001", 4) in found  # the unclosed list, at the end
    assert [rule for rule, at in found if rule.startswith("GG-SECRET")] == [
        "GG-SECRET-002" if name.endswith(".yaml") else "GG-SECRET-003"]
    assert [at for rule, at in found if rule.startswith("GG-SECRET")] == [line]
