"""Extractors: the values each one reads, with file, line and pointer, and what it consults."""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from gitops_guard.promotion.extractors import (
    EXTRACTORS,
    ExtractError,
    Extraction,
    Value,
    extract,
)
from gitops_guard.promotion.versions import Version
from gitops_guard.yamlio import ParsedDocument, ParseFailure, parse_yaml

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64

Row = tuple[str, str, str, str, int | None, str, str | None]
ROOT = "apps/web/overlays/prod/kustomization.yaml"


class DictTree:
    """Files by repo-relative path; counts reads so tests can see nothing is read twice."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = {path: textwrap.dedent(text) for path, text in files.items()}
        self.calls: Counter[str] = Counter()

    def documents(self, path: str) -> Sequence[ParsedDocument] | None:
        self.calls[path] += 1
        text = self.files.get(path)
        if text is None:
            return None
        try:
            return parse_yaml(text)
        except ParseFailure as failure:
            raise ExtractError(path, failure.line, "the file does not parse") from None


def run(name: str, files: dict[str, str], path: str, **options: Any) -> Extraction:
    tree = DictTree(files)
    extraction = extract(name, tree, path, options)
    assert max(tree.calls.values()) == 1, tree.calls  # every file is asked for once
    assert extraction.reads == frozenset(tree.calls)
    return extraction


def rows(extraction: Extraction) -> list[Row]:
    """artifact, identity, display, path, line, pointer, floating: one row per value."""
    return [(v.artifact, v.version.identity, v.version.display, v.path, v.line, v.pointer,
             v.floating) for v in extraction.values]


def failure(name: str, files: dict[str, str], path: str, **options: Any) -> ExtractError:
    with pytest.raises(ExtractError) as caught:
        extract(name, DictTree(files), path, options)
    return caught.value


def test_the_registry() -> None:
    assert set(EXTRACTORS) == {"kustomize-images", "helm-values", "helmrelease-chart",
                               "argocd-app", "workload-image", "yaml-path"}


def test_an_unknown_extractor() -> None:
    with pytest.raises(ValueError, match="unknown extractor 'nope'"):
        extract("nope", DictTree({}), "a.yaml", {})


@pytest.mark.parametrize("name", sorted(EXTRACTORS))
def test_a_missing_location_file_yields_nothing(name: str) -> None:
    options = {"field": "image.tag"} if name == "yaml-path" else {}
    assert run(name, {}, "apps/x.yaml", **options) == Extraction((), frozenset({"apps/x.yaml"}))


@pytest.mark.parametrize("name", sorted(EXTRACTORS))
def test_a_location_that_does_not_parse(name: str) -> None:
    options = {"field": "image.tag"} if name == "yaml-path" else {}
    error = failure(name, {"x.yaml": "a: [1\n"}, "x.yaml", **options)
    assert (error.path, error.line, error.message) == ("x.yaml", 2, "the file does not parse")
    assert str(error) == "x.yaml:2: the file does not parse"


# -- kustomize-images ---------------------------------------------------------------------------

CHAIN = {
    "apps/web/base/kustomization.yaml": """\
        resources:
          - deployment.yaml
        images:
          - name: ghcr.io/acme/web
            newTag: "1.0.0"
          - name: ghcr.io/acme/worker
            newTag: 1.10
        """,
    ROOT: """\
        resources:
          - ../../base
        components:
          - ../../components/sidecar
        images:
          - name: ghcr.io/acme/web
            newTag: "1.2.0"
        """,
    "apps/web/components/sidecar/kustomization.yaml": f"""\
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        images:
          - name: ghcr.io/acme/sidecar
            digest: {D1}
          - name: ghcr.io/acme/worker
            newTag: 2.0.0
        """,
}


def test_the_kustomize_chain_outermost_wins() -> None:
    extraction = run("kustomize-images", CHAIN, ROOT)
    component = "apps/web/components/sidecar/kustomization.yaml"
    assert rows(extraction) == [
        ("ghcr.io/acme/web", "1.2.0", "1.2.0", ROOT, 7, "/images/0/newTag", None),
        # the component edits the base's resources: its worker replaces the base's
        ("ghcr.io/acme/sidecar", D1, D1, component, 5, "/images/0/digest", None),
        ("ghcr.io/acme/worker", "2.0.0", "2.0.0", component, 7, "/images/1/newTag", None),
    ]
    assert extraction.reads == {ROOT, component, "apps/web/base/kustomization.yaml"}


def test_inner_values_keep_their_file_and_line() -> None:
    files = {**CHAIN, ROOT: "resources: [../../base]\n"}
    base = "apps/web/base/kustomization.yaml"
    assert rows(run("kustomize-images", files, ROOT)) == [
        ("ghcr.io/acme/web", "1.0.0", "1.0.0", base, 5, "/images/0/newTag", None),
        ("ghcr.io/acme/worker", "1.10", "1.10", base, 7, "/images/1/newTag", None),
    ]


def test_a_missing_base_is_probed_under_every_name() -> None:
    files = {ROOT: "resources: [../../gone/]\nimages: [{name: app, newTag: '1'}]\n"}
    extraction = run("kustomize-images", files, ROOT)
    assert rows(extraction) == [("app", "1", "1", ROOT, 2, "/images/0/newTag", None)]
    assert extraction.reads == {ROOT, "apps/web/gone/kustomization.yaml",
                                "apps/web/gone/kustomization.yml", "apps/web/gone/Kustomization"}


@pytest.mark.parametrize("name", ["kustomization.yml", "Kustomization"])
def test_other_kustomization_file_names(name: str) -> None:
    files = {ROOT: "bases: [../../base]\n",
             f"apps/web/base/{name}": "images: [{name: app, newTag: '3'}]\n"}
    extraction = run("kustomize-images", files, ROOT)
    assert rows(extraction) == [("app", "3", "3", f"apps/web/base/{name}", 1,
                                 "/images/0/newTag", None)]
    probed = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
    expected = {ROOT, *(f"apps/web/base/{p}" for p in probed[:probed.index(name) + 1])}
    assert extraction.reads == expected


@pytest.mark.parametrize("entry", [
    "https://github.com/acme/web//base?ref=v1",
    "github.com/acme/web/base?ref=v1",
    "github.com/acme/web/base",
    "git@github.com:acme/web.git/base",
    "../../base?ref=main",
    "deployment.yaml",  # a file, not a kustomization directory
    "crds/crd.yml",
    "config.json",
    "../../../../../outside",  # climbs above the repository root
    "/etc",
    "",
])
def test_entries_that_are_not_followed(entry: str) -> None:
    files = {**CHAIN, ROOT: f"resources: ['{entry}']\ncomponents: ['{entry}']\n"}
    assert run("kustomize-images", files, ROOT) == Extraction((), frozenset({ROOT}))


def test_a_cycle_ends() -> None:
    files = {"a/kustomization.yaml": "resources: [../b, .]\nimages: [{name: x, newTag: '1'}]\n",
             "b/kustomization.yaml": "resources: [../a]\nimages: [{name: y, newTag: '2'}]\n"}
    extraction = run("kustomize-images", files, "a/kustomization.yaml")
    assert rows(extraction) == [
        ("x", "1", "1", "a/kustomization.yaml", 2, "/images/0/newTag", None),
        ("y", "2", "2", "b/kustomization.yaml", 2, "/images/0/newTag", None),
    ]
    assert extraction.reads == {"a/kustomization.yaml", "b/kustomization.yaml"}


def test_a_shared_base_is_read_once_and_counted_once() -> None:
    files = {"o/kustomization.yaml": "resources: [../a, ../b/]\n",
             "a/kustomization.yaml": "resources: [../base]\n",
             "b/kustomization.yaml": "resources: [../base]\n",
             "base/kustomization.yaml": "images: [{name: x, newTag: '1'}]\n"}
    assert rows(run("kustomize-images", files, "o/kustomization.yaml")) == [
        ("x", "1", "1", "base/kustomization.yaml", 1, "/images/0/newTag", None)]


def test_sibling_bases_keep_both_values() -> None:
    files = {"o/kustomization.yaml": "resources: [../a, ../b]\n",
             "a/kustomization.yaml": "images: [{name: x, newTag: '1'}]\n",
             "b/kustomization.yaml": "images: [{name: x, newTag: '2'}]\n"}
    assert [row[:2] for row in rows(run("kustomize-images", files, "o/kustomization.yaml"))] == [
        ("x", "1"), ("x", "2")]


def test_later_components_win_over_earlier_ones() -> None:
    files = {"o/kustomization.yaml": "resources: [../base]\ncomponents: [../c1, ../c2]\n",
             "base/kustomization.yaml": "images: [{name: x, newTag: '1'}]\n",
             "c1/kustomization.yaml": "images: [{name: x, newTag: '2'}]\n",
             "c2/kustomization.yaml": "images: [{name: x, newTag: '3'}]\n"}
    assert rows(run("kustomize-images", files, "o/kustomization.yaml")) == [
        ("x", "3", "3", "c2/kustomization.yaml", 1, "/images/0/newTag", None)]


IMAGES = f"""\
images:
  - name: numeric
    newTag: 1.10
  - name: octal
    newTag: 0755
  - name: exponent
    newTag: 1e3
  - name: quoted
    newTag: "007"
  - name: both
    newName: registry.example/both
    newTag: 1.2.3
    digest: {D1}
  - name: only-digest
    digest: {D2}
  - name: inline-digest
    newTag: 4.5@{D2}
  - name: renamed-only
    newName: registry.example/renamed
  - name: empty
    newTag: ""
    digest:
