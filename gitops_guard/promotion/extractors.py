"""Extractors: the versions one location file pins for an app, with the file and line of each.

Each extractor reads one location file at one commit through a `Tree` (which parses each blob
once) and returns `{artifact -> version}` values. Values are read as written in the file, so
`newTag: 1.10` is "1.10", not the float 1.1. The audit runs every extractor once per changed
location per commit, so extractors walk the parsed nodes they need and nothing else.

A file with a shape an extractor cannot read raises ExtractError. Its message names the
problem and the place, never a value from the file: messages end up in CI logs.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, TypeVar

from yaml.nodes import Node, ScalarNode, SequenceNode

from gitops_guard import pointer
from gitops_guard.kustomize import KUSTOMIZATION_FILES
from gitops_guard.promotion.versions import (
    Version,
    floating_reason,
    make_version,
    parse_version_text,
    split_image,
)
from gitops_guard.workloads import pod_template
from gitops_guard.yamlio import ParsedDocument, node_at

_FLUX_HELM = "helm.toolkit.fluxcd.io"
_FLUX_SOURCE = "source.toolkit.fluxcd.io"
_ARGO = "argoproj.io"

_NO_CHART_VERSION = "no chart version: the newest chart is installed"
_NO_OCI_REF = "no spec.ref: the OCIRepository follows the latest tag"
_ARGO_BRANCH = "a branch or HEAD, not a fixed revision"
_ARGO_SEMVER = re.compile(r"v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
_COMMIT_SHA = re.compile(r"[0-9a-fA-F]{7,40}")

# kustomize resources that are manifest files, not directories holding a kustomization.
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_REMOTE_PREFIXES = ("github.com/", "git@")


class ExtractError(Exception):
    """A location, or a file it reads, does not parse or has a shape the extractor can't read."""

    def __init__(self, path: str, line: int | None, message: str,
                 column: int | None = None) -> None:
        super().__init__(path, line, message, column)  # all of them, so the error pickles
        self.path = path
        self.line = line
        self.message = message
        self.column = column

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class Tree(Protocol):
    def documents(self, path: str) -> Sequence[ParsedDocument] | None:
        """The parsed documents of a repo-relative file; None when there is no such file.

        Raises ExtractError when the file does not parse.
        """


class Value(NamedTuple):
    artifact: str  # what is versioned: image name, chart, repoURL#path, dotted path ...
    version: Version
    path: str  # repo-relative file the value was read from (a kustomize base, maybe)
    line: int | None  # 1-based line of the value in `path`
    pointer: str  # RFC 6901 pointer to the value in its document
    floating: str | None = None  # the extractor's own reason the value floats
    column: int | None = None  # 1-based column of the value


class Extraction(NamedTuple):
    values: tuple[Value, ...]  # may hold several values for one artifact (two containers)
    reads: frozenset[str]  # every path consulted, found or not (so adding a base re-extracts)


Extractor = Callable[[Tree, str, Mapping[str, Any]], Extraction]


class MemoTree(Tree, Protocol):
    """A tree that keeps what extractors learn about its files across extractions."""

    kustomize_memo: MutableMapping[tuple[str, str], _Memo]  # (path, blob) -> its values

    def blob(self, path: str) -> str | None:
        """The blob id of a repo-relative file; None when there is no such file."""


class _Memo(NamedTuple):
    values: tuple[Value, ...] | None
    reads: frozenset[str]  # the file and every path its includes consulted
    signature: tuple[tuple[str, str | None], ...]  # (read, its blob) besides the file


# Memo entries are small (a few values each); the oldest half goes when it is full.
MEMO_LIMIT = 4096
_K = TypeVar("_K")
_V = TypeVar("_V")


