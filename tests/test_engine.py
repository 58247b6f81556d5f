"""The engine: parallel runs equal serial ones, small runs stay in-process, fingerprints."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from gitops_guard import engine, workers
from gitops_guard.config import Config
from gitops_guard.findings import ResourceRef, fingerprint
from tests.conftest import GOOD_CONFIGMAP, NAMELESS_CONFIGMAP, write

TODAY = datetime.date(2026, 1, 1)


def corpus(root: Path, files: int) -> None:
    contents: dict[str, str | bytes] = {}
    for i in range(files):
        kind = i % 4
        if kind == 0:
            contents[f"apps/{i:03d}.yaml"] = GOOD_CONFIGMAP.replace("good", f"g{i}")
        elif kind == 1:
            contents[f"apps/{i:03d}.yaml"] = NAMELESS_CONFIGMAP
        elif kind == 2:
            contents[f"apps/{i:03d}.yaml"] = "a: [\n"
        else:
            contents[f"apps/{i:03d}.json"] = '{"apiVersion": "v1", "kind": "X", "kind": "Y"}'
    write(root, contents)


def test_parallel_equals_serial(tmp_path: Path) -> None:
    corpus(tmp_path, engine.PARALLEL_MIN_FILES * 3)
    config = Config(root=tmp_path)
    serial = engine.run([], config, ("manifest",), cwd=tmp_path, jobs=1, today=TODAY)
    parallel = engine.run([], config, ("manifest",), cwd=tmp_path, jobs=2, today=TODAY)
    # per four files: none, one (no name), one (syntax), two (duplicate kind, no name)
    assert len(serial.findings) == engine.PARALLEL_MIN_FILES * 3
    assert parallel.findings == serial.findings
    assert parallel.files == serial.files
    assert parallel.errors == serial.errors
    assert parallel.documents == serial.documents


def test_small_runs_do_not_start_workers(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    corpus(tmp_path, 8)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a small run started worker processes")

    monkeypatch.setattr(workers, "map_chunks", no_pool)
    result = engine.run([], Config(root=tmp_path), ("manifest",), cwd=tmp_path, jobs=8,
                        today=TODAY)
    assert len(result.files) == 8


def test_findings_are_sorted_by_path_then_line(tmp_path: Path) -> None:
    write(tmp_path, {"b.yaml": NAMELESS_CONFIGMAP,
                     "a.yaml": "apiVersion: v1\nkind: X\nkind: Z\nmetadata: {}\n"})
    result = engine.run([], Config(root=tmp_path), ("manifest",), cwd=tmp_path, today=TODAY)
    assert [(f.path, f.line) for f in result.findings] == [("a.yaml", 3), ("a.yaml", 4),
                                                          ("b.yaml", 3)]


RESOURCE = ResourceRef("v1", "ConfigMap", "prod", "web")


@pytest.mark.parametrize(("a", "b", "same"), [
    (("GG-X-001", "a.yaml", RESOURCE, "/data", "", None),
     ("GG-X-001", "a.yaml", RESOURCE, "/data", "", None), True),
    # the engine passes where the document sits only for objects without a name
    (("GG-X-001", "a.yaml", None, "/data", "", "0"),
     ("GG-X-001", "a.yaml", None, "/data", "", "3"), False),
    (("GG-X-001", "a.yaml", None, "", "", "1/items/0"),
     ("GG-X-001", "a.yaml", None, "", "", "1/items/1"), False),
    (("GG-X-001", "a.yaml", RESOURCE, "/data", "", None),
     ("GG-X-002", "a.yaml", RESOURCE, "/data", "", None), False),
    (("GG-X-001", "a.yaml", RESOURCE, "/data", "", None),
     ("GG-X-001", "b.yaml", RESOURCE, "/data", "", None), False),
    (("GG-X-001", "a.yaml", RESOURCE, "/data", "", None),
     ("GG-X-001", "a.yaml", RESOURCE._replace(name="api"), "/data", "", None), False),
    (("GG-X-001", "a.yaml", RESOURCE, "/data", "", None),
     ("GG-X-001", "a.yaml", RESOURCE, "/data/x", "", None), False),
    (("GG-X-001", "a.yaml", RESOURCE, "/data", "hash1", None),
     ("GG-X-001", "a.yaml", RESOURCE, "/data", "hash2", None), False),
])
def test_fingerprint_identity(a: tuple, b: tuple, same: bool) -> None:  # type: ignore[type-arg]
    assert (fingerprint(*a) == fingerprint(*b)) is same


def test_pure_python_yaml_fallback_gives_the_same_report() -> None:
    """Without libyaml (PyYAML built without it), the run still works and agrees."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    program = """
