"""`gitops-guard promotion check|audit|status`: the promotion rules over git history.

Findings become the engine's `Finding`s in a `RunResult`, so every output format works as
it does for `check`; `rules:` in the config re-levels or turns off PROMO rules as any other.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gitops_guard.catalog import rule_catalog
from gitops_guard.config import Config, find_config, load_config
from gitops_guard.discovery import display_path
from gitops_guard.engine import RunResult
from gitops_guard.errors import GuardError
from gitops_guard.findings import Finding, Severity, fingerprint
from gitops_guard.promotion import gitdata, run, settings
from gitops_guard.reporters.common import plural

CHECK = "promotion"


@dataclass(frozen=True)
class ConfigSource:
    """Where the config comes from: --config (else found from `cwd`), --allow-outside-repo."""

    path: str | None
    cwd: Path
    allow_outside: bool = False

    @functools.cached_property
    def config(self) -> Config:
        """Loaded once: `--if-configured` asks before the check runs."""
        return load_config(find_config(self.path, os.environ, self.cwd), self.cwd,
                           allow_outside=self.allow_outside)


def _setup(source: ConfigSource) -> tuple[Config, run.Repository]:
    config, cwd = source.config, source.cwd
    section = config.section(CHECK)
    if not section:
        where = f" ({display_path(config.path, cwd)})" if config.path is not None else ""
        raise GuardError(f"no `promotion:` section in the config{where}: name the "
                         "environments and where each app's version lives "
                         "(docs/promotion.md)")
    root = gitdata.work_tree_root(cwd)
    try:
        prefix = config.root.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise GuardError(f"the config {config.path} is outside the git work tree {root}: "
                         "promotion locations are paths in the repository") from None
    return config, run.open_repository(root, settings.load(section, prefix), config.root)


def configured(source: ConfigSource) -> bool:
    """Whether the config has a `promotion:` section (`--if-configured`)."""
    return bool(source.config.section(CHECK))


def parse_now(text: str | None) -> int:
    if text is None:
        return int(datetime.datetime.now(datetime.UTC).timestamp())
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GuardError(f"--now {text!r} is not an ISO 8601 time "
                         "(2026-11-27T10:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp())


def check(source: ConfigSource, *, base: str | None, head: str | None, now: str | None,
          message_file: str | None) -> RunResult:
    config, repo = _setup(source)
    cwd = source.cwd
    message = None
    if message_file is not None:
        try:
            message = Path(cwd, message_file).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise GuardError(f"cannot read the commit message: {exc.strerror}",
                             path=message_file) from None
    outcome = run.check(repo, base=base, head=head, now=parse_now(now), message=message)
    return _result(config, repo, outcome, cwd)


def audit(source: ConfigSource, ref: str | None) -> RunResult:
    config, repo = _setup(source)
    target = ref or repo.settings.deploy_ref or "HEAD"
    if gitdata.resolve(repo.root, target) is None:
        raise GuardError(f"{target!r} names no commit")
    return _result(config, repo, run.audit(repo, target), source.cwd)


def _result(config: Config, repo: run.Repository, outcome: run.Outcome,
            cwd: Path) -> RunResult:
    rules = rule_catalog()
    findings = []
    for item in outcome.findings:
        severity = _severity(item, config)
        if severity is None:
            continue
        findings.append(Finding(
            check=CHECK, rule=item.rule, severity=severity,
            path=display_path(repo.root / item.path, cwd), line=item.line,
            column=item.column, message=item.message,
            resource=None, pointer=item.pointer,
            fingerprint=fingerprint(item.rule, item.path, None, item.pointer, item.identity),
            identity=""))
    findings.sort(key=lambda f: (f.path, f.line or 0, f.rule, f.message))
    return RunResult(files=[], findings=findings, suppressed=[], errors=[], internal_errors=[],
                     checks=(CHECK,), rules=rules, fail_on=config.fail_on, cwd=cwd,
                     repo_root=repo.root, documents=0,
                     scope=f"{plural(outcome.commits, 'commit')} of history, "
                           f"{plural(outcome.apps, 'app')}")


def _severity(item: run.PromotionFinding, config: Config) -> Severity | None:
    if item.rule in config.rules:
        return config.rules[item.rule]
    return item.severity


def status(source: ConfigSource, ref: str | None, output_format: str, now: str | None,
           stream: TextIO) -> int:
    _, repo = _setup(source)
    rows, commits = run.status(repo, ref)
    moment = parse_now(now)
    envs = list(repo.settings.environments)
    if output_format == "json":
        stream.write(json.dumps(_status_json(rows, envs, moment, commits), indent=2) + "\n")
        return 0
    table = [["APP", "ARTIFACT", *envs]]
    for row in rows:
        cells = []
        for env in envs:
            entries = row.environments.get(env, ())
            cells.append(", ".join(f"{cell.version} ({_age(moment - cell.since)})"
                                   for cell in entries) or "-")
        table.append([row.app, row.artifact, *cells])
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    for line in table:
        stream.write("  ".join(text.ljust(width) for text, width in zip(line, widths,
                                                                          strict=True))
                     .rstrip() + "\n")
    if not rows:
        stream.write("no versions found in the configured locations\n")
    stream.write(f"({plural(len(rows), 'artifact')}, {plural(commits, 'commit')} read; age: "
                 "how long each "
                 "environment has run its version)\n")
    return 0


def _status_json(rows: list[run.StatusRow], envs: list[str], now: int,
                 commits: int) -> dict[str, Any]:
    return {
        "environments": envs,
        "commits": commits,
        "apps": [{
            "app": row.app,
            "artifact": row.artifact,
            "environments": {env: [{
                "version": cell.version,
                "since": datetime.datetime.fromtimestamp(cell.since, datetime.UTC)
                .strftime("%Y-%m-%dT%H:%M:%SZ"),
                "commit": cell.sha,
                "age_seconds": max(0, now - cell.since),
            } for cell in row.environments.get(env, ())] for env in envs},
        } for row in rows],
    }


def _age(seconds: int) -> str:
    return settings.format_duration(seconds)
