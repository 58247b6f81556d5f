"""The repository is the unit: what the tool reads stays inside it unless the user says so.

Two gates use this. Discovery skips a symlink whose target leaves the repository (a checked-in
`link.yaml -> /etc/shadow` must not be read, scanned and quoted in a report). The config may
not name paths outside its repository (`schema.crds`, `schema.locations`, `policy.paths`,
`baseline`, `promotion.overrides.approvals_file`) unless `--allow-outside-repo` is given: a
config arrives with the repository, and cloning one must not make the tool read the user's
home directory. "The repository" is the git work tree holding the path; outside git, the
directory the user named (for a file, its directory; for the config, the config's directory).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ALLOW_FLAG = "--allow-outside-repo"
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


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    """(index, string) of a list's string items, as the schema will demand them."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str) and item:
                yield str(index), item


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


def named_paths(data: Any) -> Iterator[tuple[list[str], str]]:
    """(key tokens, path as written) for every config value that names a file to read."""
    if not isinstance(data, dict):
        return
    if isinstance(data.get("baseline"), str) and data["baseline"]:
        yield ["baseline"], data["baseline"]
    schema = data.get("schema")
    if isinstance(schema, dict):
        for index, entry in _strings(schema.get("crds")):
            yield ["schema", "crds", index], entry
        for index, entry in _strings(schema.get("locations")):
            where = _location_path(entry)
            if where is not None:
                yield ["schema", "locations", index], where
    policy = data.get("policy")
    if isinstance(policy, dict):
        for index, entry in _strings(policy.get("paths")):
            yield ["policy", "paths", index], entry
    promotion = data.get("promotion")
    overrides = promotion.get("overrides") if isinstance(promotion, dict) else None
    if isinstance(overrides, dict) and isinstance(overrides.get("approvals_file"), str):
        yield ["promotion", "overrides", "approvals_file"], overrides["approvals_file"]


def outside_paths(data: Any, config_dir: Path) -> Iterator[tuple[list[str], str]]:
    """(key tokens, message) for each config path that leaves the config's repository."""
    root = boundary(config_dir, config_dir)
    for tokens, written in named_paths(data):
        # `~` is not expanded for these keys: the path is taken as written, below the config.
        if not inside(config_dir / written, root):
            key = ".".join(t if not t.isdigit() else f"[{t}]" for t in tokens).replace(".[", "[")
            yield tokens, (f"{key}: {written!r} is outside the repository ({root}); pass "
                           f"{ALLOW_FLAG} to read it")
