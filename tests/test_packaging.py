"""The wheel: console script, package data, and the top-level policies/ folder inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_wheel_contents(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(REPO_ROOT)],
        check=True, capture_output=True)
    [wheel] = tmp_path.glob("gitops_guard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gitops_guard/cli.py" in names
    assert "gitops_guard/policies/README.md" in names
    assert not any(name.startswith(("tests/", "examples/", "bench/")) for name in names)
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "gitops-guard = gitops_guard.cli:main" in text
