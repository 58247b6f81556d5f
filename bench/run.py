"""Time `gitops-guard check` on a generated corpus and print documents per second.

    python bench/run.py [--documents 5000] [--runs 5] [--checks manifest]

The corpus is generated (seeded, so every run sees the same files) into a temporary directory.
Each configuration is run `--runs` times as a real subprocess, the way CI invokes the tool;
the median wall time is reported, with the peak RSS of the slowest process.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate


def time_command(argv: list[str], cwd: Path, runs: int) -> tuple[float, int, int]:
    """Median seconds, peak RSS in KiB, and the exit code of the command."""
    # Byte-code caching on, as for any installed tool.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)  # warm caches
    times = []
    code = 0
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, check=False)
        times.append(time.perf_counter() - start)
        code = result.returncode
        if code not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed ({code}): {result.stderr.decode()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return statistics.median(times), peak, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checks", default="manifest")
    args = parser.parse_args()
    tool = Path(sys.executable).parent / "gitops-guard"
    command = [str(tool)] if tool.exists() else [sys.executable, "-m", "gitops_guard"]
    with tempfile.TemporaryDirectory(prefix="gitops-guard-bench-") as temp:
        corpus = Path(temp)
        files = generate(corpus, args.documents)
        print(f"corpus: {args.documents} documents in {files} files "
              f"({sum(p.stat().st_size for p in corpus.rglob('*.yaml')) / 1e6:.1f} MB)")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        print(f"{'command':<58} {'median s':>9} {'docs/s':>9} {'peak MB':>8}")
        for jobs in (1, os.cpu_count() or 1):
            argv = [*command, "check", "--checks", args.checks, "--jobs", str(jobs), "."]
            seconds, peak, _ = time_command(argv, corpus, args.runs)
            label = f"gitops-guard check --checks {args.checks} --jobs {jobs}"
            print(f"{label:<58} {seconds:>9.3f} {args.documents / seconds:>9.0f} "
                  f"{peak / 1024:>8.1f}")
        one_file = min(corpus.rglob("*.yaml"))
        seconds, _, _ = time_command([*command, "check", "--checks", args.checks,
                                      str(one_file)], corpus, args.runs)
        print(f"{'one file (a pre-commit hook on a single file)':<58} {seconds:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
