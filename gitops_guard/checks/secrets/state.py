"""The secrets check's settings, compiled once per run, and its entry points."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from gitops_guard import globs
from gitops_guard.checks.base import CheckContext, RunInfo
from gitops_guard.checks.secrets import formats
from gitops_guard.checks.secrets.rules import RULE_KEYSTORE, RULES
from gitops_guard.checks.secrets.scan import (
    KEYSTORE_SUFFIXES,
    Options,
    scan_document,
    scan_text,
)
from gitops_guard.checks.secrets.tokens import FAMILIES
from gitops_guard.discovery import display_path
from gitops_guard.documents import Document, FileKind, SourceFile, file_lines
from gitops_guard.errors import GuardError
from gitops_guard.findings import Problem


class SecretsState(NamedTuple):
    options: Options
    allow_paths: tuple[str, ...]
    root: str  # the config root, for allow_paths


def prepare(info: RunInfo) -> SecretsState:
    settings = info.config.section("secrets")
    known = {family.name for family in FAMILIES} | {rule.id for rule in RULES}
    disabled = frozenset(settings.get("disabled_rules", ()))
    unknown = sorted(disabled - known)
    if unknown:
        raise GuardError(f"secrets.disabled_rules names {unknown[0]!r}, which is neither a "
                         f"GG-SECRET rule id nor a token family; families: "
                         f"{', '.join(sorted(f.name for f in FAMILIES))}")
    patterns = []
    for text in settings.get("allow_regexes", ()):
        try:
            patterns.append(re.compile(text))
        except re.error as exc:
            raise GuardError(f"secrets.allow_regexes: {text!r} is not a regular expression "
                             f"({exc})") from None
    return SecretsState(Options(disabled, tuple(settings.get("stopwords", ())), tuple(patterns)),
                        tuple(settings.get("allow_paths", ())), str(info.config.root))


def _allowed_path(state: SecretsState, ctx: CheckContext) -> bool:
    if not state.allow_paths:
        return False
    return globs.match_any(state.allow_paths, display_path(ctx.file.path, Path(state.root)))


def check_document(doc: Document, ctx: CheckContext) -> Iterator[Problem]:
    state: SecretsState = ctx.state
    if not _allowed_path(state, ctx):
        lines = file_lines(ctx.file.text) if state.options.allow and ctx.file.text else []
        yield from _enabled(scan_document(doc, state.options, lines, formats.of(doc.path)),
                            state.options)


def check_file(file: SourceFile, ctx: CheckContext) -> Iterator[Problem]:
    state: SecretsState = ctx.state
    if _allowed_path(state, ctx):
        return
    if file.path.suffix.lower() in KEYSTORE_SUFFIXES:
        yield from _enabled([Problem(
            RULE_KEYSTORE, f"{file.path.name} is a keystore (private keys); keep it out of the "
            "repository or encrypt it with SOPS", line=1, column=1,
            identity=f"keystore:{file.path.name}")], state.options)
        return
    if file.text is None:
        return
    if file.kind is FileKind.TEXT:
        yield from _enabled(_text_file(file, file.text, state.options), state.options)
    elif file.kind is FileKind.HELM_TEMPLATE:
        yield from _enabled(scan_text(file.path, file.text, state.options), state.options)
    elif file.error is not None and not file.documents:
        # YAML or JSON that does not parse: its secrets are still secrets, so read it as
        # key: value text rather than report only the syntax error.
        yield from _enabled(scan_text(file.path, file.text, state.options, key_values=True),
                            state.options)


def _text_file(file: SourceFile, text: str, options: Options) -> Iterator[Problem]:
    """A text file, unless its name says it is a kubeconfig or a docker config: then its
    documents, walked by structure as if it were named .yaml or .json."""
    known = formats.of(file.path)
    documents = formats.documents(file.path, text, known) if known is not None else None
    if documents is None:
        # A credential file that does not parse is still read for `key: value` lines.
        yield from scan_text(file.path, text, options, key_values=True if known else None)
        return
    lines = file_lines(text) if options.allow else []
    for doc in documents:
        for problem in scan_document(doc, options, lines, known):
            # Findings of a file's own check carry their line: the engine locates pointers
            # only in the documents it parsed itself.
            line, column = doc.locate(problem.pointer, problem.at_key)
            yield problem._replace(line=line, column=column)


def _enabled(problems: Iterable[Problem], options: Options) -> Iterator[Problem]:
    """`disabled_rules` applies to every finding, whichever scanner made it."""
    return (problem for problem in problems if problem.rule not in options.disabled)
