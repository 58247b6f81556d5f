"""`.gitops-guard.yaml`: where it is found, what it may say, and the typed object it becomes.

Found by `--config`, then `$GITOPS_GUARD_CONFIG`, then by walking up from the working directory
to the git root. Validated against a JSON schema assembled from the engine's keys and each
check's own section; every problem is reported with the config's file:line.
"""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
import functools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_guard import confine, globs
from gitops_guard import pointer as jp
from gitops_guard.catalog import rules_for
from gitops_guard.checks import CHECKS
from gitops_guard.discovery import find_git_root
from gitops_guard.errors import GuardError
from gitops_guard.findings import Rule, Severity
from gitops_guard.yamlio import ParseFailure, node_at, parse_yaml

CONFIG_NAMES = (".gitops-guard.yaml", ".gitops-guard.yml")
ENV_VAR = "GITOPS_GUARD_CONFIG"
DEFAULT_MAX_FILE_SIZE = 8 * 1024 * 1024

# Written without inline flags: the same pattern goes into the JSON schema (ECMA regex).
_SIZE = re.compile(r"^\s*([1-9][0-9]*)\s*([KkMmGg][Ii]?[Bb]?|[Bb])?\s*$")
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024,
          "m": 1000**2, "mb": 1000**2, "mi": 1024**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gi": 1024**3, "gib": 1024**3}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RULE_PATTERN = r"^[A-Za-z0-9*?\[\]-]+$"


@dataclass(frozen=True)
class Waiver:
    rules: tuple[str, ...]  # rule ids or globs (GG-SCHEMA-*)
    reason: str
    expires: datetime.date | None
    paths: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    line: int = 0  # where it is written in the config file
    column: int = 0
    index: int = 0  # its position in `waivers:`, for a fingerprint

    def names_rule(self, rule: str) -> bool:
        return any(fnmatch.fnmatchcase(rule, pattern) for pattern in self.rules)


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # the config file, if there is one
    root: Path = field(default_factory=Path.cwd)  # where relative globs start
    checks: tuple[str, ...] | None = None  # None: every registered check
    exclude: tuple[str, ...] = ()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    fail_on: Severity = Severity.ERROR
    rules: Mapping[str, Severity | None] = field(default_factory=dict)  # None: rule is off
    waivers: tuple[Waiver, ...] = ()
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    baseline: Path | None = None  # a baseline named in the config
    # "kustomize": schema and policy see what kustomize renders (docs/render.md); None: files.
    render: str | None = None

    def section(self, check: str) -> Mapping[str, Any]:
        return self.sections.get(check, {})

    @functools.cached_property
    def catalog(self) -> Mapping[str, Rule]:
        """Every rule this configuration's runs can report (user policies included)."""
        return rules_for(self.sections, self.root)

    def with_settings(self, check: str, values: Mapping[str, Any]) -> Config:
        """A copy in which `values` (from command-line flags) override the check's section."""
        merged = {**self.section(check), **values}
        return dataclasses.replace(self, sections={**self.sections, check: merged})


