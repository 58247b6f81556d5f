"""`--render kustomize`: real `kustomize build` / `kubectl kustomize` on real trees, findings
mapped back to the source file and line that wrote the field."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops_guard.catalog import rule_catalog
from gitops_guard.render import build as kustomize_build
from gitops_guard.render.graph import Graph, is_remote
from gitops_guard.render.trace import Origin, Sources, Tracer, translate
from tests.conftest import REPO_ROOT, CliRun, write


def _missing_kustomize() -> str:
    """Why the rendering tests cannot run here, or "" when they can: they need the binary
    gitops-guard picks (kustomize, else kubectl) with kustomize v5 (kubectl 1.27 or later)."""
    kustomize, kubectl = shutil.which("kustomize"), shutil.which("kubectl")
    if kustomize is not None:
        command, pattern = [kustomize, "version"], r"v(\d+)\.(\d+)"
    elif kubectl is not None:
        command, pattern = [kubectl, "version", "--client"], r"Kustomize Version:\s*v(\d+)\.(\d+)"
    else:
        return "neither kustomize nor kubectl is installed (.ci/run installs kubectl where it can)"
    output = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            check=False).stdout
    found = re.search(pattern, output)
    if found is None or int(found[1]) < 5:
        return f"{command[0]} embeds kustomize older than v5 ({output.strip()[:60]!r})"
    return ""


MISSING = _missing_kustomize()
needs_kustomize = pytest.mark.skipif(bool(MISSING), reason=MISSING)
RunCli = Callable[..., CliRun]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostPID: true
      containers:
        - name: web
          image: nginx:1.27
"""

PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          securityContext:
            privileged: true
"""

# A base used by two overlays: dev renames (namePrefix), moves it to `default`, retags the
# image and patches in a privileged container; prod only sets its namespace.
TREE: dict[str, str | bytes] = {
    "base/kustomization.yaml": """\
resources:
  - deployment.yaml
configMapGenerator:
  - name: settings
    literals: [MODE=fast]
""",
    "base/deployment.yaml": DEPLOYMENT,
    "overlays/dev/kustomization.yaml": """\
namePrefix: dev-
namespace: default
resources:
  - ../../base
images:
  - name: nginx
    newTag: latest
patches:
  - path: patch.yaml
""",
    "overlays/dev/patch.yaml": PATCH,
    "overlays/prod/kustomization.yaml": """\
namespace: prod
resources:
  - ../../base
""",
    # The team's policy: ConfigMaps carry a team label (the generated one does not).
    "team-label.yaml": """\
apiVersion: policy.gitops-guard.io/v1alpha1
kind: Policy
metadata:
  name: configmap-team
spec:
  id: configmap-team
  title: ConfigMaps name their team
  description: Every ConfigMap carries a team label.
  remediation: Add metadata.labels.team.
  severity: error
  pack: platform
  match:
    kinds: [ConfigMap]
  validations:
    - expression: "'team' in labels"
      message: no team label
      pointerExpression: "'/metadata'"
