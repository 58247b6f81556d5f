"""A repository full of planted secrets, in every place the secrets check knows, in files that
parse and in files that do not.

Every value is registered in a `Planted` under a label saying where it sits, so a leak names
the place it came from. Token shapes come from tests/secrets/fakes.py (built at run time; no
token-shaped literal is committed).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from gitops_guard.checks.secrets.tokens import find_tokens
from gitops_guard.sops import commands
from tests.conftest import write
from tests.secrets.fakes import TOKENS
from tests.security.leaks import Planted

# Public parts of a token a report may show: the family marker, a PEM header, a webhook host.
_PUBLIC_PREFIXES = ("https://hooks.slack.com/services/",)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def token_body(token: str) -> str:
    """The secret part of a fake token: what follows its public marker."""
    bodies = []
    for match in find_tokens(token):
        body = match.secret
        for marker in match.family.markers:
            if body.lower().startswith(marker):
                body = body[len(marker):]
        if body.startswith("-----BEGIN"):
            body = body.split("-----", 2)[2]
        for prefix in _PUBLIC_PREFIXES:
            body = body.removeprefix(prefix)
        bodies.append(body)
    assert bodies, f"the fake token is not found by the secrets check: {token[:12]}..."
    return max(bodies, key=len)


def plant_tokens(planted: Planted) -> dict[str, str]:
    """Every fake token, its body registered; returns family -> the token as written."""
    for family, token in TOKENS.items():
        planted.add(f"token {family}", token_body(token))
    return dict(TOKENS)


def sops_encrypt(root: Path, name: str, recipient: str) -> None:
    """`gitops-guard sops encrypt -i` through its API: no output to capture."""
    request = commands.Request(file=root / name, cwd=root, environ={}, stdout=io.BytesIO(),
                               stderr=io.StringIO(), in_place=True, age=(recipient,),
                               stdin_is_tty=False)
    assert commands.encrypt(request) == 0


SOPS_RULES = """\
creation_rules:
  - path_regex: enc/.*\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: {recipient}
"""

USER_POLICY = """\
apiVersion: policy.gitops-guard.io/v1alpha1
kind: Policy
metadata: {name: secret-pin}
spec:
  id: secret-pin-numeric
  title: Secret pins are numbers
  description: A policy that reads Secret values and fails to evaluate on them.
  remediation: Make the pin a number.
  pack: team
  match:
    kinds: [Secret]
  validations:
    - expression: int(object.stringData.pin) > 0
      message: the pin must be a positive number
