"""The sops check: which files must be encrypted, and whether SOPS files are complete."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_guard import globs
from gitops_guard.checks.base import CheckContext, RunInfo
from gitops_guard.checks.sops.rules import (
    RULE_BAD_CONFIG,
    RULE_BAD_METADATA,
    RULE_NOT_ENCRYPTED,
    RULE_PLAINTEXT_VALUE,
    RULE_STALE_KEYS,
)
from gitops_guard.discovery import display_path, find_git_root
from gitops_guard.documents import FileKind, SourceFile
from gitops_guard.errors import GuardError
from gitops_guard.findings import Problem
from gitops_guard.sops import cipher
from gitops_guard.sops import metadata as meta
from gitops_guard.sops.config import CONFIG_NAME, CreationRule, SopsConfig, load_sops_config
from gitops_guard.sops.detect import holds_sops_file
from gitops_guard.sops.tree import DEFAULT_UNENCRYPTED_SUFFIX, Selector, walk_order
from gitops_guard.sops.values import Comment, Mapping, Pair, Sequence, Value

_MAX_DEPTH = 100


@dataclass(frozen=True)
class SopsState:
    root: Path  # where the walk up for .sops.yaml stops: the repository
    config_root: Path  # where sops.paths globs start
    paths: tuple[str, ...]
    creation_rules: bool
    cwd: Path  # for showing paths
    checked: frozenset[Path]  # the run's files: a .sops.yaml among them reports itself
    # Run-scoped: the nearest .sops.yaml of each directory (or why it cannot be used).
    configs: dict[Path, SopsConfig | GuardError | None] = field(default_factory=dict)

    def nearest_config(self, directory: Path) -> SopsConfig | GuardError | None:
        if directory in self.configs:
            return self.configs[directory]
        found: SopsConfig | GuardError | None = None
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            try:
                found = load_sops_config(candidate)
            except GuardError as exc:
                found = exc
        elif directory != self.root and directory.parent != directory and \
                len(directory.parts) < _MAX_DEPTH:
            # Up to the repository root (sops itself looks up from the working directory).
            found = self.nearest_config(directory.parent)
        self.configs[directory] = found
        return found


def prepare(info: RunInfo) -> SopsState:
    settings = info.config.section("sops")
    root = find_git_root(info.cwd) or info.config.root
    return SopsState(root=root, config_root=info.config.root,
                     paths=tuple(settings.get("paths", ())),
                     creation_rules=bool(settings.get("creation_rules", True)), cwd=info.cwd,
                     checked=frozenset(info.paths))


def check_file(file: SourceFile, ctx: CheckContext) -> Iterator[Problem]:
    state: SopsState = ctx.state
    if file.path.name == CONFIG_NAME:
        yield from _config_problems(file.path)
        return
    view = _view(file)
    if view is None:
        return
    rule = None
    if state.creation_rules:
        found = _rule(state, file.path)
        if isinstance(found, GuardError):
            yield Problem(RULE_BAD_CONFIG, f"the .sops.yaml that governs it ({found.path}) "
                          f"cannot be used: {found.message}", line=1, column=1,
                          identity="sops-config")
        else:
            rule = found
    if view.metadata is None:
        yield from _must_it_be_encrypted(view, rule, state, file)
        return
    yield from _complete(view, rule)


# -- what the file holds -----------------------------------------------------------------------

@dataclass
class _View:
    """A file as sops sees it: its documents (values model), metadata, and how to find lines."""

    file: SourceFile
    fmt: str
    documents: list[Mapping]
    metadata: Mapping | None
    kinds: list[str | None]  # the Kubernetes kind of each document, if any

    def line(self, document: int, tokens: tuple[str, ...], at_key: bool = False) -> int:
        if self.fmt in ("yaml", "json"):
            docs = self.file.documents
            if document < len(docs):
                return docs[document].locate("".join("/" + _escape(t) for t in tokens),
                                             at_key)[0]
            return 1
        return _text_line(self.file.text or "", self.fmt, tokens)


def _view(file: SourceFile) -> _View | None:
    if file.kind in (FileKind.YAML, FileKind.JSON):
        if file.error is not None:
            return None
        documents = []
        metadata: Mapping | None = None
        kinds: list[str | None] = []
        for document in file.documents:
            data = document.data if isinstance(document.data, dict) else {}
            tree = _to_tree({k: v for k, v in data.items() if k != "sops"})
            documents.append(tree if isinstance(tree, Mapping) else Mapping())
            kind = data.get("kind")
            kinds.append(kind if isinstance(kind, str) else None)
            sops = data.get("sops")
            if metadata is None and isinstance(sops, dict):
                converted = _to_tree(sops)
                metadata = converted if isinstance(converted, Mapping) else None
        return _View(file, "yaml" if file.kind is FileKind.YAML else "json", documents,
                     metadata, kinds)
    name = file.path.name.lower()
    fmt = "dotenv" if name.endswith(".env") or name.startswith(".env") else (
        "ini" if name.endswith(".ini") else None)
    if fmt is None or file.text is None:
        return None
    from gitops_guard.sops.stores import store_for

    try:
        documents, tree = store_for(fmt).load_encrypted(file.text.encode("utf-8"))
    except GuardError:
        return None  # not readable as sops reads it: nothing to say about encryption
    return _View(file, fmt, documents, tree, [None] * len(documents))


def _to_tree(data: Any) -> Value:
    if isinstance(data, dict):
        return Mapping(Pair(str(key), _to_tree(value)) for key, value in data.items())
    if isinstance(data, list):
        return Sequence(_to_tree(item) for item in data)
    if isinstance(data, (str, int, float, bool)) or data is None:
        return data
    return str(data)


# -- plain files -------------------------------------------------------------------------------

def _rule(state: SopsState, path: Path) -> tuple[SopsConfig, CreationRule] | GuardError | None:
    """The creation rule that covers `path`, or why its .sops.yaml cannot be used (when that
    .sops.yaml is not checked in this run, which would report it on itself)."""
    config = state.nearest_config(path.parent)
    if isinstance(config, GuardError):
        broken = Path(config.path or "")
        if broken in state.checked:
            return None
        return GuardError(config.message, path=display_path(broken, state.cwd))
    if config is None:
        return None
    try:
        rule = config.match(path, path.parent)
    except GuardError as exc:
        if config.path in state.checked:
            return None
        return GuardError(exc.message, path=display_path(config.path, state.cwd))
    return (config, rule) if rule is not None else None


def _must_it_be_encrypted(view: _View, rule: tuple[SopsConfig, CreationRule] | None,
                          state: SopsState, file: SourceFile) -> Iterator[Problem]:
    if rule is not None:
        config, chosen = rule
        # What `encrypt` would select: the rule's selection, else the implied suffix.
        selector = chosen.selector if chosen.selector.field is not None else Selector(
            unencrypted_suffix=DEFAULT_UNENCRYPTED_SUFFIX)
        first = next(_unencrypted(_documents_for(view, selector), selector), None)
        if first is not None:
            where = display_path(config.path, state.cwd)
            yield Problem(RULE_NOT_ENCRYPTED, f"is not SOPS-encrypted, but creation rule "
                          f"{chosen.index} of {where} covers it (run `gitops-guard sops "
                          "encrypt -i` on it)", line=view.line(*first, at_key=True), column=1,
                          identity="sops-required")
            return
    if not state.paths or not globs.match_any(
            state.paths, display_path(file.path, state.config_root)):
        return
    if view.fmt == "dotenv":
        first = next(_unencrypted(view.documents, Selector()), None)
        if first is not None:
            yield Problem(RULE_NOT_ENCRYPTED, "is a .env file under sops.paths and not "
                          "SOPS-encrypted", line=view.line(*first), column=1,
                          identity="sops-required")
        return
    for index, kind in enumerate(view.kinds):
        if kind != "Secret":
            continue
        secret = Mapping(item for item in view.documents[index]
                         if isinstance(item, Pair) and item.key in ("data", "stringData"))
        first = next(_unencrypted([secret], Selector()), None)
        if first is not None:
            yield Problem(RULE_NOT_ENCRYPTED, "is a Secret under sops.paths and not "
                          "SOPS-encrypted", line=view.line(index, first[1], at_key=True),
                          column=1, identity=f"sops-required:{index}")


# -- SOPS files --------------------------------------------------------------------------------

def _complete(view: _View, rule: tuple[SopsConfig, CreationRule] | None) -> Iterator[Problem]:
    assert view.metadata is not None  # noqa: S101 (the caller checked)
    metadata_line = view.line(0, ("sops",), at_key=True) if view.fmt in ("yaml", "json") \
        else view.line(0, ("sops_mac",))
    try:
        metadata = meta.from_tree(view.metadata)
    except GuardError as exc:
        yield Problem(RULE_BAD_METADATA, exc.message, line=metadata_line, column=1,
                      identity="sops-metadata")
        return
    yield from _metadata_problems(metadata, metadata_line)
    selector = metadata.effective_selector
    documents = _documents_for(view, selector)
    for index, tokens in _unencrypted(documents, selector):
        where = ".".join(tokens) or "a value"
        yield Problem(RULE_PLAINTEXT_VALUE, f"{where} is in plain text but the file's sops "
                      "rule encrypts it (added after encryption?)",
                      line=view.line(index, tokens), column=1, identity=f"{index}:{where}")
    for index, tokens in _malformed(documents):
        where = ".".join(tokens)
        yield Problem(RULE_BAD_METADATA, f"{where} is not a valid ENC[AES256_GCM,...] value",
                      line=view.line(index, tokens), column=1, identity=f"{index}:{where}")
    if rule is not None:
        yield from _key_changes(metadata, rule, metadata_line)


def _metadata_problems(metadata: meta.Metadata, line: int) -> Iterator[Problem]:
    if not metadata.mac:
        yield Problem(RULE_BAD_METADATA, "the sops metadata has no MAC: nothing proves the "
                      "values were not changed (Flux does not check it either)", line=line,
                      column=1, identity="sops-metadata")
    elif cipher.parse(metadata.mac) is None:
        yield Problem(RULE_BAD_METADATA, "the sops MAC is not an ENC[AES256_GCM,...] value",
                      line=line, column=1, identity="sops-metadata")
    if all(group.empty for group in metadata.key_groups):
        yield Problem(RULE_BAD_METADATA, "the sops metadata names no master key: nobody can "
                      "decrypt the data key", line=line, column=1, identity="sops-metadata")
    if not metadata.lastmodified:
        yield Problem(RULE_BAD_METADATA, "the sops metadata has no lastmodified", line=line,
                      column=1, identity="sops-metadata")


def _documents_for(view: _View, selector: Selector) -> list[Mapping]:
    """The documents, with their comments when the selection depends on them."""
    field = selector.field
    if view.fmt == "yaml" and field is not None and "comment" in field[0]:
        return _with_comments(view) or view.documents
    return view.documents


def _with_comments(view: _View) -> list[Mapping] | None:
    from gitops_guard.sops.stores import store_for

    try:
        documents, _ = store_for("yaml").load_encrypted((view.file.text or "").encode())
    except GuardError:
        return None
    return list(documents)


def _unencrypted(documents: list[Mapping],
                 selector: Selector) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(document, pointer tokens) of each non-empty value the selector encrypts that is not
    an ENC value, in the order sops walks them."""
    for index, document in enumerate(documents):
        for tokens in _walk(document, [], (), [], selector):
            yield index, tokens