"""


def test_kustomize_tags_are_read_as_written() -> None:
    path = "k/kustomization.yaml"
    assert rows(run("kustomize-images", {path: IMAGES}, path)) == [
        ("numeric", "1.10", "1.10", path, 3, "/images/0/newTag", None),
        ("octal", "0755", "0755", path, 5, "/images/1/newTag", None),
        ("exponent", "1e3", "1e3", path, 7, "/images/2/newTag", None),
        ("quoted", "007", "007", path, 9, "/images/3/newTag", None),
        ("both", D1, f"1.2.3@{D1}", path, 13, "/images/4/digest", None),
        ("only-digest", D2, D2, path, 15, "/images/5/digest", None),
        ("inline-digest", D2, f"4.5@{D2}", path, 17, "/images/6/newTag", None),
    ]


def test_kustomize_version_records() -> None:
    path = "k/kustomization.yaml"
    versions = [v.version for v in run("kustomize-images", {path: IMAGES}, path).values]
    assert versions[4] == Version(D1, f"1.2.3@{D1}", "1.2.3", D1)
    assert versions[5] == Version(D2, D2, None, D2)
    assert versions[0] == Version("1.10", "1.10", "1.10", None)


def test_non_mapping_documents_are_skipped() -> None:
    path = "k/kustomization.yaml"
    text = "- a\n- b\n---\nplain\n---\n---\nimages: [{name: x, newTag: '9'}]\n"
    assert rows(run("kustomize-images", {path: text}, path)) == [
        ("x", "9", "9", path, 7, "/images/0/newTag", None)]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("images: {a: hunter2}\n", 1, "images is not a list"),
    ("images:\n  - hunter2\n", 2, "images[0] is not a mapping"),
    ("images:\n  - newTag: hunter2\n", 2, "images[0] sets a tag or digest but has no name"),
    ("images:\n  - name: x\n    newTag: {v: hunter2}\n", 3,
     "images[0].newTag is a mapping, not a single value"),
    ("images:\n  - name: [hunter2]\n    newTag: '1'\n", 2,
     "images[0].name is a list, not a single value"),
    ("resources: hunter2\n", 1, "resources is not a list"),
    ("components:\n  - {hunter2: 1}\n", 2, "components[0] is not a path"),
])
def test_bad_kustomizations(text: str, line: int, message: str) -> None:
    error = failure("kustomize-images", {"k/kustomization.yaml": text}, "k/kustomization.yaml")
    assert (error.path, error.line, error.message) == ("k/kustomization.yaml", line, message)
    assert "hunter2" not in str(error)


def test_a_bad_base_names_the_base() -> None:
    files = {ROOT: "resources: [../../base]\n",
             "apps/web/base/kustomization.yaml": "images: hunter2\n"}
    error = failure("kustomize-images", files, ROOT)
    assert (error.path, error.line, error.message) == (
        "apps/web/base/kustomization.yaml", 1, "images is not a list")


def test_a_base_that_does_not_parse() -> None:
    files = {ROOT: "resources: [../../base]\n", "apps/web/base/kustomization.yaml": "a: [\n"}
    error = failure("kustomize-images", files, ROOT)
    assert (error.path, error.message) == ("apps/web/base/kustomization.yaml",
                                           "the file does not parse")


# -- helm-values --------------------------------------------------------------------------------

VALUES = """\
replicaCount: 2
image:
  repository: ghcr.io/acme/web
  tag: 1.10
  pullPolicy: IfNotPresent
