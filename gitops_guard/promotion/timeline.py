"""Which version each environment ran, at each commit: the state behind every promotion rule.

A `Placement` is one file that a location template matches (app, environment, path). The
`Tracker` keeps, for the tree of one commit, the values each placement's extractor reads,
re-extracting only placements whose files changed (a kustomize overlay also depends on its
bases). Parses are cached per blob id, so a file that many commits share is parsed once.
`Occupancy` records, per (app, artifact, environment, version), the commit intervals during
which the environment ran that version: the history rules look up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from gitops_guard.promotion.extractors import ExtractError, Extraction, Value, extract
from gitops_guard.promotion.extractors import bounded_put as _bounded_put
from gitops_guard.promotion.reparse import reparse
from gitops_guard.promotion.settings import Location, Settings
from gitops_guard.yamlio import TEXT_LOADER, ParsedDocument, ParseFailure, parse_yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Only a few extractors read files besides the location itself.
_READS_OTHER_FILES = frozenset({"kustomize-images"})

BlobReader = Callable[[str], bytes | None]
# Parsed node trees are big: keeping every blob of a long history alive makes Python's cycle
# collector rescan them over and over (it tripled an audit's time). Most blobs are read once,
# at the commit that wrote them; the few read again (reverts) are parsed again.
_PARSE_CACHE = 512
_EXTRACTION_CACHE = 4096
_PLACEMENTS_CACHE = 4096


class Placement(NamedTuple):
    app: str
    env: str
    path: str
    location: int  # index into Tracker.locations


# artifact -> identity -> the value as read (its file and line)
Values = dict[str, dict[str, Value]]


class Placed(NamedTuple):
    placement: Placement
    values: Values
    reads: frozenset[str]
    error: ExtractError | None = None


class Tracker:
    """The placements of one tree and their values, updated commit by commit."""

    def __init__(self, settings: Settings, read_blob: BlobReader,
                 extra_paths: Sequence[str] = ()) -> None:
        self.settings = settings
        self._extra_paths = frozenset(extra_paths)  # read by the run itself (approvals)
        self.locations: list[tuple[str, Location]] = [
            (app.name, location) for app in settings.apps for location in app.locations]
        self._read_blob = read_blob
        self.files: dict[str, str] = {}
        self.placed: dict[tuple[str, int], Placed] = {}
        # (app, env) -> the keys of its placements
        self._by_env: dict[tuple[str, str], set[tuple[str, int]]] = defaultdict(set)
        self._dependents: dict[str, set[tuple[str, int]]] = defaultdict(set)
        self._parsed: dict[str, tuple[ParsedDocument, ...] | ExtractError] = {}
        # path -> the placements it makes (matching every location pattern is slow).
        self._placements: dict[str, tuple[Placement, ...]] = {}
        # path -> (text, documents) of the last version of it parsed (see reparse).
        self._previous: dict[str, tuple[str, tuple[ParsedDocument, ...]]] = {}
        # (placement key, (path, blob) of each read) -> extraction; shared by every tree.
        self._extractions: dict[tuple[tuple[str, int], tuple[tuple[str, str | None], ...]],
                                Placed] = {}
        # The files each placement read last time, to find a cached extraction before reading.
        self._last_reads: dict[tuple[str, int], frozenset[str]] = {}
        self._reads_other = any(location.extractor in _READS_OTHER_FILES
                                for _, location in self.locations)
        # The kustomize-images extractor's values of each (path, blob), across commits; it
        # bounds the memo itself.
        self.kustomize_memo: dict[tuple[str, str], Any] = {}

    # -- which paths matter ------------------------------------------------------------------

    def relevant(self, path: str) -> bool:
        if path in self._extra_paths:
            return True
        if self._reads_other and path.rsplit("/", 1)[-1] in KUSTOMIZATION_NAMES:
            return True
        return any(location.pattern.fullmatch(path) for _, location in self.locations)

    def pathspecs(self) -> list[str]:
        specs = [f":(glob){location.glob}" for _, location in self.locations]
        if self._reads_other:
            specs.extend(f":(glob)**/{name}" for name in KUSTOMIZATION_NAMES)
        specs.extend(f":(literal){path}" for path in sorted(self._extra_paths))
        return list(dict.fromkeys(specs))

    def placements_of(self, path: str) -> list[Placement]:
        known = self._placements.get(path)
        if known is None:
            known = tuple(self._match_placements(path))
            _bounded_put(self._placements, path, known, _PLACEMENTS_CACHE)
        return list(known)

    def _match_placements(self, path: str) -> list[Placement]:
        found = []
        for index, (app_name, location) in enumerate(self.locations):
            match = location.pattern.fullmatch(path)
            if match is None:
                continue
            env = self.settings.environment(match.group("env"))
            if env is None:
                continue
            groups = match.groupdict()
            app = app_name.replace("{app}", groups["app"]) if groups.get("app") else app_name
            found.append(Placement(app, env.name, path, index))
        return found

    # -- updating ----------------------------------------------------------------------------

    def load(self, files: Mapping[str, str]) -> None:
        """Start from a whole tree (path -> blob), keeping only the paths that matter."""
        self.files = {path: blob for path, blob in files.items() if self.relevant(path)}
        self.placed.clear()
        self._by_env.clear()
        self._dependents.clear()
        for path in list(self.files):
            for placement in self.placements_of(path):
                self._place(placement, None)

    def apply(self, changes: Iterable[tuple[str, str | None]]) -> dict[tuple[str, int],
                                                                       Placed | None]:
        """Apply one commit's changes; return the placements it touched, as they were before
        (None: the placement did not exist)."""
        touched: set[tuple[str, int]] = set()
        for path, blob in changes:
            if blob is None:
                self.files.pop(path, None)
            else:
                self.files[path] = blob
            touched.update(self._dependents.get(path, ()))
            touched.update((p.path, p.location) for p in self.placements_of(path))
        before = {key: self.placed.get(key) for key in touched}
        for key in touched:
            old = self.placed.pop(key, None)
            if old is not None:
                self._by_env[(old.placement.app, old.placement.env)].discard(key)
                for read in old.reads:
                    self._dependents[read].discard(key)
            path, index = key
            if path in self.files:
                for placement in self.placements_of(path):
                    if placement.location == index:
                        self._place(placement, old)
        return before

    def _place(self, placement: Placement, previous: Placed | None) -> None:
        key = (placement.path, placement.location)
        location = self.locations[placement.location][1]
        cached = self._cached(key)
        if cached is not None:
            placed = cached._replace(placement=placement)
        else:
            placed = self._extract(placement, location)
            if placed.error is not None and previous is not None:
                # A file broken in one commit keeps what it said before: fixing it later is
                # no new promotion.
                placed = placed._replace(values=previous.values)
            signature = tuple((read, self.files.get(read)) for read in sorted(placed.reads))
            _bounded_put(self._extractions, (key, signature), placed, _EXTRACTION_CACHE)
            self._last_reads[key] = placed.reads
        self.placed[key] = placed
        self._by_env[(placement.app, placement.env)].add(key)
        for read in placed.reads:
            self._dependents[read].add(key)
        self._dependents[placement.path].add(key)

    def _cached(self, key: tuple[str, int]) -> Placed | None:
        reads = self._last_reads.get(key)
        if reads is None:
            return None
        signature = tuple((read, self.files.get(read)) for read in sorted(reads))
        return self._extractions.get((key, signature))

    def _extract(self, placement: Placement, location: Location) -> Placed:
        try:
            # The tracker is the extractor's Tree: it reads the files of its current commit.
            extraction = extract(location.extractor, self, placement.path,
                                 location.options)
        except ExtractError as error:
            # The broken file may be a base: a change to it must re-extract this placement.
            return Placed(placement, {}, frozenset({placement.path, error.path}), error)
        return Placed(placement, group_values(extraction), extraction.reads | {placement.path})

    def blob(self, path: str) -> str | None:
        return self.files.get(path)

    def documents(self, path: str) -> tuple[ParsedDocument, ...] | None:
        blob = self.files.get(path)
        if blob is None:
            return None
        parsed = self._parsed.get(blob)
        if parsed is None:
            parsed = self._parse(path, blob)
            _bounded_put(self._parsed, blob, parsed, _PARSE_CACHE)
        if isinstance(parsed, ExtractError):
            raise ExtractError(path, parsed.line, parsed.message, parsed.column)
        return parsed

    def _parse(self, path: str, blob: str) -> tuple[ParsedDocument, ...] | ExtractError:
        data = self._read_blob(blob)
        if data is None:
            return ExtractError(path, None, "the file's content is missing from the repository")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return ExtractError(path, None, "the file is not UTF-8")
        previous = self._previous.get(path)
        if previous is not None:
            # Most commits change a value or two: derive the documents from the last version
            # of this file parsed, when that gives what a full parse gives.
            documents = reparse(previous[0], previous[1], text)
            if documents is not None:
                _bounded_put(self._previous, path, (text, documents), _PARSE_CACHE)
                return documents
        try:
            documents = tuple(parse_yaml(text, TEXT_LOADER))
        except ParseFailure as failure:
            return ExtractError(path, failure.line, f"the file does not parse: {failure.message}",
                                failure.column)
        _bounded_put(self._previous, path, (text, documents), _PARSE_CACHE)
        return documents

    # -- reading the state -------------------------------------------------------------------

    def env_values(self, app: str, env: str) -> Values:
        return env_union(self.placed[key] for key in self._by_env.get((app, env), ()))

    def env_values_before(self, app: str, env: str,
                          before: Mapping[tuple[str, int], Placed | None]) -> Values:
        """The env's values before the last `apply`, given what it returned."""
        keys = set(self._by_env.get((app, env), ()))
        keys.update(key for key, placed in before.items() if placed is not None
                    and placed.placement.app == app and placed.placement.env == env)
        return env_union(placed for key in keys
                         if (placed := before[key] if key in before else self.placed.get(key))
                         is not None)


