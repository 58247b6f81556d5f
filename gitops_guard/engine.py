"""The engine: discovery -> loading -> checks -> suppression -> a `RunResult`.

Each file is read and parsed once; its documents are shared by every check. Large runs are
spread over worker processes by file; small runs (a pre-commit hook on a few files) stay in
one process, because starting workers would cost more than it saves.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gitops_guard import baseline as baseline_file
from gitops_guard import suppression
from gitops_guard.baseline import Baseline
from gitops_guard.catalog import SUPPRESSION_CHECK
from gitops_guard.checks import CHECKS, Check, CheckContext
from gitops_guard.checks.base import RunInfo
from gitops_guard.config import Config
from gitops_guard.discovery import Candidate, discover, display_path, find_git_root
from gitops_guard.documents import DocRole, Document, FileKind, SourceFile, file_lines
from gitops_guard.errors import GuardError, safe_traceback
from gitops_guard.findings import (
    Finding,
    Problem,
    ResourceRef,
    Rule,
    Severity,
    SuppressedFinding,
    fingerprint,
)
from gitops_guard.loader import load_file

if TYPE_CHECKING:
    from gitops_guard.staged import StagedIndex

# Below this many files, one process is faster than starting workers.
PARALLEL_MIN_FILES = 48
_OBJECT_ROLES = frozenset({DocRole.RESOURCE, DocRole.INCOMPLETE})


class FileError(NamedTuple):
    """A file that could not be read or parsed (it also appears as a GG-MANIFEST finding)."""

    path: str
    line: int | None
    message: str
    rule: str


class InternalError(NamedTuple):
    """A bug: a check raised. The run goes on; the exit code becomes 3."""

    path: str
    check: str
    summary: str  # the exception type, never its message (it could hold file content)
    details: str  # the traceback, shown only with --debug


class FileResult(NamedTuple):
    path: str
    kind: FileKind
    documents: int
    resources: tuple[ResourceRef | None, ...]  # one per checked object, for JUnit
    findings: tuple[Finding, ...]
    suppressed: tuple[SuppressedFinding, ...]
    error: FileError | None
    internal_errors: tuple[InternalError, ...]


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to check a file (inherited by forked workers)."""

    checks: tuple[str, ...]
    config: Config
    cwd: Path
    repo_root: Path
    today: datetime.date
    # What each check's `prepare` returned. Workers are forked, so this is inherited as is.
    states: Mapping[str, Any] = field(default_factory=dict)
    baseline: Baseline | None = None
    # The baseline's entries by key, built once rather than per file.
    known: Mapping[tuple[str, str, str], baseline_file.Entry] = field(default_factory=dict)
    # Checks not to run on a file: with --render, rendered objects stand in for it there.
    skip: Mapping[Path, frozenset[str]] = field(default_factory=dict)


@dataclass
class RunResult:
    files: list[FileResult]
    findings: list[Finding]
    suppressed: list[SuppressedFinding]
    errors: list[FileError]
    internal_errors: list[InternalError]
    checks: tuple[str, ...]
    rules: Mapping[str, Rule]
    fail_on: Severity
    cwd: Path
    repo_root: Path
    documents: int = field(default=0)
    # What the run looked at, when it is not files (promotion: commits of history).
    scope: str | None = None

    @property
    def failed(self) -> bool:
        return any(f.severity.at_least(self.fail_on) for f in self.findings)

    @property
    def exit_code(self) -> int:
        if self.internal_errors:
            return 3
        return 1 if self.failed else 0


def select_checks(names: Sequence[str] | None, config: Config) -> tuple[str, ...]:
    file_checks = [name for name, check in CHECKS.items() if not check.reads_history]
    chosen = list(names) if names else list(config.checks or file_checks)
    unknown = [name for name in chosen if name not in CHECKS]
    if unknown:
        raise GuardError(f"unknown check {unknown[0]!r}; available: {', '.join(file_checks)}")
    history = [name for name in chosen if CHECKS[name].reads_history]
    if history:
        raise GuardError(f"the {history[0]} check reads git history, not files: run "
                         f"`gitops-guard {history[0]} check`")
    return tuple(dict.fromkeys(chosen))


