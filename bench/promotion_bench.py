"""Promotion audit against `git log -p` over the same paths, in one run: speed, peak memory,
planted violations found.

    python bench/promotion_bench.py [--commits 10000] [--apps 20] [--runs 3] [--seed 5]
                                    [--repo DIR]

Builds (seeded, with `git fast-import`, in seconds) a GitOps repository whose main branch is a
first-parent history of `--commits` commits, committer dates about an hour apart (3600 s plus
0-599 s of jitter per commit, so soak times are known to the minute). Each app has
`apps/<app>/base/kustomization.yaml` (with a deployment and a service) and
`apps/<app>/overlays/{dev,staging,prod}/kustomization.yaml` that include `../../base` and pin
`images: [{name: ghcr.io/acme/<app>, newTag: X}]`; `.gitops-guard.yaml` at the root orders the
environments dev -> staging (min_soak 2h) -> prod (min_soak 24h). After the first commit:
- about 85 % of commits promote properly: a dev bump, later (at least 3 commits) staging takes
  the version dev runs, later still (at least 26 commits) prod takes the one staging runs; the
  first staging and prod overlays of each app appear that way too;
- about 10 % change unrelated files (README, docs, YAML under infra/ and clusters/, some of it
  kustomizations outside apps/);
- about 2 % bump a base's tag, which every overlay overrides, so no environment changes;
- about 3 % violate, one third each: prod takes a version staging never ran ("skip staging",
  PROMO001), a version enters staging 1 commit after dev or prod at most 20 commits after
  staging ("short soak", PROMO002), a version enters dev and staging in one commit ("same
  commit", PROMO003).
The audit should report exactly the planted violations, each at its commit.

On that repository, on the same machine, it times:
- `gitops-guard promotion audit --format json` (this checkout), run from the work tree;
- `git log -p --first-parent -- 'apps/*/overlays/*/kustomization.yaml'
  'apps/*/base/kustomization.yaml'` with its output to /dev/null (exec'd by `sh`, so the time
  and memory are git's alone): what reading the same history with its patches costs.
Each command runs once to warm caches, then `--runs` times; best and median wall time are
reported, and peak memory as the largest sum of the RSS of the process tree (ours includes
the `git log` and `git cat-file` it runs), sampled every 20 ms. `--repo DIR` builds the
repository in DIR (which must not exist) and keeps it, e.g. to profile the audit there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import repeated  # noqa: E402

APPS = ("payments", "checkout", "cart", "catalog", "search", "identity", "ledger", "billing",
        "orders", "inventory", "shipping", "notifications", "reviews", "pricing",
        "recommendations", "gateway", "accounts", "reporting", "media", "auth")
ENVS = ("dev", "staging", "prod")
START = 1735689600  # 2025-01-01T00:00:00Z
HOUR = 3600
JITTER = 600  # seconds added to each commit's time, below this
# Commits a version waits upstream before a proper promotion (> min_soak even with jitter),
# and the window of a short soak (< min_soak even with jitter).
WAIT = {"staging": 3, "prod": 26}
SHORT = {"staging": (1, 1), "prod": (1, 20)}
RULE = {"skip staging": "PROMO001", "short soak": "PROMO002", "same commit": "PROMO003"}
KINDS = tuple(RULE)
PEER_PATHS = ("apps/*/overlays/*/kustomization.yaml", "apps/*/base/kustomization.yaml")
IDENTITY = "Bench Bot <bench@example.com>"

CONFIG = """\
promotion:
  environments:
    - dev
    - {name: staging, min_soak: 2h}
    - {name: prod, min_soak: 24h}
  apps:
    - name: "{app}"
      locations:
        - {path: "apps/{app}/overlays/{env}/kustomization.yaml", extractor: kustomize-images}
"""
INFRA = ("cert-manager", "ingress-nginx", "external-dns", "monitoring", "logging")
CLUSTERS = ("eu-west-1", "us-east-1", "ap-south-1")


# -- repository -------------------------------------------------------------------------------

def base_files(app: str, tag: str) -> dict[str, str]:
    image = f"ghcr.io/acme/{app}"
    return {
        f"apps/{app}/base/kustomization.yaml": f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
labels:
  - pairs:
      app.kubernetes.io/name: {app}
      app.kubernetes.io/part-of: acme
    includeSelectors: true
resources:
  - deployment.yaml
  - service.yaml
images:
  - name: {image}
    newTag: {tag}
""",
        f"apps/{app}/base/deployment.yaml": f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {app}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {app}
    spec:
      containers:
        - name: {app}
          image: {image}
          ports:
            - name: http
              containerPort: 8080
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: 256Mi}}
""",
        f"apps/{app}/base/service.yaml": f"""\
apiVersion: v1
kind: Service
metadata:
  name: {app}
