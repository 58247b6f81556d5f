"""Overrides: the one way past a promotion rule, and never a silent one.

Two sources. A commit trailer, `Promotion-Override: prod app=podinfo reason="INC-123"`
(optionally `version=6.6.0`), written by whoever makes the change. An entry in the approvals
file, which is reviewed like code and expires:

    approvals:
      - {app: podinfo, env: prod, version: 6.6.0, reason: "INC-123", expires: 2026-12-01}

Either turns the finding into PROMO009, a warning that names the reason.
"""

from __future__ import annotations

import datetime
import re
import shlex
from collections.abc import Sequence
from typing import Any, NamedTuple

from gitops_guard.errors import GuardError
from gitops_guard.yamlio import TEXT_LOADER, ParseFailure, node_at, parse_yaml


class Override(NamedTuple):
    env: str
    app: str
    version: str | None  # None: any version
    reason: str
    source: str  # "trailer in 1a2b3c4" or "approvals.yaml:3"
    expires: datetime.date | None = None

    def covers(self, app: str, env: str, display: str, identity: str) -> bool:
        if self.app != app or self.env != env:
            return False
        return self.version is None or self.version in (display, identity) or (
            display.startswith(self.version + "@"))


def trailers(message: str, key: str, source: str) -> list[Override]:
    """The override trailers of one commit message (malformed ones are ignored: a trailer
    that does not parse overrides nothing)."""
    found = []
    prefix = key.lower() + ":"
    for line in message.splitlines():
        if not line.lower().startswith(prefix):
            continue
        override = _parse_trailer(line[len(prefix):], source)
        if override is not None:
            found.append(override)
    return found


def _parse_trailer(text: str, source: str) -> Override | None:
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    if not words or "=" in words[0]:
        return None
    fields = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    if not fields.get("app") or not fields.get("reason"):
        return None
    return Override(words[0], fields["app"], fields.get("version"), fields["reason"], source)


class Approvals(NamedTuple):
    entries: tuple[Override, ...]

    def find(self, app: str, env: str, display: str, identity: str,
             today: datetime.date) -> tuple[Override | None, Override | None]:
        """(a valid approval, an expired one) for this promotion."""
        valid = expired = None
        for entry in self.entries:
            if not entry.covers(app, env, display, identity):
                continue
            if entry.expires is not None and entry.expires < today:
                expired = expired or entry
            else:
                valid = valid or entry
        return valid, expired


_FIELDS = ("app", "env", "reason")


def parse_approvals(text: str, display: str) -> Approvals:
    """The approvals file; a mistake in it is a GuardError with its line (it is config)."""
    try:
        documents = parse_yaml(text, TEXT_LOADER)  # `version: 1.10` stays "1.10"
    except ParseFailure as failure:
        raise GuardError(f"the approvals file does not parse: {failure.message}", path=display,
                         line=failure.line) from None
    if not documents or documents[0].data is None:
        return Approvals(())
    root = documents[0]
    data = root.data
    if not isinstance(data, dict) or not isinstance(data.get("approvals") or [], list):
        raise GuardError("the approvals file must be a mapping with an `approvals:` list",
                         path=display, line=1)
    entries = []
    for index, entry in enumerate(data.get("approvals") or []):
        line = _line(root.node, ["approvals", str(index)])
        entries.append(_entry(entry, display, line))
    return Approvals(tuple(entries))


def _entry(entry: Any, display: str, line: int) -> Override:
    if not isinstance(entry, dict):
        raise GuardError("an approval must be a mapping", path=display, line=line)
    for name in _FIELDS:
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise GuardError(f"an approval needs `{name}` (text)", path=display, line=line)
    unknown = sorted(set(entry) - {*_FIELDS, "version", "expires"})
    if unknown:
        raise GuardError(f"unknown key {unknown[0]!r} in an approval", path=display, line=line)
    expires = entry.get("expires")
    if expires is not None:
        expires = _date(expires, display, line)
    version = entry.get("version")
    return Override(entry["env"], entry["app"], None if version is None else str(version),
                    entry["reason"], f"{display}:{line}", expires)


def _date(value: Any, display: str, line: int) -> datetime.date:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise GuardError("`expires` must be a date (YYYY-MM-DD)", path=display, line=line)


def _line(root: Any, tokens: list[str]) -> int:
    node = node_at(root, tokens)
    return node.start_mark.line + 1 if node is not None else 1


def all_trailers(messages: Sequence[tuple[str, str]], key: str) -> list[Override]:
    return [override for sha, message in messages
            for override in trailers(message, key, f"trailer in {sha[:7]}")]
