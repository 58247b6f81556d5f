"""The schema check's per-run state: settings, CRDs found before any file is checked, and the
compiled validators, each built once per (apiVersion, kind) and kept for the run."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from gitops_guard import pointer, repo_context
from gitops_guard.checks.base import RunInfo
from gitops_guard.checks.schema.bundle import (
    DRAFT,
    Bundle,
    bundled_versions,
    load_bundle_data,
    normalize_version,
    strictify,
    without_required,
)
from gitops_guard.checks.schema.crds import OBJECT_META, CrdError, CrdVersion, convert_crd, is_crd
from gitops_guard.checks.schema.locations import (
    Failed,
    Found,
    SchemaLocations,
    default_cache_dir,
)
from gitops_guard.checks.schema.validation import Validator
from gitops_guard.errors import GuardError
from gitops_guard.kustomize import patch_files
from gitops_guard.loader import JSON_SUFFIXES, YAML_SUFFIXES, load_file

_CRD_MARKER = b"CustomResourceDefinition"


class Unavailable(NamedTuple):
    """A schema exists somewhere but cannot be used; reported on each object that needs it."""

    rule: str
    message: str


class SchemaState:
    def __init__(self, settings: Mapping[str, Any], info: RunInfo) -> None:
        data = load_bundle_data()
        versions = bundled_versions(data)
        wanted = settings.get("kubernetes_version") or versions[-1]
        self.bundle = Bundle(normalize_version(str(wanted), versions), data)
        self.strict = bool(settings.get("strict", True))
        self.missing_schemas: str = settings.get("missing_schemas", "warn")
        root = info.config.root
        self.locations = SchemaLocations(
            list(settings.get("locations") or []), root=root, version=self.bundle.version,
            strict=self.strict, offline=bool(settings.get("offline", False)),
            cache_dir=root / Path(settings["cache_dir"]).expanduser()
            if settings.get("cache_dir") else default_cache_dir(),
            timeout=float(settings.get("timeout", 10)), cwd=info.cwd)
        self.crds: dict[str, CrdVersion] = {}
        self.crd_errors: dict[tuple[Path, int], list[CrdError]] = {}
        self._validators: dict[tuple[str, bool], Validator | Unavailable | None] = {}
        self.patches = patch_files(info.paths)
        # CRDs among the run's files and, for a partial run (a hook), elsewhere in the repo.
        crd_info = repo_context.with_crds(info)
        self._load_crds(crd_info.paths, crd_info)
        self._load_crds(_named_crd_files(settings.get("crds") or [], root), info, named=True)

    def _load_crds(self, paths: Iterable[Path], info: RunInfo, named: bool = False) -> None:
        """`named`: the files `schema.crds` names. A broken one among them that the run does
        not check is a config error: it would otherwise leave its kinds without a schema, and
        nobody told why."""
        max_size, cwd = info.config.max_file_size, info.cwd
        for path in paths:
            if path.suffix.lower() not in YAML_SUFFIXES | JSON_SUFFIXES:
                continue
            try:  # a candidate's staged content with --staged, else the file
                if _CRD_MARKER not in info.read_bytes(path, max_size):
                    continue
            except OSError:
                continue  # the file's own check reports why it cannot be read
            source = load_file(path, path.name, max_size, content=info.contents.get(path))
            for document in source.documents:
                if not is_crd(document.data):
                    continue
                versions, errors = convert_crd(document.data, _display(path, cwd))
                if errors and named and path not in info.paths:
                    where = (document.locator.locate(pointer.split(errors[0].pointer))
                             if document.locator is not None else None)
                    line = where[0] if where is not None else document.line
                    raise GuardError(f"schema.crds: the CRD cannot be used: {errors[0].message}",
                                     path=_display(path, cwd), line=line)
                if errors:
                    self.crd_errors.setdefault((path, document.index), []).extend(errors)
                for version in versions:
                    self.crds.setdefault(f"{version.api_version}/{version.kind}", version)

    def crd_versions(self, group: str, kind: str) -> list[CrdVersion]:
        """The versions CRDs serve for a group and kind."""
        return [crd for crd in self.crds.values()
                if crd.kind == kind and crd.api_version.rpartition("/")[0] == group]

    def validator(self, api_version: str, kind: str,
                  partial: bool = False) -> Validator | Unavailable | None:
        """The validator for a kind; `partial` for patches, which need no required field."""
        key = (f"{api_version}/{kind}", partial)
        if key not in self._validators:
            self._validators[key] = self._build(api_version, kind, partial)
        return self._validators[key]

    def _build(self, api_version: str, kind: str,
               partial: bool) -> Validator | Unavailable | None:
        bundle, strict = self.bundle, self.strict
        name = bundle.definition_name(api_version, kind)
        if name is not None:
            return Validator(bundle.document(name, strict, partial),
                             f"Kubernetes {bundle.version} schema")
        crd = self.crds.get(f"{api_version}/{kind}")
        if crd is not None:
            meta = {dep: bundle.definition(dep, strict, partial)
                    for dep in bundle.closure(OBJECT_META)}
            root = self._variant(crd.root, partial)
            return self._compile({"$schema": DRAFT, **root, "$defs": meta}, crd.source,
                                 "GG-SCHEMA-012")
        found = self.locations.find(api_version, kind)
        if isinstance(found, Found):
            return self._compile(self._variant(found.schema, partial), found.source,
                                 "GG-SCHEMA-013")
        if isinstance(found, Failed):
            return Unavailable("GG-SCHEMA-013", found.message)
        return None

    def _variant(self, schema: dict[str, Any], partial: bool) -> dict[str, Any]:
        if self.strict:
            schema = strictify(schema)
        return without_required(schema) if partial else schema

    @staticmethod
    def _compile(document: dict[str, Any], source: str, rule: str) -> Validator | Unavailable:
        try:
            return Validator(document, source)
        except (ValueError, TypeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Unavailable(rule, f"the schema from {source} cannot be used: {first}")


def prepare(info: RunInfo) -> SchemaState:
    return SchemaState(info.config.section("schema"), info)


def _named_crd_files(entries: Iterable[str], root: Path) -> list[Path]:
    files: list[Path] = []
    for entry in entries:
        path = root / entry
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise GuardError(f"schema.crds names {entry!r}, which does not exist "
                             f"(relative to {root})")
    return files


def _display(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return os.path.relpath(path, cwd)