"""

HELMRELEASE = f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: web
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
spec:
  chart:
    spec:
      chart: web
      version: 1.0.0
  values:
    image:
      repository: ghcr.io/acme/web
      tag: 2.0.0
      digest: {D1}
"""


@pytest.mark.parametrize(("text", "options", "expected"), [
    (VALUES, {}, [("ghcr.io/acme/web", "1.10", "1.10", 4, "/image/tag")]),
    (VALUES, {"field": "image.tag", "key_field": "image.repository"},
     [("ghcr.io/acme/web", "1.10", "1.10", 4, "/image/tag")]),
    # no key field, or one the file does not have: the field names the artifact
    (VALUES, {"key_field": None}, [("image.tag", "1.10", "1.10", 4, "/image/tag")]),
    (VALUES, {"key_field": "image.name"}, [("image.tag", "1.10", "1.10", 4, "/image/tag")]),
    (VALUES, {"field": "replicaCount", "key_field": ""},
     [("replicaCount", "2", "2", 1, "/replicaCount")]),
    (VALUES, {"field": "image.digest"}, []),
    (VALUES, {"field": "chart.tag"}, []),
    (f"image:\n  repository: app\n  tag: {D1}\n", {},
     [("app", D1, D1, 3, "/image/tag")]),
    (f"image:\n  repository: app\n  tag: 1.2@{D1}\n", {},
     [("app", D1, f"1.2@{D1}", 3, "/image/tag")]),
    # a sibling digest pins the tag
    (f"image:\n  repository: app\n  tag: '1.2'\n  digest: {D1}\n", {},
     [("app", D1, f"1.2@{D1}", 4, "/image/digest")]),
    (f"image:\n  repository: app\n  tag: ''\n  digest: {D1}\n", {},
     [("app", D1, D1, 4, "/image/digest")]),
    ("image:\n  repository: app\n  tag: '1.2'\n  digest: ''\n", {},
     [("app", "1.2", "1.2", 3, "/image/tag")]),
    # an empty tag is a value with no version (the chart's appVersion decides)
    ("image:\n  repository: app\n  tag: ''\n", {}, [("app", "", "", 3, "/image/tag")]),
    ("image:\n  repository: app\n  tag:\n", {}, [("app", "", "", 3, "/image/tag")]),
    ("tag: v3\n", {"field": "tag", "key_field": "name"}, [("tag", "v3", "v3", 1, "/tag")]),
    (HELMRELEASE, {},
     [("ghcr.io/acme/web", D1, f"2.0.0@{D1}", 19, "/spec/values/image/digest")]),
    (HELMRELEASE, {"key_field": None},
     [("image.tag", D1, f"2.0.0@{D1}", 19, "/spec/values/image/digest")]),
    # a release without values holds none; its spec.chart is not values
    ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  image: {tag: '1'}\n",
     {}, []),
])
def test_helm_values(text: str, options: dict[str, Any],
                     expected: list[tuple[str, str, str, int, str]]) -> None:
    extraction = run("helm-values", {"values-prod.yaml": text}, "values-prod.yaml", **options)
    assert [(a, i, d, line, p) for a, i, d, path, line, p, f in rows(extraction)] == expected
    assert all(value.path == "values-prod.yaml" and value.floating is None
               for value in extraction.values)