import sys
if sys.argv[1] == "pure":
    sys.modules["yaml.cyaml"] = None  # as if PyYAML had no C extension
from gitops_guard import yamlio
from gitops_guard.cli import main
assert yamlio.HAS_LIBYAML is (sys.argv[1] != "pure")
sys.exit(main(["check", "--format", "json", "examples", "tests/examples"]))
"""
    outputs = {}
    for mode in ("pure", "libyaml"):
        result = subprocess.run([sys.executable, "-c", program, mode], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=False)
        assert result.returncode == 1, result.stderr
        report = json.loads(result.stdout)
        # The parsers word syntax errors differently; positions and everything else agree.
        for entry in report["findings"] + report["errors"]:
            if entry.get("rule", "GG-MANIFEST-001") == "GG-MANIFEST-001":
                entry["message"] = "<syntax error>"
        outputs[mode] = report
    assert outputs["pure"] == outputs["libyaml"]
    assert len(outputs["pure"]["findings"]) > 10


def test_fingerprints_tell_unnamed_objects_apart_and_ignore_position_of_named_ones(
        tmp_path: Path) -> None:
    two_nameless = NAMELESS_CONFIGMAP + "---\n" + NAMELESS_CONFIGMAP
    named = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"
    write(tmp_path, {"nameless.yaml": two_nameless, "named.yaml": named})
    first = engine.run([], Config(root=tmp_path), ("manifest",), cwd=tmp_path, today=TODAY)
    prints = {f.path: [] for f in first.findings}  # type: dict[str, list[str]]
    for finding in first.findings:
        prints[finding.path].append(finding.fingerprint)
    assert len(set(prints["nameless.yaml"])) == 2
    write(tmp_path, {"named.yaml": GOOD_CONFIGMAP + "---\n" + named})
    second = engine.run([], Config(root=tmp_path), ("manifest",), cwd=tmp_path, today=TODAY)
    assert [f.fingerprint for f in second.findings if f.path == "named.yaml"] == prints[
        "named.yaml"]


def test_syntax_error_fingerprint_survives_lines_added_above(tmp_path: Path) -> None:
    write(tmp_path, {"bad.yaml": "a: 1\nb: [\n"})
    first = engine.run([], Config(root=tmp_path), ("manifest",), cwd=tmp_path, today=TODAY)
    write(tmp_path, {"bad.yaml": "# note\n\na: 1\nb: [\n"})
    second = engine.run([], Config(root=tmp_path), ("manifest",), cwd=tmp_path, today=TODAY)
    assert [f.line for f in first.findings] == [3]
    assert [f.line for f in second.findings] == [5]
    assert first.findings[0].fingerprint == second.findings[0].fingerprint


def test_repeated_duplicates_have_distinct_fingerprints(tmp_path: Path) -> None:
    write(tmp_path, {"dup.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
                                 "  name: b\n  name: c\n"})
    result = engine.run([], Config(root=tmp_path), ("manifest",), cwd=tmp_path, today=TODAY)
    assert [f.rule for f in result.findings] == ["GG-MANIFEST-002", "GG-MANIFEST-002"]
    assert len({f.fingerprint for f in result.findings}) == 2
