"""Scale: a 50,000-document repository in bounded memory, and a 1-file hook run that stays fast.

    python bench/scale_bench.py [--documents 50000] [--runs 1]

Generates the seeded corpus of bench/generate.py (5 documents per file) into a git work
tree, then times `gitops-guard check` on all of it (every check, default workers, and
`--jobs 1`) and on one file (as a pre-commit hook calls it), printing wall time and the
peak RSS of the whole process tree. Memory must not grow with the repository: files are
checked one at a time and only findings are kept.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate
from measure import repeated

ROOT = Path(__file__).resolve().parent.parent


def _tool() -> list[str]:
    installed = ROOT / ".venv" / "bin" / "gitops-guard"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "gitops_guard"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="gg-scale-") as tmp:
        repo = Path(tmp)
        files = generate(repo, args.documents)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run(["git", "add", "."], cwd=repo, check=True)
        one = sorted(repo.rglob("*.yaml"))[files // 2]
        tool = _tool()
        rows = [
            ("check (all checks, default workers)", [*tool, "check", "--format", "json", "."]),
            ("check --jobs 1", [*tool, "check", "--jobs", "1", "--format", "json", "."]),
            ("check one file (a hook run)", [*tool, "check", str(one.relative_to(repo))]),
        ]
        print(f"corpus: {args.documents} documents in {files} files; "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        print(f"{'command':<40} {'best s':>8} {'median s':>9} {'peak MB':>8}")
        for label, argv in rows:
            best, median, peak, _ = repeated(argv, repo, env, args.runs)
            print(f"{label:<40} {best:8.2f} {median:9.2f} {peak / 2**20:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