def run(paths: Sequence[str], config: Config, checks: Sequence[str], *, cwd: Path,
        jobs: int = 1, today: datetime.date | None = None,
        use_baseline: bool = True, staged: StagedIndex | None = None,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Check `paths`; with `staged`, the files and contents of that git index instead.
    `progress(done, total)` is called as files complete (the CLI's progress bar)."""
    enabled = [CHECKS[name] for name in checks]

    def wanted(name: str) -> bool:
        return any(c.wants(name) for c in enabled)

    if staged is None:
        candidates = discover(paths, cwd=cwd, wanted=wanted, exclude=config.exclude,
                              exclude_root=config.root)
    else:
        candidates = staged.candidates(paths, cwd=cwd, wanted=wanted, exclude=config.exclude,
                                       exclude_root=config.root)
    # The baseline lists secrets; a run without the secrets check neither needs nor reads it.
    baseline = load_baseline(config, cwd) if use_baseline and "secrets" in checks else None
    # The config file and baselines are read as what they are, not checked as manifests.
    own_files = {config.path, config.baseline}
    candidates = [c for c in candidates
                  if c.path not in own_files and c.path.name != baseline_file.FILE_NAME]
    info = RunInfo(tuple(c.path for c in candidates), config, cwd,
                   {c.path: c.content for c in candidates if c.content is not None},
                   tuple(Path(os.path.normpath(cwd / p)) for p in paths or ["."]))
    states = {check.name: check.prepare(info) for check in enabled if check.prepare is not None}
    plan = Plan(tuple(checks), config, cwd, find_git_root(cwd) or cwd,
                today or datetime.datetime.now(datetime.UTC).date(), states, baseline,
                baseline.by_key() if baseline is not None else {})
    rendering = None
    if staged is None and config.render is not None:  # the index is not what kustomize reads
        from gitops_guard.render import kustomize_run

        if kustomize_run.wanted(config, checks):
            rendering = kustomize_run.render(info.targets, candidates, config, checks, cwd,
                                             jobs)
            plan = dataclasses.replace(plan, skip=rendering.skip)
    file_results = []
    for file_result in _check_all(candidates, plan, jobs):
        file_results.append(file_result)
        if progress is not None:
            progress(len(file_results), len(candidates))
    if rendering is not None:
        from gitops_guard.render import kustomize_run

        file_results += kustomize_run.check(rendering, plan)
    return _collect(file_results, plan)


def load_baseline(config: Config, cwd: Path) -> Baseline | None:
    """The configured baseline, or the default file beside the config when it exists."""
    path = config.baseline or config.root / baseline_file.FILE_NAME
    if config.baseline is None and not path.is_file():
        return None
    if not path.is_file():
        raise GuardError(f"the baseline named in the config does not exist: {path}")
    return baseline_file.load(path, display_path(path, cwd))


def _check_all(candidates: list[Candidate], plan: Plan, jobs: int) -> Iterator[FileResult]:
    if jobs > 1 and len(candidates) >= PARALLEL_MIN_FILES:
        # Imported here: a one-file pre-commit run never pays for multiprocessing.
        from gitops_guard import workers

        if workers.can_fork():
            yield from _check_parallel(candidates, plan, jobs, workers.map_chunks)
            return
    for candidate in candidates:
        yield check_file(candidate, plan)


def _check_parallel(candidates: list[Candidate], plan: Plan, jobs: int,
                    map_chunks: Callable[..., Iterator[list[FileResult]]]
                    ) -> Iterator[FileResult]:
    # Several chunks per worker, so a worker that drew slow files does not hold up the end.
    size = max(4, len(candidates) // (jobs * 8))
    chunks = [candidates[i:i + size] for i in range(0, len(candidates), size)]
    for results in map_chunks(partial(_check_chunk, plan=plan), chunks, jobs):
        yield from results


def _check_chunk(chunk: Sequence[Candidate], plan: Plan) -> list[FileResult]:
    return [check_file(candidate, plan) for candidate in chunk]


def check_file(candidate: Candidate, plan: Plan) -> FileResult:
    """Load one file, run every enabled check on it, apply suppressions."""
    config = plan.config
    source = load_file(candidate.path, candidate.display, config.max_file_size,
                       content=candidate.content)
    repo_path = display_path(candidate.path, plan.repo_root)
    rules = config.catalog
    suppressor = file_suppressor(source, plan)
    raw: list[tuple[Document | None, str, Problem]] = []
    if source.error is not None:
        error = source.error
        raw.append((None, "manifest", Problem(error.rule, error.message, line=error.line,
                                              column=error.column)))
    skipped = plan.skip.get(candidate.path, frozenset())
    problems, internal = run_checks(source, plan,
                                    [name for name in plan.checks if name not in skipped])
    raw += problems
    if source.text is not None and any(m in source.text for m in suppression.MARKERS):
        _ = suppressor.directives  # reports comments that name unknown rules
    if source.text is not None and suppression.ANNOTATION_PREFIX in source.text:
        for annotated in source.documents:
            suppressor.check_annotations(annotated)
    findings: list[Finding] = []
    suppressed: list[SuppressedFinding] = []
    for document, check_name, problem in raw:
        finding = make_finding(check_name, problem, document, source, repo_path, config,
                               rules)
        if finding is None:
            continue
        verdict = suppressor.verdict(finding, document)
        if verdict is None:
            findings.append(finding)
        else:
            suppressed.append(SuppressedFinding(finding, verdict.reason, verdict.via))
    for document, problem in suppressor.problems:
        finding = make_finding(SUPPRESSION_CHECK, problem, document, source, repo_path,
                               config, rules)
        if finding is not None:
            findings.append(finding)
    objects = tuple(doc.resource for doc in source.documents if doc.role in _OBJECT_ROLES)
    file_error = (FileError(source.display, source.error.line, source.error.message,
                            source.error.rule) if source.error is not None else None)
    return FileResult(source.display, source.kind, len(source.documents), objects,
                      tuple(findings), tuple(suppressed), file_error, tuple(internal))


def file_suppressor(source: SourceFile, plan: Plan) -> suppression.FileSuppressor:
    """The annotations, comments, waivers and baseline that apply to this file's findings."""
    config = plan.config
    return suppression.FileSuppressor(
        text=source.text or "",
        repo_path=display_path(source.path, config.root),
        waivers=suppression.active_waivers(config, plan.today),
        rules=config.catalog,
        baseline=plan.known,
        baseline_path=display_path(source.path, plan.baseline.root)
        if plan.baseline is not None else "")


def run_checks(source: SourceFile, plan: Plan, names: Iterable[str]
               ) -> tuple[list[tuple[Document | None, str, Problem]], list[InternalError]]:
    """The named checks' problems on a loaded file (or on objects rendered in memory)."""
    raw: list[tuple[Document | None, str, Problem]] = []
    internal: list[InternalError] = []
    for check in (CHECKS[name] for name in names):
        if source.kind not in check.file_kinds:
            continue
        context = CheckContext(plan.config.section(check.name), plan.config, source,
                               plan.states.get(check.name))
        for document, problem in _run_check(check, source, context, internal):
            raw.append((document, check.name, problem))
    return raw, internal


def _run_check(check: Check, source: SourceFile, context: CheckContext,
               internal: list[InternalError]) -> Iterator[tuple[Document | None, Problem]]:
    try:
        if check.check_file is not None:
            for problem in check.check_file(source, context):
                yield None, problem
        if check.check_document is not None:
            for document in source.documents:
                if document.role in check.roles:
                    for problem in check.check_document(document, context):
                        yield document, problem
    except Exception as exc:  # a bug in a check must not hide the other files
        internal.append(InternalError(source.display, check.name, type(exc).__name__,
                                      safe_traceback(exc)))


def _severity(rule_id: str, config: Config, rules: Mapping[str, Rule],
              chosen: Severity | None = None) -> Severity | None:
    """`rules:` in the config, else what the check chose, else the rule's; None: rule is off."""
    if rule_id in config.rules:
        return config.rules[rule_id]
    if chosen is not None:
        return chosen
    rule = rules.get(rule_id)
    return rule.severity if rule is not None else Severity.ERROR


def make_finding(check: str, problem: Problem, document: Document | None,
                 source: SourceFile, repo_path: str, config: Config,
                 rules: Mapping[str, Rule]) -> Finding | None:
    severity = _severity(problem.rule, config, rules, problem.severity)
    if severity is None:
        return None
    line, column = problem.line, problem.column
    if line is None and document is not None:
        line, column = document.locate(problem.pointer, problem.at_key)
    resource = document.resource if document is not None else None
    identity = problem.identity
    if not identity and document is None and not problem.pointer and line and source.text:
        # A file-level problem at a line (a syntax error, a comment): identify it by the text
        # of that line, which survives lines added above it.
        lines = file_lines(source.text)
        identity = lines[line - 1].strip() if line <= len(lines) else ""
    where = None
    if document is not None and (resource is None or resource.name is None):
        where = f"{document.index}{document.prefix}"
    return Finding(
        check=check, rule=problem.rule, severity=severity, path=source.display, line=line,
        column=column, message=problem.message, resource=resource, pointer=problem.pointer,
        fingerprint=fingerprint(problem.rule, repo_path, resource, problem.pointer, identity,
                                where), identity=problem.identity)


def _collect(file_results: Iterable[FileResult], plan: Plan) -> RunResult:
    files = list(file_results)
    findings = [f for result in files for f in result.findings]
    config = plan.config
    if config.path is not None:
        config_display = display_path(config.path, plan.cwd)
        config_repo_path = display_path(config.path, plan.repo_root)
        rules = config.catalog
        for problem in suppression.waiver_problems(config, plan.today):
            severity = _severity(problem.rule, config, rules)
            if severity is not None:
                findings.append(Finding(
                    SUPPRESSION_CHECK, problem.rule, severity, config_display, problem.line,
                    problem.column, problem.message, None, problem.pointer,
                    fingerprint(problem.rule, config_repo_path, None, problem.pointer)))
    findings.sort(key=_order)
    suppressed = sorted((s for result in files for s in result.suppressed),
                        key=lambda s: _order(s.finding))
    return RunResult(
        files=files,
        findings=findings,
        suppressed=suppressed,
        errors=[result.error for result in files if result.error is not None],
        internal_errors=[e for result in files for e in result.internal_errors],
        checks=plan.checks,
        rules=config.catalog,
        fail_on=config.fail_on,
        cwd=plan.cwd,
        repo_root=plan.repo_root,
        documents=sum(result.documents for result in files),
    )


def _order(finding: Finding) -> tuple[Any, ...]:
    return (finding.path, finding.line or 0, finding.column or 0, finding.rule, finding.message)
