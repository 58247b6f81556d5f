"""The schema check end to end: strictness, versions, CRDs, missing schemas, patches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WIDGET, WIDGET_CRD, CliRun, write

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx
          imagePullpolicy: Always
"""



def findings(result: CliRun) -> list[tuple[str, str, int | None]]:
    return [(f["rule"], f["path"], f["line"]) for f in result.json()["findings"]]


def schema(run_cli: Callable[..., CliRun], root: Path, *args: str) -> CliRun:
    return run_cli("schema", "--format", "json", *args, cwd=root)


@pytest.mark.parametrize(("flags", "expected"), [
    ((), [("GG-SCHEMA-002", "d.yaml", 12)]),
    (("--strict",), [("GG-SCHEMA-002", "d.yaml", 12)]),
    (("--no-strict",), []),
])
def test_strict_by_default(tmp_path: Path, run_cli: Callable[..., CliRun],
                           flags: tuple[str, ...], expected: list[Any]) -> None:
    write(tmp_path, {"d.yaml": DEPLOYMENT})
    result = schema(run_cli, tmp_path, *flags)
    assert findings(result) == expected
    assert result.code == (1 if expected else 0)


def test_strict_from_config(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"d.yaml": DEPLOYMENT, ".gitops-guard.yaml": "schema: {strict: false}\n"})
    assert findings(schema(run_cli, tmp_path)) == []
    assert findings(schema(run_cli, tmp_path, "--strict")) == [("GG-SCHEMA-002", "d.yaml", 12)]


VERSIONED = """\
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: p}
spec: {}
---
apiVersion: certificates.k8s.io/v1beta1
kind: ClusterTrustBundle
metadata: {name: b}
spec: {trustBundle: x}
---
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: old}
"""


@pytest.mark.parametrize(("version", "expected"), [
    ("1.35", [("GG-SCHEMA-004", 1, "Kubernetes 1.35 does not serve MutatingAdmissionPolicy as "
                                   "admissionregistration.k8s.io/v1; use admissionregistration"
                                   ".k8s.io/v1alpha1 or admissionregistration.k8s.io/v1beta1"),
              ("GG-SCHEMA-004", 11, "policy/v1beta1 PodSecurityPolicy was removed in Kubernetes "
                                    "1.25; it has no replacement")]),
    ("v1.36.3", [("GG-SCHEMA-004", 11, "policy/v1beta1 PodSecurityPolicy was removed in "
                                       "Kubernetes 1.25; it has no replacement")]),
    ("1.37.0", [("GG-SCHEMA-005", 6, "certificates.k8s.io/v1beta1 ClusterTrustBundle is a "
                                     "pre-release API; Kubernetes 1.37 serves "
                                     "certificates.k8s.io/v1"),
                ("GG-SCHEMA-004", 11, "policy/v1beta1 PodSecurityPolicy was removed in "
                                      "Kubernetes 1.25; it has no replacement")]),
])
def test_api_versions_by_kubernetes_version(tmp_path: Path, run_cli: Callable[..., CliRun],
                                            version: str, expected: list[Any]) -> None:
    write(tmp_path, {"v.yaml": VERSIONED})
    result = schema(run_cli, tmp_path, "--kubernetes-version", version)
    assert [(f["rule"], f["line"], f["message"]) for f in result.json()["findings"]] == expected


def test_version_from_config(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"v.yaml": VERSIONED,
                     ".gitops-guard.yaml": 'schema: {kubernetes_version: "1.35"}\n'})
    assert findings(schema(run_cli, tmp_path))[0] == ("GG-SCHEMA-004", "v.yaml", 1)


