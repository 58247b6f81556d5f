"""Policy check against Checkov, in one run: speed, peak memory, planted bad settings flagged.

    python bench/policy_bench.py [--files 2000] [--runs 3] [--seed 13]

Generates (seeded) the corpus Checkov was measured on in the policy research: Deployments of
about 4 KB, one per file, half of them hardened (restricted Pod Security, resources, probes,
pinned images, no service-account token) and half with 3 of 8 bad settings planted in the
main container or its pod: privileged, root, hostNetwork, a hostPath docker.sock volume, the
latest tag, no resources, NET_ADMIN/SYS_ADMIN added, allowPrivilegeEscalation. The API server
rejects `allowPrivilegeEscalation: false` on a privileged container or one that adds
SYS_ADMIN, so such containers leave it unset: they escalate, and a tool is expected to say so
(the "implied" files of that setting).

On the same files, on the same machine, it times:
- `gitops-guard policy check DIR --format json` (this checkout, the built-in pack: PSS baseline
  as errors, PSS restricted and best practices as warnings), with `--jobs 1` and with the
  default number of workers;
- `checkov -d DIR --framework kubernetes --quiet --compact -o json`, Checkov installed from
  PyPI into its own venv under `bench/.out/venvs/`. `--skip-download` and
  CKV_SKIP_PACKAGE_UPDATE_CHECK keep it off the network (the research ran it with none, so
  its guideline download failed at once).
Each command runs once to warm caches, then `--runs` times; best and median wall time are
reported, and peak memory as the largest sum of the RSS of the tool's process tree (workers
included), sampled every 20 ms. Each tool is then scored on the planted settings: for each
setting, how many of the files that carry it the tool flagged with a rule of that setting (the
table RULES), and how many other files those rules flagged.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import ensure_venv, repeated  # noqa: E402

PEERS = {"checkov": "checkov==3.3.30"}

# Planted setting -> (our rule ids, Checkov check ids) that report it. A file counts as flagged
# for a setting when any of its ids is reported on it.
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "privileged": (("pss-baseline-privileged",), ("CKV_K8S_16",)),
    "root": (("pss-restricted-run-as-non-root", "pss-restricted-run-as-user"),
             ("CKV_K8S_23", "CKV_K8S_40")),
    "hostNetwork": (("pss-baseline-host-namespaces",), ("CKV_K8S_19",)),
    "hostPath docker.sock": (("pss-baseline-host-path-volumes", "pss-restricted-volumes"),
                             ("CKV_K8S_27",)),
    "latest tag": (("bp-image-tag",), ("CKV_K8S_14",)),
    "no resources": (("bp-cpu-requests", "bp-cpu-limits", "bp-memory-requests",
                      "bp-memory-limits"),
                     ("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13")),
    "NET_ADMIN/SYS_ADMIN": (("pss-baseline-capabilities", "pss-restricted-capabilities"),
                            ("CKV_K8S_25", "CKV_K8S_39")),
    "allowPrivilegeEscalation": (("pss-restricted-allow-privilege-escalation",),
                                 ("CKV_K8S_20",)),
}
SETTINGS = tuple(RULES)
ESCALATING = ("privileged", "NET_ADMIN/SYS_ADMIN")  # imply allowPrivilegeEscalation


class Dumper(yaml.SafeDumper):
    """Writes every mapping out in full, as people do: no anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# -- corpus -----------------------------------------------------------------------------------

