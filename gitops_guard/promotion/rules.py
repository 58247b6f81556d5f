"""Judge one promotion event: PROMO001-005, 007 and 009, one finding per event at most.

An event is a version entering an environment at commit index `i` (the candidate is one
index past the history). Floating versions cannot be checked at all (PROMO005). A version the
environment ran before is a rollback (PROMO004), whatever the stages before it ran since.
Otherwise the environments before it (`after:`) must have run that version at an earlier
commit (PROMO001), for at least `min_soak` without a break (PROMO002); having entered them in
the same commit is PROMO003. An override turns any error or warning into PROMO009.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import NamedTuple

from gitops_guard.findings import Severity
from gitops_guard.promotion.overrides import Override
from gitops_guard.promotion.settings import Environment, Settings, format_duration
from gitops_guard.promotion.timeline import Event, Interval, Occupancy
from gitops_guard.promotion.versions import Version, floating_reason


class Verdict(NamedTuple):
    rule: str
    severity: Severity
    message: str


class Moment(NamedTuple):
    """Where and when the event happens."""

    at: int  # the commit index of the event
    time: int  # its time (committer time, or now for a candidate)
    label: str  # "commit 1a2b3c4" or "this change"


# (app, env, display, identity) -> (a valid override, an expired approval)
OverrideLookup = Callable[[str, str, str, str], tuple[Override | None, Override | None]]


def judge(event: Event, moment: Moment, settings: Settings, occupancy: Occupancy,
          overrides: OverrideLookup) -> Verdict | None:
    return overridden(assess(event, moment, settings, occupancy), event, overrides)


def assess(event: Event, moment: Moment, settings: Settings,
           occupancy: Occupancy) -> Verdict | None:
    """The verdict before overrides: it depends on the history up to `moment` only, so it
    must be taken then; `overridden` may come later (it reads commit messages)."""
    env = settings.environments[event.env]
    if env.is_source:
        return None
    return _judge(event, env, event.value.version, moment, settings, occupancy)


def needs_overrides(verdict: Verdict | None) -> bool:
    """Whether `overridden` would look up overrides for this verdict."""
    return verdict is not None and verdict.severity is not Severity.INFO


def overridden(verdict: Verdict | None, event: Event,
               overrides: OverrideLookup) -> Verdict | None:
    """An assessed verdict with the overrides applied: PROMO009 when one covers it."""
    if verdict is None or not needs_overrides(verdict):
        return verdict
    version = event.value.version
    override, expired = overrides(event.app, event.env, version.display, version.identity)
    if override is not None:
        return Verdict("PROMO009", Severity.WARNING,
                       f"{_subject(event)}: {verdict.rule} overridden by {override.source} "
                       f"({override.reason}): {_short(verdict.message)}")
    if expired is not None and expired.expires is not None:
        return verdict._replace(message=f"{verdict.message}; the approval at {expired.source} "
                                        f"expired on {expired.expires.isoformat()}")
    return verdict


def _judge(event: Event, env: Environment, version: Version, moment: Moment,
           settings: Settings, occupancy: Occupancy) -> Verdict | None:
    reason = event.value.floating or floating_reason(version, settings.floating_tags)
    if reason is not None:
        if settings.floating == "off":
            return None
        return Verdict("PROMO005", Severity(settings.floating),
                       f"{_subject(event)}: {event.env} runs {reason}, so git cannot tell "
                       "which version runs or whether it passed "
                       f"{_names(env.after)}; pin a tag or a digest")
    identities = _identities(version, occupancy)
    ran_here = [iv for identity in identities
                for iv in occupancy.intervals(event.app, event.artifact, event.env, identity)
                if iv.start < moment.at]
    # Still running it (another cluster of the env has it): a location catching up, judged
    # against the stages before like any promotion; only a version that left comes back.
    running = any(iv.end is None or iv.end > moment.at for iv in ran_here)
    if ran_here and not running:
        if _last_run(event, moment, occupancy) & identities:
            return None  # put back as it was when it was removed: not a change
        when = _when(occupancy, ran_here[-1].start)
        if settings.rollback == "deny":
            return Verdict("PROMO004", Severity.ERROR,
                           f"{_subject(event)}: {event.env} goes back to {version.display}, "
                           f"which it ran from {when}; rollbacks are denied (rollback: deny)"
                           f"{_override_hint(settings, event)}")
        return Verdict("PROMO004", Severity.INFO,
                       f"{_subject(event)}: {event.env} rolls back to {version.display}, "
                       f"which it ran from {when}")
    earlier: dict[str, list[Interval]] = {}
    same: set[str] = set()
    for upstream in env.after:
        intervals = [iv for identity in identities
                     for iv in occupancy.intervals(event.app, event.artifact, upstream, identity)]
        before = [iv for iv in intervals if iv.start < moment.at]
        if before:
            earlier[upstream] = before
        elif any(iv.start == moment.at for iv in intervals):
            same.add(upstream)
    if _satisfied(env, earlier):
        return _soak(event, env, version, moment, occupancy, earlier)
    missing = [u for u in env.after if u not in earlier]
    new_app = not occupancy.app_seen_before(event.app, moment.at)
    if new_app:
        if settings.new_app == "off":
            return None
        rule = "PROMO003" if same else "PROMO001"
        return Verdict(rule, Severity(settings.new_app),
                       f"{_subject(event)}: new app, {event.env} starts at {version.display} "
                       f"without {_names(missing)} having run it first (new_app: "
                       f"{settings.new_app})")
    if same and (env.require == "any" or all(u in same for u in missing)):
        if env.allow_same_commit:
            if env.min_soak > 0:
                return Verdict("PROMO002", Severity.ERROR,
                               f"{_subject(event)}: {version.display} enters {event.env} in "
                               f"the same change as {_names(sorted(same))}, so it soaked 0s "
                               f"there; {event.env} requires {format_duration(env.min_soak)}")
            return Verdict("PROMO003", Severity.WARNING,
                           f"{_subject(event)}: {version.display} enters {event.env} in the "
                           f"same change as {_names(sorted(same))} (allowed: "
                           "allow_same_commit)")
        return Verdict("PROMO003", Severity.ERROR,
                       f"{_subject(event)}: {version.display} enters {event.env} in the same "
                       f"change as {_names(sorted(same))}, so it never ran there first; "
                       f"fix: promote it to {_names(sorted(same))} in an earlier commit"
                       f"{_override_hint(settings, event)}")
    mismatch = _form_mismatch(event, version, missing, occupancy)
    if mismatch is not None:
        return Verdict("PROMO007", Severity.ERROR,
                       f"{_subject(event)}: {event.env} pins {version.display} by "
                       f"{'digest' if version.digest else 'tag'} but {mismatch} pins by "
                       f"{'tag' if version.digest else 'digest'}, and no tag@digest value in "
                       "history pairs them; pin both the same way (or as tag@digest)")
    return Verdict("PROMO001", Severity.ERROR,
                   f"{_subject(event)}: {event.env} {_change(event)}, but "
                   f"{version.display} was never in {_names(missing)} "
                   f"({event.env}.after={_list(env.after)}, require={env.require}); "
                   + "; ".join(_history(event, upstream, occupancy, moment)
                               for upstream in missing)
                   + f"; fix: promote {version.display} to {_names(missing)} first"
                   + _override_hint(settings, event))


def _last_run(event: Event, moment: Moment, occupancy: Occupancy) -> set[str]:
    """What the environment ran last before this commit (the versions that left last)."""
    ended = [(iv.end, identity) for identity, _, iv in
             occupancy.artifact_history(event.app, event.artifact, event.env)
             if iv.start < moment.at and iv.end is not None and iv.end <= moment.at]
    if not ended:
        return set()
    last = max(end for end, _ in ended)
    return {identity for end, identity in ended if end == last}


def _satisfied(env: Environment, earlier: dict[str, list[Interval]]) -> bool:
    if env.require == "any":
        return bool(earlier)
    return all(upstream in earlier for upstream in env.after)


def _soak(event: Event, env: Environment, version: Version, moment: Moment,
          occupancy: Occupancy, earlier: dict[str, list[Interval]]) -> Verdict | None:
    if env.min_soak <= 0:
        return None
    stays = {upstream: max(_stay(iv, occupancy, moment) for iv in intervals)
             for upstream, intervals in earlier.items()}
    short = {u: s for u, s in stays.items() if s < env.min_soak}
    if not short or (env.require == "any" and len(short) < len(stays)):
        return None
    upstream, stay = min(short.items(), key=lambda item: item[1])
    best = max(earlier[upstream], key=lambda iv: _stay(iv, occupancy, moment))
    eligible = occupancy.times[best.start] + env.min_soak
    still = best.end is None or best.end >= moment.at
    eligibility = (f"; eligible after {_iso(eligible)}" if still else
                   f"; it left {upstream} at {_when(occupancy, best.end or 0)}")
    return Verdict("PROMO002", Severity.ERROR,
                   f"{_subject(event)}: {version.display} soaked {format_duration(stay)} in "
                   f"{upstream} (since {_when(occupancy, best.start)}), {event.env} requires "
                   f"{format_duration(env.min_soak)}{eligibility}")


def _stay(interval: Interval, occupancy: Occupancy, moment: Moment) -> int:
    end = moment.time
    if interval.end is not None and interval.end < moment.at:
        end = min(end, occupancy.times[interval.end])
    return max(0, end - occupancy.times[interval.start])


def _identities(version: Version, occupancy: Occupancy) -> set[str]:
    """The version's identity and any tag or digest history paired with it."""
    found = {version.identity}
    found.update(occupancy.pairs.get(version.identity, ()))
    if version.tag and version.digest:
        found.add(version.digest)
    return found