spec:
  ports:
    - name: http
      port: 80
      targetPort: http
""",
    }


def overlay(app: str, env: str, tag: str) -> str:
    replicas = {"dev": 1, "staging": 2, "prod": 4}[env]
    return f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {app}-{env}
resources:
  - ../../base
patches:
  - target: {{kind: Deployment, name: {app}}}
    patch: |-
      - op: replace
        path: /spec/replicas
        value: {replicas}
images:
  - name: ghcr.io/acme/{app}
    newTag: {tag}
"""


def overlay_path(app: str, env: str) -> str:
    return f"apps/{app}/overlays/{env}/kustomization.yaml"


class Deployed(NamedTuple):
    number: int  # the version's serial number within its app
    since: int  # index of the commit it entered


class Planted(NamedTuple):
    kind: str
    app: str
    env: str
    tag: str


class Commit(NamedTuple):
    time: int
    message: str
    files: dict[str, str]
    planted: Planted | None = None


class History:
    """The simulated repository: what each app's environments run, and the commits so far."""

    def __init__(self, apps: tuple[str, ...], rng: random.Random) -> None:
        self.apps = apps
        self.rng = rng
        self.state: dict[tuple[str, str], Deployed] = {}
        self.serial = dict.fromkeys(apps, 0)
        self.commits: list[Commit] = []
        self.owed: list[str] = []  # violation kinds drawn but not yet possible

    @property
    def index(self) -> int:
        return len(self.commits)

    def when(self) -> int:
        return START + self.index * HOUR + self.rng.randrange(JITTER)

    def add(self, message: str, files: dict[str, str], planted: Planted | None = None) -> None:
        self.commits.append(Commit(self.when(), message, files, planted))

    def number(self, app: str, env: str) -> int:
        deployed = self.state.get((app, env))
        return deployed.number if deployed else -1

    def set(self, app: str, env: str, number: int, files: dict[str, str]) -> str:
        tag = tag_of(number)
        self.state[(app, env)] = Deployed(number, self.index)
        files[overlay_path(app, env)] = overlay(app, env, tag)
        return tag

    def new_version(self, app: str) -> int:
        self.serial[app] += 1
        return self.serial[app]

    # -- kinds of commit ----------------------------------------------------------------------

    def first(self) -> None:
        files = {".gitops-guard.yaml": CONFIG, "README.md": readme(0)}
        files.update(unrelated_file(name, 0) for name in unrelated_paths())
        for app in self.apps:
            files.update(base_files(app, tag_of(0)))
            self.set(app, "dev", 0, files)
        self.add("Bootstrap the apps in dev", files)

    def promote(self) -> None:
        due: list[tuple[str, str]] = []
        for app in self.apps:
            for env, upstream in (("staging", "dev"), ("prod", "staging")):
                source = self.state.get((app, upstream))
                if (source and source.number > self.number(app, env)
                        and source.since <= self.index - WAIT[env]):
                    due.append((app, env))
            if self.number(app, "dev") <= self.number(app, "staging"):
                due.append((app, "dev"))
        app, env = self.rng.choice(due) if due else (self.rng.choice(self.apps), "dev")
        files: dict[str, str] = {}
        if env == "dev":
            tag = self.set(app, env, self.new_version(app), files)
        else:
            upstream = ENVS[ENVS.index(env) - 1]
            tag = self.set(app, env, self.state[(app, upstream)].number, files)
        self.add(f"{app}: promote {tag} to {env}", files)

    def unrelated(self) -> None:
        path = self.rng.choice(("README.md", *unrelated_paths()))
        text = readme(self.index) if path == "README.md" else unrelated_file(path, self.index)[1]
        self.add(f"Update {path}", {path: text})

    def base_bump(self) -> None:
        app = self.rng.choice(self.apps)
        tag = tag_of(self.number(app, "dev"))
        files = {k: v for k, v in base_files(app, tag).items() if k.endswith("kustomization.yaml")}
        self.add(f"{app}: base image default to {tag}", files)

    def violate(self, kind: str) -> bool:
        """Plant one violation of `kind`; False when the current state allows none."""
        files: dict[str, str] = {}
        here = self.index
        if kind == "skip staging":
            apps = [a for a in self.apps if (a, "prod") in self.state]
            ahead = [a for a in apps if self.number(a, "dev") > max(self.number(a, "staging"),
                                                                    self.number(a, "prod"))]
            if ahead:
                app = self.rng.choice(ahead)
                number = self.number(app, "dev")
            elif apps:
                app = self.rng.choice(apps)
                number = self.new_version(app)  # a hotfix built for prod alone
            else:
                return False
            tag = self.set(app, "prod", number, files)
            self.add(f"{app}: hotfix {tag} to prod", files, Planted(kind, app, "prod", tag))
            return True
        if kind == "short soak":
            options = []
            for app in self.apps:
                for env, upstream in (("staging", "dev"), ("prod", "staging")):
                    source = self.state.get((app, upstream))
                    low, high = SHORT[env]
                    if ((app, env) in self.state and source is not None
                            and source.number > self.number(app, env)
                            and here - high <= source.since <= here - low):
                        options.append((app, env, source.number))
            if not options:
                return False
            app, env, number = self.rng.choice(options)
            tag = self.set(app, env, number, files)
            self.add(f"{app}: promote {tag} to {env}", files, Planted(kind, app, env, tag))
            return True
        # same commit: dev and staging take a new version together
        apps = [a for a in self.apps if (a, "staging") in self.state]
        if not apps:
            return False
        app = self.rng.choice(apps)
        number = self.new_version(app)
        self.set(app, "dev", number, files)
        tag = self.set(app, "staging", number, files)
        self.add(f"{app}: release {tag} to dev and staging", files,
                 Planted(kind, app, "staging", tag))
        return True

    def step(self) -> None:
        if self.owed and self.violate(self.owed[0]):
            self.owed.pop(0)
            return
        draw = self.rng.random()
        if draw < 0.03:
            kind = KINDS[int(draw / 0.01)]
            if not self.violate(kind):
                self.owed.append(kind)
                self.promote()
        elif draw < 0.05:
            self.base_bump()
        elif draw < 0.15:
            self.unrelated()
        else:
            self.promote()