def deployment(name: str, rng: random.Random) -> dict[str, Any]:
    """A hardened Deployment of about 4 KB: an app container and a proxy sidecar."""
    team = rng.choice(("payments", "search", "identity", "catalog", "checkout", "ledger"))
    version = f"{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": team,
              "app.kubernetes.io/component": rng.choice(("api", "worker", "frontend")),
              "app.kubernetes.io/managed-by": "argocd", "app.kubernetes.io/version": version}
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": team}
    hardened = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]}}
    port = rng.choice((8080, 8000, 3000, 9000))
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    env = [{"name": "LOG_LEVEL", "value": rng.choice(("info", "warn", "debug"))},
           {"name": "PORT", "value": str(port)},
           {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.observability:4317"},
           {"name": "DATABASE_HOST", "value": f"{team}-db.{team}.svc.cluster.local"},
           {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {
               "name": f"{team}-db", "key": "password"}}},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    app = {
        "name": "app",
        "image": f"registry.example.com/{team}/{name}:{version}",
        "imagePullPolicy": "Always",
        "args": ["--config=/etc/app/config.yaml", f"--listen=:{port}"],
        "ports": [{"name": "http", "containerPort": port},
                  {"name": "metrics", "containerPort": 9090}],
        "env": env,
        "envFrom": [{"configMapRef": {"name": f"{name}-env"}}],
        "resources": {"requests": {"cpu": f"{rng.choice((100, 250, 500))}m",
                                   "memory": f"{rng.choice((128, 256, 512))}Mi"},
                      "limits": {"cpu": "1", "memory": f"{rng.choice((512, 1024))}Mi"}},
        "livenessProbe": probe,
        "readinessProbe": {**probe, "httpGet": {"path": "/readyz", "port": "http"}},
        "securityContext": dict(hardened, capabilities={"drop": ["ALL"]}),
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }
    proxy = {
        "name": "proxy",
        "image": "registry.example.com/platform/envoy:v1.31.2",
        "imagePullPolicy": "Always",
        "ports": [{"name": "https", "containerPort": 8443}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                      "limits": {"cpu": "200m", "memory": "128Mi"}},
        "livenessProbe": {"tcpSocket": {"port": "https"}, "periodSeconds": 10},
        "readinessProbe": {"tcpSocket": {"port": "https"}, "periodSeconds": 5},
        "securityContext": dict(hardened, capabilities={"drop": ["ALL"]}),
        "volumeMounts": [{"name": "envoy", "mountPath": "/etc/envoy", "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": team, "labels": labels, "annotations": {
            "argocd.argoproj.io/sync-wave": str(rng.randint(0, 3))}},
        "spec": {
            "replicas": rng.choice((2, 3, 4)),
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels, "annotations": {
                    "prometheus.io/scrape": "true", "prometheus.io/port": "9090"}},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                        "runAsGroup": 10001, "fsGroup": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 30,
                    "affinity": {"podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [{
                            "weight": 100, "podAffinityTerm": {
                                "topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": selector}}}]}},
                    "containers": [app, proxy],
                    "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}},
                                {"name": "envoy", "configMap": {"name": f"{name}-envoy"}},
                                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def plant(doc: dict[str, Any], settings: list[str]) -> None:
    """Put the bad `settings` into the app container or its pod."""
    pod = doc["spec"]["template"]["spec"]
    app = pod["containers"][0]
    context = app["securityContext"]
    for setting in settings:
        if setting == "privileged":
            context["privileged"] = True
        elif setting == "root":
            pod["securityContext"].update(runAsNonRoot=False, runAsUser=0, runAsGroup=0)
        elif setting == "hostNetwork":
            pod["hostNetwork"] = True
        elif setting == "hostPath docker.sock":
            pod["volumes"].append({"name": "docker-sock", "hostPath": {
                "path": "/var/run/docker.sock", "type": "Socket"}})
            app["volumeMounts"].append({"name": "docker-sock",
                                        "mountPath": "/var/run/docker.sock"})
        elif setting == "latest tag":
            app["image"] = app["image"].rsplit(":", 1)[0] + ":latest"
        elif setting == "no resources":
            for container in pod["containers"]:
                del container["resources"]
        elif setting == "NET_ADMIN/SYS_ADMIN":
            context["capabilities"]["add"] = ["NET_ADMIN", "SYS_ADMIN"]
        elif setting == "allowPrivilegeEscalation":
            context["allowPrivilegeEscalation"] = True
    if context["allowPrivilegeEscalation"] is False and any(s in settings for s in ESCALATING):
        del context["allowPrivilegeEscalation"]  # the API server rejects false here


