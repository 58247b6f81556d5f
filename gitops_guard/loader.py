"""Read a file once, safely, and turn it into labelled documents.

Nothing here raises for a bad file: every way a file can fail to load becomes a `LoadError`
that the engine reports as a GG-MANIFEST finding, so one bad file never hides the others.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Any

from gitops_guard import pointer as jp
from gitops_guard.documents import (
    DocRole,
    Document,
    DuplicateKeyAt,
    FileKind,
    LoadError,
    SourceFile,
)
from gitops_guard.jsonio import JsonIndex, parse_json
from gitops_guard.yamlio import ParseFailure, node_at, parse_yaml, pointer_to

YAML_SUFFIXES = frozenset({".yaml", ".yml"})
JSON_SUFFIXES = frozenset({".json"})

RULE_SYNTAX = "GG-MANIFEST-001"
RULE_TAB = "GG-MANIFEST-007"
RULE_ENCODING = "GG-MANIFEST-008"
RULE_UNREADABLE = "GG-MANIFEST-009"
RULE_TOO_LARGE = "GG-MANIFEST-010"
RULE_BINARY = "GG-MANIFEST-011"
RULE_TOO_COMPLEX = "GG-MANIFEST-012"

_FAILURE_RULES = {"syntax": RULE_SYNTAX, "tab": RULE_TAB, "too-deep": RULE_TOO_COMPLEX,
                  "too-complex": RULE_TOO_COMPLEX}

# Template actions only Helm writes. Other Go templates live inside YAML strings (`{{ $value }}`
# in a PrometheusRule, `{{inputs.parameters.x}}` in an Argo Workflow) and stay checkable YAML.
_HELM_MARKERS = re.compile(
    r"\{\{-?\s*(?:[^}]*\s)?(?:\.Values|\.Release|\.Chart|\.Capabilities|\.Files|\.Template)\b"
    r"|\{\{-?\s*(?:include|template|toYaml|tpl|required)\s")

_KUSTOMIZATION_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
# Helm chart metadata has an apiVersion but is not a Kubernetes object.
_DATA_NAMES = frozenset({"Chart.yaml", "Chart.lock"})
# Files read by Kubernetes components or tools, not API objects: no metadata.name needed.
# Files for tools, not for the cluster (gitops-guard's own policies among them).
_CONFIG_GROUPS = frozenset({"kubeadm.k8s.io", "audit.k8s.io", "apiserver.k8s.io", "skaffold",
                            "policy.gitops-guard.io"})
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def file_kind(path: Path) -> FileKind:
    suffix = path.suffix.lower()
    # kustomize also reads a kustomization from a file named `Kustomization`, without a suffix.
    if suffix in YAML_SUFFIXES or path.name == "Kustomization":
        return FileKind.YAML
    if suffix in JSON_SUFFIXES:
        return FileKind.JSON
    return FileKind.TEXT


def load_file(path: Path, display: str, max_size: int,
              yaml_loader: type[Any] | None = None, content: bytes | None = None) -> SourceFile:
    """Load `path`, or `content` in its place (a staged blob) without opening the file."""
    kind = file_kind(path)
    source = SourceFile(path=path, display=display, kind=kind)
    raw = _read(path, max_size, source) if content is None else _limited(content, max_size,
                                                                        source)
    text = _decode(raw, source) if raw is not None else None
    if text is None:
        if kind is FileKind.TEXT:
            # Other text files are read only to look for secrets: one that is binary (images,
            # keystores), too large or unreadable (a dangling link) is no manifest to report.
            source.error = None
        return source
    source.text = text
    if kind is FileKind.TEXT:
        return source
    if kind is FileKind.YAML and _in_chart_templates(path):
        source.kind = FileKind.HELM_TEMPLATE
        source.chart_template = True
        return source
    if kind is FileKind.YAML and _has_helm_actions(text):
        source.kind = FileKind.HELM_TEMPLATE
        return source
    try:
        if kind is FileKind.JSON:
            source.documents = json_documents(path, text)
        else:
            source.documents = yaml_documents(path, text, yaml_loader)
    except ParseFailure as failure:
        if kind is FileKind.YAML and _has_template_syntax(text):
            # Template syntax that broke the YAML parser: a Helm template outside a chart.
            source.kind = FileKind.HELM_TEMPLATE
            return source
        source.error = LoadError(_FAILURE_RULES[failure.kind], failure.message, failure.line,
                                 failure.column)
    return source


_NOT_REGULAR = "not a regular file (a directory, FIFO, socket or device); skipped"


class NotRegularFile(OSError):
    """A directory, FIFO, socket or device: never read (a FIFO would block the run)."""


def read_regular(path: Path, limit: int) -> bytes:
    """At most `limit` bytes of the regular file `path`. Raises NotRegularFile, or OSError."""
    fd, _ = _open_regular(path)
    try:
        return _read_fd(fd, limit)
    finally:
        os.close(fd)


def _open_regular(path: Path) -> tuple[int, int]:
    """An open descriptor of the regular file `path`, and its size. O_NONBLOCK: opening a
    FIFO must not hang; fstat on the open descriptor avoids a race between checking what the
    path is and reading it."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotRegularFile(errno.EINVAL, _NOT_REGULAR)
    return fd, info.st_size


