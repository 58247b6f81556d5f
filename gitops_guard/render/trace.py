"""Trace a rendered object, and a field in it, back to the file and line that wrote it.

Each rendered object carries `config.kubernetes.io/origin` (see build.py): the file it was read
from, or the kustomization whose generator made it. In that file the object is found by kind
and name (the name before namePrefix/nameSuffix: the longest source name the rendered name
contains). A field is looked for where it was last written, in the order kustomize applies
things, outermost kustomization first: that kustomization's own transforms (`namespace`,
`images`, `replicas`, labels, name prefix/suffix), then its patches, last one first, then the
same for each base; last, the object's own source document. List items are matched by their
merge key (`name`, `containerPort`, `mountPath`, ...) as a strategic-merge patch matches
them. A field found nowhere points at the deepest part of it the source document has (the
container, say), as for unrendered files; an object whose source is not found, at the root
kustomization.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from gitops_guard import pointer as jp
from gitops_guard import workloads
from gitops_guard.discovery import display_path
from gitops_guard.documents import DocRole, Document, SourceFile
from gitops_guard.loader import load_file
from gitops_guard.render.graph import Entry, Kustomization

ORIGIN = "config.kubernetes.io/origin"
# Strategic-merge keys of the lists found in pod specs and their neighbours.
_MERGE_KEYS = ("name", "containerPort", "mountPath", "devicePath", "port", "ip", "topologyKey")
_OBJECTS = frozenset({DocRole.RESOURCE, DocRole.INCOMPLETE})


class Place(NamedTuple):
    """Where a finding goes: a source file and a line and column in it."""

    file: SourceFile
    line: int
    column: int


@dataclass(frozen=True)
class Origin:
    path: Path | None  # the file the object was read from
    configured_in: Path | None  # the kustomization whose generator made it


class Sources:
    """Source files, loaded once each, for their documents and lines."""

    def __init__(self, cwd: Path, max_size: int) -> None:
        self.cwd, self.max_size = cwd, max_size
        self._files: dict[Path, SourceFile] = {}

    def get(self, path: Path) -> SourceFile:
        if path not in self._files:
            self._files[path] = load_file(path, display_path(path, self.cwd), self.max_size)
        return self._files[path]

    def objects(self, path: Path) -> list[Document]:
        return [d for d in self.get(path).documents if d.role in _OBJECTS]


def take_origin(data: Any, anchor: tuple[str, str] | None, root: Path) -> Origin | None:
    """Remove the origin annotation kustomize added (so no check sees it) and resolve it."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not isinstance(annotations, dict) or ORIGIN not in annotations:
        return None
    value = annotations.pop(ORIGIN)
    if not annotations and isinstance(metadata, dict):
        del metadata["annotations"]
    if anchor is None or not isinstance(value, str):
        return None
    fields = dict(_fields(value))
    return Origin(_resolve(fields.get("path"), anchor, root),
                  _resolve(fields.get("configuredIn"), anchor, root))


def _fields(text: str) -> Iterator[tuple[str, str]]:
    # `path: ../x.yaml` lines; kustomize writes plain scalars, quoted only when YAML needs it.
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if value and not line.startswith(" "):
            yield key.strip(), value.strip().strip("'\"")


def _resolve(value: str | None, anchor: tuple[str, str], root: Path) -> Path | None:
    if not value:
        return None
    wrapper, seen_root = anchor
    relative = os.path.relpath(os.path.normpath(Path(wrapper, value)), seen_root)
    return Path(os.path.normpath(root / relative))


