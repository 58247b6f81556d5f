"""What every bench script measures the same way: wall time and the peak memory of a command's
whole process tree, and peers installed into their own venvs under bench/.out/venvs/."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

VENVS = Path(__file__).resolve().parent / ".out" / "venvs"


def tree_rss(pid: int) -> int:
    """RSS in bytes of `pid` and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def timed(argv: list[str], cwd: Path, env: dict[str, str], *,
          check: bool = False) -> tuple[float, int, str]:
    """Wall seconds, peak RSS of the process tree (sampled every 20 ms), and stdout (with
    stderr unless `check`); with `check`, a run exiting other than 0 or 1 stops the bench."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE if check else subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if check and process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{err.strip()}")
    return seconds, peak, out


def repeated(argv: list[str], cwd: Path, env: dict[str, str], runs: int
             ) -> tuple[float, float, int, str]:
    """Best and median seconds of `runs` runs after a warm-up, peak RSS, last stdout."""
    timed(argv, cwd, env, check=True)  # warm-up: byte-code and file caches
    measured = [timed(argv, cwd, env, check=True) for _ in range(runs)]
    times = [m[0] for m in measured]
    return min(times), statistics.median(times), max(m[1] for m in measured), measured[-1][2]


def ensure_venv(peer: str, requirement: str) -> Path:
    """The peer's console script, installing `requirement` into its own venv on first use."""
    venv = VENVS / peer
    tool = venv / "bin" / peer
    if not tool.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        requirement], check=True)
    return tool
