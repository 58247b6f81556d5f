"""The example corpus: every file under tests/examples/<check>/positive must be clean, every
file under negative must produce exactly the findings its `# expect: RULE LINE:COL` comments
(or, for JSON, its `.expect` sidecar) list."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliRun

EXAMPLES = Path(__file__).parent / "examples"
_EXPECT = re.compile(r"(?:#\s*expect:\s*)?(GG-[A-Z]+-\d{3})\s+(\d+):(\d+)")


def corpus(kind: str) -> list[Path]:
    return sorted(p for p in EXAMPLES.glob(f"*/{kind}/*") if p.suffix in (".yaml", ".yml", ".json"))


def expectations(path: Path) -> list[tuple[str, int, int]]:
    sidecar = path.with_name(path.name + ".expect")
    lines = (sidecar if sidecar.exists() else path).read_text(encoding="utf-8").splitlines()
    found = []
    for line in lines:
        if sidecar.exists() or line.lstrip().startswith("# expect:"):
            match = _EXPECT.search(line)
            assert match is not None, f"unreadable expectation in {path}: {line!r}"
            found.append((match[1], int(match[2]), int(match[3])))
    return sorted(found)


def findings(run_cli: Callable[..., CliRun], path: Path) -> list[tuple[str, int, int]]:
    check = path.parent.parent.name
    result = run_cli("check", "--checks", check, "--format", "json", str(path), cwd=EXAMPLES)
    assert result.code in (0, 1), result.err
    return sorted((f["rule"], f["line"], f["column"]) for f in result.json()["findings"])


def _id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


@pytest.mark.parametrize("path", corpus("positive"), ids=_id)
def test_positive(run_cli: Callable[..., CliRun], path: Path) -> None:
    assert findings(run_cli, path) == []


@pytest.mark.parametrize("path", corpus("negative"), ids=_id)
def test_negative(run_cli: Callable[..., CliRun], path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path} lists no expected findings"
    assert findings(run_cli, path) == expected
