"""`.gitops-guard.yaml` loading (config.load_config) under generated and arbitrary files.

- A generated valid config, dumped to YAML, loads to the Config it says: checks, exclude,
  max_file_size (integer or size text), fail_on, rule levels (`off` quoted or not), waivers
  (rules and globs, reason, expires, match) with the line and column each is written at, and
  the baseline path.
- Any file (bytes, YAML-ish text, or YAML data under the config's own keys) loads or raises
  GuardError naming the file: never another exception.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from gitops_guard.catalog import rules_for
from gitops_guard.checks import CHECKS
from gitops_guard.config import Config, Waiver, load_config, parse_size, schema
from gitops_guard.errors import GuardError
from gitops_guard.findings import Severity
from tests.properties.strategies import KubeDumper, budget, json_like, unicode_text, yamlish_text

NAME = ".gitops-guard.yaml"


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gg-config-props-") as name:
        yield Path(name)


KNOWN = sorted(rules_for({}, Path.cwd()))
FILE_CHECKS = sorted(name for name, check in CHECKS.items() if not check.reads_history)
# Globs `globs.valid` accepts: path segments, `*`, `**`, `?`.
segments = st.from_regex(r"\A[a-z0-9_.-]{1,8}\Z").filter(lambda s: s not in (".", ".."))
globs = st.lists(st.one_of(segments, st.sampled_from(["*", "**", "*.yaml", "?x"])),
                 min_size=1, max_size=3).map("/".join)
sizes = st.one_of(
    st.integers(1, 2**40),
    st.builds(lambda n, unit, pad: f"{pad}{n}{pad}{unit}", st.integers(1, 10**6),
              st.sampled_from(["", "B", "k", "KB", "Ki", "KiB", "m", "MB", "Mi", "g", "GiB"]),
              st.sampled_from(["", " "])))
levels = st.sampled_from(["error", "warning", "info", "off", False])


@st.composite
def rule_patterns(draw: st.DrawFn) -> str:
    """A known rule id, or a glob made from one (so it names a known rule)."""
    rule = draw(st.sampled_from(KNOWN))
    cut = draw(st.integers(1, len(rule)))
    return draw(st.sampled_from([rule, rule[:cut] + "*", rule[:cut - 1] + "?" + rule[cut:]]))


@st.composite
def waivers(draw: st.DrawFn) -> dict[str, Any]:
    waiver: dict[str, Any] = {"rules": draw(st.lists(rule_patterns(), min_size=1, max_size=3))}
    reason = draw(st.none() | unicode_text)
    if reason is not None or draw(st.booleans()):
        waiver["reason"] = reason
    if draw(st.booleans()):
        waiver["expires"] = draw(st.dates()).isoformat()
    match: dict[str, list[str]] = {}
    for key, values in (("paths", globs), ("kinds", unicode_text.filter(bool)),
                        ("namespaces", unicode_text.filter(bool)),
                        ("names", unicode_text.filter(bool))):
        if draw(st.booleans()):
            match[key] = draw(st.lists(values, min_size=1, max_size=2))
    if draw(st.booleans()) or match:
        waiver["match"] = match
    return waiver


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    parts: dict[str, Any] = {
        "checks": st.lists(st.sampled_from(FILE_CHECKS), min_size=1, unique=True),
        "exclude": st.lists(globs, max_size=3),
        "max_file_size": sizes,
        "fail_on": st.sampled_from(["error", "warning"]),
        "rules": st.dictionaries(st.sampled_from(KNOWN), levels, max_size=4),
        "waivers": st.lists(waivers(), max_size=3),
        "baseline": st.one_of(segments, st.builds("{}/{}".format, segments, segments)),
        "manifest": st.just({}),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(parts)), unique=True))
    return {name: draw(parts[name]) for name in chosen}


def write_config(workdir: Path, content: str | bytes) -> Path:
    path = workdir / NAME
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def expected_waiver(raw: dict[str, Any], index: int, text: str) -> Waiver:
    match = raw.get("match") or {}
    expires = raw.get("expires")
    # The waiver starts at its first key, `rules:`, after the `- ` of its item.
    lines = text.splitlines()
    starts = [(number, line.index("rules:") + 1) for number, line in enumerate(lines, start=1)
              if line.lstrip(" -").startswith("rules:") and line.lstrip(" ").startswith("- ")]
    line, column = starts[index]
    return Waiver(rules=tuple(raw["rules"]), reason=(raw.get("reason") or "").strip(),
                  expires=datetime.date.fromisoformat(expires) if expires else None,
                  paths=tuple(match.get("paths", ())), kinds=tuple(match.get("kinds", ())),
                  namespaces=tuple(match.get("namespaces", ())),
                  names=tuple(match.get("names", ())), line=line, column=column, index=index)


@given(data=configs(), flow=st.booleans())
@example(data={"rules": {"GG-MANIFEST-005": "off", "GG-MANIFEST-002": False},
               "max_file_size": " 2 MiB", "waivers": [{"rules": ["GG-SCHEMA-*"],
                                                       "reason": " legacy ",
                                                       "expires": "2030-02-28"}]},
         flow=False)
@budget(2)
def test_a_valid_config_loads_to_what_it_says(workdir: Path, data: dict[str, Any],
                                              flow: bool) -> None:
    text = yaml.dump(data, Dumper=KubeDumper, allow_unicode=True,
                     width=10_000 if flow else 80)
    path = write_config(workdir, text)
    config = load_config(path, workdir)
    rules = {rule: None if level in ("off", False) else Severity(level)
             for rule, level in data.get("rules", {}).items()}
    baseline = data.get("baseline")
    assert config == Config(
        path=path, root=workdir,
        checks=tuple(data["checks"]) if "checks" in data else None,
        exclude=tuple(data.get("exclude", ())),
        max_file_size=parse_size(data.get("max_file_size", 8 * 1024 * 1024)),
        fail_on=Severity(data.get("fail_on", "error")),
        rules=rules,
        waivers=tuple(expected_waiver(raw, index, text)
                      for index, raw in enumerate(data.get("waivers", []))),
        sections={"manifest": {}} if "manifest" in data else {},
        baseline=Path(os.path.normpath(workdir / baseline)) if baseline else None)


# -- arbitrary files --------------------------------------------------------------------------

TOP_KEYS = sorted(schema()["properties"])


def _safe_sections(data: dict[str, Any]) -> dict[str, Any]:
    """Policy paths name files to read: keep them inside the temporary directory."""
    policy = data.get("policy")
    if isinstance(policy, dict) and "paths" in policy:
        policy["paths"] = ["missing-policies"]
    return data


schema_shaped = st.dictionaries(
    st.one_of(st.sampled_from(TOP_KEYS), unicode_text),
    st.one_of(json_like(infinity=True),
              st.dictionaries(st.sampled_from(["paths", "rules", "match", "reason", "expires",
                                               "allow_regexes", "stopwords", "profile",
                                               "kinds", "strict", "environments"]),
                              json_like(infinity=True), max_size=4)),
    max_size=5).map(_safe_sections)


# Once an internal error (TypeError): values of the wrong type the schema had rejected.
WRONG_TYPES = [
    "exclude: true\n",
    "waivers: [{rules: 5, reason: x}]\n",
    "waivers: [{rules: [GG-MANIFEST-001], match: {paths: 1.5}, reason: x}]\n",
]


@pytest.mark.parametrize("text", WRONG_TYPES)
def test_a_value_of_the_wrong_type_is_a_guard_error(workdir: Path, text: str) -> None:
    with pytest.raises(GuardError, match="invalid configuration"):
        load_config(write_config(workdir, text), workdir)


def assert_loads_or_guard_error(path: Path, workdir: Path) -> None:
    try:
        config = load_config(path, workdir)
    except GuardError as error:
        assert NAME in str(error)
    else:
        assert isinstance(config, Config)


@given(content=st.one_of(st.binary(max_size=200), yamlish_text, unicode_text))
@example(content=b"\xef\xbb\xbfchecks: [manifest]\n")
@example(content=b"max_file_size: 18446744073709551616999\n")
@example(content=b"rules: {GG-MANIFEST-005: off}\n---\nrules: {}\n")
@example(content=b"a: &a [*a]\n")
@example(content=b"waivers: [{rules: ['['], expires: 2024-02-30}]\n")
@example(content=b"\xff\xfe")
def test_any_file_loads_or_raises_guard_error(workdir: Path, content: str | bytes) -> None:
    assert_loads_or_guard_error(write_config(workdir, content), workdir)


@given(data=schema_shaped)
@example(data={"secrets": {"allow_regexes": ["(", "a{99999999999999999999}"]}})
@example(data={"max_file_size": float("inf")})
@example(data={"waivers": [{"rules": ["*"], "match": {"paths": ["["]}}]})
@budget(2)
def test_config_shaped_data_loads_or_raises_guard_error(workdir: Path,
                                                        data: dict[str, Any]) -> None:
    text = yaml.dump(data, Dumper=KubeDumper, allow_unicode=False)
    assert_loads_or_guard_error(write_config(workdir, text), workdir)