def _read_fd(fd: int, limit: int) -> bytes:
    chunks = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read(path: Path, max_size: int, source: SourceFile) -> bytes | None:
    try:
        fd, size = _open_regular(path)
    except NotRegularFile:
        source.error = LoadError(RULE_UNREADABLE, _NOT_REGULAR)
        return None
    except OSError as exc:
        source.error = LoadError(RULE_UNREADABLE, _os_error_message(exc))
        return None
    try:
        if size > max_size:
            source.error = LoadError(RULE_TOO_LARGE, _too_large(size, max_size))
            return None
        raw = _read_fd(fd, max_size + 1)
    except OSError as exc:
        source.error = LoadError(RULE_UNREADABLE, _os_error_message(exc))
        return None
    finally:
        os.close(fd)
    if len(raw) > max_size:  # it grew after fstat
        source.error = LoadError(RULE_TOO_LARGE, _too_large(len(raw), max_size))
        return None
    return raw


def _limited(content: bytes, max_size: int, source: SourceFile) -> bytes | None:
    if len(content) > max_size:
        source.error = LoadError(RULE_TOO_LARGE, _too_large(len(content), max_size))
        return None
    return content


def _too_large(size: int, limit: int) -> str:
    return (f"file is {size:,} bytes, over the {limit:,}-byte limit; not checked "
            "(raise max_file_size in .gitops-guard.yaml to check it)")


def _os_error_message(exc: OSError) -> str:
    messages = {
        errno.ENOENT: "file disappeared before it could be read",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "symbolic link loop",
        errno.EISDIR: "is a directory, not a file",
    }
    return messages.get(exc.errno or 0, f"cannot read file: {exc.strerror or exc}")


def _decode(raw: bytes, source: SourceFile) -> str | None:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        source.error = LoadError(RULE_ENCODING, "file is UTF-16 or UTF-32; manifests must be "
                                 "UTF-8", 1, 1)
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, column = _offset_position(raw, nul)
        source.error = LoadError(RULE_BINARY, "file contains NUL bytes: binary data, not text",
                                 line, column)
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _offset_position(raw, exc.start)
        source.error = LoadError(RULE_ENCODING, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                 "manifests must be UTF-8", line, column)
        return None


