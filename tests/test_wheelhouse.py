"""tests/wheelhouse.py: installed distributions packed back into wheels pip accepts offline."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import wheelhouse
from tests.wheelhouse import WheelhouseError


@pytest.mark.parametrize(("wheel_file", "tag"), [
    ("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n", "py3-none-any"),
    ("Wheel-Version: 1.0\nTag: py2-none-any\nTag: py3-none-any\n", "py2.py3-none-any"),
    ("Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\n"
     "Tag: cp311-cp311-manylinux2014_x86_64\n",
     "cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64"),
    ("Wheel-Version: 1.0\nTag: cp310-abi3-macosx_11_0_arm64\n", "cp310-abi3-macosx_11_0_arm64"),
])
def test_wheel_tag_from_the_wheel_file(wheel_file: str, tag: str) -> None:
    assert wheelhouse.wheel_tag(wheel_file) == tag


@pytest.mark.parametrize(("wheel_file", "message"), [
    ("Wheel-Version: 1.0\n", "names no tag"),
    ("Wheel-Version: 1.0\nTag: py3-any\n", "not a wheel tag: 'py3-any'"),
])
def test_a_wheel_file_without_usable_tags_is_refused(wheel_file: str, message: str) -> None:
    with pytest.raises(WheelhouseError, match=message):
        wheelhouse.wheel_tag(wheel_file)


@pytest.mark.parametrize(("name", "version", "expected"), [
    ("PyYAML", "6.0.4", "pyyaml-6.0.4-py3-none-any.whl"),
    ("jsonschema-rs", "0.61.0", "jsonschema_rs-0.61.0-py3-none-any.whl"),
    ("zope.interface", "7.0", "zope_interface-7.0-py3-none-any.whl"),
])
def test_wheel_names_escape_the_distribution_name(name: str, version: str,
                                                  expected: str) -> None:
    assert wheelhouse.wheel_name(name, version, "Tag: py3-none-any\n") == expected


def test_record_hash_is_urlsafe_base64_sha256_without_padding() -> None:
    assert wheelhouse.record_hash(b"") == "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"


def test_closure_follows_requirements_and_their_markers() -> None:
    names = {dist.metadata["Name"].lower() for dist in
             wheelhouse.requirements_closure(["hatchling", "cryptography"])}
    # hatchling's dependencies; cryptography -> cffi -> pycparser. tomli is only for < 3.11.
    assert {"hatchling", "packaging", "pathspec", "pluggy", "trove-classifiers",
            "cryptography", "cffi", "pycparser"} <= names
    assert "tomli" not in names and "bcrypt" not in names  # cryptography[ssh] not asked for


@pytest.mark.parametrize(("requirement", "message"), [
    ("surely-not-installed-dist", "surely-not-installed-dist is needed but not installed"),
    ("pluggy<0.1", r"pluggy<0.1 is needed but \S+ is installed"),
])
def test_closure_refuses_what_pip_offline_could_not_find(requirement: str,
                                                         message: str) -> None:
    with pytest.raises(WheelhouseError, match=message):
        wheelhouse.requirements_closure([requirement])


def test_closure_skips_requirements_whose_marker_is_false() -> None:
    assert wheelhouse.requirements_closure(["surely-not-installed; python_version < '3'"]) == []


@pytest.mark.parametrize("name", ["pluggy", "PyYAML", "hatchling"])
def test_rebuilt_wheel_holds_the_installed_files_with_a_true_record(name: str,
                                                                   tmp_path: Path) -> None:
    dist = metadata.distribution(name)
    wheel = wheelhouse.rebuild(dist, tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
        rows = [row.split(",") for row in archive.read(record_name).decode().splitlines()]
        assert sorted(row[0] for row in rows) == sorted(names)
        for path, digest, size in rows:
            if path == record_name:
                assert (digest, size) == ("", "")
                continue
            data = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert (digest, size) == (f"sha256={expected.decode()}", str(len(data)))
    assert not any("__pycache__" in n or n.endswith((".pyc", "/INSTALLER", "/REQUESTED",
                                                     "/direct_url.json")) for n in names)
    assert any(n.endswith(".dist-info/WHEEL") for n in names)
    assert any(n.endswith(".dist-info/METADATA") for n in names)


def test_an_editable_install_is_built_from_source_not_rebuilt(tmp_path: Path) -> None:
    dist = metadata.distribution("gitops-guard")
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    if not origin.get("dir_info", {}).get("editable"):
        pytest.skip("gitops-guard is not installed in editable mode here")
    with pytest.raises(WheelhouseError, match="editable install"):
        wheelhouse.rebuild(dist, tmp_path)


@pytest.mark.slow
def test_pip_installs_the_project_from_the_wheelhouse_alone(wheelhouse: Path,
                                                            tmp_path: Path) -> None:
    """A fresh virtualenv, no package index: the project and the build backend install from
    the wheelhouse, and the installed command runs."""
    venv = tmp_path / "venv"
    # No pip inside (ensurepip is slow): this pip installs into it (`--python`).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   capture_output=True)
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_CONFIG_FILE": os.devnull}
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--quiet", "gitops-guard", "hatchling"],
        env=env, capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    version = subprocess.run([str(venv / "bin" / "gitops-guard"), "--version"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.startswith("gitops-guard ")
    rules = subprocess.run([str(venv / "bin" / "gitops-guard"), "rules"], cwd=tmp_path,
                           capture_output=True, text=True, check=True)
    assert "GG-SCHEMA-001" in rules.stdout and "pss-baseline-privileged" in rules.stdout
