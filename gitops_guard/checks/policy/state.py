"""The policy check: load the policies once, find each namespace's Pod Security level, then
evaluate every object against the policies that apply to it."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_guard import repo_context
from gitops_guard.checks.base import CheckContext, RunInfo
from gitops_guard.checks.policy.catalog import builtin_directory, user_paths
from gitops_guard.config import Config
from gitops_guard.documents import DocRole, Document
from gitops_guard.errors import GuardError
from gitops_guard.findings import Problem, Severity
from gitops_guard.kustomize import patch_files
from gitops_guard.loader import load_file
from gitops_guard.policy.evaluate import (
    LATEST_PSS_VERSION,
    Environment,
    EvaluationError,
    evaluate_all,
)
from gitops_guard.policy.load import load_policy_files
from gitops_guard.policy.model import Policy
from gitops_guard.policy.podspec import PodSpecPath

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
_VERSION = re.compile(r"^v?1\.([0-9]+)(\.[0-9]+)?$")


@dataclass(frozen=True)
class PolicyState:
    policies: tuple[Policy, ...]
    default: Environment
    namespaces: Mapping[str, Environment]  # Namespace objects in the run (and its repo_context)
    # Kustomize strategic-merge patches: partial objects, which whole-object policies would
    # misjudge (a patch that sets only the image "has no securityContext").
    patches: frozenset[Path]

    def environment(self, namespace: str) -> Environment:
        return self.namespaces.get(namespace, self.default)


def prepare(info: RunInfo) -> PolicyState:
    settings = info.config.section("policy")
    policies = active_policies(info.config)
    extra = pod_spec_paths(settings)
    default = Environment(parse_pss_version(settings.get("pss_version")),
                          settings.get("profile", "baseline"), extra)
    # Namespaces among the run's files and, for a partial run (a hook), elsewhere in the repo.
    namespaces = _namespace_levels(repo_context.with_namespaces(info), default, extra)
    return PolicyState(policies, default, namespaces,
                       patch_files(info.paths))


def active_policies(config: Config,
                    policies: tuple[Policy, ...] | None = None) -> tuple[Policy, ...]:
    """The built-in packs that are on and the team's policies; off by default unless named
    with a level in `rules:`, and never those `rules:` turns off."""
    packs = config.section("policy").get("packs", {})
    return tuple(policy for policy in (policies or all_policies(config))
                 if packs.get(policy.pack, True) and _wanted(policy, config))


def all_policies(config: Config) -> tuple[Policy, ...]:
    """Every policy the config can use, on or off."""
    settings = config.section("policy")
    found = list(_builtin())
    paths = user_paths(settings, config.root)
    missing = [path for path in paths if not path.exists()]
    if missing:
        raise GuardError(f"policy.paths: {missing[0]} does not exist")
    if paths:
        found += load_policy_files(paths)
    ids: dict[str, Policy] = {}
    for policy in found:
        if policy.id in ids:
            first = ids[policy.id]
            raise GuardError(f"policy id {policy.id!r} is also defined at {first.path}:"
                             f"{first.line}", path=str(policy.path), line=policy.line)
        ids[policy.id] = policy
    return tuple(found)


def _wanted(policy: Policy, config: Config) -> bool:
    if policy.id in config.rules:
        return config.rules[policy.id] is not None
    return policy.enabled


@functools.lru_cache(maxsize=1)
def _builtin() -> tuple[Policy, ...]:
    return load_policy_files([builtin_directory()])


def pod_spec_paths(settings: Mapping[str, Any]) -> tuple[PodSpecPath, ...]:
    return tuple(PodSpecPath(entry["apiVersion"], entry["kind"], entry["path"])
                 for entry in settings.get("pod_spec_paths", ()))


def parse_pss_version(text: Any) -> int:
    if text in (None, "", "latest"):
        return LATEST_PSS_VERSION
    match = _VERSION.match(str(text))
    if match is None:
        raise GuardError(f"not a Pod Security Standards version: {text!r} (1.NN or latest)")
    minor = int(match[1])
    if minor > LATEST_PSS_VERSION:
        raise GuardError(f"Pod Security Standards version {text} is newer than the newest "
                         f"known (1.{LATEST_PSS_VERSION})")
    return minor


def _namespace_levels(info: RunInfo, default: Environment,
                      extra: tuple[PodSpecPath, ...]) -> Mapping[str, Environment]:
    """The level and version each Namespace object in the run enforces (its PSA labels)."""
    levels: dict[str, Environment] = {}
    for path in info.paths:
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            continue
        try:  # a candidate's staged content with --staged, else the file
            raw = info.read_bytes(path, info.config.max_file_size + 1)
        except OSError:
            continue
        if b"Namespace" not in raw or ENFORCE_LABEL.encode() not in raw:
            continue  # the cheap test keeps this a read, not a parse, for most files
        source = load_file(path, str(path), info.config.max_file_size,
                           content=info.contents.get(path))
        for document in source.documents:
            found = _namespace(document, default, extra)
            if found is not None:
                levels[found[0]] = found[1]
    return levels


def _namespace(document: Document, default: Environment,
               extra: tuple[PodSpecPath, ...]) -> tuple[str, Environment] | None:
    data = document.data
    if not isinstance(data, dict) or data.get("kind") != "Namespace" or \
            data.get("apiVersion") != "v1":
        return None
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    labels = metadata.get("labels")
    labels = labels if isinstance(labels, dict) else {}
    name, level = metadata.get("name"), labels.get(ENFORCE_LABEL)
    if not isinstance(name, str) or level not in ("privileged", "baseline", "restricted"):
        return None
    # "latest", none, or one the tool does not know: the cluster's own, which is the version
    # being checked against.
    version = default.pss_version
    label = labels.get(ENFORCE_VERSION_LABEL)
    match = _VERSION.match(label) if isinstance(label, str) else None
    if match is not None and int(match[1]) <= LATEST_PSS_VERSION:
        version = int(match[1])
    return name, Environment(version, level, extra)


def check_document(document: Document, ctx: CheckContext) -> Iterator[Problem]:
    if document.role is not DocRole.RESOURCE or not isinstance(document.data, dict):
        return
    state: PolicyState = ctx.state
    if document.path in state.patches:
        return
    metadata = document.data.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    env = state.environment(namespace if isinstance(namespace, str) else "")
    for result in evaluate_all(state.policies, document.data, env):
        severity = _severity(result.policy, env)
        for outcome in result.outcomes:
            if isinstance(outcome, EvaluationError):
                yield Problem(outcome.policy_id, f"the policy could not be evaluated on this "
                              f"object: {outcome.message} ({_where(outcome.path)}:"
                              f"{outcome.line})", severity=Severity.WARNING)
            else:
                yield Problem(outcome.policy_id, outcome.message, outcome.pointer,
                              severity=severity)


def _severity(policy: Policy, env: Environment) -> Severity:
    """PSS: an error at or below the level in force, a warning above it."""
    if policy.pss is None:
        return policy.severity
    if policy.pss.level == "restricted" and env.pss_level != "restricted":
        return Severity.WARNING
    return Severity.ERROR


def severity_of(policy: Policy, profile: str,
                rules: Mapping[str, Severity | None]) -> Severity:
    """The level `policy list` shows: `rules:` in the config, else by the profile."""
    chosen = rules.get(policy.id)
    if chosen is not None:
        return chosen
    return _severity(policy, Environment(LATEST_PSS_VERSION, profile))


def _where(path: Path) -> str:
    builtin = builtin_directory()
    try:
        return f"built-in {path.relative_to(builtin).as_posix()}"
    except ValueError:
        return str(path)