def tag_of(number: int) -> str:
    return f"1.{number // 10}.{number % 10}"


def readme(index: int) -> str:
    return (f"# acme deployments\n\nEvery app's manifests live under apps/; overlays pin the "
            f"image tags that run in dev, staging and prod.\n\nRevision {index}.\n")


def unrelated_paths() -> list[str]:
    paths = ["docs/runbook.md", "docs/on-call.md"]
    paths += [f"infra/{name}/kustomization.yaml" for name in INFRA]
    paths += [f"infra/{name}/values.yaml" for name in INFRA]
    paths += [f"clusters/{name}/cluster.yaml" for name in CLUSTERS]
    return paths


def unrelated_file(path: str, index: int) -> tuple[str, str]:
    name = path.split("/")[1]
    if path.endswith(".md"):
        return path, f"# {name}\n\nRevision {index}: check the dashboards, then the logs.\n"
    if path.endswith("kustomization.yaml"):
        return path, (f"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                      f"namespace: {name}\nresources:\n  - https://github.com/acme/charts//"
                      f"{name}?ref=v{index // 100}.{index % 100}\n")
    if path.startswith("clusters/"):
        return path, (f"cluster:\n  name: {name}\n  nodePools:\n    - name: general\n"
                      f"      size: {3 + index % 5}\n  revision: {index}\n")
    return path, (f"replicaCount: {1 + index % 3}\nimage:\n  tag: v{index // 50}.{index % 50}\n"
                  f"resources:\n  requests:\n    cpu: {100 + index % 400}m\n")


def simulate(commits: int, apps: int, seed: int) -> History:
    history = History(APPS[:apps] if apps <= len(APPS)
                      else tuple(f"app-{n:03d}" for n in range(apps)), random.Random(seed))
    history.first()
    while history.index < commits:
        history.step()
    return history


def build(root: Path, history: History) -> list[str]:
    """Write the history into a new repository at `root` with `git fast-import`, check the
    tip out, and return each commit's sha."""
    stream = bytearray()

    def data(text: str) -> None:
        raw = text.encode("utf-8")
        stream.extend(b"data %d\n" % len(raw) + raw + b"\n")

    for number, commit in enumerate(history.commits, start=1):
        stamp = f"{IDENTITY} {commit.time} +0000"
        stream.extend(f"commit refs/heads/main\nmark :{number}\nauthor {stamp}\n"
                      f"committer {stamp}\n".encode())
        data(commit.message + "\n")
        for path, text in commit.files.items():
            stream.extend(f"M 100644 inline {path}\n".encode())
            data(text)
    stream.extend(b"done\n")
    root.mkdir(parents=True)
    env = git_env()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, env=env, check=True)
    marks = root / ".git" / "bench-marks"
    subprocess.run(["git", "fast-import", "--quiet", "--done", f"--export-marks={marks}"],
                   cwd=root, env=env, input=bytes(stream), check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=root, env=env, check=True)
    shas = {}
    for line in marks.read_text().splitlines():
        mark, sha = line.split()
        shas[int(mark[1:])] = sha
    marks.unlink()
    return [shas[n] for n in range(1, len(history.commits) + 1)]


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE",
                        "PYTHONDONTWRITEBYTECODE")}  # byte-code caching on, as installed
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


