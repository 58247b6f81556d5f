"""The three ways to run the promotion rules: check a candidate, audit history, show status.

All three replay the first-parent history of the deployed ref once (`_replay`), commit by
commit, keeping the tracker's state and the occupancy up to date. `audit` judges every commit
on the way; `check` judges only the candidate (the staged tree, or a branch's head) against
the whole history; `status` reads what the occupancy says at the end.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from gitops_guard.errors import GuardError
from gitops_guard.findings import Severity
from gitops_guard.promotion import gitdata
from gitops_guard.promotion.extractors import ExtractError
from gitops_guard.promotion.overrides import Approvals, Override, all_trailers, parse_approvals
from gitops_guard.promotion.rules import (
    Moment,
    Verdict,
    assess,
    judge,
    needs_overrides,
    overridden,
)
from gitops_guard.promotion.settings import Settings
from gitops_guard.promotion.timeline import (
    Event,
    Occupancy,
    Placed,
    Tracker,
    Values,
    events_between,
)

UNREADABLE = "PROMO011"
# Blobs are read ahead for this many commits at a time: fast, and memory stays bounded.
# A thread reads them (and git log streams the history) while the chunk before is replayed;
# the first chunk is small, so the replay starts as soon as git writes its first commits.
_PREFETCH_COMMITS = 500
_FIRST_CHUNK = 100


class PromotionFinding(NamedTuple):
    rule: str
    severity: Severity
    path: str  # repository-relative
    line: int | None
    pointer: str
    message: str
    identity: str  # what tells this finding apart from another at the same place
    column: int | None = None


class Outcome(NamedTuple):
    findings: list[PromotionFinding]
    commits: int  # commits of history read
    apps: int


class StatusCell(NamedTuple):
    version: str
    since: int  # time it entered (committer time)
    sha: str


class StatusRow(NamedTuple):
    app: str
    artifact: str
    environments: Mapping[str, tuple[StatusCell, ...]]


class Repository(NamedTuple):
    root: Path  # the git work tree
    settings: Settings
    approvals_path: str | None  # repository-relative


def open_repository(root: Path, settings: Settings, config_root: Path) -> Repository:
    if gitdata.is_shallow(root):
        raise GuardError("PROMO008: the repository is a shallow clone, so its history is cut "
                         "short and promotions cannot be checked; fetch all of it (`git fetch "
                         "--unshallow`, or `fetch-depth: 0` in actions/checkout)")
    approvals = None
    if settings.approvals_file is not None:
        full = Path(os.path.normpath(config_root / settings.approvals_file))
        approvals = Path(os.path.relpath(full, root)).as_posix()
    return Repository(root, settings, approvals)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Replaying history parses thousands of files into short-lived node trees; the cycle
    collector, triggered by those allocations, would rescan everything alive each time (it
    more than doubled an audit's time). Nothing replay builds holds a reference cycle, so
    reference counting frees it all; the collector runs again afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Replay:
    """History replayed once: the tracker holds the tip's state afterwards."""

    def __init__(self, repo: Repository, reader: gitdata.ObjectReader) -> None:
        self.repo = repo
        self.reader = reader
        self.tracker = Tracker(repo.settings, reader.read,
                               extra_paths=(repo.approvals_path,) if repo.approvals_path else ())
        self.occupancy = Occupancy()
        self.commits = 0
        self._approvals: dict[str, Approvals] = {}

    def run(self, ref: str | None,
            on_commit: Callable[[gitdata.Commit, int, list[Event]], None] | None = None) -> None:
        if ref is None:
            return
        with _collector_paused():
            self._run(ref, on_commit)

    def _run(self, ref: str,
             on_commit: Callable[[gitdata.Commit, int, list[Event]], None] | None) -> None:
        relevant = self.tracker.relevant
        history = gitdata.ReadAhead(self.repo.root, ref, self.tracker.pathspecs(),
                                    lambda change: relevant(change.path), _PREFETCH_COMMITS,
                                    first_chunk=_FIRST_CHUNK)
        with history:
            for chunk in history:
                self.reader.provide(chunk.blobs)
                for commit, changes in zip(chunk.commits, chunk.wanted, strict=True):
                    index = self.occupancy.add_commit(commit.sha, commit.time)
                    events = self.step(index, [(c.path, c.blob) for c in changes])
                    if on_commit is not None:
                        on_commit(commit, index, events)
                self.reader.forget()
                self.commits += len(chunk.commits)

    def step(self, index: int, changes: list[tuple[str, str | None]]) -> list[Event]:
        before = self.tracker.apply(changes)
        if not before:
            return []
        after: dict[tuple[str, int], Placed | None] = {
            key: self.tracker.placed.get(key) for key in before}
        cache: dict[tuple[str, str], Values] = {}

        def env_before(app: str, env: str) -> Values:
            if (app, env) not in cache:
                cache[(app, env)] = self.tracker.env_values_before(app, env, before)
            return cache[(app, env)]

        pairs = {(p.placement.app, p.placement.env)
                 for p in (*before.values(), *after.values()) if p is not None}
        for app, env in sorted(pairs):
            self.occupancy.update(index, app, env, env_before(app, env),
                                  self.tracker.env_values(app, env))
        return events_between(before, after, env_before)

    def approvals(self, files: Mapping[str, str], strict: bool) -> Approvals:
        path = self.repo.approvals_path
        blob = files.get(path) if path is not None else None
        if path is None or blob is None:
            return Approvals(())
        if blob not in self._approvals:
            data = self.reader.read(blob) or b""
            try:
                parsed = parse_approvals(data.decode("utf-8", "replace"), path)
            except GuardError:
                if strict:
                    raise
                parsed = Approvals(())  # a broken file in the past approves nothing
            self._approvals[blob] = parsed
        return self._approvals[blob]