def test_helm_values_in_every_release_of_a_file() -> None:
    release = textwrap.dedent("""\
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        spec:
          values:
            image: {repository: %s, tag: '%s'}
        """)
    text = release % ("one", "1") + "---\n" + release % ("two", "2")
    assert rows(run("helm-values", {"r.yaml": text}, "r.yaml")) == [
        ("one", "1", "1", "r.yaml", 5, "/spec/values/image/tag", None),
        ("two", "2", "2", "r.yaml", 11, "/spec/values/image/tag", None),
    ]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("image:\n  tag: {x: hunter2}\n", 2, "image.tag is a mapping, not a single value"),
    ("image:\n  repository: [hunter2]\n  tag: '1'\n", 2,
     "image.repository is a list, not a single value"),
])
def test_bad_helm_values(text: str, line: int, message: str) -> None:
    error = failure("helm-values", {"v.yaml": text}, "v.yaml")
    assert (error.path, error.line, error.message) == ("v.yaml", line, message)
    assert "hunter2" not in str(error)


@pytest.mark.parametrize("field", ["", "image..tag", 3])
def test_a_bad_field_option(field: Any) -> None:
    with pytest.raises(ValueError, match="the 'field' option must be a dotted path"):
        extract("helm-values", DictTree({"v.yaml": VALUES}), "v.yaml", {"field": field})


