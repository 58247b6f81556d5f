#!/usr/bin/env python3
"""Write docs/policies.md from the built-in policies (run after changing policies/)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gitops_guard.policy.docs import render  # noqa: E402
from gitops_guard.policy.load import load_policy_files  # noqa: E402


def main() -> int:
    target = ROOT / "docs" / "policies.md"
    target.write_text(render(load_policy_files([ROOT / "policies"])), encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
