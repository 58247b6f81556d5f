"""`gitops-guard secrets baseline create|update|audit`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from gitops_guard import baseline as baseline_file
from gitops_guard.config import find_config, load_config
from gitops_guard.discovery import display_path
from gitops_guard.engine import RunResult, run
from gitops_guard.errors import GuardError
from gitops_guard.findings import Finding

EXIT_INTERNAL = 3


def baseline_command(action: str, paths: Sequence[str], baseline: str | None,
                     config_file: str | None, jobs: int, out: TextIO, err: TextIO, *,
                     debug: bool = False, allow_outside: bool = False) -> int:
    cwd = Path.cwd()
    config = load_config(find_config(config_file, os.environ, cwd), cwd,
                         allow_outside=allow_outside)
    path = Path(os.path.normpath(cwd / baseline)) if baseline else (
        config.baseline or config.root / baseline_file.FILE_NAME)
    shown = display_path(path, cwd)
    targets = [Path(os.path.normpath(cwd / target)) for target in paths] or [config.root]
    if action == "create":
        result = run([str(t) for t in targets], config, ["secrets"], cwd=cwd, jobs=jobs,
                     use_baseline=False)
        if _internal_errors(result, err, debug):
            return EXIT_INTERNAL
        entries = [_entry(f, result, path) for f in result.findings if f.check == "secrets"]
        baseline_file.write(path, entries)
        out.write(f"wrote {shown}: {len(entries)} known secrets\n")
        return 0
    if not path.is_file():
        raise GuardError(f"no baseline at {shown}; create it with "
                         "`gitops-guard secrets baseline create`")
    existing = baseline_file.load(path, shown)
    result = run([str(t) for t in targets], dataclasses.replace(config, baseline=path),
                 ["secrets"], cwd=cwd, jobs=jobs)
    if _internal_errors(result, err, debug):
        return EXIT_INTERNAL
    # An entry is known while its secret is still there, however else it is suppressed now.
    found = {baseline_file.entry_key(*_key_parts(f, result, path))
             for f in (*result.findings, *(s.finding for s in result.suppressed))
             if f.check == "secrets"}
    new = [f for f in result.findings if f.check == "secrets"]
    # Entries for files outside the PATHs scanned are neither confirmed nor stale.
    scanned = [e for e in existing.entries if _under(path.parent / e.path, targets)]
    stale = [e for e in scanned if e.key not in found]
    if action == "update":
        stale_keys = {e.key for e in stale}
        kept = [e for e in existing.entries if e.key not in stale_keys]
        baseline_file.write(path, [*kept, *(_entry(f, result, path) for f in new)])
        out.write(f"updated {shown}: {len(kept)} kept, {len(new)} added, {len(stale)} removed\n")
        return 0
    for entry in stale:
        what = entry.secret_sha256[:12] or entry.fingerprint[:12]
        out.write(f"stale: {entry.path} {entry.rule} {what}… is no longer found\n")
    for finding in new:
        out.write(f"new: {finding.path}:{finding.line or 0} {finding.rule} {finding.message}\n")
    out.write(f"{len(scanned) - len(stale)} known, {len(stale)} stale, {len(new)} new\n")
    return 1 if stale or new else 0


def _under(path: Path, targets: Sequence[Path]) -> bool:
    path = Path(os.path.normpath(path))
    return any(path == target or target in path.parents for target in targets)


def _internal_errors(result: RunResult, err: TextIO, debug: bool) -> bool:
    """A check that crashed saw only part of a file: writing or judging a baseline from that
    would drop known secrets, so nothing is written."""
    for error in result.internal_errors:
        err.write(f"gitops-guard: internal error in check {error.check} on {error.path} "
                  f"({error.summary}); this is a bug, please report it. The baseline was not "
                  "written.\n")
        if debug:
            err.write(error.details)
    return bool(result.internal_errors)


def _key_parts(finding: Finding, result: RunResult, path: Path) -> tuple[str, str, str, str]:
    relative = display_path(Path(os.path.normpath(result.cwd / finding.path)), path.parent)
    return relative, finding.rule, finding.identity, finding.fingerprint


def _entry(finding: Finding, result: RunResult, path: Path) -> baseline_file.Entry:
    return baseline_file.make_entry(*_key_parts(finding, result, path))


__all__ = ["baseline_command"]
