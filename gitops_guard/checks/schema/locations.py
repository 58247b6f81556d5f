"""Schema locations for kinds the bundle and the repo's CRDs do not cover, as kubeconform has them.

A location is a local directory or file template, or an http(s) URL template, with kubeconform's
variables: `{{ .NormalizedKubernetesVersion }}`, `{{ .StrictSuffix }}`, `{{ .ResourceKind }}`,
`{{ .ResourceAPIVersion }}`, `{{ .Group }}`, `{{ .KindSuffix }}`. A location that is neither a
template nor a `.json` file is a directory in kubeconform's layout. Locations are tried in order;
a missing file or a 404 moves on to the next one.

Downloads happen only for URL locations the user configured, never with `offline`, and are
cached on disk (keyed by the URL) so the next run makes no request. A corrupt cache entry is
fetched again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from gitops_guard.errors import GuardError

VARIABLES = ("NormalizedKubernetesVersion", "StrictSuffix", "ResourceKind", "ResourceAPIVersion",
             "Group", "KindSuffix")
_VARIABLE = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
_LAYOUT = ("/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
           "{{ .ResourceKind }}{{ .KindSuffix }}.json")
MAX_SCHEMA_BYTES = 32 * 1024 * 1024
_KNOWN_DRAFTS = ("draft-04", "draft-06", "draft-07", "2019-09", "2020-12")


class Found(NamedTuple):
    schema: dict[str, Any]
    source: str  # the file or URL it came from


class Failed(NamedTuple):
    message: str  # why no schema could be read (a download error, a corrupt file)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-guard" / "schemas"


def validate_template(location: str) -> None:
    for name in _VARIABLE.findall(location):
        if name not in VARIABLES:
            raise GuardError(f"schema location {location!r} uses unknown variable .{name}; "
                             f"known: {', '.join(VARIABLES)}")


_SAFE_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_SAFE_API_VERSION = re.compile(r"(?:[a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[a-z0-9]+")


def expand(location: str, version: str, strict: bool, api_version: str, kind: str) -> str:
    explicit = location.startswith(("http://", "https://")) or "{{" in location
    if explicit or location.endswith(".json"):
        template = location
    else:  # a directory in kubeconform's layout
        template = location.rstrip("/") + _LAYOUT
    group, _, resource_version = api_version.rpartition("/")
    first_label = group.split(".")[0]
    values = {
        "NormalizedKubernetesVersion": f"v{version}.0",
        "StrictSuffix": "-strict" if strict else "",
        "ResourceKind": kind.lower(),
        "ResourceAPIVersion": resource_version,
        "Group": group,
        "KindSuffix": f"-{first_label}-{resource_version}" if group else f"-{resource_version}",
    }
    return _VARIABLE.sub(lambda match: values[match[1]], template)


class SchemaLocations:
    def __init__(self, locations: list[str], *, root: Path, version: str, strict: bool,
                 offline: bool, cache_dir: Path, timeout: float, cwd: Path | None = None) -> None:
        for location in locations:
            validate_template(location)
        self.locations = [loc for loc in locations if loc != "default"]
        self.root = root
        self.version = version
        self.strict = strict
        self.offline = offline
        self.cache_dir = cache_dir
        self.timeout = timeout
        self.cwd = cwd or root

    def find(self, api_version: str, kind: str) -> Found | Failed | None:
        # apiVersion and kind come from the checked file and go into paths and URLs: only
        # names Kubernetes allows, so `kind: ../../x` cannot reach another file or host.
        if not _SAFE_KIND.fullmatch(kind) or not _SAFE_API_VERSION.fullmatch(api_version):
            return None
        failure: Failed | None = None
        for location in self.locations:
            target = expand(location, self.version, self.strict, api_version, kind)
            if target.startswith(("http://", "https://")):
                result = self._remote(target)
            else:
                path = self.root / target
                result = self._local(path, os.path.relpath(path, self.cwd))
            if isinstance(result, Found):
                return result
            if isinstance(result, Failed) and failure is None:
                failure = result
        return failure

    def _local(self, path: Path, shown: str) -> Found | Failed | None:
        try:
            if path.stat().st_size > MAX_SCHEMA_BYTES:
                return Failed(f"schema file {shown} is larger than {MAX_SCHEMA_BYTES:,} bytes")
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError) as exc:
            return Failed(f"cannot read schema file {shown}: {exc}")
        schema = _parse(text)
        if schema is None:
            return Failed(f"schema file {shown} is not a JSON schema")
        return Found(schema, shown)

    def _remote(self, url: str) -> Found | Failed | None:
        # Imported here: most runs never download, and urllib is slow to import.
        import urllib.error
        import urllib.request

        cached = self.cache_dir / (hashlib.sha256(url.encode()).hexdigest() + ".json")
        if cached.is_file():
            schema = _parse(cached.read_text(encoding="utf-8", errors="replace"))
            if schema is not None:
                return Found(schema, url)
            cached.unlink(missing_ok=True)  # corrupt: fetch it again
        if self.offline:
            return None  # only what is already cached
        try:
            # Only http(s) reaches here: `find` sends nothing else to `_remote`.
            request = urllib.request.Request(  # noqa: S310
                url, headers={"User-Agent": "gitops-guard"})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(MAX_SCHEMA_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            return Failed(f"downloading {url} failed: HTTP {exc.code}")
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Failed(f"downloading {url} failed: {reason}")
        if len(body) > MAX_SCHEMA_BYTES:
            return Failed(f"{url} is larger than {MAX_SCHEMA_BYTES:,} bytes")
        text = body.decode("utf-8", errors="replace")
        schema = _parse(text)
        if schema is None:
            return Failed(f"{url} did not return a JSON schema")
        _store(cached, text)
        return Found(schema, url)


def _parse(text: str) -> dict[str, Any] | None:
    try:
        schema = json.loads(text)
    except ValueError:
        return None
    if not isinstance(schema, dict):
        return None
    declared = schema.get("$schema")
    if not isinstance(declared, str) or not any(d in declared for d in _KNOWN_DRAFTS):
        # kubeconform's sets say "http://json-schema.org/schema#"; they are draft-07 style.
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return schema


def _store(path: Path, text: str) -> None:
    """Cache a download; a concurrent or interrupted run never sees half a file. A cache
    that cannot be written only costs the next run a download."""
    from gitops_guard import atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, text)
    except OSError:
        pass
