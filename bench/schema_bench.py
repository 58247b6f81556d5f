"""Schema validation against its peers, in one run: speed, planted errors caught, false alarms.

    python bench/schema_bench.py [--documents 5000] [--runs 3] [--seed 7]

Generates (seeded) app bundles of realistic manifests, about 8% of documents carrying exactly
one planted error (a wrong type, an unknown or misplaced field, a missing required field, or a
removed apiVersion), and times, on the same files and the same machine:
- `gitops-guard schema` (this checkout);
- check-jsonschema, installed from PyPI into its own venv: it takes one schema per run and one
  document per file, so the bundles are split and it runs once per kind, against the strict
  schema of that kind exported from our bundle (the same Kubernetes 1.37 definitions);
- kubernetes-validate --strict, installed from PyPI into its own venv.
Each tool is scored by documents: an error reported on a planted document is a catch, on any
other document a false positive. Peak memory is the largest sum of the RSS of a tool's process
tree (workers included), sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from generate import GENERATORS  # noqa: E402
from measure import ensure_venv, timed  # noqa: E402

from gitops_guard.checks.schema.bundle import Bundle, load_bundle_data  # noqa: E402

PEERS = {"check-jsonschema": "check-jsonschema==0.39.0",
         "kubernetes-validate": "kubernetes-validate==1.37.0"}


# -- corpus -----------------------------------------------------------------------------------

def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def plant(doc: dict[str, Any], rng: random.Random) -> str | None:
    """Break `doc` in one realistic way; return the category, or None if none applies."""
    kind = doc["kind"]
    options: list[tuple[str, Any]] = []
    if kind in ("Deployment", "StatefulSet"):
        options += [("type", lambda d: d["spec"].__setitem__("replicas", "3")),
                    ("unknown", lambda d: d["spec"].__setitem__(
                        "selectors", d["spec"].pop("selector"))),
                    ("unknown", lambda d: _containers(d)[0].__setitem__(
                        "imagePullpolicy", _containers(d)[0].pop("imagePullPolicy"))),
                    ("required", lambda d: _containers(d)[0].pop("name"))]
    if kind in ("Deployment", "StatefulSet", "CronJob"):
        options += [("type", lambda d: _containers(d)[0]["ports"][0].__setitem__(
            "containerPort", "http"))]
    if kind == "CronJob":
        options += [("unknown", lambda d: d["spec"].__setitem__("restartPolicy", "Never")),
                    ("removed", lambda d: d.__setitem__("apiVersion", "batch/v1beta1"))]
    if kind == "Service":
        options += [("required", lambda d: d["spec"]["ports"][0].pop("port")),
                    ("type", lambda d: d["spec"]["ports"][0].__setitem__("port", "eighty"))]
    if kind == "Ingress":
        options += [("removed", lambda d: d.__setitem__("apiVersion", "extensions/v1beta1")),
                    ("unknown", lambda d: d["spec"]["rules"][0]["http"]["paths"][0][
                        "backend"].__setitem__("serviceName", "web"))]
    if kind == "ConfigMap":
        options += [("unknown", lambda d: d.__setitem__("spec", {"key": "value"}))]
    if not options:
        return None
    category, breaker = rng.choice(options)
    breaker(doc)
    return str(category)


def corpus(root: Path, documents: int, seed: int) -> list[dict[str, Any]]:
    """Write bundles of ~3 documents; return the index of planted errors."""
    rng = random.Random(seed)
    planted: list[dict[str, Any]] = []
    written = bundle = 0
    while written < documents:
        app = f"app-{bundle:05d}"
        namespace = rng.choice(("payments", "search", "identity", "catalog"))
        count = min(rng.choice((2, 3, 4)), documents - written)
        docs = []
        for position in range(count):
            doc = GENERATORS[(bundle + position) % len(GENERATORS)](
                f"{app}-{position}", namespace, rng)
            if rng.random() < 0.08:
                category = plant(doc, rng)
                if category:
                    planted.append({"file": f"bundles/{app}.yaml", "kind": doc["kind"],
                                    "name": doc["metadata"]["name"], "category": category})
            docs.append(doc)
        path = root / "bundles" / f"{app}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        written += count
        bundle += 1
    return planted


def split_for_check_jsonschema(root: Path) -> dict[str, list[Path]]:
    """One document per file, grouped by kind, and one strict schema file per kind."""
    bundle = Bundle("1.37", load_bundle_data())
    by_kind: dict[str, list[Path]] = {}
    for path in sorted((root / "bundles").glob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            kind = doc["kind"]
            target = root / "single" / kind / f"{path.stem}__{index}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
            by_kind.setdefault(kind, []).append(target)
    for kind in by_kind:
        api_version = {"CronJob": "batch/v1", "Ingress": "networking.k8s.io/v1",
                       "HorizontalPodAutoscaler": "autoscaling/v2"}.get(kind)
        if api_version is None:
            api_version = "apps/v1" if kind in ("Deployment", "StatefulSet") else "v1"
        name = bundle.definition_name(api_version, kind)
        assert name is not None, kind
        schema = root / "schemas" / f"{kind}.json"
        schema.parent.mkdir(parents=True, exist_ok=True)
        schema.write_text(json.dumps(bundle.document(name, strict=True)), encoding="utf-8")
    return by_kind


# -- running ----------------------------------------------------------------------------------

def run_ours(root: Path, env: dict[str, str]) -> tuple[float, int, set[tuple[str, str, str]]]:
    tool = Path(sys.executable).parent / "gitops-guard"
    argv = [str(tool), "schema", "bundles", "--kubernetes-version", "1.37", "--format", "json"]
    seconds, peak, out = timed(argv, root, env)
    report = json.loads(out)
    flagged = {(f["path"], f["resource"]["kind"], f["resource"]["name"])
               for f in report["findings"] if f["resource"] and f["severity"] == "error"}
    return seconds, peak, flagged


_KV_ERROR = re.compile(r"^ERROR (\S+) did not validate for resource (\w+)/(\S+) ")


def run_kubernetes_validate(root: Path, env: dict[str, str]
                            ) -> tuple[float, int, set[tuple[str, str, str]]]:
    tool = ensure_venv("kubernetes-validate", PEERS["kubernetes-validate"])
    files = sorted(str(p.relative_to(root)) for p in (root / "bundles").glob("*.yaml"))
    seconds, peak, out = timed([str(tool), "--strict", "-k", "1.37", "--quiet", *files], root,
                               env)
    kinds = {kind.lower(): kind for kind in
             ("Deployment", "StatefulSet", "CronJob", "Service", "Ingress", "ConfigMap",
              "HorizontalPodAutoscaler", "ServiceAccount")}
    flagged = set()
    for line in out.splitlines():
        match = _KV_ERROR.match(line)
        if match:
            flagged.add((match[1], kinds.get(match[2], match[2]), match[3]))
    return seconds, peak, flagged


def run_check_jsonschema(root: Path, env: dict[str, str], by_kind: dict[str, list[Path]]
                         ) -> tuple[float, int, set[tuple[str, str, str]]]:
    tool = ensure_venv("check-jsonschema", PEERS["check-jsonschema"])
    total, peak = 0.0, 0
    flagged = set()
    for kind, files in sorted(by_kind.items()):
        argv = [str(tool), "--schemafile", str(root / "schemas" / f"{kind}.json"),
                "-o", "json", *(str(f.relative_to(root)) for f in files)]
        seconds, rss, out = timed(argv, root, env)
        total += seconds
        peak = max(peak, rss)
        report = json.loads(out[out.index("{"):])
        for error in report.get("errors", []) + report.get("parse_errors", []):
            single = Path(error["filename"])
            stem, index = single.stem.rsplit("__", 1)
            doc = list(yaml.safe_load_all((root / "bundles" / f"{stem}.yaml").read_text()))[
                int(index)]
            flagged.add((f"bundles/{stem}.yaml", doc["kind"], doc["metadata"]["name"]))
    return total, peak, flagged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    # Byte-code caching on, as in any installed tool.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="gitops-guard-schema-bench-") as temp:
        root = Path(temp)
        planted = corpus(root, args.documents, args.seed)
        by_kind = split_for_check_jsonschema(root)
        expected = {(p["file"], p["kind"], p["name"]) for p in planted}
        categories = {(p["file"], p["kind"], p["name"]): p["category"] for p in planted}
        files = len(list((root / "bundles").glob("*.yaml")))
        kinds = [p["category"] for p in planted]
        breakdown = ", ".join(f"{c}: {kinds.count(c)}" for c in sorted(set(kinds)))
        print(f"corpus: {args.documents} documents in {files} files; {len(planted)} planted "
              f"errors ({breakdown})")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        runners = {
            "gitops-guard schema": lambda: run_ours(root, env),
            "check-jsonschema (per kind)": lambda: run_check_jsonschema(root, env, by_kind),
            "kubernetes-validate --strict": lambda: run_kubernetes_validate(root, env),
        }
        results = {}
        for name, runner in runners.items():
            runner()  # warm-up: venv creation, byte-code caches
            measured = [runner() for _ in range(args.runs)]
            seconds = statistics.median(m[0] for m in measured)
            peak = max(m[1] for m in measured)
            flagged = measured[-1][2]
            results[name] = (seconds, peak, flagged)
        ours = results["gitops-guard schema"][0]
        print(f"\n{'tool':<30} {'median s':>9} {'docs/s':>8} {'x ours':>7} {'caught':>10} "
              f"{'false +':>8} {'peak MB':>8}")
        for name, (seconds, peak, flagged) in results.items():
            caught = len(flagged & expected)
            print(f"{name:<30} {seconds:>9.2f} {args.documents / seconds:>8.0f} "
                  f"{seconds / ours:>7.1f} {caught:>5}/{len(expected):<4} "
                  f"{len(flagged - expected):>8} {peak / 1e6:>8.0f}")
            missed = sorted(categories[m] for m in expected - flagged)
            if missed:
                print(f"{'':<30} missed by category: "
                      + ", ".join(f"{c} {missed.count(c)}" for c in sorted(set(missed))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