def _offset_position(raw: bytes, offset: int) -> tuple[int, int]:
    """Line and column (in characters, like every other column) of a byte offset."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", "replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, column


def _in_chart_templates(path: Path) -> bool:
    if "templates" not in path.parent.parts:
        return False
    return any(parent.name == "templates" and (parent.parent / "Chart.yaml").is_file()
               for parent in path.parents)


def _template_lines(text: str) -> list[str]:
    # A commented-out template line (`# image: {{ .Values.image }}`) does not make a template.
    if "{{" not in text:
        return []
    return [line for line in text.splitlines()
            if "{{" in line and not line.lstrip().startswith("#")]


def _has_helm_actions(text: str) -> bool:
    return any(_HELM_MARKERS.search(line) for line in _template_lines(text))


def _has_template_syntax(text: str) -> bool:
    return bool(_template_lines(text))


# -- documents ---------------------------------------------------------------------------------

class _NodeLocator:
    """Where a JSON pointer's value (or key) is in a YAML document: its node's mark."""

    __slots__ = ("root",)

    def __init__(self, root: Any) -> None:
        self.root = root

    def locate(self, tokens: list[str], at_key: bool = False) -> tuple[int, int] | None:
        node = node_at(self.root, tokens, at_key)
        if node is None:
            return None
        return node.start_mark.line + 1, node.start_mark.column + 1


class _JsonLocator:
    """Builds the position index on first use: most JSON files never need a line."""

    __slots__ = ("_index", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._index: JsonIndex | None = None

    @property
    def index(self) -> JsonIndex:
        if self._index is None:
            self._index = JsonIndex(self.text)
        return self._index

    def locate(self, tokens: list[str], at_key: bool = False) -> tuple[int, int] | None:
        found = self.index.locate(tokens, at_key)
        return (found.line, found.column) if found is not None else None


def yaml_documents(path: Path, text: str,
                   yaml_loader: type[Any] | None = None) -> list[Document]:
    """The documents of YAML `text` read from `path`. Raises ParseFailure."""
    documents: list[Document] = []
    for index, parsed in enumerate(parse_yaml(text, yaml_loader)):
        node = parsed.node
        line = node.start_mark.line + 1 if node is not None else 1
        duplicates = []
        for dup in parsed.duplicates:
            tokens = pointer_to(node, dup.key_node) or [dup.key]
            duplicates.append(DuplicateKeyAt(dup.key, jp.join(*tokens), dup.line, dup.column,
                                             dup.first_line))
        documents.extend(_expand(path, index, line, parsed.data, _NodeLocator(node),
                                 duplicates))
    return documents


def json_documents(path: Path, text: str) -> list[Document]:
    """The documents of JSON `text` read from `path`. Raises ParseFailure."""
    data, duplicated = parse_json(text)
    locator = _JsonLocator(text)
    duplicates = []
    if duplicated:
        for dup in locator.index.duplicates:
            duplicates.append(DuplicateKeyAt(dup.path[-1], jp.join(*dup.path), dup.key.line,
                                             dup.key.column, dup.first_line))
    first = locator.index.locate([]) if duplicated else None
    line = first.line if first is not None else 1
    return _expand(path, 0, line, data, locator, duplicates)


def _expand(path: Path, index: int, line: int, data: Any, locator: Any,
            duplicates: list[DuplicateKeyAt]) -> list[Document]:
    role = classify(data, path.name)
    if role is not DocRole.LIST:
        return [Document(path, index, line, data, role, locator, "", tuple(duplicates))]
    items = data["items"]
    container = Document(path, index, line, data, role, locator)
    documents = [container]
    item_dups: dict[int, list[DuplicateKeyAt]] = {}
    own_dups = []
    for dup in duplicates:
        tokens = jp.split(dup.pointer)
        if len(tokens) > 2 and tokens[0] == "items" and tokens[1].isdigit():
            item_dups.setdefault(int(tokens[1]), []).append(
                DuplicateKeyAt(dup.key, jp.join(*tokens[2:]), dup.line, dup.column,
                               dup.first_line))
        else:
            own_dups.append(dup)
    container.duplicates = tuple(own_dups)
    for position, item in enumerate(items):
        prefix = jp.join("items", position)
        item_line = container.locate(prefix)[0]
        item_role = classify(item, "") if item is not None else DocRole.NOT_MAPPING
        if item_role is DocRole.LIST:
            item_role = DocRole.RESOURCE  # Lists do not nest
        documents.append(Document(path, index, item_line, item, item_role, locator, prefix,
                                  tuple(item_dups.get(position, ()))))
    return documents


def classify(data: Any, filename: str) -> DocRole:
    if data is None:
        return DocRole.EMPTY
    if not isinstance(data, dict):
        return DocRole.NOT_MAPPING
    sops = data.get("sops")
    if isinstance(sops, dict) and "mac" in sops and "version" in sops:
        return DocRole.SOPS
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if filename in _KUSTOMIZATION_NAMES or (
            isinstance(api_version, str) and api_version.startswith("kustomize.config.k8s.io/")):
        return DocRole.KUSTOMIZATION
    if filename in _DATA_NAMES or _is_component_config(api_version, kind):
        return DocRole.DATA
    if "apiVersion" in data and "kind" in data:
        if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
            return DocRole.LIST
        return DocRole.RESOURCE
    if "apiVersion" in data or "kind" in data or _has_object_metadata(data):
        return DocRole.INCOMPLETE
    return DocRole.DATA


def _is_component_config(api_version: object, kind: object) -> bool:
    if not isinstance(api_version, str):
        return False
    group = api_version.rpartition("/")[0]
    if api_version == "v1" and kind == "Config":  # a kubeconfig
        return True
    return group in _CONFIG_GROUPS or group.endswith(".config.k8s.io")


def _has_object_metadata(data: dict[str, Any]) -> bool:
    metadata = data.get("metadata")
    return (isinstance(metadata, dict) and isinstance(metadata.get("name"), str)
            and any(key in data for key in ("spec", "data", "stringData", "rules")))