@pytest.mark.parametrize(("config", "message"), [
    ("schema: {kubernetes_version: 1.36}\n",
     'schema.kubernetes_version: 1.36 is not of type "string"'),
    ('schema: {kubernetes_version: "1.20"}\n', "no bundled schemas for Kubernetes '1.20'"),
    ("schema: {missing_schemas: maybe}\n", "missing_schemas"),
    ("schema: {crds: [nowhere/]}\n", "schema.crds names 'nowhere/', which does not exist"),
    ("schema: {locations: ['{{ .Kind }}.json']}\n", "uses unknown variable .Kind"),
])
def test_bad_schema_settings_exit_2(tmp_path: Path, run_cli: Callable[..., CliRun],
                                    config: str, message: str) -> None:
    write(tmp_path, {"d.yaml": DEPLOYMENT, ".gitops-guard.yaml": config})
    result = run_cli("schema", cwd=tmp_path)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_unknown_version_flag_exits_2(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"d.yaml": DEPLOYMENT})
    result = run_cli("schema", "--kubernetes-version", "latest", cwd=tmp_path)
    assert (result.code, result.err) == (
        2, "gitops-guard: error: no bundled schemas for Kubernetes 'latest'; available: 1.35, "
           "1.36, 1.37\n")


@pytest.mark.parametrize(("mode", "code", "expected"), [
    (None, 0, [("GG-SCHEMA-003", "warning")]),
    ("warn", 0, [("GG-SCHEMA-003", "warning")]),
    ("error", 1, [("GG-SCHEMA-003", "error")]),
    ("skip", 0, []),
])
def test_missing_schemas_modes(tmp_path: Path, run_cli: Callable[..., CliRun], mode: str | None,
                               code: int, expected: list[Any]) -> None:
    files = {"w.yaml": WIDGET}
    if mode:
        files[".gitops-guard.yaml"] = f"schema: {{missing_schemas: {mode}}}\n"
    write(tmp_path, files)
    result = schema(run_cli, tmp_path)
    assert result.code == code
    assert [(f["rule"], f["severity"]) for f in result.json()["findings"]] == expected
    if expected:
        assert "example.com/v1 Widget" in result.json()["findings"][0]["message"]


def test_crd_among_the_checked_files(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"crds/widget.yaml": WIDGET_CRD, "apps/w.yaml": WIDGET})
    result = schema(run_cli, tmp_path)
    assert [(f["rule"], f["path"], f["message"]) for f in result.json()["findings"]] == [
        ("GG-SCHEMA-001", "apps/w.yaml", 'spec.size: expected integer, got string "big"')]


@pytest.mark.parametrize("entry", ["crds/widget.yaml", "crds", "crds/"])
def test_crd_named_in_config_for_single_file_runs(git_repo: Path, run_cli: Callable[..., CliRun],
                                                  entry: str) -> None:
    write(git_repo, {"crds/widget.yaml": WIDGET_CRD, "apps/w.yaml": WIDGET,
                     ".gitops-guard.yaml": f"schema: {{crds: [{entry}]}}\n"})
    result = schema(run_cli, git_repo / "apps", "w.yaml")  # as a hook passing one file
    assert findings(result) == [("GG-SCHEMA-001", "w.yaml", 4)]


def test_a_broken_crd_is_reported_on_the_crd_and_its_resources(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    bad_pattern = WIDGET_CRD.replace("size: {type: integer}",
                                     "size: {type: string, pattern: '(unclosed'}")
    no_group = WIDGET_CRD.replace("group: example.com", "groop: example.com").replace(
        "widgets.example.com", "gadgets.example.com").replace("Widget", "Gadget")
    write(tmp_path, {"crd.yaml": bad_pattern, "nogroup.yaml": no_group,
                     "w.yaml": WIDGET.replace("big", "x")})
    result = schema(run_cli, tmp_path)
    by_file = {(f["path"], f["rule"]): f["message"] for f in result.json()["findings"]}
    assert by_file[("nogroup.yaml", "GG-SCHEMA-012")] == (
        "CRD has no spec.group or spec.names.kind")
    assert by_file[("w.yaml", "GG-SCHEMA-012")].startswith(
        "the schema from CRD widgets.example.com (crd.yaml) cannot be used: ")
    assert result.code == 1


def test_kustomize_patches_are_partial_objects(tmp_path: Path,
                                               run_cli: Callable[..., CliRun]) -> None:
    patch = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
             "spec:\n  replicas: 3\n  replicaz: 4\n")
    write(tmp_path, {
        "overlay/kustomization.yaml": "resources: [../base]\npatches:\n  - path: patch.yaml\n"
                                      "patchesStrategicMerge:\n  - patches/more.yaml\n",
        "overlay/patch.yaml": patch,
        "overlay/patches/more.yaml": patch,
        "overlay/not-a-patch.yaml": patch,
    })
    result = schema(run_cli, tmp_path)
    assert sorted((f["path"], f["rule"], f["line"]) for f in result.json()["findings"]) == [
        # a whole object that lacks its required fields
        ("overlay/not-a-patch.yaml", "GG-SCHEMA-001", 4),
        ("overlay/not-a-patch.yaml", "GG-SCHEMA-001", 4),
        ("overlay/not-a-patch.yaml", "GG-SCHEMA-002", 6),
        # patches: only what they say is checked, typos included
        ("overlay/patch.yaml", "GG-SCHEMA-002", 6),
        ("overlay/patches/more.yaml", "GG-SCHEMA-002", 6),
    ]
    # A hook that passes only the patch still knows it is one.
    only = schema(run_cli, tmp_path / "overlay", "patch.yaml")
    assert findings(only) == [("GG-SCHEMA-002", "patch.yaml", 6)]