def _lookup(trailers: list[Override], approvals: Approvals,
            today: datetime.date) -> Callable[[str, str, str, str],
                                              tuple[Override | None, Override | None]]:
    def find(app: str, env: str, display: str,
             identity: str) -> tuple[Override | None, Override | None]:
        for trailer in trailers:
            if trailer.covers(app, env, display, identity):
                return trailer, None
        return approvals.find(app, env, display, identity, today)

    return find


def _finding(verdict: Verdict, event: Event, sha: str) -> PromotionFinding:
    value = event.value
    identity = "\x1f".join((event.app, event.artifact, event.env, value.version.identity, sha))
    return PromotionFinding(verdict.rule, verdict.severity, value.path, value.line,
                            value.pointer, verdict.message, identity, value.column)


def _unreadable(placed: Placed, error: ExtractError) -> PromotionFinding:
    return PromotionFinding(UNREADABLE, Severity.ERROR, error.path, error.line, "",
                            f"{placed.placement.app} ({placed.placement.env}): {error.message}",
                            "\x1f".join((placed.placement.app, placed.placement.env)),
                            error.column)


def audit(repo: Repository, ref: str) -> Outcome:
    """Every violation in the first-parent history of `ref`, each at the commit it landed."""
    # A verdict is taken at its commit (it depends on the history so far); the overrides
    # that may turn it into PROMO009 are applied after the replay, so that the messages of
    # the commits that need them are read in one stream instead of a round trip each.
    pending: list[tuple[Verdict, Event, gitdata.Commit, Approvals, datetime.date]] = []
    with gitdata.ObjectReader(repo.root) as reader:
        replay = _Replay(repo, reader)

        def on_commit(commit: gitdata.Commit, index: int, events: list[Event]) -> None:
            if not events:
                return
            moment = Moment(index, replay.occupancy.times[index], f"commit {commit.sha[:7]}")
            day = datetime.datetime.fromtimestamp(moment.time, datetime.UTC).date()
            approvals: Approvals | None = None
            for event in events:
                verdict = assess(event, moment, repo.settings, replay.occupancy)
                if verdict is None:
                    continue
                if approvals is None and needs_overrides(verdict):
                    approvals = replay.approvals(replay.tracker.files, strict=False)
                pending.append((verdict, event, commit, approvals or Approvals(()), day))

        replay.run(ref, on_commit)
        reader.prefetch(commit.sha for verdict, _, commit, _, _ in pending
                        if needs_overrides(verdict))
        messages: dict[str, list[tuple[str, str]]] = {}
        findings: list[PromotionFinding] = []
        for verdict, event, commit, approvals, day in pending:

            def overrides(app: str, env: str, display: str, identity: str,
                          commit: gitdata.Commit = commit, approvals: Approvals = approvals,
                          day: datetime.date = day) -> tuple[Override | None, Override | None]:
                if commit.sha not in messages:
                    messages[commit.sha] = _messages_of(repo, reader, commit)
                trailers = (all_trailers(messages[commit.sha], repo.settings.trailer)
                            if repo.settings.trailer else [])
                return _lookup(trailers, approvals, day)(app, env, display, identity)

            final = overridden(verdict, event, overrides)
            if final is not None:
                findings.append(_finding(
                    final._replace(message=f"commit {commit.sha[:7]}: {final.message}"),
                    event, commit.sha))
        reader.forget()
        apps = len({app for app, _ in replay.occupancy.artifacts()})
        return Outcome(findings, replay.commits, apps)


def _messages_of(repo: Repository, reader: gitdata.ObjectReader,
                 commit: gitdata.Commit) -> list[tuple[str, str]]:
    messages = [(commit.sha, reader.message(commit.sha))]
    if commit.merge:
        # A merged branch's own commits carry the trailers its author wrote.
        messages.extend(gitdata.commit_messages(repo.root, f"{commit.sha}^1..{commit.sha}"))
    return messages


