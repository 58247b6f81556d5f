#!/usr/bin/env python3
"""Write docs/config-reference.md from the config's JSON schema (run after changing a key)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gitops_guard.config import schema  # noqa: E402
from gitops_guard.config_reference import render  # noqa: E402


def main() -> int:
    target = ROOT / "docs" / "config-reference.md"
    target.write_text(render(schema()), encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