# -- helmrelease-chart --------------------------------------------------------------------------

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: podinfo}
      %s
"""

OCI = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
spec:
  chartRef:
    kind: OCIRepository
    name: podinfo
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata:
  name: other
spec:
  url: oci://ghcr.io/acme/other
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata:
  name: podinfo
  namespace: %s
spec:
  url: oci://ghcr.io/stefanprodan/charts/podinfo
  %s
"""
NO_CHART_VERSION = "no chart version: the newest chart is installed"
NO_OCI_REF = "no spec.ref: the OCIRepository follows the latest tag"


@pytest.mark.parametrize(("text", "expected"), [
    (RELEASE % "version: 6.6.0", [("podinfo", "6.6.0", 12, "/spec/chart/spec/version", None)]),
    (RELEASE % "version: 6.10", [("podinfo", "6.10", 12, "/spec/chart/spec/version", None)]),
    # a range is a value; floating_reason judges it
    (RELEASE % "version: '>=6.0.0'",
     [("podinfo", ">=6.0.0", 12, "/spec/chart/spec/version", None)]),
    (RELEASE % "", [("podinfo", "", 10, "/spec/chart/spec/version", NO_CHART_VERSION)]),
    (RELEASE % "version: ''", [("podinfo", "", 10, "/spec/chart/spec/version",
                                NO_CHART_VERSION)]),
    (OCI % ("apps", "ref: {tag: 6.6.0}"),
     [("oci://ghcr.io/stefanprodan/charts/podinfo", "6.6.0", 25, "/spec/ref/tag", None)]),
    (OCI % ("apps", f"ref:\n    tag: 6.6.0\n    digest: {D1}"),
     [("oci://ghcr.io/stefanprodan/charts/podinfo", D1, 27, "/spec/ref/digest", None)]),
    (OCI % ("apps", "ref: {semver: '>=6.0.0', tag: ''}"),
     [("oci://ghcr.io/stefanprodan/charts/podinfo", ">=6.0.0", 25, "/spec/ref/semver", None)]),
    (OCI % ("apps", ""),
     [("oci://ghcr.io/stefanprodan/charts/podinfo", "latest", 24, "/spec/ref", NO_OCI_REF)]),
    (OCI % ("apps", "ref: {}"),
     [("oci://ghcr.io/stefanprodan/charts/podinfo", "latest", 25, "/spec/ref/tag",
       NO_OCI_REF)]),
    # no namespace on the repository: the name alone decides
    (OCI.replace("  namespace: %s\n", "") % "ref: {tag: '1'}",
     [("oci://ghcr.io/stefanprodan/charts/podinfo", "1", 24, "/spec/ref/tag", None)]),
    # other kinds, and another group's HelmRelease, hold no chart
    (RELEASE.replace("helm.toolkit.fluxcd.io/v2", "helm.fluxcd.io/v1") % "version: 1", []),
    ("apiVersion: v1\nkind: ConfigMap\ndata: {version: '1'}\n", []),
])
def test_helmrelease_chart(text: str,
                           expected: list[tuple[str, str, int, str, str | None]]) -> None:
    extraction = run("helmrelease-chart", {"release.yaml": text}, "release.yaml")
    assert [(a, i, line, p, f) for a, i, d, path, line, p, f in rows(extraction)] == expected
    assert extraction.reads == {"release.yaml"}


def test_a_missing_chart_version_is_an_empty_version() -> None:
    extraction = run("helmrelease-chart", {"r.yaml": RELEASE % ""}, "r.yaml")
    assert extraction.values[0].version == Version("", "", "", None)


