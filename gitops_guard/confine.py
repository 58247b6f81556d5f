"""The repository is the unit: what the tool reads stays inside it unless the user says so.

Two gates use this. Discovery skips a symlink whose target leaves the repository (a checked-in
`link.yaml -> /etc/shadow` must not be read, scanned and quoted in a report). The config may
not name paths outside its repository (the keys its schema marks READS: `schema.crds`,
`schema.locations`, `policy.paths`, `baseline`, `promotion.overrides.approvals_file`) unless
`--allow-outside-repo` is given: a
config arrives with the repository, and cloning one must not make the tool read the user's
home directory. "The repository" is the git work tree holding the path; outside git, the
directory the user named (for a file, its directory; for the config, the config's directory).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gitops_guard import pointer as jp

ALLOW_FLAG = "--allow-outside-repo"
# The mark, in a check's config schema, of a string that names a file or directory to read:
# PATH as written, LOCATION a schema location (a URL or `default` names none; a template
# reads below the part before its first `{{`). confine derives the keys it guards from it.
READS = "x-reads"
PATH = "path"
LOCATION = "location"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def boundary(path: Path, fallback: Path) -> Path:
    """The git work tree holding `path`, else `fallback` (the directory the user named).

    Found lexically, passing over symlinked directories: `repo/link -> ~/other-repo` must not
    make `other-repo` the boundary of `repo/link/file`."""
    start = path if path.is_dir() and not path.is_symlink() else path.parent
    for directory in (start, *start.parents):
        if not directory.is_symlink() and (directory / ".git").exists():
            return directory
    return fallback


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink followed, is `root` or below it (also resolved)."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
    except (OSError, ValueError):  # a symlink loop: treat as leaving
        return False


def _location_path(location: str) -> str | None:
    """The filesystem part of a schema location: None for a URL or `default`; a template's
    directory before its first `{{` (what a kind name expands into is not the config's)."""
    if location == "default" or _URL.match(location):
        return None
    if "{{" not in location:
        return location
    head = location.split("{{", 1)[0]
    if "/" not in head:
        return "."
    return head.rsplit("/", 1)[0] or "/"


def named_paths(data: Any, schema: Mapping[str, Any],
                tokens: tuple[str, ...] = ()) -> Iterator[tuple[list[str], str]]:
    """(key tokens, path as written) for every config value whose schema is marked as naming
    a file to read (READS), walking the schema and the data together."""
    reads = schema.get(READS)
    if reads is not None and isinstance(data, str) and data:
        where = _location_path(data) if reads == LOCATION else data
        if where is not None:
            yield list(tokens), where
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and isinstance(data, dict):
        for key, child in properties.items():
            if key in data:
                yield from named_paths(data[key], child, (*tokens, key))
    items = schema.get("items")
    if isinstance(items, Mapping) and isinstance(data, list):
        for index, item in enumerate(data):
            yield from named_paths(item, items, (*tokens, str(index)))


def path_keys(schema: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """The config keys marked READS, as `a.b[]` (for docs and tests)."""
    if schema.get(READS) is not None:
        yield prefix
    for key, child in (schema.get("properties") or {}).items():
        yield from path_keys(child, f"{prefix}.{key}" if prefix else key)
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield from path_keys(items, prefix + "[]")


def outside_paths(data: Any, config_dir: Path,
                  schema: Mapping[str, Any]) -> Iterator[tuple[list[str], str]]:
    """(key tokens, message) for each config path that leaves the config's repository."""
    root = boundary(config_dir, config_dir)
    for tokens, written in named_paths(data, schema):
        # `~` is not expanded for these keys: the path is taken as written, below the config.
        if not inside(config_dir / written, root):
            yield tokens, (f"{jp.dotted(tokens)}: {written!r} is outside the repository "
                           f"({root}); pass {ALLOW_FLAG} to read it")
