"""The rules policies define, read cheaply (ids, titles, severities; nothing compiled): the
catalog needs them on every run, the policies themselves only when the check runs."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gitops_guard.findings import Rule, Severity
from gitops_guard.policy.load import policy_files

PACKAGE_POLICIES = Path(__file__).resolve().parents[2] / "policies"  # inside the wheel
SOURCE_POLICIES = Path(__file__).resolve().parents[3] / "policies"  # in a checkout


def builtin_directory() -> Path:
    return PACKAGE_POLICIES if PACKAGE_POLICIES.is_dir() else SOURCE_POLICIES


def user_paths(section: Mapping[str, Any], root: Path) -> list[Path]:
    return [root / entry for entry in section.get("paths", ()) if isinstance(entry, str)]


def data_rules(section: Mapping[str, Any], root: Path) -> tuple[Rule, ...]:
    """The built-in pack's rules ({} section), or those of the section's own policies."""
    if not section:
        return _rules((builtin_directory(),))
    paths = tuple(path for path in user_paths(section, root) if path.exists())
    return _rules(paths) if paths else ()


@functools.lru_cache(maxsize=16)
def _rules(paths: tuple[Path, ...]) -> tuple[Rule, ...]:
    rules = []
    for file in policy_files(list(paths)):
        try:
            documents = list(yaml.load_all(file.read_text(encoding="utf-8"),
                                           Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # the policy check reports the file when it loads it
        for document in documents:
            rule = _rule(document)
            if rule is not None:
                rules.append(rule)
    return tuple(rules)


def _rule(document: Any) -> Rule | None:
    spec = document.get("spec") if isinstance(document, dict) else None
    if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
        return None
    severity = spec.get("severity", "error")
    pss = spec.get("pss")
    if isinstance(pss, dict) and pss.get("level") == "restricted":
        severity = "warning"  # under the default profile
    try:
        level = Severity(severity)
    except ValueError:
        level = Severity.ERROR
    title = str(spec.get("title") or spec["id"])
    description = " ".join(str(spec.get("description") or title).split())
    summary = description.split(". ")[0].rstrip(".") + "."  # the first sentence
    name = "".join(word[:1].upper() + word[1:] for word in title.replace("-", " ").split())
    return Rule(spec["id"], name, level, summary)
