"""The `sops` metadata block: read from any layout sops 3.x wrote, written as one version does.

Readers ignore order and tolerate missing lists; writers reproduce a version's exact layout,
because `sops edit` of a file must not reorder what it did not change, and because golden tests
compare bytes. Key entries sops knows but we cannot use (KMS, GCP, Azure, Vault) are kept as
they were: they still wrap the same data key as long as it does not change.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from gitops_guard.errors import GuardError
from gitops_guard.sops.tree import DEFAULT_UNENCRYPTED_SUFFIX, SELECTOR_FIELDS, Selector
from gitops_guard.sops.values import Comment, Mapping, NilList, Pair, Sequence, Value

# The version whose layout new files get: alphabetical metadata, no empty lists.
WRITE_VERSION = "3.13.2"
FOREIGN_KEY_TYPES = ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault")
_SEMVER = re.compile(r"^\d+\.\d+(\.\d+)?([-+].*)?$")


@dataclass(frozen=True)
class AgeKey:
    recipient: str
    enc: str


@dataclass(frozen=True)
class PgpKey:
    fp: str
    enc: str
    created_at: str


@dataclass(frozen=True)
class ForeignKey:
    """A KMS, GCP KMS, Azure Key Vault, Vault or HuaweiCloud KMS entry, kept verbatim."""

    kind: str
    entry: Mapping


@dataclass(frozen=True)
class KeyGroup:
    age: tuple[AgeKey, ...] = ()
    pgp: tuple[PgpKey, ...] = ()
    foreign: tuple[ForeignKey, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.age or self.pgp or self.foreign)


@dataclass(frozen=True)
class Metadata:
    key_groups: tuple[KeyGroup, ...]
    lastmodified: str = ""
    mac: str = ""
    selector: Selector = field(default_factory=Selector)
    mac_only_encrypted: bool = False
    shamir_threshold: int = 0
    version: str = WRITE_VERSION

    @property
    def effective_selector(self) -> Selector:
        """What sops applies: with no rule written, `_unencrypted` keys stay clear."""
        if self.selector.field is None:
            return Selector(unencrypted_suffix=DEFAULT_UNENCRYPTED_SUFFIX)
        return self.selector

    @property
    def threshold(self) -> int:
        return self.shamir_threshold or len(self.key_groups)

    def touched(self, now: datetime.datetime | None = None) -> Metadata:
        moment = now or datetime.datetime.now(datetime.UTC)
        return replace(self, lastmodified=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def mac_additional_data(lastmodified: str) -> str:
    """The MAC's additional data: lastmodified as Go's RFC 3339 (no fractional seconds)."""
    text = lastmodified.strip()
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        return text
    offset = moment.utcoffset() or datetime.timedelta(0)
    zone = "Z"
    if offset:
        minutes = int(offset.total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + zone


# -- reading -----------------------------------------------------------------------------------

def from_tree(tree: Mapping, where: str = "sops metadata") -> Metadata:
    """Metadata from the `sops` mapping of any sops 3.x layout."""
    version = _text(tree.get("version"))
    if not version:
        raise GuardError(f"{where} has no version")
    if not (_SEMVER.match(version) or version.startswith("1.")):
        raise GuardError(f"{where}: version {version!r} is not a sops version (sops refuses "
                         "files whose version is not semver)")
    selector_values = {name: _text(tree.get(name)) for name in SELECTOR_FIELDS}
    groups_tree = tree.get("key_groups")
    if isinstance(groups_tree, Sequence) and len(groups_tree) > 0:
        groups = tuple(_group(node, f"{where}: key_groups[{index}]")
                       for index, node in enumerate(g for g in groups_tree
                                                    if not isinstance(g, Comment)))
    else:
        groups = (_group(tree, where),)
    threshold = tree.get("shamir_threshold")
    return Metadata(
        key_groups=groups,
        lastmodified=_text(tree.get("lastmodified")),
        mac=_text(tree.get("mac")),
        selector=Selector(**selector_values),
        mac_only_encrypted=_flag(tree.get("mac_only_encrypted")),
        shamir_threshold=_integer(threshold, f"{where}: shamir_threshold"),
        version=version,
    )


def _group(node: Value, where: str) -> KeyGroup:
    if not isinstance(node, Mapping):
        raise GuardError(f"{where} must be a mapping of key lists")
    age = tuple(AgeKey(_text(entry.get("recipient")), _text(entry.get("enc")))
                for entry in _entries(node.get("age"), f"{where}: age"))
    pgp = tuple(PgpKey(_text(entry.get("fp")), _text(entry.get("enc")),
                       _text(entry.get("created_at")))
                for entry in _entries(node.get("pgp"), f"{where}: pgp"))
    foreign = tuple(ForeignKey(kind, entry) for kind in FOREIGN_KEY_TYPES
                    for entry in _entries(node.get(kind), f"{where}: {kind}"))
    return KeyGroup(age, pgp, foreign)


def _entries(node: Value, where: str) -> list[Mapping]:
    if node is None or node == "":
        return []
    if not isinstance(node, Sequence):
        raise GuardError(f"{where} must be a list")
    entries = [entry for entry in node if not isinstance(entry, Comment)]
    if not all(isinstance(entry, Mapping) for entry in entries):
        raise GuardError(f"{where} entries must be mappings")
    return [entry for entry in entries if isinstance(entry, Mapping)]


def _text(node: Value) -> str:
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, (str, int, float)):
        return str(node)
    raise GuardError("sops metadata holds a nested value where text belongs")


def _flag(node: Value) -> bool:
    if isinstance(node, bool):
        return node
    return _text(node).lower() == "true"


def _integer(node: Value, where: str) -> int:
    if node is None or node == "":
        return 0
    try:
        return int(_text(node))
    except ValueError:
        raise GuardError(f"{where} must be a number") from None


# -- writing -----------------------------------------------------------------------------------

def layout_of(version: str) -> str:
    """Which writer layout a sops version used: "3.5" (up to 3.5), "3.6", "3.7" (3.7-3.9),
    "3.10" (3.10-3.12) or "3.13"."""
    numbers = [int(part) for part in re.findall(r"\d+", version)[:2]] + [0, 0]
    release = (numbers[0], numbers[1])
    for layout, since in (("3.13", (3, 13)), ("3.10", (3, 10)), ("3.7", (3, 7)),
                          ("3.6", (3, 6))):
        if release >= since:
            return layout
    return "3.5"


def to_tree(metadata: Metadata, layout: str | None = None) -> Mapping:
    """The `sops` mapping, laid out as the version in `metadata.version` (or `layout`) writes it."""
    chosen = layout or layout_of(metadata.version)
    single = len(metadata.key_groups) == 1
    group = metadata.key_groups[0] if single else KeyGroup()
    fields: dict[str, Value] = {}
    if not single:
        fields["shamir_threshold"] = metadata.shamir_threshold or None
        fields["key_groups"] = Sequence(_group_tree(g, chosen) for g in metadata.key_groups)
    fields.update(_key_lists(group, chosen, top_level=True))
    fields["lastmodified"] = metadata.lastmodified
    fields["mac"] = metadata.mac
    selector = metadata.selector.field
    for name in SELECTOR_FIELDS:
        fields[name] = selector[1] if selector is not None and selector[0] == name else None
    fields["mac_only_encrypted"] = True if metadata.mac_only_encrypted else None
    fields["version"] = metadata.version
    order = _TOP_ORDER[chosen]
    if chosen == "3.13":
        order = tuple(sorted(order))
    return Mapping(Pair(name, fields[name]) for name in order
                   if name in fields and not _omitted(name, fields[name], chosen))


_TOP_ORDER = {
    "3.7": ("shamir_threshold", "key_groups", "kms", "gcp_kms", "azure_kv", "hc_vault", "age",
            "lastmodified", "mac", "pgp", *SELECTOR_FIELDS, "mac_only_encrypted", "version"),
    "3.10": ("shamir_threshold", "key_groups", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault",
             "age", "lastmodified", "mac", "pgp", *SELECTOR_FIELDS, "mac_only_encrypted",
             "version"),
}
_TOP_ORDER["3.13"] = _TOP_ORDER["3.10"]
# Before age (3.7) and Vault (3.6).
_TOP_ORDER["3.6"] = tuple(name for name in _TOP_ORDER["3.7"] if name != "age")
_TOP_ORDER["3.5"] = tuple(name for name in _TOP_ORDER["3.6"] if name != "hc_vault")
# Before 3.10 the top-level key lists had no omitempty: a nil list was written (`kms: []`).
_ALWAYS_3_7 = frozenset({"kms", "gcp_kms", "azure_kv", "hc_vault", "age", "pgp",
                         "lastmodified", "mac", "version"})


def _omitted(name: str, value: Value, layout: str) -> bool:
    if layout in ("3.5", "3.6", "3.7") and name in _ALWAYS_3_7:
        return False
    if name in ("lastmodified", "mac", "version"):
        return False
    return value is None or value == "" or (isinstance(value, Sequence) and not value)


def _key_lists(group: KeyGroup, layout: str, top_level: bool) -> dict[str, Value]:
    lists: dict[str, Value] = {}
    for kind in ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"):
        entries = [_ordered(k.entry, layout) for k in group.foreign if k.kind == kind]
        lists[kind] = Sequence(entries) if entries else NilList()
    age = [_age_tree(key, layout) for key in group.age]
    lists["age"] = Sequence(age) if age else NilList()
    pgp = [_pgp_tree(key, layout) for key in group.pgp]
    lists["pgp"] = Sequence(pgp) if pgp else NilList()
    if top_level and layout in ("3.5", "3.6", "3.7"):
        lists.pop("hckms")
    return lists


def _group_tree(group: KeyGroup, layout: str) -> Mapping:
    lists = _key_lists(group, layout, top_level=False)
    order: tuple[str, ...] = ("pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age")
    if layout == "3.13":
        order = tuple(sorted(order))
    # hc_vault and age had no omitempty inside a group before 3.13.
    kept = {"hc_vault", "age"} if layout != "3.13" else set()
    return Mapping(Pair(name, lists[name]) for name in order
                   if name in lists and (name in kept or lists[name]))


def _age_tree(key: AgeKey, layout: str) -> Mapping:
    pairs = [Pair("recipient", key.recipient), Pair("enc", key.enc)]
    return Mapping(sorted(pairs) if layout == "3.13" else pairs)


def _pgp_tree(key: PgpKey, layout: str) -> Mapping:
    return Mapping([Pair("created_at", key.created_at), Pair("enc", key.enc), Pair("fp", key.fp)])


def _ordered(entry: Mapping, layout: str) -> Mapping:
    pairs: list[Pair] = [item for item in entry if isinstance(item, Pair)]
    if layout == "3.13":
        pairs.sort(key=lambda pair: pair.key)
    return Mapping(pairs)


def recipients(metadata: Metadata) -> Iterable[str]:
    """Every master key by a printable name (for messages: never key material)."""
    for group in metadata.key_groups:
        yield from (f"age {key.recipient}" for key in group.age)
        yield from (f"pgp {key.fp}" for key in group.pgp)
        yield from (key.kind for key in group.foreign)