""",
    ".gitops-guard.yaml": "policy:\n  paths: [team-label.yaml]\n",
}

# The rules the tables below look at; the best-practice warnings on the bare container are
# left out to keep them readable.
WATCHED = ("pss-baseline-privileged", "pss-baseline-host-namespaces", "bp-image-tag",
           "bp-default-namespace", "configmap-team")


def located(run: CliRun, rules: tuple[str, ...] = WATCHED) -> list[tuple[Any, ...]]:
    """(rule, path, line, kind, namespace) of the findings of these rules, in report order."""
    return [(f["rule"], f["path"], f["line"], f["resource"]["kind"],
             f["resource"]["namespace"])
            for f in run.json()["findings"] if f["rule"] in rules]


@needs_kustomize
def test_examples_overlays_map_back_to_the_base_and_report_the_broken_ones(
        run_cli: RunCli) -> None:
    overlays = [f"examples/apps/web/overlays/{env}" for env in ("dev", "staging", "prod")]
    run = run_cli("check", "--render", "kustomize", *overlays, "--format", "json",
                  cwd=REPO_ROOT)
    assert run.code == 1, run.err
    web = "examples/apps/web"
    assert run.findings() == [
        # prod renders: the CronJob of the base, found through the overlay and its namespace.
        ("require-component-label", f"{web}/base/cleanup-cronjob.yaml", 5),
        ("GG-MANIFEST-001", f"{web}/overlays/dev/deployment-patch.yaml", 19),
        # dev's patch does not parse: the build fails at the line naming the patch.
        ("GG-RENDER-001", f"{web}/overlays/dev/kustomization.yaml", 16),
        ("GG-MANIFEST-002", f"{web}/overlays/prod/deployment-patch.yaml", 30),
        ("GG-MANIFEST-003", f"{web}/overlays/prod/metrics-service.yaml", 3),
        ("GG-SECRET-002", f"{web}/overlays/staging/deployment-patch.yaml", 18),
        ("GG-MANIFEST-005", f"{web}/overlays/staging/feature-flags.yaml", 5),
        # staging's nameless ConfigMap: at the resources entry that names it.
        ("GG-RENDER-001", f"{web}/overlays/staging/kustomization.yaml", 9),
    ]
    findings = run.json()["findings"]
    cronjob = findings[0]
    assert cronjob["resource"] == {"apiVersion": "batch/v1", "kind": "CronJob",
                                   "namespace": "web-prod", "name": "web-session-cleanup"}
    assert cronjob["message"] == ("CronJob web-session-cleanup has no app.kubernetes.io/"
                                  "component label (rendered from examples/apps/web/overlays/"
                                  "prod)")
    assert findings[2]["message"].startswith("does not build: ")
    assert "feature-flags.yaml" in findings[7]["message"]
    assert "{...}" in findings[7]["message"]  # the object dump is cut
    # The whole tree (examples/README.md): what the plain run reports, plus the two builds
    # that fail; the CronJob finding stays one finding at the same line.
    plain = run_cli("check", "examples/", "--format", "json", cwd=REPO_ROOT)
    whole = run_cli("check", "--render", "kustomize", "examples/", "--format", "json",
                    cwd=REPO_ROOT)
    assert sorted(whole.findings()) == sorted([
        *plain.findings(), ("GG-RENDER-001", f"{web}/overlays/dev/kustomization.yaml", 16),
        ("GG-RENDER-001", f"{web}/overlays/staging/kustomization.yaml", 9)])


@needs_kustomize
def test_findings_point_at_the_patch_the_kustomization_or_the_base(
        tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path, TREE)
    run = run_cli("policy", "check", "--render", "kustomize", "--format", "json",
                  cwd=tmp_path)
    assert run.code == 1, run.err
    assert located(run) == [
        # hostPID is the base's own, in both overlays (dev renamed and moved to `default`).
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 10, "Deployment", "default"),
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 10, "Deployment", "prod"),
        # The generated ConfigMap: at its generator.
        ("configmap-team", "base/kustomization.yaml", 4, "ConfigMap", "default"),
        ("configmap-team", "base/kustomization.yaml", 4, "ConfigMap", "prod"),
        # dev's `namespace: default` and its `images:` entry.
        ("bp-default-namespace", "overlays/dev/kustomization.yaml", 2, "ConfigMap", "default"),
        ("bp-default-namespace", "overlays/dev/kustomization.yaml", 2, "Deployment",
         "default"),
        ("bp-image-tag", "overlays/dev/kustomization.yaml", 6, "Deployment", "default"),
        # privileged is set by dev's patch.
        ("pss-baseline-privileged", "overlays/dev/patch.yaml", 11, "Deployment", "default"),
    ]
    findings = run.json()["findings"]
    assert all(f["message"].endswith(("(rendered from overlays/dev)",
                                      "(rendered from overlays/prod)")) for f in findings)
    names = {f["resource"]["name"] for f in findings if f["resource"]["kind"] == "Deployment"}
    assert names == {"dev-web", "web"}
    privileged = next(f for f in findings if f["rule"] == "pss-baseline-privileged")
    assert (privileged["column"], privileged["pointer"]) == (
        25, "/spec/template/spec/containers/0/securityContext/privileged")


@needs_kustomize
def test_json_6902_and_inline_patches_map_to_their_operation(tmp_path: Path,
                                                             run_cli: RunCli) -> None:
    write(tmp_path, {
        "base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "base/deployment.yaml": DEPLOYMENT.replace("      hostPID: true\n", ""),
        "overlay/kustomization.yaml": """\
resources: [../base]
patches:
  - target: {kind: Deployment, name: web}
    path: ops.yaml
  - target: {kind: Deployment}
    patch: |-
      - op: add
        path: /spec/template/spec/hostNetwork
        value: true