def schema() -> dict[str, Any]:
    """The JSON schema of the config file (also published by `gitops-guard config-schema`)."""
    strings = {"type": "array", "items": {"type": "string", "minLength": 1}}

    def globs_of(what: str) -> dict[str, Any]:
        return {**strings, "description": what}

    # Each key says what it does, and its default when it has a fixed one: `config-schema`
    # shows them in editors, and docs/config-reference.md is generated from them.
    properties: dict[str, Any] = {
        # A check that reads git history is refused with its own message (_semantic_problems).
        "checks": {"type": "array", "items": {"enum": sorted(CHECKS)}, "uniqueItems": True,
                   "minItems": 1,
                   "description": "the checks `gitops-guard check` runs (default: every check "
                                  "that reads files; promotion reads git history and is "
                                  "refused here); --checks replaces it"},
        "exclude": globs_of("path globs that are not checked, relative to this file "
                            "(.gitignore-like; a directory covers everything below it)"),
        "max_file_size": {"anyOf": [{"type": "integer", "minimum": 1},
                                    {"type": "string", "pattern": _SIZE.pattern}],
                          "default": "8MiB",
                          "description": "larger YAML and JSON files are not read "
                                         "(GG-MANIFEST-010): bytes, or a size such as 512KiB "
                                         "or 10MB"},
        "fail_on": {"enum": ["error", "warning"], "default": "error",
                    "description": "the lowest severity that makes a run exit 1; --fail-on "
                                   "overrides it"},
        "baseline": {"type": "string", "minLength": 1, confine.READS: confine.PATH,
                     "description": "the baseline of known secrets, relative to this file "
                                    "(default: .gitops-guard-baseline.json beside it, when it "
                                    "exists)"},
        "render": {"enum": ["kustomize", "none"], "default": "none",
                   "description": "kustomize: the schema and policy checks read what "
                                  "`kustomize build` renders from each kustomization root "
                                  "(docs/render.md); --render overrides it"},
        # `off` is written unquoted, and YAML 1.1 reads it as false: accept both.
        "rules": {"type": "object",
                  "additionalProperties": {"enum": ["error", "warning", "info", "off", False]},
                  "description": "rule id -> level for this repository; off drops the rule's "
                                 "findings (and turns a policy off); no globs"},
        "waivers": {"type": "array", "description": "suppressions kept in the config, each "
                                                    "with a reason and an optional expiry",
                    "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["rules"],
            "properties": {
                "rules": {"type": "array", "minItems": 1,
                          "items": {"type": "string", "pattern": _RULE_PATTERN},
                          "description": "rule ids or shell globs (GG-SCHEMA-*, pss-restricted-*)"},
                "match": {"type": "object", "additionalProperties": False,
                          "description": "which findings it covers: every list given must "
                                         "match (any pattern in a list); none: everywhere",
                          "properties": {
                              "paths": globs_of("path globs, as in exclude"),
                              "kinds": globs_of("globs on the object's kind"),
                              "namespaces": globs_of("globs on metadata.namespace"),
                              "names": globs_of("globs on metadata.name")}},
                "reason": {"type": ["string", "null"],
                           "description": "why the findings are accepted; a waiver without "
                                          "one does not apply (GG-SUPPRESS-001)"},
                "expires": {"type": "string", "pattern": _DATE.pattern,
                            "description": "YYYY-MM-DD: applies through that day, then is "
                                           "reported (GG-SUPPRESS-002)"},
            },
        }},
    }
    for name, check in CHECKS.items():
        properties[name] = dict(check.config_schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "gitops-guard configuration (.gitops-guard.yaml)",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }


def find_config(explicit: str | None, environ: Mapping[str, str], cwd: Path,
                targets: Sequence[str] = ()) -> Path | None:
    """--config, else $GITOPS_GUARD_CONFIG, else the nearest .gitops-guard.yaml above what is
    checked (the directory the targets share, up to its git root), else above `cwd`."""
    if not explicit and not environ.get(ENV_VAR) and targets:
        shared = Path(os.path.commonpath([os.path.normpath(cwd / t) for t in targets]))
        start = shared if shared.is_dir() else shared.parent
        if start != cwd and (found := _search(start)) is not None:
            return found
    return _find_config(explicit, environ, cwd)


