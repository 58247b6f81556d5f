"""A wheelhouse built without the network, for installing this project offline.

`pre-commit try-repo` runs `pip install .` on this checkout: pip needs the build backend and
every runtime dependency. They are already installed in the development environment, so each
is packed back into a wheel from its installed files (the dist-info RECORD says which files,
WHEEL which tags) and this project's own wheel is built from source with the installed
hatchling. Pointing pip at the result (`PIP_NO_INDEX=1`, `PIP_FIND_LINKS=<dir>`) installs it
all offline.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# Written by the installer, not part of the wheel (RECORD is rewritten).
_INSTALLER_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


class WheelhouseError(Exception):
    """A distribution cannot be packed back into a wheel (or one is missing)."""


def requirements_closure(requirements: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions these requirements need, recursively, sorted by name.

    Markers are evaluated for this interpreter (with the extras a requirement asks for); a
    requirement that is not installed, or whose installed version does not satisfy it, is an
    error, because pip offline would fail on it later with a vaguer message."""
    found: dict[str, metadata.Distribution] = {}
    pending = [(Requirement(text), "") for text in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate(
                {**default_environment(), "extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise WheelhouseError(f"{requirement} is needed but not installed") from None
        if not requirement.specifier.contains(dist.version, prereleases=True):
            raise WheelhouseError(f"{requirement} is needed but {dist.version} is installed")
        for wanted_extra in ("", *sorted(requirement.extras)):
            key = f"{name}[{wanted_extra}]"
            if key in found:
                continue
            found[key] = dist
            pending.extend((Requirement(text), wanted_extra) for text in dist.requires or ())
    by_name = {canonicalize_name(dist.metadata["Name"]): dist for dist in found.values()}
    return [by_name[name] for name in sorted(by_name)]


def wheel_tag(wheel_metadata: str) -> str:
    """The compressed tag set of a wheel file name, from the `Tag:` lines of its WHEEL file
    (`cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64`)."""
    tags = [value.strip() for key, value in _headers(wheel_metadata) if key == "Tag"]
    if not tags:
        raise WheelhouseError("the WHEEL file names no tag")
    parts = [tag.split("-") for tag in tags]
    if any(len(part) != 3 for part in parts):
        raise WheelhouseError(f"not a wheel tag: {tags[0]!r}")
    return "-".join(".".join(sorted({part[i] for part in parts})) for i in range(3))


def wheel_name(name: str, version: str, wheel_metadata: str) -> str:
    escaped = re.sub(r"[-_.]+", "_", name).lower()
    return f"{escaped}-{version}-{wheel_tag(wheel_metadata)}.whl"


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode('ascii')}"


def rebuild(dist: metadata.Distribution, out_dir: Path) -> Path:
    """Pack an installed distribution back into the wheel it came from."""
    name, version = dist.metadata["Name"], dist.version
    wheel_metadata = dist.read_text("WHEEL")
    if wheel_metadata is None:
        raise WheelhouseError(f"{name} {version} was not installed from a wheel (no WHEEL)")
    if json.loads(dist.read_text("direct_url.json") or "{}").get("dir_info", {}).get("editable"):
        raise WheelhouseError(f"{name} is an editable install; build it from source instead")
    scripts = _script_names(dist)
    target = out_dir / wheel_name(name, version, wheel_metadata)
    record: list[str] = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _wheel_files(dist, scripts):
            data = Path(str(dist.locate_file(path))).read_bytes()
            archive.writestr(path, data)
            record.append(f"{path},{record_hash(data)},{len(data)}")
        record_path = f"{_dist_info(dist)}/RECORD"
        record.append(f"{record_path},,")
        archive.writestr(record_path, "\n".join(record) + "\n")
    return target


def _wheel_files(dist: metadata.Distribution, scripts: frozenset[str]) -> Iterator[str]:
    dist_info = _dist_info(dist)
    for file in dist.files or ():
        path = PurePosixPath(file.as_posix())
        if path.parts[0] == "..":
            # Console scripts are generated from entry_points.txt at install time.
            if path.name in scripts and "bin" in path.parts:
                continue
            raise WheelhouseError(f"{dist.metadata['Name']} installs {path} outside "
                                  "site-packages; it cannot be packed back into a wheel")
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if path.parts[0] == dist_info and path.name in _INSTALLER_FILES:
            continue
        yield path.as_posix()


def _dist_info(dist: metadata.Distribution) -> str:
    for file in dist.files or ():
        first = PurePosixPath(file.as_posix()).parts[0]
        if first.endswith(".dist-info"):
            return first
    raise WheelhouseError(f"{dist.metadata['Name']} has no .dist-info in its RECORD")


def _script_names(dist: metadata.Distribution) -> frozenset[str]:
    return frozenset(entry.name for entry in dist.entry_points
                     if entry.group in ("console_scripts", "gui_scripts"))


def _headers(text: str) -> list[tuple[str, str]]:
    return list(HeaderParser().parsestr(text).items())


def build_project_wheel(project: Path, out_dir: Path) -> Path:
    """This project's wheel, built offline with the build backend already installed."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--no-cache-dir", "--disable-pip-version-check", "--wheel-dir", str(out_dir),
         str(project)],
        check=True, capture_output=True, timeout=300)
    [wheel] = out_dir.glob("gitops_guard-*.whl")
    return wheel


def build(project: Path, out_dir: Path) -> list[Path]:
    """The wheelhouse for `pip install <project>` offline: the project's wheel, its build
    backend and their dependencies, recursively."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    wheels = [build_project_wheel(project, out_dir)]
    needed = [*pyproject["build-system"]["requires"], *pyproject["project"]["dependencies"]]
    wheels += [rebuild(dist, out_dir) for dist in requirements_closure(needed)]
    return wheels