""",
        "overlay/ops.yaml": """\
- op: add
  path: /spec/template/spec/containers/0/securityContext
  value:
    allowPrivilegeEscalation: true
""",
    })
    run = run_cli("policy", "check", "--render", "kustomize", "overlay", "--format", "json",
                  cwd=tmp_path)
    assert located(run, ("pss-baseline-host-namespaces",
                         "pss-restricted-allow-privilege-escalation")) == [
        # The inline patch is a YAML string: its `patch:` line.
        ("pss-baseline-host-namespaces", "overlay/kustomization.yaml", 6, "Deployment", None),
        ("pss-restricted-allow-privilege-escalation", "overlay/ops.yaml", 4, "Deployment",
         None),
    ]


@needs_kustomize
def test_rendered_objects_replace_their_sources_for_schema_and_policy_only(
        tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path, TREE)
    plain = run_cli("policy", "check", "--format", "json", cwd=tmp_path)
    rendered = run_cli("policy", "check", "--render", "kustomize", "--format", "json",
                       cwd=tmp_path)
    # Without rendering the base is checked as written: one finding, no namespace.
    assert located(plain, ("pss-baseline-host-namespaces",)) == [
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 10, "Deployment", None)]
    # With it, once per overlay and never also for the source file itself.
    assert [(f[1], f[4]) for f in located(rendered, ("pss-baseline-host-namespaces",))] == [
        ("base/deployment.yaml", "default"), ("base/deployment.yaml", "prod")]
    # Other checks still read the source files: the patch's manifest problems stay there.
    write(tmp_path, {"overlays/dev/patch.yaml": PATCH + "  replicas: 1\n  replicas: 2\n"})
    both = run_cli("check", "--checks", "manifest,policy", "--render", "kustomize",
                   "--format", "json", cwd=tmp_path)
    assert ("GG-MANIFEST-002", "overlays/dev/patch.yaml", 13) in both.findings()


@needs_kustomize
def test_fingerprints_survive_edits_and_tell_overlays_apart(tmp_path: Path,
                                                             run_cli: RunCli) -> None:
    write(tmp_path, TREE)

    def prints() -> list[str]:
        run = run_cli("policy", "check", "--render", "kustomize", "--format", "json",
                      cwd=tmp_path)
        return [f["fingerprint"] for f in run.json()["findings"]
                if f["rule"] == "pss-baseline-host-namespaces"]

    before = prints()
    write(tmp_path, {"base/deployment.yaml": "# the web frontend\n\n" + DEPLOYMENT})
    after = prints()
    assert len(before) == 2 and len(set(before)) == 2
    assert after == before


@needs_kustomize
def test_comments_and_waivers_in_the_source_suppress_rendered_findings(
        tmp_path: Path, run_cli: RunCli) -> None:
    annotated = DEPLOYMENT.replace("  name: web\n", "  name: web\n  annotations:\n"
                                   "    ignore.gitops-guard.io/bp-automount-service-account-"
                                   "token: talks to the API\n")
    write(tmp_path, {**TREE,
                     "base/deployment.yaml": annotated.replace(
                         "      hostPID: true\n",
                         "      # gitops-guard: ignore[pss-baseline-host-namespaces] node agent\n"
                         "      hostPID: true\n"),
                     ".gitops-guard.yaml": """\
policy:
  paths: [team-label.yaml]
waivers:
  - rules: [bp-image-tag]
    match: {paths: [overlays/dev/kustomization.yaml]}
    reason: dev follows latest on purpose
"""})
    run = run_cli("policy", "check", "--render", "kustomize", "--format", "json",
                  cwd=tmp_path)
    suppressed = sorted((s["rule"], s["path"], s["line"], s["suppressed_by"])
                        for s in run.json()["suppressed"])
    assert suppressed == [
        # The annotation survives rendering: on the object in both overlays.
        ("bp-automount-service-account-token", "base/deployment.yaml", 13, "annotation"),
        ("bp-automount-service-account-token", "base/deployment.yaml", 13, "annotation"),
        ("bp-image-tag", "overlays/dev/kustomization.yaml", 6, "waiver"),
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 13, "comment"),
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 13, "comment"),
    ]
    assert located(run, ("pss-baseline-host-namespaces", "bp-image-tag",
                         "bp-automount-service-account-token")) == []


@needs_kustomize
def test_a_broken_kustomization_is_a_finding_and_the_other_roots_still_render(
        tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path, {**TREE, "overlays/broken/kustomization.yaml": """\