def check(repo: Repository, *, base: str | None, head: str | None, now: int,
          message: str | None) -> Outcome:
    """Judge a candidate against the deployed history: `head`'s tree, or the index."""
    root = repo.root
    base_sha = gitdata.resolve(root, base) if base is not None else None
    if base is not None and base_sha is None:
        raise GuardError(f"--base {base!r} names no commit")
    history_ref = repo.settings.deploy_ref or base or "HEAD"
    history_sha = (base_sha if history_ref == base
                   else gitdata.resolve(root, history_ref))
    # A repository's first commit: no branch is born yet, so there is no history to read
    # (when history_ref is HEAD, history_sha already says so).
    if history_sha is None and history_ref != "HEAD" \
            and gitdata.resolve(root, "HEAD") is not None:
        raise GuardError(f"deploy_ref {history_ref!r} names no commit in {root}")
    head_sha = None
    if head is not None:
        head_sha = gitdata.resolve(root, head)
        if head_sha is None:
            raise GuardError(f"--head {head!r} names no commit")
    parent_sha = _parent(root, base_sha, head_sha, history_sha)
    findings: list[PromotionFinding] = []
    with gitdata.ObjectReader(root) as reader:
        replay = _Replay(repo, reader)
        replay.run(history_sha)
        tracker = replay.tracker
        candidate = gitdata.tree_files(root, head_sha) if head_sha else gitdata.index_files(root)
        parent = gitdata.tree_files(root, parent_sha) if parent_sha else {}
        tracker.load(parent)
        changes = _tree_changes(tracker, parent, candidate)
        index = replay.occupancy.add_commit("", now)
        events = replay.step(index, changes)
        trailers: list[Override] = []
        if repo.settings.trailer:
            messages: list[tuple[str, str]] = []
            if message is not None:
                messages.append(("", message))
            if head_sha is not None and parent_sha is not None:
                messages.extend(gitdata.commit_messages(root, f"{parent_sha}..{head_sha}"))
            trailers = all_trailers(messages, repo.settings.trailer)
        approvals = replay.approvals(candidate, strict=True)
        today = datetime.datetime.fromtimestamp(now, datetime.UTC).date()
        moment = Moment(index, now, "this change")
        lookup = _lookup(trailers, approvals, today)
        for event in events:
            verdict = judge(event, moment, repo.settings, replay.occupancy, lookup)
            if verdict is not None:
                findings.append(_finding(verdict, event, ""))
        findings.extend(_unreadable(placed, placed.error) for placed in tracker.placed.values()
                        if placed.error is not None and any(
                            candidate.get(read) != parent.get(read) for read in placed.reads))
        apps = len({p.placement.app for p in tracker.placed.values()})
        return Outcome(findings, replay.commits, apps)


def _parent(root: Path, base_sha: str | None, head_sha: str | None,
            history_sha: str | None) -> str | None:
    """The tree the candidate is compared with: where it left the deployed history."""
    if base_sha is not None:
        return gitdata.merge_base(root, base_sha, head_sha or "HEAD") or base_sha
    start = head_sha or gitdata.resolve(root, "HEAD")
    if start is None or history_sha is None:
        return start
    if head_sha is None:
        # The index is compared with HEAD: what this commit changes.
        return start
    return gitdata.merge_base(root, history_sha, start) or start


def _tree_changes(tracker: Tracker, parent: Mapping[str, str],
                  candidate: Mapping[str, str]) -> list[tuple[str, str | None]]:
    changes: list[tuple[str, str | None]] = []
    for path, blob in candidate.items():
        if parent.get(path) != blob and tracker.relevant(path):
            changes.append((path, blob))
    changes.extend((path, None) for path in parent
                   if path not in candidate and tracker.relevant(path))
    return changes


def status(repo: Repository, ref: str | None) -> tuple[list[StatusRow], int]:
    """What each environment runs at the tip of `ref`, and since when."""
    target = ref or repo.settings.deploy_ref or "HEAD"
    sha = gitdata.resolve(repo.root, target)
    if sha is None and (ref is not None or gitdata.resolve(repo.root, "HEAD") is not None):
        raise GuardError(f"{target!r} names no commit")
    with gitdata.ObjectReader(repo.root) as reader:
        replay = _Replay(repo, reader)
        replay.run(sha)
        occupancy = replay.occupancy
        rows = []
        for app, artifact in occupancy.artifacts():
            cells = {env: tuple(StatusCell(display, occupancy.times[start],
                                           occupancy.shas[start])
                                for display, start in occupancy.current(app, artifact, env))
                     for env in repo.settings.environments}
            if any(cells.values()):
                rows.append(StatusRow(app, artifact, cells))
        return rows, replay.commits

