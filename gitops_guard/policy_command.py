"""`gitops-guard policy list` and `gitops-guard policy test`.

`policy test` runs a team's policy unit tests, like `kyverno test` or `conftest verify`: a
`gitops-guard-test.yaml` names policy files, manifests, and the result each policy must give
on each manifest (pass, fail or skip).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gitops_guard.config import find_config, load_config
from gitops_guard.errors import GuardError
from gitops_guard.yamlio import ParseFailure, node_at, parse_yaml

TEST_FILE = "gitops-guard-test.yaml"
RESULTS = ("pass", "fail", "skip")


def policy_list(config_file: str | None, show_all: bool, out: TextIO, *,
                allow_outside: bool = False) -> int:
    from gitops_guard.checks.policy.catalog import builtin_directory
    from gitops_guard.checks.policy.state import active_policies, all_policies, severity_of

    cwd = Path.cwd()
    config = load_config(find_config(config_file, os.environ, cwd), cwd,
                         allow_outside=allow_outside)
    policies = all_policies(config)
    active = {id(policy) for policy in active_policies(config, policies)}
    profile = config.section("policy").get("profile", "baseline")
    rows = []
    for policy in policies:
        on = id(policy) in active
        if not on and not show_all:
            continue
        try:
            source = "built-in " + policy.path.relative_to(builtin_directory()).as_posix()
        except ValueError:
            source = f"{_shown(policy.path, cwd)}:{policy.line}"
        level = severity_of(policy, profile, config.rules).value
        rows.append((policy.id, level, policy.pack, "on" if on else "off", source))
    width = max((len(row[0]) for row in rows), default=2)
    for row in rows:
        out.write(f"{row[0]:<{width}}  {row[1]:<7}  {row[2]:<15} {row[3]:<3}  {row[4]}\n")
    return 0


def _shown(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


# -- policy test -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expectation:
    policy: str
    resource: str  # Kind/name or Kind/namespace/name
    result: str
    line: int


@dataclass(frozen=True)
class TestFile:
    path: Path
    policies: tuple[Path, ...]
    resources: tuple[Path, ...]
    profile: str
    pss_version: str | None
    expectations: tuple[Expectation, ...]


def policy_test(directories: Sequence[Path], out: TextIO) -> int:
    files = sorted({file for directory in directories for file in _test_files(directory)})
    if not files:
        raise GuardError(f"no {TEST_FILE} under {', '.join(map(str, directories))}")
    failed = passed = 0
    for file in files:
        test = _read_test(file)
        for line, ok in _run(test):
            out.write(line + "\n")
            passed += ok
            failed += not ok
    out.write(f"{passed} passed, {failed} failed ({len(files)} test file"
              f"{'s' if len(files) != 1 else ''})\n")
    return 1 if failed else 0


def _test_files(directory: Path) -> list[Path]:
    if directory.is_file():
        return [directory]
    if not directory.is_dir():
        raise GuardError(f"{directory} does not exist")
    return [path for path in directory.rglob(TEST_FILE) if ".git" not in path.parts]


_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["policies", "resources", "results"],
    "properties": {
        "name": {"type": "string"},
        "policies": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "resources": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "profile": {"enum": ["baseline", "restricted"]},
        "pssVersion": {"type": "string"},
        "results": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["policy", "resources", "result"],
            "properties": {
                "policy": {"type": "string", "minLength": 1},
                "resources": {"type": "array", "minItems": 1,
                              "items": {"type": "string", "minLength": 1}},
                "result": {"enum": list(RESULTS)},
            }}},
    },
}


def _read_test(file: Path) -> TestFile:
    import jsonschema_rs

    where = str(file)
    try:
        documents = parse_yaml(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GuardError(f"cannot read: {exc}", path=where) from None
    except ParseFailure as exc:
        raise GuardError(exc.message, path=where, line=exc.line, column=exc.column) from None
    if len(documents) != 1 or documents[0].duplicates:
        raise GuardError("a test file is one YAML document without duplicate keys", path=where)
    data, root = documents[0].data, documents[0].node
    for error in jsonschema_rs.validator_for(_SCHEMA).iter_errors(data):
        tokens = [str(part) for part in error.instance_path]
        node = node_at(root, tokens)
        line = node.start_mark.line + 1 if node is not None else None
        raise GuardError(f"{'.'.join(tokens) or 'the test'}: {error.message}", path=where,
                         line=line)
    base = file.parent
    expectations = []
    for index, entry in enumerate(data["results"]):
        node = node_at(root, ["results", str(index)])
        line = node.start_mark.line + 1 if node is not None else 0
        expectations += [Expectation(entry["policy"], resource, entry["result"], line)
                         for resource in entry["resources"]]
    return TestFile(file, tuple(base / p for p in data["policies"]),
                    tuple(base / r for r in data["resources"]), data.get("profile", "baseline"),
                    data.get("pssVersion"), tuple(expectations))


def _run(test: TestFile) -> list[tuple[str, bool]]:
    from gitops_guard.checks.policy.state import parse_pss_version
    from gitops_guard.loader import load_file
    from gitops_guard.policy.evaluate import Environment, EvaluationError, applies, evaluate
    from gitops_guard.policy.load import load_policy_files

    policies = {policy.id: policy for policy in load_policy_files(list(test.policies))}
    objects: dict[str, dict[str, Any]] = {}
    for path in test.resources:
        source = load_file(path, str(path), 8 * 1024 * 1024)
        if source.error is not None:
            raise GuardError(source.error.message, path=str(path), line=source.error.line)
        for document in source.documents:
            if isinstance(document.data, dict):
                for name in _names(document.data):
                    objects[name] = document.data
    env_cache: dict[str, Environment] = {}
    lines = []
    shown = test.path.as_posix()
    for expected in test.expectations:
        label = f"{shown}:{expected.line}: {expected.policy} on {expected.resource}"
        policy = policies.get(expected.policy)
        obj = objects.get(expected.resource)
        if policy is None or obj is None:
            missing = "policy" if policy is None else "resource"
            lines.append((f"FAIL  {label}: no such {missing}", False))
            continue
        level = test.profile
        env = env_cache.setdefault(level, Environment(parse_pss_version(test.pss_version),
                                                      level))
        if not applies(policy, obj, env):
            got = "skip"
        else:
            outcomes = evaluate(policy, obj, env)
            errors = [o for o in outcomes if isinstance(o, EvaluationError)]
            if errors:
                lines.append((f"FAIL  {label}: the policy could not be evaluated: "
                              f"{errors[0].message}", False))
                continue
            got = "fail" if outcomes else "pass"
        ok = got == expected.result
        note = "" if ok else f" (expected {expected.result})"
        lines.append((f"{'PASS' if ok else 'FAIL'}  {label}: {got}{note}", ok))
    return lines


def _names(data: dict[str, Any]) -> list[str]:
    """How a test names an object: Kind/name, Kind/namespace/name."""
    kind = data.get("kind")
    metadata = data.get("metadata")
    if not isinstance(kind, str) or not isinstance(metadata, dict):
        return []
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str):
        return []
    names = [f"{kind}/{name}"]
    if isinstance(namespace, str):
        names.append(f"{kind}/{namespace}/{name}")
    return names
