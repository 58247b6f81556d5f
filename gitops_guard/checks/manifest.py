"""manifest: files the API server (or kubectl, Flux, Argo CD) cannot read as objects.

FAIL (GG-MANIFEST-002, the API server rejects duplicate keys)::

    metadata:
      name: web
      name: api

FAIL (GG-MANIFEST-005)::

    apiVersion: v1
    kind: ConfigMap
    metadata: {labels: {app: web}}

PASS::

    apiVersion: v1
    kind: ConfigMap
    metadata: {name: web}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gitops_guard import pointer as jp
from gitops_guard.checks.base import Check, CheckContext
from gitops_guard.documents import DocRole, Document, FileKind, SourceFile
from gitops_guard.findings import Problem, Rule, Severity
from gitops_guard.loader import (
    RULE_BINARY,
    RULE_ENCODING,
    RULE_SYNTAX,
    RULE_TAB,
    RULE_TOO_COMPLEX,
    RULE_TOO_LARGE,
    RULE_UNREADABLE,
)

RULE_DUPLICATE_KEY = "GG-MANIFEST-002"
RULE_API_VERSION = "GG-MANIFEST-003"
RULE_KIND = "GG-MANIFEST-004"
RULE_NAME = "GG-MANIFEST-005"
RULE_NOT_OBJECT = "GG-MANIFEST-006"
RULE_EMPTY = "GG-MANIFEST-013"
RULE_TEMPLATE = "GG-MANIFEST-014"

_E, _I = Severity.ERROR, Severity.INFO
# Findings about a whole file have no object to annotate; some have no line to comment on.
_FILE_NOTE = ("The finding is about the file, not an object, so no annotation can carry a "
              "waiver for it.")
_NO_LINE_NOTE = ("The finding has neither an object nor a line: waive it in the config (by "
                 "path), or exclude: the path.")
RULES = (
    Rule(RULE_SYNTAX, "YamlJsonSyntax", _E, "The file is not valid YAML or JSON.",
         why="kubectl, kustomize, Flux and Argo CD cannot read a file that does not parse, so "
             "nothing in it is applied and the sync that includes it fails; no other check "
             "can look inside it either.",
         fix="Fix the syntax at the reported line; the message gives the parser's reason. "
             "Tags other than the standard ones (!foo, !!set) and values that do not fit "
             "their tag (!!bool maybe) are syntax errors too, as in Kubernetes.",
         inline=("comment",), waive=_FILE_NOTE),
    Rule(RULE_DUPLICATE_KEY, "DuplicateKey", _E,
         "A mapping repeats a key; the API server rejects it and tools disagree on which wins.",
         why="The API server rejects an object with a repeated key, and the tools that accept "
             "one disagree on which value wins, so what was reviewed is not necessarily what "
             "runs.",
         fix="Remove one of the two keys and keep the value you mean. The finding is at the "
             "repeated key; the message names the line of the first one."),
    Rule(RULE_API_VERSION, "MissingApiVersion", _E,
         "An object has no apiVersion, or it is not a string.",
         why="Without apiVersion, as a string, the API server cannot tell which API the object "
             "belongs to and refuses it.",
         fix="Add apiVersion (v1, apps/v1, ...). Quote a value that YAML 1.1, as Kubernetes "
             "reads it, turns into a number or a boolean."),
    Rule(RULE_KIND, "MissingKind", _E, "An object has no kind, or it is not a string.",
         why="Without kind, as a string, the API server cannot tell what the object is and "
             "refuses it.",
         fix="Add kind (Deployment, ConfigMap, ...). Quote a value that YAML 1.1 reads as a "
             "boolean or a number: kind: Y is the boolean true."),
    Rule(RULE_NAME, "MissingName", _E,
         "An object has no metadata.name (or generateName), or it is not a string.",
         why="The API server refuses an object without a name, and Flux and Argo CD track "
             "the objects they apply by name.",
         fix="Set metadata.name to a string. Quote values that YAML 1.1 reads as booleans or "
             "numbers (name: no is the boolean false, name: 1.10 the number 1.1)."),
    Rule(RULE_NOT_OBJECT, "NotAnObject", _E,
         "A document in a manifest file is a list or a scalar, not an object.",
         why="Each document of a manifest file must be one object (a mapping); a list or a "
             "scalar, often the result of bad indentation, cannot be applied.",
         fix="Put each object in its own document (---), or wrap a list of objects in "
             "kind: List; check the indentation of the document.",
         inline=("comment",),
         waive="The document is not an object, so no annotation can carry a waiver for it."),
    Rule(RULE_TAB, "TabIndentation", _E, "A tab is used for indentation; YAML allows spaces.",
         why="YAML does not allow tabs in indentation, so the file does not parse and nothing "
             "in it is applied.",
         fix="Replace the tabs with spaces, and set the editor to indent YAML with spaces.",
         inline=("comment",), waive=_FILE_NOTE),
    Rule(RULE_ENCODING, "NotUtf8", _E, "The file is not valid UTF-8.",
         why="Kubernetes reads manifests as UTF-8; a file in UTF-16 or Latin-1 cannot be "
             "decoded, so nothing in it is applied.",
         fix="Save the file as UTF-8 (for example iconv -f LATIN1 -t UTF-8).",
         inline=("comment",), waive=_FILE_NOTE),
    Rule(RULE_UNREADABLE, "Unreadable", _E,
         "The file could not be read (missing, no permission, symlink loop, not a file).",
         why="A file that cannot be read cannot be checked; it is usually a dangling "
             "symlink, a permission problem or a special file that the deploy tools would "
             "trip on too.",
         fix="Fix the permissions or the symlink, or leave the path out with exclude: when "
             "it is not a manifest.",
         inline=(), waive=_NO_LINE_NOTE),
    Rule(RULE_TOO_LARGE, "TooLarge", _E, "The file is larger than max_file_size.",
         why="Files above max_file_size (8 MiB by default) are not read, which keeps runs "
             "fast and memory bounded, so nothing in this one is checked.",
         fix="Split the file, raise max_file_size in the config, or exclude: the path when "
             "it is generated or vendored.",
         inline=(), waive=_NO_LINE_NOTE),
    Rule(RULE_BINARY, "BinaryFile", _E, "The file contains NUL bytes.",
         why="A file with NUL bytes is binary under a YAML or JSON name; it is not a "
             "manifest and cannot be applied.",
         fix="Remove or rename the file, or exclude: its path.",
         inline=("comment",), waive=_FILE_NOTE),
    Rule(RULE_TOO_COMPLEX, "TooComplex", _E,
         "The document nests too deeply or its aliases expand too far (alias bomb).",
         why="Deep nesting, or aliases that expand beyond 200,000 nodes (an alias bomb), can "
             "exhaust the memory of every tool that reads the file, the API server included; "
             "the document is not checked.",
         fix="Flatten the structure, and remove aliases that refer to themselves or multiply "
             "each other.",
         inline=("comment",), waive=_FILE_NOTE),
    Rule(RULE_EMPTY, "EmptyFile", _I, "The file holds no documents.",
         why="A YAML file with no documents (only comments, or a lone ---) deploys nothing; "
             "it is usually a leftover, or an object that was deleted by mistake.",
         fix="Delete the file, or put the object back. Where empty files are intended, "
             "turn the rule off: rules: {GG-MANIFEST-013: off}.",
         inline=("comment",), waive=_FILE_NOTE),
    Rule(RULE_TEMPLATE, "TemplateNotChecked", _I,
         "A file outside a Helm chart's templates/ holds template syntax, so it is not checked "
         "as Kubernetes objects.",
         why="Template syntax ({{ .Values ... }}) cannot be read as Kubernetes objects, so no "
             "check looks at the file; applied as plain YAML it would fail.",
         fix="Move the file under the templates/ directory of a chart (next to Chart.yaml), "
             "or render it (helm template) and commit the result.",
         inline=("comment",), waive=_FILE_NOTE),
)

_OBJECT_ROLES = frozenset({DocRole.RESOURCE, DocRole.INCOMPLETE, DocRole.LIST,
                           DocRole.KUSTOMIZATION})


def check_document(doc: Document, ctx: CheckContext) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for dup in doc.duplicates:
        # The second, third, ... repetition of one key are different findings.
        seen[dup.pointer] = seen.get(dup.pointer, 0) + 1
        yield Problem(RULE_DUPLICATE_KEY,
                      f'duplicate key "{dup.key}" (first defined at line {dup.first_line}); '
                      "the API server rejects duplicate keys",
                      dup.pointer, at_key=True, line=dup.line, column=dup.column,
                      identity=str(seen[dup.pointer]))
    if doc.role in (DocRole.RESOURCE, DocRole.INCOMPLETE):
        yield from _object_fields(doc.data)
    elif doc.role is DocRole.NOT_MAPPING and _object_expected(doc, ctx.file):
        yield Problem(RULE_NOT_OBJECT, _not_object_message(doc))


def _object_fields(data: dict[str, Any]) -> Iterator[Problem]:
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if "apiVersion" not in data:
        yield Problem(RULE_API_VERSION, "object has no apiVersion")
    elif not isinstance(api_version, str) or not api_version.strip():
        yield Problem(RULE_API_VERSION, _not_a_string("apiVersion", api_version), "/apiVersion")
    if "kind" not in data:
        yield Problem(RULE_KIND, "object has no kind")
    elif not isinstance(kind, str) or not kind.strip():
        yield Problem(RULE_KIND, _not_a_string("kind", kind), "/kind")
    metadata = data.get("metadata")
    if "metadata" not in data:
        yield Problem(RULE_NAME, "object has no metadata.name")
    elif not isinstance(metadata, dict):
        yield Problem(RULE_NAME, "metadata must be a mapping", "/metadata")
    elif "name" in metadata:
        name = metadata["name"]
        if not isinstance(name, str) or not name:
            yield Problem(RULE_NAME, _not_a_string("metadata.name", name), "/metadata/name")
    elif not isinstance(metadata.get("generateName"), str):
        yield Problem(RULE_NAME, "object has no metadata.name", "/metadata", at_key=True)


def _not_a_string(field: str, value: object) -> str:
    message = f"{field} must be a non-empty string"
    if isinstance(value, bool):
        # `kind: Y` or `name: no`: YAML 1.1, as Kubernetes reads it, makes these booleans.
        return (f"{message}, but YAML reads this value as the boolean {str(value).lower()}; "
                "quote it")
    if isinstance(value, (int, float)):
        return f"{message}, but YAML reads this value as the number {value}; quote it"
    if value is None:
        return f"{message}, but it is empty (null)"
    return message


def _object_expected(doc: Document, file: SourceFile) -> bool:
    if doc.prefix:  # an item of a List
        return True
    if isinstance(doc.data, list) and any(
            isinstance(item, dict) and "kind" in item for item in doc.data):
        return True
    return any(other.role in _OBJECT_ROLES for other in file.documents)


def _not_object_message(doc: Document) -> str:
    what = {list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(doc.data), "not a mapping")
    if doc.prefix:
        return f"{jp.dotted_pointer(doc.prefix)} is {what}, not an object"
    if isinstance(doc.data, list):
        return (f"document {doc.index + 1} is {what}, not an object; put each object in its "
                "own document (---) or use kind: List")
    return f"document {doc.index + 1} is {what}, not an object (bad indentation?)"


def check_file(file: SourceFile, ctx: CheckContext) -> Iterator[Problem]:
    if file.kind is FileKind.HELM_TEMPLATE:
        if not file.chart_template:
            yield Problem(RULE_TEMPLATE, "file holds Helm template syntax, so it is not checked as "
                          "Kubernetes objects (render it, or move it under a chart's templates/)",
                          line=1, column=1, identity="file")
    elif file.error is None and all(doc.role is DocRole.EMPTY for doc in file.documents):
        yield Problem(RULE_EMPTY, "file holds no documents", line=1, column=1, identity="file")


CHECK = Check(
    name="manifest",
    description="YAML/JSON that parses, and objects with apiVersion, kind and metadata.name.",
    rules=RULES,
    check_document=check_document,
    check_file=check_file,
    roles=frozenset(DocRole),
    file_kinds=frozenset({FileKind.YAML, FileKind.JSON, FileKind.HELM_TEMPLATE}),
    config_schema={"type": "object", "properties": {}, "additionalProperties": False,
                   "description": "the manifest check takes no settings: {} is its only form"},
)