resources:
  - ../../base
  - missing.yaml
""", "overlays/broken/pod.yaml": """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  hostNetwork: true
  containers: [{name: shell, image: "busybox:1.36"}]
"""})
    run = run_cli("policy", "check", "--render", "kustomize", "--format", "json",
                  cwd=tmp_path)
    assert run.code == 1
    broken = [f for f in run.json()["findings"] if f["rule"] == "GG-RENDER-001"]
    assert [(f["path"], f["line"], f["severity"], f["check"]) for f in broken] == [
        ("overlays/broken/kustomization.yaml", 3, "error", "render")]
    assert "missing.yaml" in broken[0]["message"]
    assert located(run, ("pss-baseline-host-namespaces",)) == [
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 10, "Deployment", "default"),
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 10, "Deployment", "prod"),
        # Not in any build: the file is checked as it is.
        ("pss-baseline-host-namespaces", "overlays/broken/pod.yaml", 6, "Pod", None),
    ]


@needs_kustomize
def test_a_remote_base_is_reported_not_fetched_and_not_fatal(tmp_path: Path,
                                                           run_cli: RunCli) -> None:
    write(tmp_path, {**TREE, "overlays/vendor/kustomization.yaml": """\
resources:
  - local.yaml
  - https://github.com/example-org/platform//base?ref=v1.2.0
""", "overlays/vendor/local.yaml": """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  hostIPC: true
  containers: [{name: shell, image: "busybox:1.36"}]
"""})
    run = run_cli("policy", "check", "--render", "kustomize", "--format", "json",
                  cwd=tmp_path)
    remote = [(f["rule"], f["path"], f["line"], f["severity"])
              for f in run.json()["findings"] if f["rule"].startswith("GG-RENDER")]
    assert remote == [("GG-RENDER-002", "overlays/vendor/kustomization.yaml", 3, "warning")]
    assert run.json()["findings"][0]  # the rest of the run is there
    assert ("pss-baseline-host-namespaces", "overlays/vendor/local.yaml", 6, "Pod",
            None) in located(run)
    assert ("pss-baseline-privileged", "overlays/dev/patch.yaml", 11, "Deployment",
            "default") in located(run)
    only_vendor = run_cli("policy", "check", "--render", "kustomize", "overlays/vendor",
                          "--fail-on", "error", "--format", "json", cwd=tmp_path)
    assert only_vendor.code == 1  # hostIPC is an error; the remote base only warns
    message = next(f["message"] for f in only_vendor.json()["findings"]
                   if f["rule"] == "GG-RENDER-002")
    assert message == ("kustomization not rendered (root: overlays/vendor): it needs the "
                       "remote base https://github.com/example-org/platform//base?ref=v1.2.0, "
                       "and rendering never uses the network; its files are checked as they "
                       "are")
    write(tmp_path, {"overlays/vendor/kustomization.yaml": """\
resources:
  - local.yaml
  # gitops-guard: ignore[GG-RENDER-002] the platform team renders it in their CI
  - https://github.com/example-org/platform//base?ref=v1.2.0