def group_values(extraction: Extraction) -> Values:
    values: Values = {}
    for value in extraction.values:
        values.setdefault(value.artifact, {}).setdefault(value.version.identity, value)
    return values


def env_union(placed: Iterable[Placed]) -> Values:
    union: Values = {}
    for item in placed:
        for artifact, versions in item.values.items():
            merged = union.setdefault(artifact, {})
            for identity, value in versions.items():
                merged.setdefault(identity, value)
    return union


class Event(NamedTuple):
    """A version entering one placement: what the rules judge."""

    app: str
    artifact: str
    env: str
    value: Value
    placement: Placement
    replaced: tuple[str, ...] = ()  # what the placement ran before, as displayed


def events_between(before: Mapping[tuple[str, int], Placed | None],
                   after: Mapping[tuple[str, int], Placed | None],
                   env_before: Callable[[str, str], Values]) -> list[Event]:
    """Versions that entered a placement from `before` to `after` (same keys). A file that
    moved, or a refactor that leaves an environment running what it ran, is no event."""
    found: list[Event] = []
    lost: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for key, old in before.items():
        new = after.get(key)
        if old is None:
            continue
        for artifact, versions in old.values.items():
            kept = new.values.get(artifact, {}) if new is not None else {}
            for identity in versions:
                if identity not in kept:
                    lost[(old.placement.app, old.placement.env, artifact)].add(identity)
    for key, new in after.items():
        if new is None:
            continue
        old = before.get(key)
        placement = new.placement
        for artifact, versions in new.values.items():
            previous = old.values.get(artifact, {}) if old is not None else {}
            for identity, value in versions.items():
                if identity in previous:
                    continue
                ran = env_before(placement.app, placement.env).get(artifact, {})
                moved = identity in lost[(placement.app, placement.env, artifact)]
                if identity in ran and (old is None or moved):
                    continue
                found.append(Event(placement.app, artifact, placement.env, value, placement,
                                   tuple(v.version.display for v in previous.values())))
    return found


