"""Path globs as in .gitignore: `*` stays in one segment, `**` crosses segments.

A pattern without a slash matches a name at any depth (`*.enc.yaml`); a pattern that matches a
directory also matches everything below it (`vendor/`, `charts/*/templates`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = body.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
                i += 1
            else:
                cls = body[i + 1:end]
                if cls.startswith("!"):
                    cls = "^" + cls[1:]
                out.append(f"[{cls}]")
                i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(f"^{prefix}{''.join(out)}$")


def valid(pattern: str) -> bool:
    try:
        _compile(pattern)
    except re.error:
        return False
    return bool(pattern.strip("/"))


def match(pattern: str, path: str) -> bool:
    """Whether `path` (relative, forward slashes) or one of its parent directories matches."""
    regex = _compile(pattern)
    parts = path.split("/")
    return any(regex.match("/".join(parts[:end])) for end in range(len(parts), 0, -1))


def match_any(patterns: Iterable[str], path: str) -> bool:
    return any(match(pattern, path) for pattern in patterns)