def test_secret_values_are_never_shown(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                               "type: Opaque\ndata: {password: 123456789}\n"
                               "immutable: hunter2hunter2\n"})
    result = run_cli("schema", cwd=tmp_path)
    assert result.code == 1
    assert "123456789" not in result.out and "hunter2" not in result.out
    assert "data.password: expected string, got integer" in result.out


def test_quote_hint_for_yaml_typed_strings(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                                "  labels: {enabled: yes}\ndata: {version: 1.10}\n"})
    result = schema(run_cli, tmp_path)
    assert [f["message"] for f in result.json()["findings"]] == [
        "metadata.labels.enabled: expected string, got boolean true; quote the value to keep "
        "it a string",
        "data.version: expected string, got number 1.1; quote the value to keep it a string",
    ]


def test_sops_files_and_kustomizations_are_not_validated(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {
        "secret.enc.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                           "data:\n  password: ENC[AES256_GCM,data:x,type:int]\n"
                           "sops: {mac: x, version: 3.9.0}\n",
        "kustomization.yaml": "resources: [a.yaml]\nnotAField: true\n",
    })
    assert findings(schema(run_cli, tmp_path)) == []


def test_list_items_are_validated(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"list.yaml": "apiVersion: v1\nkind: List\nitems:\n"
                                  "  - apiVersion: v1\n    kind: ConfigMap\n"
                                  "    metadata: {name: a}\n    data: {n: 1}\n"})
    assert findings(schema(run_cli, tmp_path)) == [("GG-SCHEMA-001", "list.yaml", 7)]


@pytest.mark.parametrize(("change", "message"), [
    (("    - name: v1\n", "    - name: v1\n"), None),
    (("  versions:\n", "  versions: 3\n  old:\n"), "CRD versions must be a list"),
    (("      schema:\n", "      schema: 5\n      oldschema:\n"), None),
    (("metadata: {name: widgets.example.com}", "metadata: widgets"), None),
])
def test_malformed_crds_are_findings_not_crashes(tmp_path: Path, run_cli: Callable[..., CliRun],
                                                 change: tuple[str, str],
                                                 message: str | None) -> None:
    write(tmp_path, {"crd.yaml": WIDGET_CRD.replace(*change)})
    result = schema(run_cli, tmp_path)
    assert result.code in (0, 1), result.err
    assert "Traceback" not in result.err
    if message:
        assert message in [f["message"] for f in result.json()["findings"]]


@pytest.mark.parametrize("kustomization", ["kustomization.yaml", "Kustomization"])
def test_patches_are_found_whatever_the_file_order(tmp_path: Path,
                                                   run_cli: Callable[..., CliRun],
                                                   kustomization: str) -> None:
    """A patch misses the fields it does not change: it is a patch to every kustomization file
    name kustomize reads, `Kustomization` (no suffix) too."""
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n"
    write(tmp_path, {kustomization: "patches:\n  - path: a/p.yaml\n", "a/p.yaml": patch,
                     "a/b/c/d/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"})
    result = schema(run_cli, tmp_path, "a/b/c/d/x.yaml", "a/p.yaml")
    assert findings(result) == []