# -- running ----------------------------------------------------------------------------------

def score(out: str, history: History, shas: list[str]) -> tuple[int, bool]:
    """Print what the audit found against what was planted; return the number of findings
    and whether every planted kind was found."""
    findings = json.loads(out)["findings"]
    planted = {shas[n][:7]: commit.planted for n, commit in enumerate(history.commits)
               if commit.planted is not None}
    by_rule = Counter(f["rule"] for f in findings)
    hits: Counter[str] = Counter()
    elsewhere: Counter[str] = Counter()
    for finding in findings:
        match = re.match(r"commit ([0-9a-f]{7,})", finding["message"])
        where = planted.get(match.group(1)[:7]) if match else None
        if where is not None and RULE[where.kind] == finding["rule"]:
            hits[where.kind] += 1
        else:
            elsewhere[finding["rule"]] += 1
    planted_kinds = Counter(p.kind for p in planted.values())
    print(f"\naudit findings: {len(findings)} ("
          + ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items())) + ")")
    print(f"{'planted violation':<14} {'rule':<9} {'commits':>8} {'found at its commit':>20}")
    for kind in KINDS:
        print(f"{kind:<14} {RULE[kind]:<9} {planted_kinds[kind]:>8} "
              f"{f'{hits[kind]}/{planted_kinds[kind]}':>20}")
    print("findings at other commits or with another rule: "
          + (", ".join(f"{r} {c}" for r, c in sorted(elsewhere.items())) or "none"))
    return len(findings), all(hits[kind] > 0 for kind in KINDS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10000)
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repo", type=Path, help="build the repository here and keep it")
    args = parser.parse_args()
    env = git_env()
    tool = Path(sys.executable).parent / "gitops-guard"
    ours = [str(tool)] if tool.exists() else [sys.executable, "-m", "gitops_guard"]
    with tempfile.TemporaryDirectory(prefix="gitops-guard-promotion-bench-") as temp:
        root = args.repo.resolve() if args.repo else Path(temp) / "repo"
        started = time.perf_counter()
        history = simulate(args.commits, args.apps, args.seed)
        shas = build(root, history)
        built = time.perf_counter() - started
        files = subprocess.run(["git", "ls-files"], cwd=root, env=env, capture_output=True,
                               text=True, check=True).stdout.split()
        kinds = Counter(c.planted.kind for c in history.commits if c.planted)
        touched = sum(1 for c in history.commits if any(p.startswith("apps/") for p in c.files))
        span = (history.commits[-1].time - history.commits[0].time) / 86400
        print(f"repository: {len(history.commits)} first-parent commits over {span:.0f} days "
              f"({touched} touching apps/), {len(files)} files at the tip "
              f"({sum(p.startswith('apps/') for p in files)} under apps/, {args.apps} apps x "
              f"base + {len(ENVS)} overlays); planted: "
              + ", ".join(f"{kind} {kinds[kind]}" for kind in KINDS)
              + f"; built with git fast-import in {built:.1f} s (seed {args.seed})"
              + (f"; kept at {root}" if args.repo else ""))
        version = subprocess.run(["git", "--version"], capture_output=True, text=True,
                                 check=False).stdout.split()[-1]
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, git {version}; "
              f"best and median of {args.runs} runs after a warm-up")
        argv = [*ours, "promotion", "audit", "--format", "json"]
        best, median, peak, out = repeated(argv, root, env, args.runs)
        git_log = ["git", "log", "-p", "--first-parent", "--", *PEER_PATHS]
        peer = ["sh", "-c", f"exec {shlex.join(git_log)} >/dev/null"]
        peer_best, peer_median, peer_peak, _ = repeated(peer, root, env, args.runs)
        rows = [("gitops-guard promotion audit --format json", best, median, peak),
                ("git log -p --first-parent -- <apps paths>", peer_best, peer_median, peer_peak)]
        print(f"\n{'command':<46} {'best s':>7} {'median s':>9} {'commits/s':>10} "
              f"{'peak MB':>8} {'this/git log -p':>16}")
        for label, row_best, row_median, row_peak in rows:
            print(f"{label:<46} {row_best:>7.2f} {row_median:>9.2f} "
                  f"{len(history.commits) / row_median:>10.0f} {row_peak / 1e6:>8.0f} "
                  f"{row_median / peer_median:>15.1f}x")
        ratio = median / peer_median
        print(f"goal (audit < 3x git log -p, by medians): {'met' if ratio < 3 else 'NOT met'} "
              f"({ratio:.1f}x, best against best {best / peer_best:.1f}x; our peak "
              f"{peak / 1e6:.0f} MB)")
        count, every_kind = score(out, history, shas)
        if count == 0 or not every_kind:
            print("error: the audit missed a planted kind of violation", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
