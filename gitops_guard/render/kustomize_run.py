"""`--render kustomize`: build each kustomization root, check what it renders, and report each
finding at the source file and line it comes from.

Only the schema and policy checks see rendered objects; every other check reads the source
files as always. For those two checks the rendered objects replace the source files a
successful build used (its resources and patches), so nothing is reported twice. A root that
fails to build (GG-RENDER-001) or is not built because it needs the network (GG-RENDER-002)
leaves its files to be checked as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from gitops_guard import engine, globs
from gitops_guard.config import Config
from gitops_guard.discovery import Candidate, display_path
from gitops_guard.documents import Document, FileKind, SourceFile
from gitops_guard.findings import Finding, Problem, SuppressedFinding, fingerprint
from gitops_guard.loader import classify
from gitops_guard.render import build as kustomize
from gitops_guard.render.graph import Entry, Graph, Kustomization, members
from gitops_guard.render.rules import RENDER_CHECK, RULE_BUILD_FAILED, RULE_NOT_RENDERED
from gitops_guard.render.trace import Origin, Place, Sources, Tracer, take_origin
from gitops_guard.suppression import FileSuppressor
from gitops_guard.yamlio import ParseFailure, parse_yaml

RENDERED_CHECKS = ("schema", "policy")
_MAX_BUILDS = 8  # builds at once: each is a process


@dataclass
class Rendered:
    """One object of a build: the document the checks see, and where it came from."""

    document: Document
    origin: Origin | None
    source: Document | None


@dataclass
class Root:
    kustomization: Kustomization
    closure: list[Kustomization]
    display: str  # the directory, relative to the working directory
    remote: list[tuple[Kustomization, Entry]]
    tracer: Tracer
    build: kustomize.Build | None = None
    objects: list[Rendered] = field(default_factory=list)


@dataclass
class Rendering:
    roots: list[Root]
    skip: dict[Path, frozenset[str]]  # source files the rendered objects stand for


def wanted(config: Config, checks: Sequence[str]) -> bool:
    return config.render == "kustomize" and any(name in RENDERED_CHECKS for name in checks)


def render(targets: Sequence[Path], candidates: Sequence[Candidate], config: Config,
           checks: Sequence[str], cwd: Path, jobs: int) -> Rendering:
    """`targets`: the PATHs as named, absolute (`RunInfo.targets`)."""
    tool = kustomize.find_tool()
    graph = Graph(cwd)
    named = [directory for directory in targets if directory.is_dir()]
    sources = Sources(cwd, config.max_file_size)
    roots = []
    for kustomization in graph.roots((c.path for c in candidates), named):
        closure = graph.closure(kustomization)
        remote = [(k, entry) for k in closure for entry in k.remote_entries()]
        roots.append(Root(kustomization, closure,
                          display_path(kustomization.directory, cwd) or ".", remote,
                          Tracer(closure, sources)))
    buildable = [root for root in roots if not root.remote]
    if buildable:
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(buildable), _MAX_BUILDS))) \
                as pool:
            builds = pool.map(lambda r: kustomize.build(tool, r.kustomization.directory, cwd),
                              buildable)
            for root, result in zip(buildable, builds, strict=True):
                root.build = result
    names = frozenset(name for name in checks if name in RENDERED_CHECKS)
    skip: dict[Path, frozenset[str]] = {}
    for root in roots:
        if root.build is not None and root.build.text is not None:
            root.objects = list(_objects(root, root.build.text, root.build.anchor))
            used = members(root.closure)
            used.update(o.origin.path for o in root.objects
                        if o.origin is not None and o.origin.path is not None)
            skip.update(dict.fromkeys(used, names))
    return Rendering(roots, skip)


def _objects(root: Root, text: str, anchor: tuple[str, str] | None) -> Iterable[Rendered]:
    try:
        parsed = parse_yaml(text)
    except ParseFailure:  # kustomize writes valid YAML; if not, nothing to trace
        return
    directory = root.kustomization.directory
    for index, item in enumerate(parsed):
        data = item.data
        if data is None:
            continue
        origin = take_origin(data, anchor, directory)
        source = root.tracer.source_document(data, origin)
        line = item.node.start_mark.line + 1 if item.node is not None else 1
        # The source's path and index: the schema check knows CRD problems by them.
        document = Document(source.path if source is not None else root.kustomization.file,
                            source.index if source is not None else index, line, data,
                            classify(data, ""), None,
                            source.prefix if source is not None else "")
        yield Rendered(document, origin, source)


def check(rendering: Rendering, plan: engine.Plan) -> list[engine.FileResult]:
    # A remote base that several roots share is reported once, naming them all.
    needs: dict[tuple[Path, str], list[str]] = {}
    for root in rendering.roots:
        for owner, entry in root.remote:
            needs.setdefault((owner.file, entry.pointer), []).append(root.display)
    return [_check_root(root, plan, needs) for root in rendering.roots]


class _Reporter:
    """Turns placed problems into findings, suppressed or not, for one root."""

    def __init__(self, root: Root, plan: engine.Plan) -> None:
        self.root, self.plan = root, plan
        self.root_path = display_path(root.kustomization.directory, plan.repo_root)
        self.findings: list[Finding] = []
        self.suppressed: list[SuppressedFinding] = []
        self._suppressors: dict[Path, FileSuppressor] = {}

    def add(self, check: str, problem: Problem, document: Document | None, place: Place) -> None:
        config = self.plan.config
        if config.exclude and globs.match_any(config.exclude,
                                              display_path(place.file.path, config.root)):
            return  # its source is a file the config excludes (a vendored base)
        problem = problem._replace(line=place.line, column=place.column)
        repo_path = display_path(place.file.path, self.plan.repo_root)
        finding = engine.make_finding(check, problem, document, place.file, repo_path, config,
                                      config.catalog)
        if finding is None:
            return
        if document is not None:
            # The same base object rendered by two overlays is two findings.
            where = (f"{document.index}{document.prefix}" if finding.resource is None
                     or finding.resource.name is None else None)
            finding = finding._replace(fingerprint=fingerprint(
                finding.rule, repo_path, finding.resource, finding.pointer,
                f"{problem.identity}\x1frendered from {self.root_path}", where))
        suppressor = self._suppressors.get(place.file.path)
        if suppressor is None:
            suppressor = engine.file_suppressor(place.file, self.plan)
            self._suppressors[place.file.path] = suppressor
        verdict = suppressor.verdict(finding, document)
        if verdict is None:
            self.findings.append(finding)
        else:
            self.suppressed.append(SuppressedFinding(finding, verdict.reason, verdict.via))


def _check_root(root: Root, plan: engine.Plan,
                needs: dict[tuple[Path, str], list[str]]) -> engine.FileResult:
    reporter = _Reporter(root, plan)
    kustomization = root.kustomization
    for owner, entry in root.remote:
        roots = needs.pop((owner.file, entry.pointer), None)
        if roots is None:
            continue  # reported with an earlier root
        what = ("a Helm chart (helmCharts)" if entry.value == "helmCharts"
                else f"the remote base {entry.value}")
        label = "root" if len(roots) == 1 else "roots"
        reporter.add(RENDER_CHECK, Problem(
            RULE_NOT_RENDERED, f"kustomization not rendered ({label}: {', '.join(roots)}): it "
            f"needs {what}, and rendering never uses the network; its files are checked as "
            "they are", entry.pointer), None, Place(owner.source, *owner.locate(entry.pointer)))
    build = root.build
    if build is not None and build.error is not None:
        pointer = _named_in(kustomization, build.error)
        reporter.add(RENDER_CHECK, Problem(RULE_BUILD_FAILED, f"does not build: {build.error}",
                                           pointer), None,
                     Place(kustomization.source, *kustomization.locate(pointer)))
    internal: list[engine.InternalError] = []
    if build is not None and build.text is not None:
        by_document = {id(o.document): o for o in root.objects}
        rendered = SourceFile(kustomization.file, f"{root.display} (rendered)", FileKind.YAML,
                              build.text, [o.document for o in root.objects])
        names = [name for name in plan.checks if name in RENDERED_CHECKS]
        raw, internal = engine.run_checks(rendered, plan, names)
        note = f" (rendered from {root.display})"
        for document, check_name, problem in raw:
            found = by_document.get(id(document)) if document is not None else None
            place = (root.tracer.place(found.document.data, found.origin, found.source,
                                  problem.pointer)
                     if found is not None else Place(kustomization.source, 1, 1))
            reporter.add(check_name, problem._replace(message=problem.message + note),
                         document, place)
    return engine.FileResult(f"{root.display} (rendered)", FileKind.YAML, len(root.objects),
                             (), tuple(reporter.findings), tuple(reporter.suppressed), None,
                             tuple(internal))


def _named_in(kustomization: Kustomization, message: str) -> str:
    """The entry of the kustomization that the build error names, if one is: its line is the
    place to look. The longest match wins (`base` is in `../../base`)."""
    named = [entry for entry in (*kustomization.resources, *kustomization.components,
                                 *kustomization.patches)
             if entry.value and _mentions(message, entry.value)]
    if not named:
        return ""
    return max(named, key=lambda entry: len(entry.value)).pointer


def _mentions(message: str, value: str) -> bool:
    return any(f"{quote}{value}{quote}" in message for quote in ("'", '"', "`")) or \
        f"{value}:" in message or f"path: {value}" in message
