"""`.sops.yaml`: found where sops finds it, read as sops reads it, first matching rule wins.

Found by an explicit path, then $SOPS_CONFIG, then by looking for `.sops.yaml` in the working
directory and up to 99 parents (`.sops.yml` is ignored, as sops >= 3.10 ignores it). A rule's
`path_regex` is searched (unanchored) in the file's path relative to the config's directory.
Only age and PGP keys can be used here; a rule naming other key types fails when it is chosen,
so rules for other files do not get in the way. Every error names the config file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitops_guard.errors import GuardError
from gitops_guard.sops import re2
from gitops_guard.sops.keys import normalize_fingerprint, parse_age_recipient
from gitops_guard.sops.metadata import AgeKey, KeyGroup, PgpKey
from gitops_guard.sops.tree import SELECTOR_FIELDS, Selector
from gitops_guard.yamlio import (
    MERGE_TAG,
    NULL_TAG,
    STR_TAG,
    ParseFailure,
    merged_pairs,
    parse_yaml,
    scalar_value,
)

CONFIG_NAME = ".sops.yaml"
IGNORED_NAME = ".sops.yml"
MAX_DEPTH = 100
# Key types sops knows that gitops-guard cannot use, as a rule and as a key group spell them.
RULE_KEY_TYPES = ("kms", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri", "hckms")
GROUP_KEY_TYPES = ("kms", "gcp_kms", "azure_keyvault", "hc_vault", "hckms")


@dataclass(frozen=True)
class StoresSettings:
    """`stores:` output indentation; None where the config says nothing (the store default)."""

    yaml_indent: int | None = None  # spaces per level; sops' default is 4
    json_indent: int | None = None  # spaces, or -1 for one TAB (sops' default)
    json_binary_indent: int | None = None


@dataclass(frozen=True)
class CreationRule:
    """One entry of `creation_rules`, with its keys as metadata key groups (no `enc` yet)."""

    index: int
    line: int  # where the rule starts in the config file
    path_regex: str  # "" matches every file
    key_groups: tuple[KeyGroup, ...]
    shamir_threshold: int  # 0: every group is needed
    selector: Selector
    mac_only_encrypted: bool
    unsupported: tuple[str, ...] = ()  # key types written in the rule that cannot be used


@dataclass(frozen=True)
class SopsConfig:
    """A loaded `.sops.yaml`."""

    path: Path
    creation_rules: tuple[CreationRule, ...] | None  # None: the file has no creation_rules
    stores: StoresSettings

    def rule_for(self, file: Path, cwd: Path | None = None) -> CreationRule:
        """The first rule whose path_regex matches `file` (relative paths: from `cwd`), if
        gitops-guard can encrypt with it."""
        where = str(self.path)
        if self.creation_rules is None:
            raise GuardError("has no creation_rules", path=where)
        rule = self.match(file, cwd)
        if rule is None:
            target = relative_to_config(file, self.path, cwd)
            raise GuardError(f"no matching creation rules found for {target}", path=where)
        return _usable(rule, where)

    def problems(self) -> list[GuardError]:
        """Rules whose path_regex cannot be used, each once (for checking the file itself)."""
        found = []
        for rule in self.creation_rules or ():
            if rule.path_regex:
                try:
                    _compile_path_regex(rule, str(self.path))
                except GuardError as exc:
                    found.append(exc)
        return found

    def match(self, file: Path, cwd: Path | None = None) -> CreationRule | None:
        """The first rule whose path_regex matches `file`, whatever its keys (for checking a
        repository, where KMS rules are someone else's business)."""
        target = relative_to_config(file, self.path, cwd)
        for rule in self.creation_rules or ():
            if not rule.path_regex or _compile_path_regex(rule, str(self.path)).search(target):
                return rule
        return None


# -- finding -----------------------------------------------------------------------------------

def find_sops_config(explicit: str | None, cwd: Path, environ: Mapping[str, str], *,
                     warn: Callable[[str], None] | None = None) -> Path | None:
    """The config sops would use: `explicit`, $SOPS_CONFIG, or .sops.yaml from `cwd` up."""
    chosen = explicit or environ.get("SOPS_CONFIG", "")
    if chosen:
        path = Path(os.path.normpath(cwd / chosen))
        if not path.exists():
            raise GuardError("sops config file not found", path=chosen)
        return path
    directory = Path(os.path.normpath(cwd.absolute()))
    ignored: Path | None = None
    for _ in range(MAX_DEPTH):
        candidate = directory / CONFIG_NAME
        if candidate.exists():
            if ignored is not None and warn is not None:
                warn(f"ignoring {ignored}: the sops config must be called {CONFIG_NAME}; "
                     f"using {candidate}")
            return candidate
        if ignored is None and (directory / IGNORED_NAME).exists():
            ignored = directory / IGNORED_NAME
        if directory.parent == directory:
            break
        directory = directory.parent
    if ignored is not None and warn is not None:
        warn(f"ignoring {ignored}: the sops config must be called {CONFIG_NAME}")
    return None


def relative_to_config(file: Path, config: Path, cwd: Path | None = None) -> str:
    """What path_regex sees: the absolute path minus the config's directory, with `/`."""
    base = cwd if cwd is not None else Path.cwd()
    # Lexical, like Go's filepath.Abs: symlinks are not resolved.
    absolute = os.path.normpath(base / file)
    prefix = os.path.join(os.path.normpath(base / config.parent), "")  # noqa: PTH118
    relative = absolute[len(prefix):] if absolute.startswith(prefix) else absolute
    return relative.replace(os.sep, "/")


# -- reading -----------------------------------------------------------------------------------

def load_sops_config(path: Path) -> SopsConfig:
    """The parsed config. Structure and types are checked now; keys when a rule is chosen."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GuardError("the sops config is not UTF-8 text", path=where) from None
    except OSError as exc:
        raise GuardError(f"cannot read the sops config: {exc.strerror or exc}",
                         path=where) from None
    try:
        documents = parse_yaml(text)
    except ParseFailure as exc:
        raise GuardError(exc.message, path=where, line=exc.line, column=exc.column) from None
    # Like yaml.v3's Unmarshal, only the first document counts.
    first = documents[0] if documents else None
    if first is not None and first.duplicates:
        dup = first.duplicates[0]
        raise GuardError(f"key {dup.key!r} is already defined at line {dup.first_line}",
                         path=where, line=dup.line, column=dup.column)
    root = first.node if first is not None else None
    reader = _Reader(where)
    if root is None or reader.is_null(root):
        return SopsConfig(path, None, StoresSettings())
    top = reader.mapping(root, "the sops config")
    return SopsConfig(path, _creation_rules(reader, top.get("creation_rules")),
                      _stores(reader, top.get("stores")))


class _Reader:
    """Typed reads of the node tree (yaml.v3's rules), failing with the config's file:line."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, message: str, node: Node | None) -> NoReturn:
        line = node.start_mark.line + 1 if node is not None else None
        raise GuardError(message, path=self.where, line=line)

    @staticmethod
    def is_null(node: Node | None) -> bool:
        return node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG)

    def mapping(self, node: Node, what: str) -> dict[str, Node]:
        """Key -> value node, `<<` merges applied (written keys win).

        parse_yaml has already refused keys that are not scalars, and duplicate keys.
        """
        if not isinstance(node, MappingNode):
            self.fail(f"{what} must be a mapping", node)
        pairs = [*merged_pairs(node), *((k, v) for k, v in node.value if k.tag != MERGE_TAG)]
        return {str(key.value): value for key, value in pairs}

    def sequence(self, node: Node | None, what: str) -> list[Node]:
        if self.is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.fail(f"{what} must be a list", node)
        return list(node.value)

    def text(self, node: Node | None, what: str) -> str:
        """A string field: any scalar's text, as yaml.v3 decodes into a Go string."""
        if self.is_null(node):
            return ""
        if not isinstance(node, ScalarNode):
            self.fail(f"{what} must be a string", node)
        return str(node.value)

    def integer(self, node: Node | None, what: str) -> int:
        if self.is_null(node):
            return 0
        value = scalar_value(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(f"{what} must be a whole number", node)
        return value

    def flag(self, node: Node | None, what: str) -> bool:
        if self.is_null(node):
            return False
        value = scalar_value(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            self.fail(f"{what} must be true or false", node)
        return value

    def key_list(self, node: Node | None, what: str, *, plain_ok: bool) -> list[str]:
        """Keys written as one comma-separated string (if `plain_ok`) or a list of strings;
        list items may be comma-separated too. Items are trimmed; empty ones are skipped."""
        if self.is_null(node):
            return []
        if isinstance(node, ScalarNode):
            if not plain_ok or node.tag != STR_TAG:
                self.fail(f"{what} must be {'a string or ' if plain_ok else ''}a list of "
                          "strings", node)
            items = [str(node.value)]
        else:
            items = [self.text(item, f"{what} item") for item in self.sequence(node, what)]
        return [part.strip() for item in items for part in item.split(",") if part.strip()]

    def present(self, node: Node | None) -> bool:
        """Whether a key field holds anything (`kms: ""` and `kms: []` hold nothing)."""
        if self.is_null(node):
            return False
        if isinstance(node, ScalarNode):
            return bool(str(node.value).strip())
        return bool(node.value) if node is not None else False


def _creation_rules(reader: _Reader, node: Node | None) -> tuple[CreationRule, ...] | None:
    if reader.is_null(node):
        return None
    return tuple(_rule(reader, index, item)
                 for index, item in enumerate(reader.sequence(node, "creation_rules")))


def _rule(reader: _Reader, index: int, node: Node) -> CreationRule:
    what = f"creation_rules[{index}]"
    fields = reader.mapping(node, what)
    group_nodes = reader.sequence(fields.get("key_groups"), f"{what}.key_groups")
    if group_nodes:
        # As in sops: with key_groups, the rule's own key fields are not used.
        built = [_group(reader, item, f"{what}.key_groups[{number}]")
                 for number, item in enumerate(group_nodes)]
        groups = tuple(group for group, _ in built)
        unsupported = tuple(kind for _, kinds in built for kind in kinds)
    else:
        age = reader.key_list(fields.get("age"), f"{what}.age", plain_ok=True)
        pgp = reader.key_list(fields.get("pgp"), f"{what}.pgp", plain_ok=True)
        groups = (_key_group(age, pgp),)
        unsupported = tuple(kind for kind in RULE_KEY_TYPES if reader.present(fields.get(kind)))
    return CreationRule(
        index=index,
        line=node.start_mark.line + 1,
        path_regex=reader.text(fields.get("path_regex"), f"{what}.path_regex"),
        key_groups=groups,
        shamir_threshold=_threshold(reader, fields.get("shamir_threshold"), what),
        selector=_selector(reader, fields, what),
        mac_only_encrypted=reader.flag(fields.get("mac_only_encrypted"),
                                       f"{what}.mac_only_encrypted"),
        unsupported=unsupported,
    )


def _group(reader: _Reader, node: Node, what: str) -> tuple[KeyGroup, tuple[str, ...]]:
    """A key group and the unsupported key types it names; `merge` groups come first."""
    fields = reader.mapping(node, what)
    age: list[str] = []
    pgp: list[str] = []
    unsupported: list[str] = []
    for number, item in enumerate(reader.sequence(fields.get("merge"), f"{what}.merge")):
        merged, kinds = _group(reader, item, f"{what}.merge[{number}]")
        age += [key.recipient for key in merged.age]
        pgp += [key.fp for key in merged.pgp]
        unsupported += kinds
    age += reader.key_list(fields.get("age"), f"{what}.age", plain_ok=False)
    pgp += reader.key_list(fields.get("pgp"), f"{what}.pgp", plain_ok=False)
    unsupported += [f"{what}.{kind}" for kind in GROUP_KEY_TYPES
                    if reader.present(fields.get(kind))]
    return _key_group(age, pgp), tuple(unsupported)


def _key_group(age: list[str], pgp: list[str]) -> KeyGroup:
    """A group without `enc`s; a key named twice counts once (as sops de-duplicates)."""
    recipients = dict.fromkeys(age)
    fingerprints = dict.fromkeys(normalize_fingerprint(fp) for fp in pgp)
    return KeyGroup(age=tuple(AgeKey(r, "") for r in recipients),
                    pgp=tuple(PgpKey(fp, "", "") for fp in fingerprints))


def _threshold(reader: _Reader, node: Node | None, what: str) -> int:
    threshold = reader.integer(node, f"{what}.shamir_threshold")
    if threshold < 0:
        reader.fail(f"{what}.shamir_threshold must not be negative", node)
    return threshold


def _selector(reader: _Reader, fields: dict[str, Node], what: str) -> Selector:
    """The one encryption selector of a rule (sops refuses more than one)."""
    values = {name: reader.text(fields.get(name), f"{what}.{name}") for name in SELECTOR_FIELDS}
    chosen = [name for name in SELECTOR_FIELDS if values[name]]
    if len(chosen) > 1:
        last = max((fields[name] for name in chosen), key=lambda node: node.start_mark.line)
        reader.fail(f"{what}: only one of {', '.join(SELECTOR_FIELDS)} may be set; it sets "
                    f"{' and '.join(chosen)}", last)
    try:
        return Selector(**values)
    except GuardError as exc:
        reader.fail(f"{what}: {exc.message}", fields[chosen[0]] if chosen else None)


def _stores(reader: _Reader, node: Node | None) -> StoresSettings:
    if reader.is_null(node) or node is None:
        return StoresSettings()
    stores = reader.mapping(node, "stores")
    return StoresSettings(
        yaml_indent=_indent(reader, stores.get("yaml"), "stores.yaml", minimum=0),
        json_indent=_indent(reader, stores.get("json"), "stores.json", minimum=-1),
        json_binary_indent=_indent(reader, stores.get("json_binary"), "stores.json_binary",
                                   minimum=-1),
    )


def _indent(reader: _Reader, node: Node | None, what: str, *, minimum: int) -> int | None:
    if reader.is_null(node) or node is None:
        return None
    value_node = reader.mapping(node, what).get("indent")
    if reader.is_null(value_node):
        return None
    indent = reader.integer(value_node, f"{what}.indent")
    if indent < minimum:
        reader.fail(f"{what}.indent must be at least {minimum}", value_node)
    # YAML indent 0 means sops' default.
    return None if minimum == 0 and indent == 0 else indent


# -- choosing a rule ---------------------------------------------------------------------------

def _usable(rule: CreationRule, where: str) -> CreationRule:
    """The rule, if gitops-guard can encrypt with it."""
    what = f"creation_rules[{rule.index}]"
    if rule.unsupported:
        raise GuardError(f"{what} uses keys gitops-guard cannot use ({', '.join(rule.unsupported)}"
                         "): only age and pgp keys are supported", path=where, line=rule.line)
    if all(not group.age and not group.pgp for group in rule.key_groups):
        raise GuardError(f"{what} names no keys (age or pgp)", path=where, line=rule.line)
    for number, group in enumerate(rule.key_groups):
        if not group.age and not group.pgp:
            raise GuardError(f"{what}.key_groups[{number}] names no keys", path=where,
                             line=rule.line)
        for key in group.age:
            try:
                parse_age_recipient(key.recipient)
            except GuardError as exc:
                raise GuardError(f"{what}: {exc.message}", path=where, line=rule.line) from None
    _check_threshold(rule, what, where)
    return rule


def _check_threshold(rule: CreationRule, what: str, where: str) -> None:
    groups = len(rule.key_groups)
    if groups < 2 or rule.shamir_threshold == 0:
        return
    if rule.shamir_threshold > groups:
        raise GuardError(f"{what}: shamir_threshold {rule.shamir_threshold} is more than its "
                         f"{groups} key groups", path=where, line=rule.line)
    if rule.shamir_threshold < 2:
        raise GuardError(f"{what}: shamir_threshold must be at least 2 with several key groups",
                         path=where, line=rule.line)


def _compile_path_regex(rule: CreationRule, where: str) -> re.Pattern[str]:
    """path_regex is Go RE2; Python's re reads the common subset the same way."""
    what = f"creation_rules[{rule.index}].path_regex {rule.path_regex!r}"
    try:
        return re2.compile(rule.path_regex)
    except ValueError as exc:
        raise GuardError(f"{what} cannot be used: {exc}", path=where, line=rule.line) from None