"""})
    waived = run_cli("policy", "check", "--render", "kustomize", "overlays/vendor",
                     "--format", "json", cwd=tmp_path)
    assert [(s["rule"], s["line"], s["suppressed_by"]) for s in waived.json()["suppressed"]] \
        == [("GG-RENDER-002", 4, "comment")]


@needs_kustomize
def test_a_build_that_times_out_is_a_finding(tmp_path: Path, run_cli: RunCli,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, TREE)
    monkeypatch.setattr(kustomize_build, "TIMEOUT_SECONDS", 0.001)
    run = run_cli("policy", "check", "--render", "kustomize", "overlays/prod", "--format",
                  "json", cwd=tmp_path)
    failed = [f for f in run.json()["findings"] if f["rule"] == "GG-RENDER-001"]
    assert [(f["path"], f["line"]) for f in failed] == [("overlays/prod/kustomization.yaml", 1)]
    assert re.fullmatch(r"does not build: (kustomize build|kubectl kustomize) did not finish "
                        r"within 0\.001 s", failed[0]["message"])


@needs_kustomize
def test_the_config_switch_and_render_none(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path, {**TREE, ".gitops-guard.yaml": "render: kustomize\npolicy:\n"
                                                    "  paths: [team-label.yaml]\n"})
    configured = run_cli("policy", "check", "--format", "json", cwd=tmp_path)
    off = run_cli("policy", "check", "--render", "none", "--format", "json", cwd=tmp_path)
    assert ("pss-baseline-privileged", "overlays/dev/patch.yaml", 11, "Deployment",
            "default") in located(configured)
    assert located(off, ("pss-baseline-host-namespaces",)) == [
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 10, "Deployment", None)]
    # The secrets check renders nothing, so it needs no kustomize.
    assert run_cli("secrets", "scan", cwd=tmp_path).code == 0


@needs_kustomize
def test_a_named_directory_is_a_root_even_when_it_is_a_base(tmp_path: Path,
                                                            run_cli: RunCli) -> None:
    write(tmp_path, TREE)
    run = run_cli("schema", "--render", "kustomize", "base", "overlays/prod", "--format",
                  "json", cwd=tmp_path)
    assert (run.code, run.json()["findings"]) == (0, []), run.out
    files = run_cli("policy", "check", "--render", "kustomize", "base", "overlays/prod",
                    "--format", "json", cwd=tmp_path)
    assert [(f[2], f[4]) for f in located(files, ("pss-baseline-host-namespaces",))] == [
        (10, None), (10, "prod")]


def test_without_kustomize_or_kubectl_rendering_is_a_usage_error(
        tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, TREE)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for argv in (("check", "--render", "kustomize"), ("schema", "--render", "kustomize"),
                 ("policy", "check", "--render", "kustomize")):
        run = run_cli(*argv, cwd=tmp_path)
        assert (run.code, run.out) == (2, ""), argv
        assert run.err == ("gitops-guard: error: --render kustomize needs `kustomize` or "
                           "`kubectl` on PATH, and neither was found (install one, or run "
                           "without --render / with --render none)\n")
    write(tmp_path, {".gitops-guard.yaml": "render: kustomize\n"})
    assert run_cli("check", cwd=tmp_path).code == 2
    # Nothing to render for: no binary needed.
    assert run_cli("check", "--checks", "manifest", cwd=tmp_path).code == 0
    assert run_cli("check", "--render", "none", "--checks", "manifest", cwd=tmp_path).code == 0


def test_render_settings_that_are_refused(tmp_path: Path, run_cli: RunCli,
                                          git_repo: Path) -> None:
    write(tmp_path, {".gitops-guard.yaml": "render: helm\n"})
    bad = run_cli("check", cwd=tmp_path)
    assert bad.code == 2
    assert ".gitops-guard.yaml:1:" in bad.err and "render" in bad.err
    staged = run_cli("check", "--staged", "--render", "kustomize", cwd=git_repo)
    assert (staged.code, staged.err) == (2, "gitops-guard: error: --render kustomize builds "
                                            "the working tree, not the index: it cannot be "
                                            "combined with --staged\n")
    assert run_cli("secrets", "scan", "--render", "kustomize", cwd=tmp_path).code == 2


def test_remote_entries_are_told_from_local_paths(tmp_path: Path) -> None:
    (tmp_path / "github.com").mkdir()  # a local directory that looks like a host wins
    cases = {
        "https://github.com/org/repo//base?ref=v1": True,
        "github.com/org/repo/base?ref=main": True,
        "git@github.com:org/repo.git//base": True,
        "ssh://git@example.com/repo.git": True,
        "../base": False,
        "deployment.yaml": False,
        "missing/dir": False,
    }
    assert {value: is_remote(value) for value in cases} == cases
    write(tmp_path, {"k/kustomization.yaml": "resources: [../github.com, github.com/x/y]\n"})
    kustomization = Graph(tmp_path).at(tmp_path / "k")
    assert kustomization is not None
    assert [(e.value, e.remote) for e in kustomization.resources] == [
        ("../github.com", False), ("github.com/x/y", True)]


def test_translate_follows_lists_by_merge_key() -> None:
    rendered = {"spec": {"containers": [{"name": "init"}, {"name": "web", "args": ["a"]}]}}
    patch = {"spec": {"containers": [{"name": "web", "args": ["a"]}]}}
    table = {
        "/spec/containers/1/args/0": (["spec", "containers", "0", "args", "0"], True),
        "/spec/containers/0/name": (["spec", "containers"], False),
        "/spec/replicas": (["spec"], False),
        "/spec/containers/x": (["spec", "containers"], False),
    }
    for pointer, expected in table.items():
        tokens = pointer.split("/")[1:]
        assert translate(rendered, patch, tokens) == expected, pointer


def test_without_origin_annotations_objects_are_found_by_name(tmp_path: Path) -> None:
    """An old kustomize without buildMetadata: the closure's resources, by kind and name."""
    write(tmp_path, TREE)
    graph = Graph(tmp_path)
    root = graph.at(tmp_path / "overlays/dev")
    assert root is not None
    tracer = Tracer(graph.closure(root), Sources(tmp_path, 1 << 20))
    rendered = {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "dev-web", "namespace": "default"},
                "spec": {"template": {"spec": {"hostPID": True}}}}
    source = tracer.source_document(rendered, None)
    assert source is not None and source.path == tmp_path / "base/deployment.yaml"
    place = tracer.place(rendered, None, source, "/spec/template/spec/hostPID")
    assert (place.file.display, place.line) == ("base/deployment.yaml", 10)
    # An object found nowhere: the root kustomization, or its generator when it has one.
    stray = {"kind": "Secret", "metadata": {"name": "dev-settings-abc"}}
    assert tracer.source_document(stray, None) is None
    assert tracer.place(stray, None, None, "/data").file.display == \
        "overlays/dev/kustomization.yaml"
    generated = Origin(None, tmp_path / "base/kustomization.yaml")
    place = tracer.place(stray, generated, None, "/metadata")
    assert (place.file.display, place.line) == ("base/kustomization.yaml", 4)