"""


def build(root: Path, recipient: str) -> Planted:
    """Write the repository under `root` (created); the SOPS files are encrypted for
    `recipient`. Returns every planted value."""
    planted = Planted()
    p = planted.add
    tokens = plant_tokens(planted)
    token_lines = "\n".join(f"  {family.replace('-', '_')}: {token!r}"
                            for family, token in sorted(tokens.items()))
    data_password = p("Secret data password", "Tq8vLw3nXe5rBz1m")
    registry_auth = "bot:" + p("registry auth password", "Jc3fNv6hTb8mRx2q")
    docker_json = json.dumps({"auths": {"ghcr.io": {"auth": planted.add_encoded(
        "registry auth", b64(registry_auth))}}})
    config_auth = "ci:" + p("docker config.json auth password", "Xm2kTr9fBq5wLz3n")
    gh_token = tokens["github-classic-token"]
    kubeconfig = (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n"
        "    server: https://k8s.example.net\ncontexts: []\nusers:\n- name: admin\n  user:\n"
        f"    token: {p('kubeconfig token', 'kT9xLq2wVb7nZr4cHy1mDs6fPj3gWx8eNt5uQa0v')}\n"
        "    client-key-data: "
        f"{planted.add_encoded('kubeconfig client key', b64(tokens['private-key']))}\n"
        "- name: basic\n  user:\n    username: admin\n"
        f"    password: {p('kubeconfig password', 'Gs4bYn8rKw2pVd6x')}\n")
    files: dict[str, str | bytes] = {
        ".gitops-guard.yaml": "policy:\n  paths: [policies]\n",
        ".sops.yaml": SOPS_RULES.format(recipient=recipient),
        "policies/secret-pin.yaml": USER_POLICY,
        "secrets/plain.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n"
            "type: Opaque\ndata:\n"
            f"  password: {planted.add_encoded('Secret data', b64(data_password))}\n"
            f"  token: {planted.add_encoded('Secret data token', b64(gh_token))}\n"
            "stringData:\n  username: app\n"
            f"  password: {p('Secret stringData password', 'Hy6pKc2sWq9dNf4j')}\n"
            f"  pin: {p('Secret stringData pin', 'Pk4zDw7eLs1cYt9x')}\n"
            f"  url: postgres://app:{p('Secret URL password', 'Rm5tGx8bVn2kQp7w')}@db:5432/app\n"),
        "secrets/registry.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pull\n"
            "type: kubernetes.io/dockerconfigjson\ndata:\n"
            f"  .dockerconfigjson: {planted.add_encoded('dockerconfigjson', b64(docker_json))}\n"),
        "values.yaml": (
            "postgresql:\n  auth:\n"
            f"    password: {p('Helm values postgresql password', 'Wd9sEq4kUy7gZn1b')}\n"
            f"    postgresPassword: {p('Helm values postgresPassword', 'Lb2xCr5jHm8vTz6p')}\n"
            f"redis:\n  password: \"{p('Helm values redis password', 'Fn7wQk1dSx4yGc3h')}\"\n"
            f"all:\n{token_lines}\n"),
        ".env": (f"SMTP_PASSWORD={p('.env SMTP_PASSWORD', 'Zv1cMp6tRq3nXk8d')}\n"
                 f"NPM_TOKEN={tokens['npm-token']}\n"
                 f"export GITLAB_TOKEN={tokens['gitlab-token']}\n"),
        "kubeconfig": kubeconfig,
        "clusters/admin-kubeconfig.yaml": kubeconfig,
        "docker/config.json": json.dumps({"auths": {"registry.example.com": {
            "auth": planted.add_encoded("config.json auth", b64(config_auth)),
            "identitytoken": p("docker identitytoken", "Qe8dJx3vNs6hWc1tRb7yPm4k")}}},
            indent=2) + "\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        "chart/templates/secret.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-creds\n"
            f"stringData:\n  apiKey: {p('Helm template apiKey', 'Ua5nHw2qZx9cTk7m')}\n"
            "  password: {{ .Values.password | quote }}\n"),
        "apps/web/deployment.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
            "  selector:\n    matchLabels: {app: web}\n  template:\n"
            "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
            "        - name: web\n          image: nginx:1.27\n          env:\n"
            "            - name: DB_PASSWORD\n"
            f"              value: {p('container env DB_PASSWORD', 'Yr3mFs8kVp1xDq6w')}\n"
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n"
            f"  smtp_password: {p('ConfigMap smtp_password', 'Cn6tWb4zLk9sQr2v')}\n"),
        "apps/web/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [deployment.yaml]\nsecretGenerator:\n  - name: creds\n    literals:\n"
            f"      - password={p('secretGenerator literal', 'Ep1xRv7qMd3wJn5k')}\n"
            "    envs: [creds.env]\n"),
        "apps/web/creds.env": f"API_PASSWORD={p('secretGenerator env file', 'Kw8cTq2nYb5xHs9f')}\n",
        "id_rsa": tokens["private-key"] + "\n",
        ".git-credentials": (
            f"https://ci:{p('.git-credentials password', 'Gx4wMq8tZn2vRc6k')}@git.example.net\n"),
        # Files that do not parse, each with a secret where the parser stops.
        "broken/secret-syntax.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: broken\nstringData:\n"
            f"  password: \"{p('broken: on the syntax error line', 'Mf2qZw7kRt4xPc9s')}\n"
            "  other: [x\n"),
        "broken/secret-duplicate.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: dup\nstringData:\n"
            f"  password: {p('broken: duplicate key, first', 'Nv5dHs3wXq8bTm1k')}\n"
            f"  password: {p('broken: duplicate key, second', 'Ox9pKr6tVc2wQz4h')}\n"),
        "broken/values-tab.yaml": (
            "db:\n  user: app\n"
            f"\tpassword: {p('broken: tab-indented line', 'Ir7wBn4xMq1sLd8c')}\n"),
        "broken/truncated.json": (
            '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, '
            f'"stringData": {{"password": "{p("broken: truncated JSON", "Ah3kWs9vPz6nRx2f")}'),
        "broken/invalid-utf8.yaml": (
            f"db:\n  password: {p('broken: invalid UTF-8', 'Dq8tYm2cKv5wHn9b')}\n".encode()
            + b"  note: caf\xe9\n"),
        "broken/nul.env": f"API_TOKEN={p('broken: NUL byte', 'Vs1nXk7dGq4pZw6r')}\n\x00\n",
        "broken/not-base64.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: nb\ndata:\n"
            f"  password: {p('broken: Secret data not base64', 'Tb5mQx3wHr8kNc2v')}!!\n"),
        "broken/unknown-field.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: uf\nstringdata:\n"
            f"  password: {p('broken: under an unknown field', 'Lp9cVw6nSq1xKd4t')}\n"),
        "broken/crlf-bom.yaml": (
            "\ufeffdb:\r\n"
            f"  password: {p('broken: CRLF and BOM', 'Hc7vXq2mTw9kBd4s')}\r\n"),
    }
    write(root, files)
    write(root, {
        "enc/secret.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n    name: sealed\nstringData:\n"
            f"    password: {p('SOPS plaintext', 'Sd4vNp9wQk2mXr7b')}\n"),
    })
    sops_encrypt(root, "enc/secret.yaml", recipient)
    write(root, {"enc/added.yaml": (root / "enc/secret.yaml").read_text().replace(
        "stringData:\n", "stringData:\n    added: "
        f"{p('SOPS value added after encryption', 'Bz6hLx1tWq8cVn3d')}\n", 1)})
    return planted