def corpus(root: Path, files: int, seed: int) -> dict[str, list[str]]:
    """Write the Deployments under root/deployments; return file name -> planted settings."""
    rng = random.Random(seed)
    directory = root / "deployments"
    directory.mkdir(parents=True)
    index: dict[str, list[str]] = {}
    for n in range(files):
        name = f"svc-{n:05d}"
        doc = deployment(name, rng)
        settings = sorted(rng.sample(SETTINGS, 3), key=SETTINGS.index) if n % 2 else []
        plant(doc, settings)
        (directory / f"{name}.yaml").write_text(yaml.dump(doc, Dumper=Dumper, sort_keys=False),
                                                encoding="utf-8")
        index[f"{name}.yaml"] = settings
    return index


def expected_files(index: dict[str, list[str]]) -> dict[str, tuple[set[str], set[str]]]:
    """Setting -> (files it was planted in, files where another setting implies it)."""
    result = {}
    for setting in SETTINGS:
        planted = {f for f, s in index.items() if setting in s}
        implied: set[str] = set()
        if setting == "allowPrivilegeEscalation":
            implied = {f for f, s in index.items() if set(s) & set(ESCALATING)} - planted
        result[setting] = (planted, implied)
    return result


# -- running ----------------------------------------------------------------------------------

def our_findings(out: str) -> dict[str, set[str]]:
    """File name -> rule ids that `gitops-guard ... --format json` reported on it."""
    flagged: dict[str, set[str]] = {}
    for finding in json.loads(out)["findings"]:
        flagged.setdefault(Path(finding["path"]).name, set()).add(finding["rule"])
    return flagged


def checkov_findings(out: str) -> dict[str, set[str]]:
    """File name -> check ids Checkov's JSON report failed on it."""
    report = json.loads(out[min(i for i in (out.find("{"), out.find("[")) if i >= 0):])
    flagged: dict[str, set[str]] = {}
    for part in report if isinstance(report, list) else [report]:
        for check in part.get("results", {}).get("failed_checks", []):
            flagged.setdefault(Path(check["file_path"]).name, set()).add(check["check_id"])
    return flagged