def test_build_messages_lose_headers_dumps_and_absolute_paths() -> None:
    stderr = ('E1127 11:12:50.111234   18221 run.go:72] "command failed" err="accumulating '
              "resources: missing metadata.name in object {{v1 Secret} {{ } map[password:"
              "hunter2] map[]}}: must build at directory: '/repo/apps/x.yaml'\"")
    assert kustomize_build.clean_message(stderr, ["/repo"]) == (
        "accumulating resources: missing metadata.name in object {...}: must build at "
        "directory: 'apps/x.yaml'")
    assert kustomize_build.clean_message("Error: " + "x" * 500, []) == "x" * 397 + "..."


@needs_kustomize
def test_each_kustomization_field_maps_to_its_own_line(tmp_path: Path,
                                                       run_cli: RunCli) -> None:
    write(tmp_path, {
        "base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "base/deployment.yaml": DEPLOYMENT,
        # A component, in a file named `Kustomization`, appends a privileged sidecar.
        "comp/Kustomization": """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patchesJson6902:
  - target: {kind: Deployment, name: web}
    path: sidecar.yaml
""",
        "comp/sidecar.yaml": """\
- op: add
  path: /spec/template/spec/containers/-
  value:
    name: proxy
    image: envoy:1.30
    securityContext:
      privileged: true
""",
        "app/kustomization.yaml": """\
namePrefix: Team-
nameSuffix: -v1
commonLabels:
  team: not valid!
commonAnnotations:
  "bad key!": x
resources:
  - ../base
components:
  - ../comp
replicas:
  - name: web
    count: 1
patchesStrategicMerge:
  - |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          hostIPC: true
""",
        "replicas.yaml": """\
apiVersion: policy.gitops-guard.io/v1alpha1
kind: Policy
metadata:
  name: two-replicas
spec:
  id: two-replicas
  title: Two replicas
  description: At least two.
  remediation: Scale out.
  severity: error
  pack: platform
  match:
    kinds: [Deployment]
  validations:
    - expression: "has(object.spec.replicas) && object.spec.replicas >= 2"
      message: fewer than two replicas
      pointerExpression: "'/spec/replicas'"
""",
        ".gitops-guard.yaml": "policy:\n  paths: [replicas.yaml]\n",
    })
    run = run_cli("check", "--checks", "schema,policy", "--render", "kustomize", "app",
                  "--format", "json", cwd=tmp_path)
    table = [(f["rule"], f["path"], f["line"], f["pointer"]) for f in run.json()["findings"]
             if not f["pointer"].endswith("/containers/0")]
    assert table == [
        # namePrefix/nameSuffix, commonLabels (also in the selector and the pod template),
        # commonAnnotations, replicas: the kustomization's own lines.
        ("GG-SCHEMA-006", "app/kustomization.yaml", 1, "/metadata/name"),
        ("GG-SCHEMA-007", "app/kustomization.yaml", 4, "/metadata/labels/team"),
        ("GG-SCHEMA-007", "app/kustomization.yaml", 4, "/spec/selector/matchLabels/team"),
        ("GG-SCHEMA-007", "app/kustomization.yaml", 4, "/spec/template/metadata/labels/team"),
        ("GG-SCHEMA-008", "app/kustomization.yaml", 6, "/metadata/annotations/bad key!"),
        ("GG-SCHEMA-008", "app/kustomization.yaml", 6,
         "/spec/template/metadata/annotations/bad key!"),
        ("two-replicas", "app/kustomization.yaml", 12, "/spec/replicas"),
        ("bp-automount-service-account-token", "base/deployment.yaml", 10,
         "/spec/template/spec"),
        ("pss-baseline-host-namespaces", "base/deployment.yaml", 10,
         "/spec/template/spec/hostPID"),
        # The sidecar the component's JSON 6902 patch appends.
        ("pss-baseline-privileged", "comp/sidecar.yaml", 7,
         "/spec/template/spec/containers/1/securityContext/privileged"),
    ]


