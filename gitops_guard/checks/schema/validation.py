"""Compiled validators and the messages their errors become.

jsonschema-rs validates a Deployment in microseconds; what matters is saying what is wrong the
way a person fixes it: the field's path, what was expected, what was found, and for unknown
fields the field that was probably meant (`imagePullpolicy` -> `imagePullPolicy`) or where a
field that exists elsewhere in the kind belongs (`restartPolicy` on a CronJob's spec).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gitops_guard import pointer as jp
from gitops_guard.checks.schema.bundle import QUANTITY_PATTERN
from gitops_guard.checks.schema.rules import (
    RULE_INVALID,
    RULE_UNKNOWN_FIELD,
    RULE_VALUE,
)
from gitops_guard.findings import Problem
from gitops_guard.workloads import get

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "object", type(None): "null"}


def refuse_remote_refs(uri: str) -> Any:
    """Schemas never reach out to the network for their `$ref`s."""
    raise ValueError(f"external $ref {uri!r} is not fetched; use a standalone schema")


class Validator:
    """One compiled schema and what is needed to explain its errors."""

    def __init__(self, document: dict[str, Any], source: str) -> None:
        import jsonschema_rs

        self.document = document
        self.source = source
        self._compiled = jsonschema_rs.validator_for(document, retriever=refuse_remote_refs)
        self._homes: dict[str, list[str]] | None = None

    def problems(self, data: Any, reveal_values: bool = True) -> Iterator[Problem]:
        if self._compiled.is_valid(data):
            return
        for error in self._compiled.iter_errors(data):
            yield from self._explain(error, data, reveal_values)

    def _explain(self, error: Any, data: Any, reveal: bool) -> Iterator[Problem]:
        tokens = [str(part) for part in error.instance_path]
        where = jp.dotted(tokens)
        prefix = f"{where}: " if where else ""
        pointer = jp.join(*tokens)
        kind = error.kind.name
        value = get(data, tuple(tokens))
        # A value under a credential-like key (`db_password:`, an env var `DB_PASSWORD`) is
        # never quoted back, whatever its type.
        reveal = reveal and not _credential_place(data, tokens)
        if kind == "additionalProperties":
            allowed = self._properties_at(list(error.schema_path)[:-1])
            for key in error.kind.unexpected:
                message = f'{prefix}unknown field "{key}"' + self._hint(str(key), allowed)
                yield Problem(RULE_UNKNOWN_FIELD, message, jp.extend(pointer, str(key)),
                              at_key=True)
        elif kind == "required":
            # Point at the key of the object that lacks the field (`spec:`), not inside it.
            yield Problem(RULE_INVALID, f'{prefix}missing required field "{error.kind.property}"',
                          pointer, at_key=bool(tokens))
        elif kind == "type":
            expected = " or ".join(t for t in error.kind.types if t != "null")
            yield Problem(RULE_INVALID, f"{prefix}expected {expected}, got "
                          f"{_describe(value, reveal)}{_quote_hint(value, expected)}", pointer)
        elif kind in ("enum", "const"):
            options = error.kind.options if kind == "enum" else [error.kind.expected_value]
            choices = ", ".join(str(o) for o in options if o is not None)
            shown = f"{_describe(value, reveal)} is not" if reveal else "the value is not"
            yield Problem(RULE_VALUE, f"{prefix}{shown} allowed; use one of: {choices}", pointer)
        elif kind == "pattern" and error.kind.pattern == QUANTITY_PATTERN:
            yield Problem(RULE_INVALID, f"{prefix}{_describe(value, reveal)} is not a valid "
                          "quantity (examples: 500m, 2, 1.5, 128Mi, 1Gi)", pointer)
        elif kind in ("anyOf", "oneOf"):
            yield from self._alternatives(error, data, reveal, prefix, pointer, value)
        else:
            message = error.message if reveal else f"invalid value ({kind})"
            yield Problem(RULE_INVALID, f"{prefix}{message}", pointer)

    def _alternatives(self, error: Any, data: Any, reveal: bool, prefix: str, pointer: str,
                      value: Any) -> Iterator[Problem]:
        branches = [list(branch) for branch in error.kind.context]
        types: list[str] = []
        for branch in branches:
            if branch and all(sub.kind.name == "type" for sub in branch):
                types.extend(t for sub in branch for t in sub.kind.types if t != "null")
            elif branch:
                # A branch that matched the type but failed otherwise says the most.
                yield from self._explain(branch[0], data, reveal)
                return
        expected = " or ".join(dict.fromkeys(types)) or "a different value"
        yield Problem(RULE_INVALID, f"{prefix}expected {expected}, got "
                      f"{_describe(value, reveal)}", pointer)

    def _properties_at(self, schema_path: list[Any]) -> list[str]:
        # jsonschema-rs gives the path inside the document, with `$ref`s already followed.
        node: Any = self.document
        for part in schema_path:
            if isinstance(node, dict):
                node = node.get(str(part))
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                return []
        node = self._deref(node)
        return list(node.get("properties", {})) if isinstance(node, dict) else []

    def _deref(self, node: Any) -> Any:
        for _ in range(64):  # `$ref` chains are short; the bound only guards against loops
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return node
            target: Any = self.document
            for token in jp.split(ref[1:]):
                target = target.get(token) if isinstance(target, dict) else None
            if target is None:
                return node
            node = target
        return node

    def _hint(self, key: str, allowed: list[str]) -> str:
        by_lower = {name.lower(): name for name in allowed}
        if key.lower() in by_lower:
            return f'; did you mean "{by_lower[key.lower()]}"?'
        import difflib

        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
        if close:
            return f'; did you mean "{close[0]}"?'
        homes = self.homes().get(key)
        if homes:
            return f"; {key} belongs at {homes[0]}"
        return ""

    def homes(self) -> dict[str, list[str]]:
        """Where each field name sits in this kind, shallowest first (for misplaced fields)."""
        if self._homes is None:
            self._homes = {}
            queue: list[tuple[Any, tuple[str, ...], frozenset[str]]] = [
                (self.document, (), frozenset())]
            while queue:
                node, path, seen_refs = queue.pop(0)
                ref = node.get("$ref") if isinstance(node, dict) else None
                if isinstance(ref, str):
                    if ref in seen_refs or len(path) > 12:
                        continue
                    seen_refs = seen_refs | {ref}
                node = self._deref(node)
                if not isinstance(node, dict):
                    continue
                for name, sub in (node.get("properties") or {}).items():
                    self._homes.setdefault(name, []).append(jp.dotted((*path, name)))
                    queue.append((sub, (*path, name), seen_refs))
                if isinstance(node.get("items"), dict):
                    queue.append((node["items"], (*path, "0"), seen_refs))
                for branch in node.get("anyOf") or []:
                    queue.append((branch, path, seen_refs))
        return self._homes


def _credential_place(data: Any, tokens: list[str]) -> bool:
    from gitops_guard.checks.secrets.keywords import key_class

    names = [token for token in tokens if not token.isdigit()]
    if tokens and tokens[-1] == "value":
        entry = get(data, tuple(tokens[:-1]))
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            names.append(entry["name"])  # an env entry: {name: DB_PASSWORD, value: ...}
    return any(key_class(name) is not None for name in names)


def _describe(value: Any, reveal: bool) -> str:
    kind = _JSON_TYPES.get(type(value), type(value).__name__)
    if not reveal or isinstance(value, (dict, list)):
        return kind
    if isinstance(value, bool):
        return f"{kind} {str(value).lower()}"
    if value is None:
        return "null"
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f'{kind} "{text}"' if isinstance(value, str) else f"{kind} {text}"


def _quote_hint(value: Any, expected: str) -> str:
    if expected == "string" and isinstance(value, (bool, int, float)):
        # `enabled: yes` or `version: 1.10`: YAML 1.1, as Kubernetes reads it, typed the value.
        return "; quote the value to keep it a string"
    return ""