class Interval(NamedTuple):
    start: int  # index of the commit where the version entered
    end: int | None  # index of the commit where it left; None: still there


class Occupancy:
    """Per (app, artifact, env, identity): when the environment ran that version."""

    def __init__(self) -> None:
        self.times: list[int] = []
        self.shas: list[str] = []
        # (app, artifact, env) -> identity -> [start, end] intervals, oldest first
        self._history: dict[tuple[str, str, str], dict[str, list[list[int | None]]]] = {}
        self._displays: dict[tuple[str, str, str, str], str] = {}
        self._apps_seen: dict[str, int] = {}  # app -> first commit index with any value
        self.pairs: dict[str, set[str]] = defaultdict(set)  # tag <-> digest seen together

    def add_commit(self, sha: str, time: int) -> int:
        # Committer clocks drift; a deploy cannot land before the commit it follows.
        self.times.append(max(time, self.times[-1]) if self.times else time)
        self.shas.append(sha)
        return len(self.times) - 1

    def update(self, index: int, app: str, env: str, before: Values, after: Values) -> None:
        for artifact in set(before) | set(after):
            old = before.get(artifact, {})
            new = after.get(artifact, {})
            history = self._history.setdefault((app, artifact, env), {})
            for identity, value in new.items():
                self._displays[(app, artifact, env, identity)] = value.version.display
                if value.version.tag and value.version.digest:
                    self.pairs[value.version.tag].add(value.version.digest)
                    self.pairs[value.version.digest].add(value.version.tag)
                if identity not in old:
                    history.setdefault(identity, []).append([index, None])
            for identity in old:
                if identity not in new:
                    intervals = history.get(identity)
                    if intervals and intervals[-1][1] is None:
                        intervals[-1][1] = index
        if after:
            self._apps_seen.setdefault(app, index)

    def intervals(self, app: str, artifact: str, env: str, identity: str) -> list[Interval]:
        history = self._history.get((app, artifact, env), {})
        return [Interval(int(start or 0), end) for start, end in history.get(identity, [])]

    def app_seen_before(self, app: str, index: int) -> bool:
        first = self._apps_seen.get(app)
        return first is not None and first < index

    def artifact_history(self, app: str, artifact: str,
                         env: str) -> list[tuple[str, str, Interval]]:
        """(identity, display, interval) of every version the env ran for this artifact,
        oldest first."""
        history = self._history.get((app, artifact, env), {})
        found = [(identity, self._displays[(app, artifact, env, identity)],
                  Interval(int(start or 0), end))
                 for identity, intervals in history.items()
                 for start, end in intervals]
        return sorted(found, key=lambda item: item[2].start)

    def artifacts(self) -> list[tuple[str, str]]:
        return sorted({(app, artifact) for app, artifact, _ in self._history})

    def current(self, app: str, artifact: str, env: str) -> list[tuple[str, int]]:
        """(display, start index) of what the env runs now."""
        return [(display, interval.start)
                for _, display, interval in self.artifact_history(app, artifact, env)
                if interval.end is None]

