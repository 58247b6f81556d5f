"""The `promotion:` section of .gitops-guard.yaml as records.

The JSON schema (checks/promotion/__init__.py) has checked types by the time `load` runs;
`problems` adds what a schema cannot say (an `after:` naming no environment, a cycle, a
location without `{env}`), and config loading reports those with the file's lines.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from gitops_guard.errors import GuardError
from gitops_guard.promotion.versions import DEFAULT_FLOATING_TAGS, compile_floating

DEFAULT_TRAILER = "Promotion-Override"
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"([0-9]+)([wdhms])")
_PLACEHOLDER = re.compile(r"\{(app|env)\}")
_ANY_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class Environment(NamedTuple):
    name: str
    after: tuple[str, ...]  # the environments a version must pass through first; () = source
    require: str  # "all" or "any" of `after`
    min_soak: int  # seconds
    allow_same_commit: bool

    @property
    def is_source(self) -> bool:
        return not self.after


class Location(NamedTuple):
    template: str  # as written: apps/{app}/overlays/{env}/kustomization.yaml
    extractor: str
    options: Mapping[str, str]  # field, key_field
    pattern: re.Pattern[str]  # the template as a regex with groups `app` and `env`
    glob: str  # the template as a git pathspec glob, to limit `git log`


class App(NamedTuple):
    name: str  # a name, or a template with {app}
    locations: tuple[Location, ...]


class Settings(NamedTuple):
    deploy_ref: str | None  # None: --base in CI, else HEAD
    environments: Mapping[str, Environment]  # in the configured order
    aliases: Mapping[str, str]
    floating_tags: tuple[re.Pattern[str], ...]
    floating: str  # severity of PROMO005, or "off"
    rollback: str  # allow | deny
    new_app: str  # severity of a new app's first promotion, or "off"
    apps: tuple[App, ...]
    trailer: str | None
    approvals_file: str | None  # relative to the config file's directory

    def environment(self, folder: str) -> Environment | None:
        """The environment a path segment names, through `aliases`."""
        return self.environments.get(self.aliases.get(folder, folder))


def parse_duration(text: str) -> int:
    """`24h`, `1h30m`, `2d` -> seconds (the schema has checked the shape)."""
    return sum(int(count) * _UNITS[unit] for count, unit in _DURATION_PART.findall(text))


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"


def problems(section: Mapping[str, Any]) -> list[tuple[list[str], str]]:
    """Mistakes in a section whose types may still be wrong (schema errors come separately)."""
    found: list[tuple[list[str], str]] = []
    raw = section.get("environments")
    entries = raw if isinstance(raw, list) else []
    names: list[str] = []
    for index, entry in enumerate(entries):
        name = _env_name(entry)
        if name is None:
            continue
        if name in names:
            found.append((["environments", str(index)], f"environment {name!r} is listed twice"))
        names.append(name)
    afters = _afters(entries)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("after"), list):
            continue
        for position, upstream in enumerate(entry["after"]):
            if upstream not in names:
                found.append((["environments", str(index), "after", str(position)],
                              f"no environment is named {upstream!r}"))
            elif upstream == entry.get("name"):
                found.append((["environments", str(index), "after", str(position)],
                              "an environment cannot come after itself"))
    cycle = _cycle(afters)
    if cycle:
        found.append((["environments"], "the environments form a cycle: "
                      + " -> ".join(cycle)))
    aliases = section.get("aliases")
    if isinstance(aliases, dict):
        for folder, target in aliases.items():
            if isinstance(target, str) and target not in names:
                found.append((["aliases", str(folder)], f"no environment is named {target!r}"))
    for index, pattern in enumerate(_list(section.get("floating_tags"))):
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                found.append((["floating_tags", str(index)], f"invalid regex: {exc}"))
    for app_index, app in enumerate(_list(section.get("apps"))):
        if not isinstance(app, dict) or not isinstance(app.get("name"), str):
            continue
        app_has_placeholder = "{app}" in app["name"]
        for index, location in enumerate(_list(app.get("locations"))):
            if not isinstance(location, dict) or not isinstance(location.get("path"), str):
                continue
            where = ["apps", str(app_index), "locations", str(index), "path"]
            template = location["path"]
            message = _template_problem(template, app_has_placeholder)
            if message:
                found.append((where, message))
            if location.get("extractor") == "yaml-path" and "field" not in location:
                found.append((["apps", str(app_index), "locations", str(index)],
                              "the yaml-path extractor needs `field`"))
    return found


def load(section: Mapping[str, Any], prefix: str = "") -> Settings:
    """The records of a section that passed the schema and `problems`. Location templates
    are relative to the config file's directory, `prefix` inside the repository."""
    if not section.get("environments") or not section.get("apps"):
        raise GuardError("the promotion section of the config needs `environments` and "
                         "`apps`: see docs/promotion.md")
    entries = section["environments"]
    environments: dict[str, Environment] = {}
    previous: str | None = None
    for entry in entries:
        spec = {"name": entry} if isinstance(entry, str) else entry
        name = spec["name"]
        if "after" in spec:
            after = tuple(spec["after"])
        else:
            after = (previous,) if previous is not None else ()
        environments[name] = Environment(
            name=name, after=after, require=spec.get("require", "all"),
            min_soak=parse_duration(spec.get("min_soak", "0s")),
            allow_same_commit=bool(spec.get("allow_same_commit", False)))
        previous = name
    overrides = section.get("overrides") or {}
    trailer = overrides.get("trailer", DEFAULT_TRAILER)
    apps = tuple(
        App(app["name"], tuple(_location(location, prefix) for location in app["locations"]))
        for app in section["apps"])
    return Settings(
        deploy_ref=section.get("deploy_ref"),
        environments=environments,
        aliases=dict(section.get("aliases") or {}),
        floating_tags=compile_floating(section.get("floating_tags", DEFAULT_FLOATING_TAGS)),
        floating=section.get("floating", "error"),
        rollback=section.get("rollback", "allow"),
        new_app=section.get("new_app", "warning"),
        apps=apps,
        trailer=trailer if isinstance(trailer, str) else None,
        approvals_file=overrides.get("approvals_file"),
    )