class Tracer:
    """Places findings of one rendered root."""

    def __init__(self, closure: list[Kustomization], sources: Sources) -> None:
        self.closure = closure
        self.sources = sources
        self.root = closure[0]

    def source_document(self, rendered: Any, origin: Origin | None) -> Document | None:
        kind, name = _kind_name(rendered)
        if origin is not None and origin.path is not None:
            found = _best(self.sources.objects(origin.path), kind, name, alone=True)
            if found is not None:
                return found
        if origin is not None and origin.configured_in is not None:
            return None  # generated: placed at its generator
        # No origin (an old kustomize): the resources of the whole closure, by name.
        documents = [d for k in self.closure for e in k.resources
                     if e.path is not None and e.path.is_file()
                     for d in self.sources.objects(e.path)]
        return _best(documents, kind, name, alone=False)

    def place(self, rendered: Any, origin: Origin | None, source: Document | None,
              pointer: str) -> Place:
        tokens = jp.split(pointer)
        kind, name = _kind_name(rendered)
        source_name = _kind_name(source.data)[1] if source is not None else name
        # A patch that has the whole field: a value it sets wins at once; a mapping it only
        # reaches into (the container it adds an env var to) is the object's own, unless the
        # source document does not have it (a container the patch adds).
        reached: Place | None = None
        deepest: tuple[int, Place] | None = None  # the patch with most of the field
        for kustomization in self.closure:
            place = self._transform(kustomization, rendered, source, tokens, name, source_name)
            if place is not None:
                return place
            for entry in reversed(kustomization.patches):
                for document in self._patch_documents(kustomization, entry, kind,
                                                       (name, source_name)):
                    found, exact = translate(rendered, document.data, tokens)
                    place = self._at(document, kustomization, entry, found)
                    if exact and _sets(_value(document.data, found)):
                        return place
                    if exact:
                        reached = reached or place
                    elif deepest is None or len(found) > deepest[0]:
                        deepest = (len(found), place)
        if source is not None:
            found, exact = translate(rendered, source.data, tokens)
            if exact or (reached is None and (deepest is None or len(found) >= deepest[0])):
                return Place(self.sources.get(source.path), *source.locate(jp.join(*found)))
        if reached is not None:
            return reached
        if deepest is not None:
            return deepest[1]
        if origin is not None and origin.path is not None:
            return Place(self.sources.get(origin.path), 1, 1)
        return self._generator(origin, name) or self._root()

    # -- where a kustomization's own fields put things ------------------------------------

    def _transform(self, kustomization: Kustomization, rendered: Any, source: Document | None,
                   tokens: list[str], name: str, source_name: str) -> Place | None:
        data = kustomization.data
        key = None
        if tokens == ["metadata", "namespace"] and isinstance(data.get("namespace"), str):
            key = "/namespace"
        elif tokens == ["metadata", "name"] and name != source_name:
            key = next((f"/{k}" for k in ("namePrefix", "nameSuffix") if data.get(k)), None)
        elif len(tokens) >= 2 and tokens[-2] in ("labels", "matchLabels"):
            key = _label_key(data, tokens[-1])  # also in selectors and pod templates
        elif len(tokens) >= 2 and tokens[-2] == "annotations":
            annotations = data.get("commonAnnotations")
            if isinstance(annotations, dict) and tokens[-1] in annotations:
                key = jp.join("commonAnnotations", tokens[-1])
        elif tokens and tokens[-1] == "image":
            found, exact = translate(rendered, source.data, tokens) if source is not None \
                else ([], False)
            key = _image_key(data, _value(rendered, tokens),
                             _value(source.data, found) if exact and source is not None else None)
        elif tokens == ["spec", "replicas"]:
            key = _listed(data.get("replicas"), "name", {name, source_name}, "replicas")
        if key is None:
            return None
        return Place(kustomization.source, *kustomization.locate(key))

    # -- patches ----------------------------------------------------------------------------

    def _patch_documents(self, kustomization: Kustomization, entry: Entry, kind: str,
                         names: tuple[str, str]) -> Iterator[Document]:
        """The documents of a patch that apply to this object (a JSON 6902 operation as a
        document that holds its value at the operation's path)."""
        if entry.target and not _targets(entry.target, kind, names):
            return
        if entry.inline is not None:
            documents = [Document(kustomization.file, 0, 1, entry.inline, DocRole.DATA, None)]
        elif entry.path is not None and entry.path.is_file():
            documents = list(self.sources.get(entry.path).documents)
        else:
            return
        for document in documents:
            data = document.data
            if isinstance(data, dict) and (entry.target or _is_patch_for(data, kind, names)):
                yield document
            elif isinstance(data, list) and entry.target:
                yield from _operations(document)

    def _at(self, document: Document, kustomization: Kustomization, entry: Entry,
            found: list[str]) -> Place:
        if entry.inline is not None:  # inside a YAML string: the patch's own line
            return Place(kustomization.source, *kustomization.locate(entry.pointer))
        return Place(self.sources.get(document.path), *document.locate(jp.join(*found)))

    # -- fallbacks --------------------------------------------------------------------------

    def _generator(self, origin: Origin | None, name: str) -> Place | None:
        if origin is None or origin.configured_in is None:
            return None
        for kustomization in self.closure:
            if kustomization.file == origin.configured_in:
                key = None
                for generator in ("configMapGenerator", "secretGenerator"):
                    key = key or _listed(kustomization.data.get(generator), "name", {name},
                                         generator, contains=True)
                return Place(kustomization.source, *kustomization.locate(key or ""))
        return None

    def _root(self) -> Place:
        return Place(self.root.source, 1, 1)


def translate(rendered: Any, source: Any, tokens: list[str]) -> tuple[list[str], bool]:
    """The pointer tokens in `source` that reach the field `tokens` reaches in `rendered`,
    as far as `source` has it, and whether it has all of it."""
    found: list[str] = []
    for token in tokens:
        if isinstance(source, dict):
            if token not in source:
                return found, False
            rendered = rendered.get(token) if isinstance(rendered, dict) else None
            source = source[token]
            found.append(token)
        elif isinstance(source, list) and token.isdigit():
            item = rendered[int(token)] if isinstance(rendered, list) and \
                int(token) < len(rendered) else None
            index = _matching_item(item, source, int(token))
            if index is None:
                return found, False
            rendered, source = item, source[index]
            found.append(str(index))
        else:
            return found, False
    return found, True


def _matching_item(item: Any, source: list[Any], index: int) -> int | None:
    if isinstance(item, dict):
        for key in _MERGE_KEYS:
            if key in item and any(isinstance(s, dict) and key in s for s in source):
                return next((i for i, s in enumerate(source)
                             if isinstance(s, dict) and s.get(key) == item[key]), None)
    # No merge key to go by (a plain list, a JSON 6902 path by index): the same position.
    return index if index < len(source) and source[index] is not None else None