@pytest.mark.parametrize(("text", "line", "message"), [
    (OCI % ("elsewhere", "ref: {tag: '1'}"), 8,
     "spec.chartRef names an OCIRepository that is not in this file"),
    (OCI.replace("kind: OCIRepository\n    name", "kind: HelmChart\n    name") % ("apps", ""), 8,
     "spec.chartRef is not an OCIRepository; only OCIRepository chart references can be read"),
    (OCI.replace("    name: podinfo\n---", "---") % ("apps", ""), 8, "spec.chartRef has no name"),
    (OCI.replace("  url: oci://ghcr.io/stefanprodan/charts/podinfo\n", "") % ("apps", "ref: {}"),
     18, "the document is an OCIRepository without spec.url"),
    ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  chart:\n    spec:\n"
     "      version: '1'\n", 6,
     "spec.chart.spec names no chart: a HelmRelease needs spec.chart.spec.chart or spec.chartRef"),
    ("kind: HelmRelease\nspec: {}\n", 1,
     "the document names no chart: a HelmRelease needs spec.chart.spec.chart or spec.chartRef"),
    (RELEASE % "version: {v: hunter2}", 12,
     "spec.chart.spec.version is a mapping, not a single value"),
])
def test_bad_helmreleases(text: str, line: int, message: str) -> None:
    error = failure("helmrelease-chart", {"r.yaml": text}, "r.yaml")
    assert (error.path, error.line, error.message) == ("r.yaml", line, message)
    assert "hunter2" not in str(error)


# -- argocd-app ---------------------------------------------------------------------------------

APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: podinfo
spec:
  project: default
  source:
    repoURL: https://github.com/acme/deploy.git
    path: apps/podinfo
    %s
"""
BRANCH = "a branch or HEAD, not a fixed revision"
DEPLOY = "https://github.com/acme/deploy.git#apps/podinfo"


@pytest.mark.parametrize(("revision", "floating"), [
    ("6.6.0", None), ("v6.6.0", None), ("v1.2.3-rc.1", None), ("1.2.3+build.1", None),
    ("a1b2c3d", None), ("0123456789abcdef0123456789abcdef01234567", None),
    # ranges and placeholders are left to floating_reason, which names them
    ("'>=1.0.0'", None), ("1.2.*", None), ("${REVISION}", None),
    ("main", BRANCH), ("HEAD", BRANCH), ("release-1.2", BRANCH), ("v1.2", BRANCH),
    ("a1b2c3", BRANCH),  # too short for a commit
])
def test_argocd_target_revisions(revision: str, floating: str | None) -> None:
    extraction = run("argocd-app", {"app.yaml": APPLICATION % f"targetRevision: {revision}"},
                     "app.yaml")
    text = revision.strip("'")
    assert rows(extraction) == [
        (DEPLOY, text, text, "app.yaml", 10, "/spec/source/targetRevision", floating)]


@pytest.mark.parametrize("line", ["", "targetRevision: ''", "targetRevision:"])
def test_argocd_without_target_revision_means_head(line: str) -> None:
    extraction = run("argocd-app", {"app.yaml": APPLICATION % line}, "app.yaml")
    assert rows(extraction) == [
        (DEPLOY, "HEAD", "HEAD", "app.yaml", 8, "/spec/source/targetRevision", BRANCH)]


def test_argocd_sources() -> None:
    text = """\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        spec:
          sources:
            - repoURL: https://stefanprodan.github.io/podinfo
              chart: podinfo
              targetRevision: 6.6.0
              helm: {valueFiles: [$values/podinfo/values.yaml]}
            - repoURL: https://github.com/acme/values.git
              targetRevision: main
              ref: values
        ---
        apiVersion: app.k8s.io/v1beta1
        kind: Application
        spec:
          source: {repoURL: https://example.com/ignored.git, targetRevision: main}
        """
    assert rows(run("argocd-app", {"app.yaml": text}, "app.yaml")) == [
        ("https://stefanprodan.github.io/podinfo#podinfo", "6.6.0", "6.6.0", "app.yaml", 7,
         "/spec/sources/0/targetRevision", None),
        ("https://github.com/acme/values.git", "main", "main", "app.yaml", 10,
         "/spec/sources/1/targetRevision", BRANCH),
    ]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("kind: Application\nspec:\n  source:\n    path: hunter2\n", 4, "spec.source has no repoURL"),
    ("kind: Application\nspec:\n  source: hunter2\n", 3, "spec.source is not a mapping"),
    ("kind: Application\nspec:\n  sources: hunter2\n", 3, "spec.sources is not a list"),
    ("kind: Application\nspec:\n  sources:\n    - repoURL: {u: hunter2}\n", 4,
     "spec.sources[0].repoURL is a mapping, not a single value"),
])
def test_bad_applications(text: str, line: int, message: str) -> None:
    error = failure("argocd-app", {"app.yaml": text}, "app.yaml")
    assert (error.path, error.line, error.message) == ("app.yaml", line, message)
    assert "hunter2" not in str(error)


# -- workload-image -----------------------------------------------------------------------------

WORKLOADS = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/migrate:1.10
      containers:
        - name: web
          image: ghcr.io/acme/web:1.2.0@{D1}
        - name: proxy
          image: localhost:5000/proxy
        - name: patched
---
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - {{name: job, image: "busybox:1.36"}}
---
apiVersion: v1
kind: Pod
spec:
  containers: [{{name: pod, image: "ghcr.io/acme/pod@{D2}"}}]
---
apiVersion: v1
kind: Service
spec:
  containers: [{{name: svc, image: "not/a:workload"}}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  workloadRef: {{kind: Deployment, name: web}}
"""


def test_workload_images() -> None:
    extraction = run("workload-image", {"w.yaml": WORKLOADS}, "w.yaml")
    assert rows(extraction) == [
        ("ghcr.io/acme/web", D1, f"1.2.0@{D1}", "w.yaml", 13,
         "/spec/template/spec/containers/0/image", None),
        ("localhost:5000/proxy", "latest", "latest", "w.yaml", 15,
         "/spec/template/spec/containers/1/image", None),
        ("ghcr.io/acme/migrate", "1.10", "1.10", "w.yaml", 10,
         "/spec/template/spec/initContainers/0/image", None),
        ("busybox", "1.36", "1.36", "w.yaml", 26,
         "/spec/jobTemplate/spec/template/spec/containers/0/image", None),
        ("ghcr.io/acme/pod", D2, D2, "w.yaml", 31, "/spec/containers/0/image", None),
    ]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("kind: Pod\nspec:\n  containers: hunter2\n", 3, "spec.containers is not a list"),
    ("kind: Pod\nspec:\n  containers: [hunter2]\n", 3, "spec.containers[0] is not a mapping"),
    ("kind: Pod\nspec: hunter2\n", 2, "spec is not a mapping"),
    ("kind: Pod\nspec:\n  containers:\n    - image: [hunter2]\n", 4,
     "spec.containers[0].image is a list, not a single value"),
])
def test_bad_workloads(text: str, line: int, message: str) -> None:
    error = failure("workload-image", {"w.yaml": text}, "w.yaml")
    assert (error.path, error.line, error.message) == ("w.yaml", line, message)
    assert "hunter2" not in str(error)


