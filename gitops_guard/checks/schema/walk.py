"""Walking JSON schemas by their structure: subschemas are reached through keywords, never
through data (`default`, `enum`) and never mistaking a property called `default` for one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Keywords whose value is one subschema, a list of them, or a map of names to them.
ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "additionalItems",
       "if", "then", "else")
MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def rebuild(schema: Any, visit: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """A copy of `schema` with `visit` applied to every subschema, innermost first.

    `visit` gets a new dict whose subschemas are already rebuilt, and returns the replacement.
    The input is never changed.
    """
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ONE:
            out[key] = rebuild(value, visit)
        elif key in MANY and isinstance(value, list):
            out[key] = [rebuild(item, visit) for item in value]
        elif key in MAP and isinstance(value, dict):
            out[key] = {name: rebuild(sub, visit) for name, sub in value.items()}
        else:
            out[key] = value
    return visit(out)