def bounded_put(cache: MutableMapping[_K, _V], key: _K, value: _V, limit: int) -> None:
    """Store `value`; a cache at `limit` entries first drops its oldest half."""
    if len(cache) >= limit:
        for old in list(itertools.islice(cache, limit // 2)):
            del cache[old]
    cache[key] = value


# -- walking a parsed document ------------------------------------------------------------------

_MISSING: Any = object()


class _Place:
    """A value inside one document: its data, its YAML node and the pointer tokens to it.

    The node is found only when something asks for it (a line, a column, the text of a
    non-string scalar): extractors walk thousands of documents and report few lines."""

    __slots__ = ("_node", "_parent", "_step", "data", "path", "tokens")

    def __init__(self, path: str, data: Any, node: Node | None, tokens: tuple[str, ...],
                 parent: _Place | None = None, step: tuple[str, ...] | int = ()) -> None:
        self.path = path
        self.data = data
        self.tokens = tokens
        self._node: Any = node if parent is None else _MISSING
        self._parent = parent
        self._step = step  # the tokens from the parent to here, or an index in its list

    @property
    def node(self) -> Node | None:
        if self._node is _MISSING:
            above = self._parent.node if self._parent is not None else None
            step = self._step
            if isinstance(step, int):
                self._node = above.value[step] if isinstance(above, SequenceNode) else None
            else:
                # The data has every token, so node_at reaches the node itself, not an
                # ancestor.
                self._node = node_at(above, list(step))
        return self._node  # type: ignore[no-any-return]

    def get(self, *tokens: str) -> _Place | None:
        """The place below this one, or None when any part is missing."""
        data = self.data
        for token in tokens:
            if isinstance(data, dict):
                data = data.get(token, _MISSING)
                if data is _MISSING:
                    return None
            elif isinstance(data, list) and token.isdigit() and int(token) < len(data):
                data = data[int(token)]
            else:
                return None
        return _Place(self.path, data, None, self.tokens + tokens, self, tokens)

    @property
    def line(self) -> int | None:
        return None if self.node is None else int(self.node.start_mark.line) + 1

    @property
    def column(self) -> int | None:
        return None if self.node is None else int(self.node.start_mark.column) + 1

    @property
    def pointer(self) -> str:
        return pointer.join(*self.tokens)

    def where(self) -> str:
        return pointer.dotted(self.tokens) or "the document"

    def fail(self, problem: str) -> ExtractError:
        return ExtractError(self.path, self.line, f"{self.where()} {problem}", self.column)


def _documents(tree: Tree, path: str) -> list[_Place] | None:
    """The mapping documents of a file (others hold no objects); None when it is missing."""
    documents = tree.documents(path)
    if documents is None:
        return None
    return [_Place(path, document.data, document.node, ()) for document in documents
            if isinstance(document.data, dict)]


def _text(place: _Place | None) -> str | None:
    """The scalar as written in the file; None when it is absent or null."""
    if place is None or place.data is None:
        return None
    if isinstance(place.data, str):
        return place.data.strip()  # a string's data is its scalar node's text
    if isinstance(place.data, dict | list):
        raise place.fail(f"is a {'mapping' if isinstance(place.data, dict) else 'list'}, "
                         "not a single value")
    node = place.node
    text = node.value if isinstance(node, ScalarNode) else place.data
    return str(text).strip()


def _mapping(place: _Place) -> _Place:
    if not isinstance(place.data, dict):
        raise place.fail("is not a mapping")
    return place


def _items(place: _Place, key: str) -> list[_Place]:
    """The entries of the list at `key`; none when it is absent or null."""
    child = place.get(key)
    if child is None or child.data is None:
        return []
    if not isinstance(child.data, list):
        raise child.fail("is not a list")
    return [_Place(child.path, item, None, (*child.tokens, str(index)), child, index)
            for index, item in enumerate(child.data)]


def _is(place: _Place, kind: str, group: str) -> bool:
    if place.data.get("kind") != kind:
        return False
    api_version = place.data.get("apiVersion")
    # A patch may leave apiVersion out; another group's kind of the same name is not ours.
    return not isinstance(api_version, str) or api_version.split("/")[0] == group


def _value(artifact: str, version: Version, place: _Place, floating: str | None = None) -> Value:
    return Value(artifact, version, place.path, place.line, place.pointer, floating,
                 place.column)


def _missing(artifact: str, version: Version, parent: _Place, key: str, floating: str) -> Value:
    """A value the file leaves out: its pointer says where it would go, its line the parent."""
    return Value(artifact, version, parent.path, parent.line, pointer.extend(parent.pointer, key),
                 floating, parent.column)


def _dotted(option: Any, name: str) -> tuple[str, ...]:
    # Settings validates options; this only guards against callers that skip it.
    if not isinstance(option, str) or not option or "" in option.split("."):
        raise ValueError(f"the {name!r} option must be a dotted path such as image.tag")
    return tuple(option.split("."))


def _nothing(path: str) -> Extraction:
    return Extraction((), frozenset({path}))


# -- kustomize-images ---------------------------------------------------------------------------

def _kustomize_images(tree: Tree, path: str, options: Mapping[str, Any]) -> Extraction:
    """`images[]` of a kustomization and of the local kustomizations it includes."""
    walk = _Kustomizations(tree)
    values = walk.file(path)
    return Extraction(values or (), frozenset(walk.reads))


class _Kustomizations:
    """The effective image values of kustomization files, each file read once per extraction.

    A tree that offers a memo (`MemoTree`: the tracker does) keeps each file's values across
    extractions, by its blob id and the blob ids of every file its includes read: an overlay
    that changes at every commit does not walk its unchanged bases again."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.reads: set[str] = set()
        self._done: dict[str, tuple[Value, ...] | None] = {}
        self._open: set[str] = set()
        # The paths each finished file consulted, its includes' too (a memo entry's reads).
        self._file_reads: dict[str, frozenset[str]] = {}
        self._frames: list[set[str]] = []
        self._cuts = 0  # cycles cut so far: they make a file's values depend on the entry
        memo = getattr(tree, "kustomize_memo", None)
        self._memo: MutableMapping[tuple[str, str], _Memo] | None = memo
        self._blob: Callable[[str], str | None] | None = getattr(tree, "blob", None)

    def file(self, path: str) -> tuple[Value, ...] | None:
        """The values one kustomization file yields; None when there is no such file."""
        if path in self._done:
            self._note(self._file_reads[path])
            return self._done[path]
        if path in self._open:
            self._cuts += 1
            return ()  # a cycle: kustomize refuses to build it, so it adds no versions
        blob = self._blob(path) if self._memo is not None and self._blob is not None else None
        if blob is not None and self._cuts == 0:
            remembered = self._remembered(path, blob)
            if remembered is not None:
                self._finish(path, remembered.values, remembered.reads)
                return remembered.values
        self.reads.add(path)
        self._frames.append({path})
        try:
            values = self._read(path)
        finally:
            reads = frozenset(self._frames.pop())
        blob_of = self._blob
        if blob is not None and self._cuts == 0 and self._memo is not None and blob_of:
            signature = tuple((read, blob_of(read)) for read in sorted(reads) if read != path)
            bounded_put(self._memo, (path, blob), _Memo(values, reads, signature), MEMO_LIMIT)
        self._finish(path, values, reads)
        return values

    def _remembered(self, path: str, blob: str) -> _Memo | None:
        blob_of = self._blob
        remembered = self._memo.get((path, blob)) if self._memo is not None else None
        if (remembered is None or blob_of is None
                or not self._open.isdisjoint(remembered.reads)):
            return None
        if all(blob_of(read) == read_blob for read, read_blob in remembered.signature):
            return remembered
        return None

    def _finish(self, path: str, values: tuple[Value, ...] | None,
                reads: frozenset[str]) -> None:
        self.reads.update(reads)
        self._file_reads[path] = reads
        self._done[path] = values
        self._note(reads)

    def _note(self, reads: Iterable[str]) -> None:
        if self._frames:
            self._frames[-1].update(reads)

    def _read(self, path: str) -> tuple[Value, ...] | None:
        places = _documents(self.tree, path)
        if places is None:
            return None
        self._open.add(path)
        try:
            return self._effective(posixpath.dirname(path), places)
        finally:
            self._open.discard(path)

    def _effective(self, directory: str, places: list[_Place]) -> tuple[Value, ...]:
        values: list[Value] = []
        for place in places:
            inherited: list[Value] = []
            for key in ("resources", "bases"):
                for entry in _items(place, key):
                    inherited.extend(self._include(directory, entry))
            for entry in _items(place, "components"):
                # A component edits the resources of the kustomization that includes it.
                inherited = _override(inherited, self._include(directory, entry))
            values.extend(_override(inherited, _images(place)))
        return _unique(values)

    def _include(self, directory: str, entry: _Place) -> tuple[Value, ...]:
        target = _local_directory(directory, entry)
        if target is None:
            return ()
        for name in KUSTOMIZATION_FILES:
            found = self.file(posixpath.normpath(posixpath.join(target, name)))
            if found is not None:
                return found
        return ()  # a missing base: kustomize fails, the versions we know stay as they are


def _local_directory(directory: str, entry: _Place) -> str | None:
    """The repo-relative directory a resources/bases/components entry names, if it may hold a
    kustomization of this repository."""
    if not isinstance(entry.data, str):
        raise entry.fail("is not a path")
    text = entry.data.strip()
    if (not text or "://" in text or "?ref=" in text or text.startswith(_REMOTE_PREFIXES)
            or text.endswith(_MANIFEST_SUFFIXES) or text.startswith("/")):
        return None
    target = posixpath.normpath(posixpath.join(directory, text))
    if target == ".." or target.startswith("../"):
        return None  # above the repository root: not ours to read
    return target


def _images(place: _Place) -> list[Value]:
    values: list[Value] = []
    for entry in _items(place, "images"):
        _mapping(entry)
        tag_place, digest_place = entry.get("newTag"), entry.get("digest")
        digest = _text(digest_place)
        # `newTag: 1.2@sha256:...` is written too; a `digest` field wins over its digest.
        tagged = parse_version_text(_text(tag_place) or "")
        version = make_version(tagged.tag, digest or tagged.digest)
        source = digest_place if digest else tag_place
        if version is None or source is None:
            continue  # an entry that only renames the image pins no version
        name = _text(entry.get("name"))
        if not name:
            raise entry.fail("sets a tag or digest but has no name")
        values.append(_value(name, version, source))
    return values


def _override(inner: Iterable[Value], outer: Sequence[Value]) -> list[Value]:
    """The outer kustomization's entry for an artifact replaces every inner one."""
    replaced = {value.artifact for value in outer}
    return [*outer, *(value for value in inner if value.artifact not in replaced)]


def _unique(values: Iterable[Value]) -> tuple[Value, ...]:
    # A base included twice (two overlays of one component) yields the same values twice.
    seen: dict[tuple[str, str], Value] = {}
    for value in values:
        seen.setdefault((value.path, value.pointer), value)
    return tuple(seen.values())


# -- helm-values and yaml-path ------------------------------------------------------------------

def _helm_values(tree: Tree, path: str, options: Mapping[str, Any]) -> Extraction:
    """A dotted field of a Helm values file, or of `spec.values` of each HelmRelease in it."""
    field = _dotted(options.get("field", "image.tag"), "field")
    key_option = options.get("key_field", "image.repository")
    key_field = _dotted(key_option, "key_field") if key_option else None
    places = _documents(tree, path)
    if places is None:
        return _nothing(path)
    values: list[Value] = []
    for place in places:
        root: _Place | None = place
        if _is(place, "HelmRelease", _FLUX_HELM):
            root = place.get("spec", "values")
        elif isinstance(place.data.get("apiVersion"), str) and isinstance(
                place.data.get("kind"), str):
            continue  # another Kubernetes object next to the release: not values
        if root is not None:
            value = _helm_value(root, field, key_field)
            if value is not None:
                values.append(value)
    return Extraction(tuple(values), frozenset({path}))


def _helm_value(root: _Place, field: tuple[str, ...],
                key_field: tuple[str, ...] | None) -> Value | None:
    found = root.get(*field)
    if found is None:
        return None
    version = parse_version_text(_text(found) or "")
    if version.digest is None and field[-1] != "digest":
        # Charts commonly take `image.digest` next to `image.tag` and pull tag@digest.
        sibling = root.get(*field[:-1], "digest")
        digest = _text(sibling)
        if sibling is not None and digest:
            return _value(_artifact(root, field, key_field),
                          make_version(version.tag, digest) or version, sibling)
    return _value(_artifact(root, field, key_field), version, found)


def _artifact(root: _Place, field: tuple[str, ...], key_field: tuple[str, ...] | None) -> str:
    named = _text(root.get(*key_field)) if key_field else None
    return named or ".".join(field)


def _yaml_path(tree: Tree, path: str, options: Mapping[str, Any]) -> Extraction:
    """A dotted field (numeric tokens index lists) in the first document that has it."""
    field = _dotted(options.get("field"), "field")
    key_option = options.get("key_field")
    key_field = _dotted(key_option, "key_field") if key_option else None
    places = _documents(tree, path)
    for place in places or ():
        found = place.get(*field)
        if found is not None:
            version = parse_version_text(_text(found) or "")
            value = _value(_artifact(place, field, key_field), version, found)
            return Extraction((value,), frozenset({path}))
    return _nothing(path)


# -- helmrelease-chart --------------------------------------------------------------------------

def _helmrelease_chart(tree: Tree, path: str, options: Mapping[str, Any]) -> Extraction:
    """The chart each Flux HelmRelease installs: `spec.chart.spec` or a `chartRef`."""
    places = _documents(tree, path)
    if places is None:
        return _nothing(path)
    values: list[Value] = []
    for place in places:
        if not _is(place, "HelmRelease", _FLUX_HELM):
            continue
        chart_ref = place.get("spec", "chartRef")
        if chart_ref is not None and chart_ref.data is not None:
            values.append(_chart_ref(places, place, _mapping(chart_ref)))
        else:
            values.append(_chart_spec(place))
    return Extraction(tuple(values), frozenset({path}))


def _chart_spec(release: _Place) -> Value:
    chart_spec = release.get("spec", "chart", "spec")
    chart = _text(chart_spec.get("chart")) if chart_spec is not None else None
    if chart_spec is None or not chart:
        raise (chart_spec or release).fail(
            "names no chart: a HelmRelease needs spec.chart.spec.chart or spec.chartRef")
    version_place = _mapping(chart_spec).get("version")
    text = _text(version_place)
    if version_place is not None and text:
        return _value(chart, parse_version_text(text), version_place)
    # Flux reads a missing version as `*`: whatever chart is newest at reconcile time.
    return _missing(chart, parse_version_text(""), chart_spec, "version", _NO_CHART_VERSION)


def _chart_ref(places: list[_Place], release: _Place, chart_ref: _Place) -> Value:
    if _text(chart_ref.get("kind")) != "OCIRepository":
        raise chart_ref.fail("is not an OCIRepository; only OCIRepository chart references "
                             "can be read")
    name = _text(chart_ref.get("name"))
    if not name:
        raise chart_ref.fail("has no name")
    namespace = _text(chart_ref.get("namespace")) or _text(release.get("metadata", "namespace"))
    for place in places:
        if (_is(place, "OCIRepository", _FLUX_SOURCE)
                and _text(place.get("metadata", "name")) == name):
            other = _text(place.get("metadata", "namespace"))
            if not (namespace and other and namespace != other):
                return _oci_version(place)
    raise chart_ref.fail("names an OCIRepository that is not in this file")


def _oci_version(repository: _Place) -> Value:
    url = _text(repository.get("spec", "url"))
    spec = repository.get("spec")
    if spec is None or not url:
        raise repository.fail("is an OCIRepository without spec.url")
    ref = spec.get("ref")
    if ref is not None and ref.data is not None:
        _mapping(ref)
        # The source controller's precedence: a digest, then a tag, then a semver range.
        for key in ("digest", "tag", "semver"):
            found = ref.get(key)
            text = _text(found)
            if found is not None and text:
                return _value(url, parse_version_text(text), found)
    return _missing(url, parse_version_text("latest"), ref or spec, "tag" if ref else "ref",
                    _NO_OCI_REF)


# -- argocd-app ---------------------------------------------------------------------------------

def _argocd_app(tree: Tree, path: str, options: Mapping[str, Any]) -> Extraction:
    """`targetRevision` of each source of each Argo CD Application."""
    places = _documents(tree, path)
    if places is None:
        return _nothing(path)
    values: list[Value] = []
    for place in places:
        if not _is(place, "Application", _ARGO):
            continue
        spec = place.get("spec")
        if spec is None or spec.data is None:
            continue
        source = _mapping(spec).get("source")
        if source is not None and source.data is not None:
            values.append(_argo_source(source))
        values.extend(_argo_source(item) for item in _items(spec, "sources"))
    return Extraction(tuple(values), frozenset({path}))


def _argo_source(source: _Place) -> Value:
    _mapping(source)
    repo_url = _text(source.get("repoURL"))
    if not repo_url:
        raise source.fail("has no repoURL")
    chart, folder = _text(source.get("chart")), _text(source.get("path"))
    artifact = repo_url + (f"#{chart}" if chart else f"#{folder}" if folder else "")
    found = source.get("targetRevision")
    text = _text(found)
    version = parse_version_text(text or "HEAD")  # Argo CD reads a missing revision as HEAD
    floating = None if _fixed_revision(version) else _ARGO_BRANCH
    if found is not None and text:
        return _value(artifact, version, found, floating)
    return _missing(artifact, version, source, "targetRevision", _ARGO_BRANCH)


def _fixed_revision(version: Version) -> bool:
    """A semver tag or a commit pins the revision; ranges and placeholders are left to
    floating_reason, which names them better. Anything else is a branch (or HEAD)."""
    text = version.display
    return (_ARGO_SEMVER.fullmatch(text) is not None or _COMMIT_SHA.fullmatch(text) is not None
            or floating_reason(version, ()) is not None)


# -- workload-image -----------------------------------------------------------------------------

def _workload_image(tree: Tree, path: str, options: Mapping[str, Any]) -> Extraction:
    """The image of each container and init container of each workload's pod template."""
    places = _documents(tree, path)
    if places is None:
        return _nothing(path)
    values: list[Value] = []
    for place in places:
        kind = place.data.get("kind")
        template = pod_template(kind) if isinstance(kind, str) else None
        pod_spec = place.get(*template.spec) if template is not None else None
        if pod_spec is None or pod_spec.data is None:
            continue  # not a workload, or a Rollout that refers to another workload
        _mapping(pod_spec)
        for key in ("containers", "initContainers"):
            for container in _items(pod_spec, key):
                image_place = _mapping(container).get("image")
                image = _text(image_place)
                if image_place is None or not image:
                    continue  # a patch may leave the image to its base
                artifact, version = split_image(image)
                values.append(_value(artifact, version, image_place))
    return Extraction(tuple(values), frozenset({path}))


EXTRACTORS: Mapping[str, Extractor] = MappingProxyType({
    "kustomize-images": _kustomize_images,
    "helm-values": _helm_values,
    "helmrelease-chart": _helmrelease_chart,
    "argocd-app": _argocd_app,
    "workload-image": _workload_image,
    "yaml-path": _yaml_path,
})


def extract(name: str, tree: Tree, path: str, options: Mapping[str, Any]) -> Extraction:
    """Run the extractor `name` on the location file `path`."""
    extractor = EXTRACTORS.get(name)
    if extractor is None:
        raise ValueError(f"unknown extractor {name!r}; known: {', '.join(EXTRACTORS)}")
    return extractor(tree, path, options)