def _form_mismatch(event: Event, version: Version, missing: Sequence[str],
                   occupancy: Occupancy) -> str | None:
    """The upstream env that pins this artifact only in the other form (tag vs digest)."""
    digest_here = version.digest is not None and version.tag is None
    tag_here = version.digest is None
    for upstream in missing:
        history = occupancy.artifact_history(event.app, event.artifact, upstream)
        if not history:
            continue
        digests = [identity.startswith("sha") and ":" in identity
                   for identity, _, _ in history]
        if (digest_here and not any(digests)) or (tag_here and all(digests)):
            return upstream
    return None


def _history(event: Event, upstream: str, occupancy: Occupancy, moment: Moment) -> str:
    entries = [(display, iv) for _, display, iv in
               occupancy.artifact_history(event.app, event.artifact, upstream)
               if iv.start < moment.at]
    if not entries:
        return f"{upstream} history: never ran {event.artifact}"
    shown = []
    for display, interval in entries[-3:]:
        current = interval.end is None or interval.end >= moment.at
        shown.append(f"{display} since {_when(occupancy, interval.start)}"
                     + (", current" if current else ""))
    return f"{upstream} history: " + "; ".join(shown)


def _when(occupancy: Occupancy, index: int) -> str:
    if index >= len(occupancy.shas) or not occupancy.shas[index]:
        return "this change"
    return f"{_iso(occupancy.times[index])} ({occupancy.shas[index][:7]})"


def _iso(timestamp: int) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def _override_hint(settings: Settings, event: Event) -> str:
    if settings.trailer is None:
        return ""
    return (f", or add the trailer '{settings.trailer}: {event.env} app={event.app} "
            "reason=\"...\"'")


def _change(event: Event) -> str:
    before = ", ".join(event.replaced) or "(none)"
    return f"{before} -> {event.value.version.display}"


def _subject(event: Event) -> str:
    return f"{event.app} {event.artifact}"


def _names(envs: Sequence[str]) -> str:
    return " and ".join(envs) if envs else "the environments before it"


def _list(envs: Sequence[str]) -> str:
    return "[" + ", ".join(envs) + "]"


def _short(message: str) -> str:
    return message.split(": ", 1)[-1].split("; ")[0]