# -- yaml-path ----------------------------------------------------------------------------------

VERSION_FILES = """\
kind: Notes
---
image:
  name: ghcr.io/acme/web
  tag: 1.10
components:
  - {name: api, version: 2.0.0}
  - {name: ui, version: "3.1"}
---
image:
  tag: 9.9.9
"""


@pytest.mark.parametrize(("options", "expected"), [
    # the first document that has the field; later ones do not count
    ({"field": "image.tag"}, [("image.tag", "1.10", 5, "/image/tag")]),
    ({"field": "image.tag", "key_field": "image.name"},
     [("ghcr.io/acme/web", "1.10", 5, "/image/tag")]),
    ({"field": "components.1.version", "key_field": "components.1.name"},
     [("ui", "3.1", 8, "/components/1/version")]),
    ({"field": "components.2.version"}, []),
    ({"field": "image.digest"}, []),
    ({"field": "kind"}, [("kind", "Notes", 1, "/kind")]),
])
def test_yaml_path(options: dict[str, Any], expected: list[tuple[str, str, int, str]]) -> None:
    extraction = run("yaml-path", {"version.yml": VERSION_FILES}, "version.yml", **options)
    assert [(a, i, line, p) for a, i, d, path, line, p, f in rows(extraction)] == expected
    assert extraction.reads == {"version.yml"}


def test_yaml_path_digests() -> None:
    text = f"version: 1.2@{D1}\n"
    assert run("yaml-path", {"v.yml": text}, "v.yml", field="version").values == (
        Value("version", Version(D1, f"1.2@{D1}", "1.2", D1), "v.yml", 1, "/version",
              column=10),)


def test_yaml_path_needs_a_field() -> None:
    with pytest.raises(ValueError, match="the 'field' option"):
        extract("yaml-path", DictTree({"v.yml": "a: 1\n"}), "v.yml", {})