def checkov_version(tool: Path) -> str:
    result = subprocess.run([str(tool.parent / "python"), "-c",
                             "from checkov.version import version; print(version)"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() or "?"


# -- report -----------------------------------------------------------------------------------

def score(index: dict[str, list[str]], results: dict[str, dict[str, set[str]]]) -> None:
    expected = expected_files(index)
    names = list(results)
    header = f"{'planted setting':<26} {'files':>9}"
    for name in names:
        header += f" {name + ' flagged':>21} {'elsewhere':>10}"
    print(f"\n{header}")
    for setting in SETTINGS:
        planted, implied = expected[setting]
        wanted = planted | implied
        count = f"{len(planted)}" + (f"+{len(implied)}" if implied else "")
        row = f"{setting:<26} {count:>9}"
        for column, name in enumerate(names):
            ids = set(RULES[setting][0 if column == 0 else 1])
            hit = {f for f, reported in results[name].items() if reported & ids}
            row += f" {f'{len(hit & wanted)}/{len(wanted)}':>21} {len(hit - wanted):>10}"
        print(row)
    if any(implied for _, implied in expected.values()):
        print("(+N: files where privileged or SYS_ADMIN leaves allowPrivilegeEscalation unset, "
              "which lets the container escalate)")
    print("\nrule ids per setting, with the planted (and implied) files each reported:")
    for setting in SETTINGS:
        planted, implied = expected[setting]
        cells = []
        for column, name in enumerate(names):
            rules = RULES[setting][0 if column == 0 else 1]
            cells.append(", ".join(
                f"{rule} {sum(rule in results[name].get(f, ()) for f in planted | implied)}"
                for rule in rules))
        print(f"  {setting:<26} {' | '.join(cells)}")
    hardened = {f for f, s in index.items() if not s}
    mapped = [{rule for ours, theirs in RULES.values() for rule in (ours, theirs)[column]}
              for column in range(2)]
    for column, name in enumerate(names):
        reported = results[name]
        total = sum(len(ids) for ids in reported.values())
        on_hardened = Counter(rule for f in hardened for rule in reported.get(f, ()))
        unmapped = Counter(rule for ids in reported.values() for rule in ids
                           if rule not in mapped[column])
        print(f"\n{name}: {total} (file, rule) pairs flagged, "
              f"{len({r for ids in reported.values() for r in ids})} rule ids; "
              f"on the {len(hardened)} hardened files: "
              + (", ".join(f"{r} {c}" for r, c in sorted(on_hardened.items())) or "none"))
        if unmapped:
            print("  ids outside the table: "
                  + ", ".join(f"{r} {c}" for r, c in sorted(unmapped.items())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    # Byte-code caching on, as in any installed tool.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    tool = Path(sys.executable).parent / "gitops-guard"
    ours = [str(tool)] if tool.exists() else [sys.executable, "-m", "gitops_guard"]
    try:
        checkov: Path | None = ensure_venv("checkov", PEERS["checkov"])
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"Checkov could not be installed ({exc}); timing gitops-guard alone")
        checkov = None
    with tempfile.TemporaryDirectory(prefix="gitops-guard-policy-bench-") as temp:
        root = Path(temp)
        index = corpus(root, args.files, args.seed)
        size = sum(p.stat().st_size for p in (root / "deployments").iterdir())
        bad = sum(1 for s in index.values() if s)
        print(f"corpus: {args.files} Deployments, one per file, {size / 1e6:.1f} MB "
              f"({size / args.files / 1e3:.1f} KB each on average); {args.files - bad} "
              f"hardened, {bad} with 3 of {len(SETTINGS)} bad settings (seed {args.seed})")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
              f"best and median of {args.runs} runs after a warm-up")
        listing = subprocess.run([*ours, "policy", "list", "--all"], cwd=root, env=env,
                                 capture_output=True, text=True, check=False).stdout
        known = {line.split()[0] for line in listing.splitlines() if line.strip()}
        unknown = sorted({r for ours_ids, _ in RULES.values() for r in ours_ids} - known)
        if unknown:
            print(f"warning: not in `gitops-guard policy list --all`: {', '.join(unknown)}")
        rows: list[tuple[str, str, float, float, int]] = []  # label, short, best, median, peak
        results: dict[str, dict[str, set[str]]] = {}
        for jobs in ("1", None):
            argv = [*ours, "policy", "check", "deployments", "--format", "json",
                    *(["--jobs", jobs] if jobs else [])]
            best, median, peak, out = repeated(argv, root, env, args.runs)
            short = f"--jobs {jobs}" if jobs else f"default jobs ({os.cpu_count()})"
            rows.append((f"gitops-guard policy check {short}", short, best, median, peak))
            results["gitops-guard"] = our_findings(out)
        if checkov is not None:
            checkov_env = {k: v for k, v in env.items() if k != "LOG_LEVEL"}
            checkov_env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"
            argv = [str(checkov), "-d", "deployments", "--framework", "kubernetes", "--quiet",
                    "--compact", "-o", "json", "--skip-download"]
            best, median, peak, out = repeated(argv, root, checkov_env, args.runs)
            rows.append((f"checkov {checkov_version(checkov)} -d DIR --framework kubernetes",
                         "Checkov", best, median, peak))
            results["Checkov"] = checkov_findings(out)
        print(f"\n{'command':<50} {'best s':>7} {'median s':>9} {'files/s':>8} {'peak MB':>8}"
              + (f" {'Checkov/this':>13}" if checkov else ""))
        for label, _, best, median, peak in rows:
            print(f"{label:<50} {best:>7.2f} {median:>9.2f} {args.files / median:>8.0f} "
                  f"{peak / 1e6:>8.0f}"
                  + (f" {rows[-1][3] / median:>12.1f}x" if checkov else ""))
        if checkov is not None:
            theirs = rows[-1]
            print("Checkov/this, best against best: " + ", ".join(
                f"{short} {theirs[2] / best:.1f}x" for _, short, best, _, _ in rows[:-1]))
            for _, short, _, median, peak in rows[:-1]:
                speed = theirs[3] / median
                verdict = "met" if speed >= 30 and peak < 150e6 else "NOT met"
                print(f"goal (>= 30x faster than Checkov, < 150 MB peak), {short}: {verdict} "
                      f"({speed:.1f}x by medians, {peak / 1e6:.0f} MB)")
        score(index, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