def _walk(node: Value, path: list[str], tokens: tuple[str, ...], comments: list[list[str]],
          selector: Selector) -> Iterator[tuple[str, ...]]:
    if isinstance(node, (Mapping, Sequence)):
        comments = [*comments, []]
        positions = _positions(node)
        for index in walk_order(node):
            item = node[index]
            if isinstance(item, Comment):
                comments[-1].append(item.text)
                continue
            if isinstance(item, Pair):
                yield from _walk(item.value, [*path, item.key], (*tokens, item.key), comments,
                                 selector)
            else:
                yield from _walk(item, path, (*tokens, str(positions[index])), comments,
                                 selector)
            comments[-1] = []
        return
    if node is None or node == "" or _is_enc(node) or holds_sops_file(node):
        return
    if selector.encrypts(path, comments, False):
        yield tokens


def _positions(node: Mapping | Sequence) -> dict[int, int]:
    """Index in the collection (comments included) -> index among its values (a pointer's)."""
    values = [index for index, item in enumerate(node) if not isinstance(item, Comment)]
    return {index: position for position, index in enumerate(values)}


def _is_enc(value: Value) -> bool:
    """An ENC value, well formed or not (a malformed one is its own finding)."""
    return isinstance(value, str) and value.startswith("ENC[")


def _malformed(documents: list[Mapping]) -> Iterator[tuple[int, tuple[str, ...]]]:
    def walk(node: Value, tokens: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if isinstance(node, Mapping):
            for item in node:
                if isinstance(item, Pair):
                    yield from walk(item.value, (*tokens, item.key))
        elif isinstance(node, Sequence):
            values = [element for element in node if not isinstance(element, Comment)]
            for position, element in enumerate(values):
                yield from walk(element, (*tokens, str(position)))
        elif isinstance(node, str) and node.startswith("ENC[") and cipher.parse(node) is None:
            yield tokens

    for index, document in enumerate(documents):
        for tokens in walk(document, ()):
            yield index, tokens


def _key_changes(metadata: meta.Metadata, rule: tuple[SopsConfig, CreationRule],
                 line: int) -> Iterator[Problem]:
    config, chosen = rule
    if chosen.unsupported or not chosen.key_groups:
        return
    have = [_names(group) for group in metadata.key_groups]
    want = [_names(group) for group in chosen.key_groups]
    if sorted(map(sorted, have)) == sorted(map(sorted, want)):
        return
    added = sorted(set().union(*want) - set().union(*have))
    removed = sorted(set().union(*have) - set().union(*want))
    changes = ", ".join([*(f"+{_short(name)}" for name in added),
                         *(f"-{_short(name)}" for name in removed)])
    yield Problem(RULE_STALE_KEYS, f"master keys differ from creation rule {chosen.index} of "
                  f"{config.path.name}: {changes or 'grouped differently'}; run `gitops-guard "
                  "sops updatekeys` on it", line=line, column=1, identity="sops-keys")


def _short(name: str) -> str:
    """Post-quantum recipients run to 2,000 characters: enough to tell them apart."""
    return name if len(name) <= 72 else name[:64] + "…"


def _names(group: meta.KeyGroup) -> set[str]:
    return ({f"age {key.recipient}" for key in group.age}
            | {f"pgp {key.fp.upper()}" for key in group.pgp})


# -- .sops.yaml --------------------------------------------------------------------------------

def _config_problems(path: Path) -> Iterator[Problem]:
    try:
        config = load_sops_config(path)
    except GuardError as exc:
        yield Problem(RULE_BAD_CONFIG, exc.message, line=exc.line or 1, column=exc.column or 1,
                      identity="sops-config")
        return
    for problem in config.problems():
        yield Problem(RULE_BAD_CONFIG, problem.message, line=problem.line or 1, column=1,
                      identity=f"sops-config:{problem.line}")


# -- lines in text formats ---------------------------------------------------------------------

def _text_line(text: str, fmt: str, tokens: tuple[str, ...]) -> int:
    lines = text.split("\n")
    if fmt == "dotenv":
        for number, line in enumerate(lines, start=1):
            if tokens and line.split("=", 1)[0] == tokens[0]:
                return number
        return 1
    section = tokens[0] if len(tokens) > 1 else "DEFAULT"
    key = tokens[-1] if tokens else ""
    current = "DEFAULT"
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
        elif current == section and stripped.split("=", 1)[0].strip() == key:
            return number
    return 1


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


__all__ = ["SopsState", "check_file", "prepare"]
