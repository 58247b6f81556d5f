"""Everything that reads a line by its number counts lines by `\\n` (documents.file_lines), as
the loader does: a U+2028, U+0085 or lone CR earlier in the file moves no finding, no
suppression comment and no allow regex to another line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliRun, write

SEPARATORS = ["\u2028", "\x85", "\u2029", "\r"]
NOTE = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n' \
       '    note: "para{sep}graph"\n'


@pytest.mark.parametrize("separator", SEPARATORS, ids=["U+2028", "U+0085", "U+2029", "CR"])
@pytest.mark.parametrize(("tail", "config", "expected"), [
    # a finding after the separator, on its file line
    ("data:\n  password: Sup3r-S3cret-Value\n", "", [("GG-SECRET-004", 8)]),
    # an inline suppression on that line still covers it
    ("data:\n  password: Sup3r-S3cret-Value  # gitops-guard: ignore[GG-SECRET-004] fixture\n",
     "", []),
    # an allow regex is tried on that line, not on another
    ("data:\n  password: Sup3r-S3cret-Value  # fixture-ok\n",
     "secrets:\n  allow_regexes: ['fixture-ok']\n", []),
], ids=["finding", "suppressed", "allowed"])
def test_lines_after_a_separator(tmp_path: Path, run_cli: Callable[..., CliRun],
                                 separator: str, tail: str, config: str,
                                 expected: list[tuple[str, int]]) -> None:
    files = {"cm.yaml": NOTE.format(sep=separator) + tail}
    if config:
        files[".gitops-guard.yaml"] = config
    write(tmp_path, files)
    result = run_cli("check", "--checks", "secrets", "--format", "json", "cm.yaml",
                     cwd=tmp_path)
    assert [(rule, line) for rule, _path, line in result.findings()] == expected, result.err


@pytest.mark.parametrize("separator", SEPARATORS, ids=["U+2028", "U+0085", "U+2029", "CR"])
def test_key_value_lines_in_a_text_file(tmp_path: Path, run_cli: Callable[..., CliRun],
                                        separator: str) -> None:
    write(tmp_path, {"app.env": f"NOTE=para{separator}graph\nDB_PASSWORD=Sup3r-S3cret\n"})
    result = run_cli("secrets", "scan", "--format", "json", "app.env", cwd=tmp_path)
    assert [(rule, line) for rule, _path, line in result.findings()] == [("GG-SECRET-003", 2)]