@needs_kustomize
def test_helm_charts_and_cycles_are_reported_at_their_kustomization(
        tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path, {
        "charts/kustomization.yaml": """\
helmCharts:
  - name: ingress-nginx
    repo: https://kubernetes.github.io/ingress-nginx
""",
        "overlay/kustomization.yaml": "resources:\n  - ../charts\n",
        "other/kustomization.yaml": "resources:\n  - ../charts\n",
        "a/kustomization.yaml": "resources:\n  - ../b\n",
        "b/kustomization.yaml": "resources:\n  - ../a\n",
    })
    run = run_cli("check", "--checks", "schema", "--render", "kustomize", "overlay", "other",
                  "a", "--format", "json", cwd=tmp_path)
    table = [(f["rule"], f["path"], f["line"], f["severity"]) for f in run.json()["findings"]]
    assert table == [
        ("GG-RENDER-001", "a/kustomization.yaml", 2, "error"),
        ("GG-RENDER-002", "charts/kustomization.yaml", 2, "warning"),
    ]
    # Once, for both overlays that build on it.
    assert run.json()["findings"][1]["message"] == (
        "kustomization not rendered (roots: other, overlay): it needs a Helm chart "
        "(helmCharts), and rendering never uses the network; its files are checked as they are")


@needs_kustomize
def test_findings_whose_source_is_excluded_are_dropped(tmp_path: Path,
                                                       run_cli: RunCli) -> None:
    write(tmp_path, {**TREE, ".gitops-guard.yaml": "exclude: [base/]\npolicy:\n"
                                                    "  paths: [team-label.yaml]\n"})
    run = run_cli("policy", "check", "--render", "kustomize", "--format", "json",
                  cwd=tmp_path)
    # What the overlays write is still reported; what the (vendored) base writes is not.
    assert located(run) == [
        ("bp-default-namespace", "overlays/dev/kustomization.yaml", 2, "ConfigMap", "default"),
        ("bp-default-namespace", "overlays/dev/kustomization.yaml", 2, "Deployment",
         "default"),
        ("bp-image-tag", "overlays/dev/kustomization.yaml", 6, "Deployment", "default"),
        ("pss-baseline-privileged", "overlays/dev/patch.yaml", 11, "Deployment", "default"),
    ]
    assert {f["path"] for f in run.json()["findings"]} == {
        "overlays/dev/kustomization.yaml", "overlays/dev/patch.yaml"}


def test_the_render_page_is_linked_and_names_real_rules_and_pages() -> None:
    text = (REPO_ROOT / "docs" / "render.md").read_text(encoding="utf-8")
    assert "(docs/render.md)" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rules = set(re.findall(r"`(GG-[A-Z]+-\d{3}|(?:pss|bp)-[a-z-]+[a-z])`", text))
    assert rules == {"GG-RENDER-001", "GG-RENDER-002"}
    assert rules <= set(rule_catalog())
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    assert links and all((REPO_ROOT / "docs" / link).is_file() for link in links)