def _sets(value: Any) -> bool:
    """Whether a patch holding this value at a field writes the field rather than reaching
    into it: a scalar, or a list that replaces the old one (not one merged by key)."""
    if isinstance(value, dict):
        return False
    return not (isinstance(value, list) and any(isinstance(item, dict) for item in value))


def _operations(document: Document) -> Iterator[Document]:
    """A JSON 6902 patch as documents rooted at each add/replace operation's value."""
    for position, operation in enumerate(document.data):
        if not isinstance(operation, dict) or operation.get("op") not in ("add", "replace"):
            continue
        path = operation.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            continue
        tokens = jp.split(path)
        shell: Any = operation.get("value")
        for token in reversed(tokens):  # the value, wrapped to sit at its path
            if token == "-":  # appended: found by its merge key
                shell = [shell]
            else:
                shell = {token: shell} if not token.isdigit() else _at_index(int(token), shell)
        yield Document(document.path, document.index, document.line, shell, document.role,
                       _Shifted(document, position, len(tokens)))


def _at_index(index: int, value: Any) -> list[Any]:
    return [None] * index + [value]


class _Shifted:
    """Locates pointers of a wrapped operation value in the operation's own document."""

    __slots__ = ("depth", "document", "position")

    def __init__(self, document: Document, position: int, depth: int) -> None:
        self.document, self.position, self.depth = document, position, depth

    def locate(self, tokens: list[str], at_key: bool = False) -> tuple[int, int] | None:
        inner = tokens[self.depth:] if len(tokens) > self.depth else []
        key = "value" if len(tokens) >= self.depth else "path"
        return self.document.locate(jp.join(self.position, key, *inner), at_key)


def _targets(target: Mapping[str, Any], kind: str, names: tuple[str, str]) -> bool:
    wanted_kind, wanted_name = target.get("kind"), target.get("name")
    if isinstance(wanted_kind, str) and wanted_kind != kind:
        return False
    if isinstance(wanted_name, str):
        return any(_full_match(wanted_name, name) for name in names)
    return True


def _full_match(pattern: str, name: str) -> bool:
    try:
        return re.fullmatch(pattern, name) is not None  # kustomize reads it as a regex
    except re.error:
        return pattern == name


def _is_patch_for(data: Mapping[str, Any], kind: str, names: tuple[str, str]) -> bool:
    """A patch names the object as the kustomization that holds it sees it: its source name,
    with the prefixes and suffixes of the bases in between, inside the rendered name."""
    patch_kind, patch_name = _kind_name(data)
    rendered, source = names
    return patch_kind == kind and bool(patch_name) and (
        patch_name in names or (source in patch_name and patch_name in rendered))


def _kind_name(data: Any) -> tuple[str, str]:
    if not isinstance(data, dict):
        return "", ""
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    kind = data.get("kind")
    return (kind if isinstance(kind, str) else "", name if isinstance(name, str) else "")


def _best(documents: list[Document], kind: str, name: str, *, alone: bool) -> Document | None:
    """The document of this kind whose name is the rendered name, else the longest name the
    rendered one contains (namePrefix/nameSuffix), else (`alone`) the only one of the kind."""
    same_kind = [d for d in documents if _kind_name(d.data)[0] == kind]
    named = [(len(n), d) for d in same_kind for n in [_kind_name(d.data)[1]]
             if n and (n == name or n in name)]
    if named:
        return max(named, key=lambda pair: pair[0])[1]
    if alone and len(same_kind) == 1:
        return same_kind[0]
    return None


def _value(data: Any, tokens: list[str]) -> Any:
    return workloads.get(data, tuple(tokens))


def _image_key(data: Mapping[str, Any], rendered: Any, source: Any) -> str | None:
    """The `images:` entry that set this image: by the name it had, or the name it got."""
    names = {_image_name(value) for value in (rendered, source) if isinstance(value, str)}
    if not names or rendered == source:
        return None
    images = data.get("images")
    for index, entry in enumerate(images if isinstance(images, list) else []):
        if isinstance(entry, dict) and (entry.get("name") in names
                                        or entry.get("newName") in names):
            return jp.join("images", index)
    return None


def _image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _label_key(data: Mapping[str, Any], label: str) -> str | None:
    common = data.get("commonLabels")
    if isinstance(common, dict) and label in common:
        return jp.join("commonLabels", label)
    labels = data.get("labels")
    for index, entry in enumerate(labels if isinstance(labels, list) else []):
        pairs = entry.get("pairs") if isinstance(entry, dict) else None
        if isinstance(pairs, dict) and label in pairs:
            return jp.join("labels", index, "pairs", label)
    return None


def _listed(values: Any, key: str, names: set[str], field: str,
            contains: bool = False) -> str | None:
    for index, entry in enumerate(values if isinstance(values, list) else []):
        value = entry.get(key) if isinstance(entry, dict) else None
        if isinstance(value, str) and (value in names or (contains and any(
                value in name for name in names))):
            return jp.join(field, index)
    return None
