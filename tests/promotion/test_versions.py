"""Versions: identity, image references, floating and unresolved values."""

from __future__ import annotations

import re

import pytest

from gitops_guard.promotion.versions import (
    DEFAULT_FLOATING_TAGS,
    Version,
    compile_floating,
    floating_reason,
    make_version,
    parse_version_text,
    split_image,
)

D1 = "sha256:" + "a" * 64
D2 = "sha512:" + "0123456789abcdef" * 8
DEFAULTS = compile_floating(DEFAULT_FLOATING_TAGS)


def tagged(tag: str) -> Version:
    return Version(tag, tag, tag, None)


@pytest.mark.parametrize(("tag", "digest", "expected"), [
    (None, None, None),
    ("", "", None),
    ("", None, None),
    ("1.2.3", None, Version("1.2.3", "1.2.3", "1.2.3", None)),
    (None, D1, Version(D1, D1, None, D1)),
    ("", D1, Version(D1, D1, None, D1)),
    ("1.2.3", D1, Version(D1, f"1.2.3@{D1}", "1.2.3", D1)),
])
def test_make_version(tag: str | None, digest: str | None, expected: Version | None) -> None:
    assert make_version(tag, digest) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("1.2", tagged("1.2")),
    ("1.10", tagged("1.10")),
    ("  6.6.0 \n", tagged("6.6.0")),
    ("v1.2.3-rc.1+build.5", tagged("v1.2.3-rc.1+build.5")),
    (f"1.2@{D1}", Version(D1, f"1.2@{D1}", "1.2", D1)),
    (D1, Version(D1, D1, None, D1)),
    (D2, Version(D2, D2, None, D2)),
    (f"@{D1}", Version(D1, D1, None, D1)),
    ("sha256:XYZ", tagged("sha256:XYZ")),  # not hex: not a digest
    ("md5:" + "a" * 32, tagged("md5:" + "a" * 32)),  # not an algorithm registries use
    ("1.2@latest", tagged("1.2@latest")),
    ("", Version("", "", "", None)),
])
def test_parse_version_text(text: str, expected: Version) -> None:
    assert parse_version_text(text) == expected


@pytest.mark.parametrize(("image", "repository", "expected"), [
    ("nginx", "nginx", tagged("latest")),
    ("nginx:1.25-alpine", "nginx", tagged("1.25-alpine")),
    ("docker.io/library/nginx:1.25", "docker.io/library/nginx", tagged("1.25")),
    ("ghcr.io/x/app:1.2@" + D1, "ghcr.io/x/app", Version(D1, f"1.2@{D1}", "1.2", D1)),
    ("ghcr.io/x/app@" + D1, "ghcr.io/x/app", Version(D1, D1, None, D1)),
    # a registry port is not a tag
    ("localhost:5000/app", "localhost:5000/app", tagged("latest")),
    ("localhost:5000/app:1", "localhost:5000/app", tagged("1")),
    ("registry:5000/team/app:v2@" + D1, "registry:5000/team/app",
     Version(D1, f"v2@{D1}", "v2", D1)),
    ("localhost:5000/app@" + D1, "localhost:5000/app", Version(D1, D1, None, D1)),
    ("ghcr.io/x/app:${TAG}", "ghcr.io/x/app", tagged("${TAG}")),
    ("app:1.10", "app", tagged("1.10")),
    (" app:2 ", "app", tagged("2")),
    ("app:", "app", Version("", "", "", None)),
])
def test_split_image(image: str, repository: str, expected: Version) -> None:
    assert split_image(image) == (repository, expected)


PINNED = ["1.2.3", "v1.2.3", "6.6.0-rc.1", "1.2.3-x.1", "latest-1.2", "develop2", "devel",
          "release-1.2", "x", "x.y", "1.10", "sha-abc1234", "2024.01.02"]


@pytest.mark.parametrize("tag", PINNED)
def test_pinned_versions_do_not_float(tag: str) -> None:
    assert floating_reason(tagged(tag), DEFAULTS) is None


@pytest.mark.parametrize(("tag", "reason"), [
    # floating tags: the default list, any case, whole tag only
    *[(tag, f"floating tag '{tag}'") for tag in
      ("latest", "LATEST", "Stable", "edge", "main", "master", "dev", "develop", "nightly",
       "head", "HEAD")],
    # semver ranges (npm, Helm, Flux, Argo CD)
    *[(tag, f"version range '{tag}'") for tag in
      (">=1.0.0", ">=1.0.0-alpha", "<2", ">1", "<=3", "^1.2", "~1.2", "~> 1.2", "1.x",
       "1.2.X", "v1.x", "x.x", "1.*", "*", "1.0.0 - 2.0.0", "1.x || 2.x",
       ">=1.0.0 <2.0.0", ">=1.0.0, <2.0.0")],
    # unresolved placeholders
    *[(tag, f"unresolved placeholder '{tag}'") for tag in
      ("${TAG}", "1.2-${SUFFIX}", "{{ .Values.tag }}", "#{Octopus.Release.Number}#")],
    ("", "no version"),
    ("   ", "no version"),
])
def test_floating_reasons(tag: str, reason: str) -> None:
    assert floating_reason(tagged(tag), DEFAULTS) == reason


def test_a_version_without_tag_or_digest_has_no_version() -> None:
    assert floating_reason(Version("", "", None, None), DEFAULTS) == "no version"


@pytest.mark.parametrize("version", [
    make_version("latest", D1), make_version("${TAG}", D1), make_version(">=1.0", D1),
    make_version(None, D1), parse_version_text(f"main@{D1}")])
def test_a_digest_never_floats(version: Version | None) -> None:
    assert version is not None
    assert floating_reason(version, DEFAULTS) is None


def test_the_default_floating_tags() -> None:
    assert DEFAULT_FLOATING_TAGS == ("latest", "stable", "edge", "main", "master", "dev",
                                     "develop", "nightly", "head")


@pytest.mark.parametrize(("patterns", "tag", "reason"), [
    (["^latest$"], "Latest", "floating tag 'Latest'"),
    (["^latest$"], "stable", None),  # the configured list replaces the default one
    (["release-.*"], "release-1", "floating tag 'release-1'"),
    (["release-.*"], "prerelease-1", None),  # matched against the whole tag
    (["rc"], "1.0-rc", None),
    ([], "latest", None),
    ([], ">=1.0", "version range '>=1.0'"),  # ranges and placeholders do not need patterns
    ([], "${TAG}", "unresolved placeholder '${TAG}'"),
])
def test_configured_floating_tags(patterns: list[str], tag: str, reason: str | None) -> None:
    compiled = compile_floating(patterns)
    assert all(pattern.flags & re.IGNORECASE for pattern in compiled)
    assert floating_reason(tagged(tag), compiled) == reason