def _location(spec: Mapping[str, Any], prefix: str) -> Location:
    template = posixpath.join(prefix, spec["path"]) if prefix not in ("", ".") else spec["path"]
    options = {key: spec[key] for key in ("field", "key_field") if key in spec}
    return Location(template, spec["extractor"], options, template_regex(template),
                    template_glob(template))


def template_regex(template: str) -> re.Pattern[str]:
    """`{app}`/`{env}` match one segment, `*` part of one, `**/` any number of segments."""
    out: list[str] = []
    index = 0
    seen: set[str] = set()
    while index < len(template):
        if template.startswith("**/", index):
            out.append("(?:[^/]+/)*")
            index += 3
        elif template.startswith("**", index):
            out.append(".*")
            index += 2
        elif template[index] == "*":
            out.append("[^/]*")
            index += 1
        elif (match := _PLACEHOLDER.match(template, index)) is not None:
            name = match.group(1)
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+)")
            seen.add(name)
            index = match.end()
        else:
            out.append(re.escape(template[index]))
            index += 1
    return re.compile("".join(out))


def template_glob(template: str) -> str:
    return _PLACEHOLDER.sub("*", template)


def _template_problem(template: str, app_has_placeholder: bool) -> str | None:
    unknown = [name for name in _ANY_PLACEHOLDER.findall(template) if name not in ("app", "env")]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}: only {{app}} and {{env}} are known"
    if "{env}" not in template:
        return "a location needs {env}: it is how a file is tied to its environment"
    if app_has_placeholder and "{app}" not in template:
        return "the app name has {app}, so each of its locations needs {app} too"
    if template.startswith("/") or ".." in template.split("/"):
        return "a location is a path inside the repository"
    return None


def _env_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        return str(entry["name"])
    return None


def _afters(entries: Sequence[Any]) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    previous: str | None = None
    for entry in entries:
        name = _env_name(entry)
        if name is None or name in graph:  # a repeated name is reported on its own
            continue
        after = entry.get("after") if isinstance(entry, dict) else None
        if isinstance(after, list):
            # An environment after itself is reported on its own, not as a cycle too.
            graph[name] = [item for item in after if isinstance(item, str) and item != name]
        else:
            graph[name] = [previous] if previous is not None else []
        previous = name
    return graph


def _cycle(graph: Mapping[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for upstream in graph.get(node, []):
            if state.get(upstream) == 1:
                return [*stack[stack.index(upstream):], upstream]
            if upstream in graph and upstream not in state:
                found = visit(upstream)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
