"""`gitops-guard init [DIR]`: a commented `.gitops-guard.yaml` for the repository it is run in.

It looks at what the repository holds (Flux and Argo CD objects, kustomize overlays, a
`.sops.yaml`, CRDs, the team's own policies) and writes the settings that follow from it;
what needs a person's judgement (the promotion order, waivers) is written commented out. The
`.pre-commit-config.yaml` snippet is printed, not written: that file usually holds other hooks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gitops_guard import __version__, atomic
from gitops_guard.checks.base import yaml_or_json
from gitops_guard.config import CONFIG_NAMES, DEFAULT_MAX_FILE_SIZE
from gitops_guard.discovery import discover, display_path, find_git_root
from gitops_guard.errors import GuardError
from gitops_guard.loader import load_file, read_regular
from gitops_guard.reporters.common import plural

CONFIG_NAME = CONFIG_NAMES[0]
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
CRDS_CATALOG = ("https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{ .Group }}/"
                "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")

# Only files that mention one of these are parsed: most of a repository needs no parse here.
_MARKERS = ("toolkit.fluxcd.io", "argoproj.io", "CustomResourceDefinition",
            "policy.gitops-guard.io")
_OVERLAY = re.compile(r"^(?:(?P<prefix>.*)/)?overlays/(?P<env>[^/]+)/"
                      r"(?P<file>kustomization\.ya?ml|Kustomization)$")
# Promotion order of the usual environment names; others cannot be placed.
_STAGE_RANK = {name: rank for rank, names in enumerate((
    ("dev", "develop", "development", "sandbox"),
    ("test", "testing", "qa", "int", "integration"),
    ("staging", "stage", "stg", "preprod", "pre-prod", "uat"),
    ("prod", "production", "prd", "live"))) for name in names}
_FLUX_KINDS = {
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): "Kustomization",
    ("helm.toolkit.fluxcd.io", "HelmRelease"): "HelmRelease",
    ("source.toolkit.fluxcd.io", "GitRepository"): "GitRepository",
}
_ARGO_KINDS = {"Application", "ApplicationSet"}


@dataclass
class Findings:
    """What the repository holds, as far as the config is concerned."""

    flux: Counter[str] = field(default_factory=Counter)
    argo: Counter[str] = field(default_factory=Counter)
    overlays: dict[str, set[str]] = field(default_factory=dict)  # path template -> envs
    sops_configs: list[str] = field(default_factory=list)
    crd_dirs: set[str] = field(default_factory=set)
    crd_groups: set[str] = field(default_factory=set)
    policy_files: list[str] = field(default_factory=list)

    @property
    def environments(self) -> list[str]:
        return order_environments({env for envs in self.overlays.values() for env in envs})


def init(directory: str | None, force: bool, cwd: Path, out: TextIO) -> int:
    root = _target(directory, cwd)
    existing = [root / name for name in CONFIG_NAMES if (root / name).is_file()]
    if existing and not force:
        raise GuardError(f"{display_path(existing[0], cwd)} already exists; use --force to "
                         "replace it")
    target = existing[0] if existing else root / CONFIG_NAME
    found = scan(root)
    text = render_config(found)
    try:
        atomic.write_text(target, text)
    except OSError as exc:
        raise GuardError(f"cannot write {display_path(target, cwd)}: {exc.strerror}") from None
    shown = display_path(target, cwd)
    detected = _detected(found)
    out.write(f"wrote {shown}" + (f" ({'; '.join(detected)})" if detected else "") + "\n")
    out.write(f"review it, then run: gitops-guard check{_where(root, cwd)}\n\n")
    pre_commit = root / PRE_COMMIT_CONFIG
    if pre_commit.exists():
        out.write(f"Add these hooks to the repos: of {display_path(pre_commit, cwd)} "
                  "(not changed):\n\n")
    else:
        out.write(f"To run it on every commit, save this as {display_path(pre_commit, cwd)} "
                  "(not written) and run `pre-commit install`:\n\n")
    out.write(pre_commit_snippet(found))
    return 0


def _target(directory: str | None, cwd: Path) -> Path:
    if directory is not None:
        root = (cwd / directory).resolve()
        if not root.is_dir():
            raise GuardError(f"not a directory: {directory}")
        return root
    # The repository's root, where the config is found from anywhere inside it.
    return find_git_root(cwd) or cwd


def _where(root: Path, cwd: Path) -> str:
    return "" if root == cwd else f" {display_path(root, cwd)}"


def scan(root: Path) -> Findings:
    found = Findings()
    for candidate in discover(["."], cwd=root, wanted=_interesting):
        path, shown = candidate.path, candidate.display
        name = path.name
        if name == ".sops.yaml":
            found.sops_configs.append(shown)
            continue
        overlay = _OVERLAY.match(shown)
        if overlay is not None:
            prefix = overlay["prefix"]
            parent = prefix.rpartition("/")[0] if prefix else ""
            app = "{app}/" if prefix else ""
            template = f"{parent + '/' if parent else ''}{app}overlays/{{env}}/{overlay['file']}"
            found.overlays.setdefault(template, set()).add(overlay["env"])
        if yaml_or_json(name):
            _read_objects(path, shown, found)
    return found


def _interesting(name: str) -> bool:
    return yaml_or_json(name) or name == "Kustomization"


def _read_objects(path: Path, shown: str, found: Findings) -> None:
    try:
        raw = read_regular(path, DEFAULT_MAX_FILE_SIZE + 1)
    except OSError:  # a FIFO, socket or device too: never read
        return
    if len(raw) > DEFAULT_MAX_FILE_SIZE or not any(m.encode() in raw for m in _MARKERS):
        return
    source = load_file(path, shown, DEFAULT_MAX_FILE_SIZE, content=raw)
    for document in source.documents:
        data = document.data
        if isinstance(data, dict):
            _note(data, shown, found)


def _note(data: dict[str, Any], shown: str, found: Findings) -> None:
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return
    group = api_version.rpartition("/")[0]
    if (group, kind) in _FLUX_KINDS:
        found.flux[_FLUX_KINDS[group, kind]] += 1
    elif group == "argoproj.io" and kind in _ARGO_KINDS:
        found.argo[kind] += 1
    elif group == "apiextensions.k8s.io" and kind == "CustomResourceDefinition":
        parent = shown.rpartition("/")[0]
        found.crd_dirs.add(f"{parent}/" if parent else shown)
        spec = data.get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("group"), str):
            found.crd_groups.add(spec["group"])
    elif group == "policy.gitops-guard.io" and kind == "Policy" and \
            shown not in found.policy_files:
        found.policy_files.append(shown)


def order_environments(names: Iterable[str]) -> list[str]:
    """In promotion order when every name is a known stage name, else alphabetically."""
    names = sorted(set(names))
    if names and all(name.lower() in _STAGE_RANK for name in names):
        return sorted(names, key=lambda name: (_STAGE_RANK[name.lower()], name))
    return names


def _detected(found: Findings) -> list[str]:
    parts = []
    if found.flux:
        parts.append("Flux: " + _counts(found.flux))
    if found.argo:
        parts.append("Argo CD: " + _counts(found.argo))
    if found.overlays:
        parts.append("kustomize overlays: " + ", ".join(found.environments))
    if found.sops_configs:
        parts.append(", ".join(found.sops_configs))
    if found.crd_dirs:
        parts.append("CRDs in " + ", ".join(sorted(found.crd_dirs)))
    if found.policy_files:
        parts.append("policies in " + ", ".join(found.policy_files))
    return parts


def _counts(counter: Counter[str]) -> str:
    return ", ".join(plural(count, kind) for kind, count in sorted(counter.items()))


def render_config(found: Findings) -> str:
    lines = [
        f"# gitops-guard settings, written by `gitops-guard init` (gitops-guard {__version__}).",
        "# Every key is optional. docs/config-reference.md lists them all; `gitops-guard "
        "explain RULE`",
        "# says what a rule checks, why, and how to fix or waive it.",
    ]
    detected = _detected(found)
    if detected:
        lines += ["#", "# Found in this repository:"]
        lines += [f"#   - {part}" for part in detected]
    lines += [
        "",
        "# Paths that are not manifests for a cluster (globs relative to this file).",
        "# exclude: [\"vendor/\", \"**/tests/fixtures/\"]",
        "# The lowest severity that fails a run: error (the default) or warning.",
        "# fail_on: error",
        "",
    ]
    lines += _schema_section(found)
    lines += _sops_section(found)
    lines += _policy_section(found)
    lines += [
        "# A rule's level for this repository (error, warning, info, off):",
        "# rules:",
        "#   GG-MANIFEST-013: off",
        "# Findings accepted for a while, in one reviewed place (a reason is required):",
        "# waivers:",
        "#   - rules: [GG-SCHEMA-003]",
        "#     match: {paths: [\"legacy/\"]}",
        "#     reason: \"the legacy CRDs are not vendored yet (OPS-1)\"",
        "#     expires: 2027-06-30",
    ]
    lines += _promotion_section(found)
    return "\n".join(lines) + "\n"


def _schema_section(found: Findings) -> list[str]:
    # (note, setting, on): a comment, then the setting it explains, written on or commented.
    from gitops_guard.checks.schema.bundle import bundled_versions, load_bundle_data

    newest = bundled_versions(load_bundle_data())[-1]
    entries = [(f"Schema check: the Kubernetes version your clusters run (default: {newest}, "
                "the newest bundled;\nquoted: YAML reads 1.30 as 1.3).",
                f'kubernetes_version: "{newest}"', False)]
    if found.crd_dirs:
        entries.append(("A pre-commit hook passes only the changed files: the CRDs their "
                        "custom resources need.",
                        "crds: [" + ", ".join(sorted(found.crd_dirs)) + "]", True))
    controllers = {"fluxcd.io": bool(found.flux), "argoproj.io": bool(found.argo)}
    if any(seen and not any(group == suffix or group.endswith("." + suffix)
                            for group in found.crd_groups)
           for suffix, seen in controllers.items()):
        entries.append(("Flux and Argo CD kinds have no bundled schema, and their CRDs are "
                        "not in this repository:\n"
                        "name their CRD files in crds:, or fetch schemas from the CRDs-catalog "
                        "(network, cached).", f"locations: [\"{CRDS_CATALOG}\"]", False))
    return _section("schema", entries)


def _section(name: str, entries: list[tuple[str, str, bool]]) -> list[str]:
    """A config section whose settings are on or commented out; all commented out when none
    is on (an empty section would be null, which the config rejects)."""
    if not any(on for _, _, on in entries):
        notes = [f"# {line}" for note, _, _ in entries for line in note.split("\n")]
        return [*notes, f"# {name}:", *(f"#   {setting}" for _, setting, _ in entries), ""]
    lines = [f"{name}:"]
    for note, setting, on in entries:
        lines += [f"  # {line}" for line in note.split("\n")]
        lines.append(f"  {setting}" if on else f"  # {setting}")
    return [*lines, ""]


def _sops_section(found: Findings) -> list[str]:
    entries = [("Secrets and .env files under these globs must be SOPS-encrypted.",
                'paths: ["secrets/"]', False)]
    if found.sops_configs:
        entries.insert(0, (f"{', '.join(found.sops_configs)} found: every file its creation "
                           "rules cover must be SOPS-encrypted,\ncompletely, with the keys "
                           "the rule names (the sops check).", "creation_rules: true", True))
    return _section("sops", entries)


def _policy_section(found: Findings) -> list[str]:
    paths = ", ".join(found.policy_files) or "policies/"
    return _section("policy", [
        ("Policy check: the Pod Security level where no Namespace label says otherwise\n"
         "(baseline or restricted),", "profile: baseline", False),
        ("and the team's own CEL policies (docs/policy-format.md).", f"paths: [{paths}]",
         False)])


def _promotion_section(found: Findings) -> list[str]:
    if not found.overlays:
        return []
    environments = found.environments
    ordered = all(env.lower() in _STAGE_RANK for env in environments)
    lines = [
        "",
        "# Promotion order, checked from git history (gitops-guard promotion check, and the",
        "# gitops-guard-promotion hook). Uncomment and adjust; docs/promotion.md has the rest.",
    ]
    if not ordered:
        lines.append("# The environment names below are sorted by name: put them in promotion "
                     "order.")
    lines += ["# promotion:", "#   environments:"]
    for position, env in enumerate(environments):
        lines.append(f"#     - {env}" if position == 0 else
                     f"#     - {{name: {env}, min_soak: 24h}}")
    lines += ["#   apps:"]
    for template in sorted(found.overlays):
        name = "\"{app}\"" if "{app}" in template else "app"
        lines += [f"#     - name: {name}",
                  "#       locations:",
                  f"#         - {{path: \"{template}\", extractor: kustomize-images}}"]
    if found.flux["HelmRelease"]:
        lines.append("#   # HelmRelease chart versions: extractor: helmrelease-chart")
    if found.argo:
        lines.append("#   # Argo CD Application revisions: extractor: argocd-app")
    return lines


def pre_commit_snippet(found: Findings) -> str:
    lines = [
        "repos:",
        "  - repo: https://github.com/<your-org>/gitops-guard   # wherever you host it",
        f"    rev: v{__version__}",
        "    hooks:",
        "      - id: gitops-guard",
    ]
    if found.overlays:
        lines.append("      # - id: gitops-guard-promotion   # once promotion: is set up")
    return "\n".join(lines) + "\n"
