"""`python -m tests.security.selfkill STEP ARGV...`: run `gitops-guard ARGV...`, and SIGKILL
the process itself at STEP of atomic.write_bytes (tests/security/writesteps.py), in the
current directory — a deterministic kill at a chosen point of the write, where the random
kills of the loop rarely land.

STEP: `create` (dies before the temp file exists), `write` (half its bytes written), `fsync`,
`chmod`, `link` (complete, with its mode, still without a name), `rename` (named, beside the
target), `fsync directory` (renamed over the target); each kill comes just before that step.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from gitops_guard.cli import main
from tests.security.writesteps import STEPS, watch


def install(step: str) -> None:
    def on_step(current: str) -> None:
        if current == step:
            os.kill(os.getpid(), signal.SIGKILL)

    def set_attr(owner: Any, name: str, value: Any) -> None:
        setattr(owner, name, value)

    watch(set_attr, Path.cwd(), on_step)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in STEPS:
        sys.exit(f"usage: python -m tests.security.selfkill {{{','.join(STEPS)}}} ARGV...")
    install(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