def _find_config(explicit: str | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    if explicit:
        path = Path(os.path.normpath(cwd / explicit))
        if not path.is_file():
            raise GuardError(f"config file not found: {explicit}")
        return path
    from_env = environ.get(ENV_VAR)
    if from_env:
        path = Path(os.path.normpath(cwd / from_env))
        if not path.is_file():
            raise GuardError(f"config file not found: {from_env} (from ${ENV_VAR})")
        return path
    return _search(cwd)


def _search(start: Path) -> Path | None:
    """Up to the git root; outside a work tree only `start` itself."""
    git_root = find_git_root(start)
    directories = [start]
    if git_root is not None and git_root != start:
        directories += [d for d in start.parents if d == git_root or git_root in d.parents]
    for directory in directories:
        for name in CONFIG_NAMES:
            if (directory / name).is_file():
                return directory / name
    return None


def load_config(path: Path | None, cwd: Path, *, allow_outside: bool = False) -> Config:
    """The config at `path`; a path it names outside its repository is an error unless
    `allow_outside` (--allow-outside-repo; confine.py)."""
    if path is None:
        # No config: the repository is still the unit (the default baseline sits at its root).
        return Config(root=find_git_root(cwd) or cwd)
    display = _display(path, cwd)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GuardError(f"cannot read config file: {exc}", path=display) from None
    try:
        documents = parse_yaml(text)
    except ParseFailure as failure:
        raise GuardError(failure.message, path=display, line=failure.line,
                         column=failure.column) from None
    if len(documents) > 1:
        raise GuardError("config file must hold one YAML document", path=display,
                         line=documents[1].node.start_mark.line + 1 if documents[1].node else None)
    document = documents[0] if documents else None
    data = document.data if document is not None else None
    root_node = document.node if document is not None else None
    if document is not None and document.duplicates:
        dup = document.duplicates[0]
        raise GuardError(f'duplicate key "{dup.key}" (first at line {dup.first_line})',
                         path=display, line=dup.line, column=dup.column)
    if data is None:
        data = {}
    config_schema = schema()
    # Before the schema check: validating `policy.paths` already reads those files.
    problems = [] if allow_outside else [
        (*_position(root_node, tokens), message)
        for tokens, message in confine.outside_paths(data, path.parent, config_schema)]
    problems = problems or _schema_problems(data, root_node, path.parent, config_schema)
    if problems:
        lines = [f"{display}:{line}:{column}: {message}" for line, column, message in problems]
        raise GuardError("invalid configuration:\n  " + "\n  ".join(lines))
    return _build(data, path, root_node)


def _display(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def _schema_problems(data: Any, root: Any, directory: Path,
                     config_schema: dict[str, Any]) -> list[tuple[int, int, str]]:
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(config_schema)
    problems = []
    for error in validator.iter_errors(data):
        tokens = [str(part) for part in error.instance_path]
        message = error.message
        at_key = False
        unexpected = getattr(error.kind, "unexpected", None)
        if unexpected:
            key = str(unexpected[0])
            tokens.append(key)
            at_key = True
            message = f"unknown key {key!r}" + _suggest(
                key, _allowed_keys(config_schema, tokens[:-1]))
        where = f"{jp.dotted(tokens)}: " if tokens and not at_key else ""
        line, column = _position(root, tokens, at_key)
        problems.append((line, column, where + message))
    problems.extend(_semantic_problems(data, root, directory))
    return sorted(set(problems))


def _allowed_keys(config_schema: Mapping[str, Any], tokens: list[str]) -> list[str]:
    node: Any = config_schema
    for token in tokens:
        if "properties" in node and token in node["properties"]:
            node = node["properties"][token]
        elif "items" in node:
            node = node["items"]
        else:
            return []
    if "items" in node and "properties" not in node:
        node = node["items"]
    return list(node.get("properties", {}))


def _suggest(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _position(root: Any, tokens: list[str], at_key: bool = False) -> tuple[int, int]:
    node = node_at(root, tokens, at_key)
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def _semantic_problems(data: Any, root: Any, directory: Path) -> list[tuple[int, int, str]]:
    """What a JSON schema cannot say: unknown rule ids, bad globs, impossible dates."""
    if not isinstance(data, dict):
        return []
    known = rules_for({name: data[name] for name in CHECKS if isinstance(data.get(name), dict)},
                      directory)
    problems = []
    rules = data.get("rules")
    if isinstance(rules, dict):
        for rule_id in rules:
            if rule_id not in known:
                line, column = _position(root, ["rules", rule_id], at_key=True)
                problems.append((line, column, f"unknown rule id {rule_id!r}"
                                 + _suggest(rule_id, list(known))))
    waivers = data.get("waivers")
    for index, waiver in enumerate(waivers if isinstance(waivers, list) else []):
        if not isinstance(waiver, dict):
            continue
        for position, pattern in enumerate(_list(waiver.get("rules"))):
            if isinstance(pattern, str) and not any(
                    fnmatch.fnmatchcase(rule_id, pattern) for rule_id in known):
                line, column = _position(root, ["waivers", str(index), "rules", str(position)])
                problems.append((line, column, f"waiver names no known rule: {pattern!r}"
                                 + _suggest(pattern, list(known))))
        expires = waiver.get("expires")
        if isinstance(expires, str) and _DATE.match(expires) and _parse_date(expires) is None:
            line, column = _position(root, ["waivers", str(index), "expires"])
            problems.append((line, column, f"expires is not a real date: {expires!r}"))
        match = waiver.get("match")
        for pattern in _list(match.get("paths")) if isinstance(match, dict) else []:
            if isinstance(pattern, str) and not globs.valid(pattern):
                line, column = _position(root, ["waivers", str(index), "match", "paths"])
                problems.append((line, column, f"invalid path glob {pattern!r}"))
    for position, pattern in enumerate(_list(data.get("exclude"))):
        if isinstance(pattern, str) and not globs.valid(pattern):
            line, column = _position(root, ["exclude", str(position)])
            problems.append((line, column, f"invalid glob {pattern!r}"))
    for position, name in enumerate(_list(data.get("checks"))):
        if isinstance(name, str) and name in CHECKS and CHECKS[name].reads_history:
            line, column = _position(root, ["checks", str(position)])
            problems.append((line, column, f"checks[{position}]: the {name} check reads git "
                             f"history, not files: run `gitops-guard {name} check`"))
    for name, check in CHECKS.items():
        section = data.get(name)
        if check.config_problems is not None and isinstance(section, dict):
            for tokens, message in check.config_problems(section):
                line, column = _position(root, [name, *tokens])
                where = name + "".join(f"[{t}]" if t.isdigit() else f".{t}" for t in tokens)
                problems.append((line, column, f"{where}: {message}"))
    return problems


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _parse_date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def parse_size(value: int | str) -> int:
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"not a size: {value!r}")
    number, unit = match.groups()
    return int(number) * _UNITS[(unit or "").lower()]


def _build(data: dict[str, Any], path: Path, root_node: Any) -> Config:
    checks = data.get("checks")
    waivers = []
    for index, raw in enumerate(data.get("waivers") or []):
        match = raw.get("match") or {}
        line, column = _position(root_node, ["waivers", str(index)])
        expires = raw.get("expires")
        waivers.append(Waiver(
            rules=tuple(raw["rules"]),
            reason=(raw.get("reason") or "").strip(),
            expires=_parse_date(expires) if expires else None,
            paths=tuple(match.get("paths") or ()),
            kinds=tuple(match.get("kinds") or ()),
            namespaces=tuple(match.get("namespaces") or ()),
            names=tuple(match.get("names") or ()),
            line=line,
            column=column,
            index=index,
        ))
    rules = {rule_id: None if level in ("off", False) else Severity(level)
             for rule_id, level in (data.get("rules") or {}).items()}
    return Config(
        path=path,
        root=path.parent,
        checks=tuple(checks) if checks is not None else None,
        exclude=tuple(data.get("exclude") or ()),
        max_file_size=parse_size(data.get("max_file_size", DEFAULT_MAX_FILE_SIZE)),
        fail_on=Severity(data.get("fail_on", "error")),
        rules=rules,
        waivers=tuple(waivers),
        sections={name: data[name] for name in CHECKS if isinstance(data.get(name), dict)},
        baseline=Path(os.path.normpath(path.parent / data["baseline"]))
        if data.get("baseline") else None,
        render=data["render"] if data.get("render", "none") != "none" else None,
    )
