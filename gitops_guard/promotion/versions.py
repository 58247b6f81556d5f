"""What counts as a version, and when a version does not pin what runs.

A version is compared by identity: the digest when there is one (a tag can be re-pushed, a
digest cannot), else the text exactly as written. Floating values (`latest`, a semver range,
`${TAG}`) name no single build, so no promotion can be verified for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

# Algorithms OCI registries accept; the encoded part is hex for all of them. A tag can never
# hold ":", so nothing else in a version field looks like this.
_DIGEST = re.compile(r"(?:sha256|sha384|sha512|blake3):[0-9a-fA-F]+")

DEFAULT_FLOATING_TAGS: tuple[str, ...] = (
    "latest", "stable", "edge", "main", "master", "dev", "develop", "nightly", "head")

_PLACEHOLDERS = ("${", "{{", "#{")  # shell/envsubst, Helm/Go templates, Octopus-style
# A range operator starts the text or one of its space-, comma- or `||`-separated parts.
_OPERATOR = re.compile(r"(?:^|[\s,|])(?:[<>]=?|\^|~)")
_WILDCARDS = frozenset({"x", "X", "*"})


class Version(NamedTuple):
    identity: str  # the digest when there is one, else the tag/version text
    display: str  # as a person reads it: "1.2.3", "1.2.3@sha256:...", "sha256:..."
    tag: str | None
    digest: str | None


def _is_digest(text: str) -> bool:
    return _DIGEST.fullmatch(text) is not None


def make_version(tag: str | None, digest: str | None) -> Version | None:
    """The version a tag and a digest make together; None when both are empty."""
    tag = tag or None
    digest = digest or None
    if digest is not None:
        return Version(digest, f"{tag}@{digest}" if tag else digest, tag, digest)
    if tag is not None:
        return Version(tag, tag, tag, None)
    return None


def parse_version_text(text: str) -> Version:
    """A version as written in one field: `1.2`, `1.2@sha256:...` or `sha256:...`."""
    text = text.strip()
    head, at, tail = text.rpartition("@")
    if at and _is_digest(tail):
        return make_version(head, tail) or _empty()
    if _is_digest(text):
        return Version(text, text, None, text)
    return Version(text, text, text, None)


def split_image(image: str) -> tuple[str, Version]:
    """An image reference as (repository, version).

    No tag and no digest means `latest`: that is what the runtime pulls.
    """
    image = image.strip()
    name, at, digest = image.partition("@")
    if not at or not _is_digest(digest):
        name, digest = image, ""
    # Only a colon after the last slash starts a tag: `localhost:5000/app` has a port.
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1:]
        if not tag and not digest:
            return name, _empty()  # `app:` names no version at all
    else:
        tag = "" if digest else "latest"
    return name, make_version(tag, digest) or _empty()


def _empty() -> Version:
    return Version("", "", "", None)


def compile_floating(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Floating-tag patterns, case-insensitive; callers match them against the whole tag."""
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


def floating_reason(version: Version, floating_tags: Sequence[re.Pattern[str]]) -> str | None:
    """Why `version` does not pin one build, or None when it does. A digest always pins."""
    if version.digest is not None:
        return None
    tag = version.tag or ""
    if any(marker in tag for marker in _PLACEHOLDERS):
        return f"unresolved placeholder '{tag}'"
    if _is_range(tag):
        return f"version range '{tag}'"
    if not tag.strip():
        return "no version"
    if any(pattern.fullmatch(tag) for pattern in floating_tags):
        return f"floating tag '{tag}'"
    return None


def _is_range(text: str) -> bool:
    """A semver range (npm, Helm, Flux and Argo CD syntax) rather than one version."""
    if "*" in text or "||" in text or " - " in text or _OPERATOR.search(text):
        return True
    # `1.x`, `v1.2.X`: a wildcard component in an otherwise numeric dotted version. A lone
    # `x` is left alone: as a tag it is a word, not a range.
    for part in text.replace(",", " ").split():
        components = part.lstrip("=v").split(".")
        if (len(components) > 1 and any(c in _WILDCARDS for c in components)
                and all(c.isdigit() or c in _WILDCARDS for c in components)):
            return True
    return False
