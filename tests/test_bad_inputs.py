"""Bad input never crashes the run: each case gets a clear finding naming the file (and line),
the right exit code, no traceback, and the good file beside it is still reported."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import gitops_guard
from gitops_guard import engine
from tests.conftest import NAMELESS_CONFIGMAP, REPO_ROOT, CliRun, is_root, write
from tests.test_yamlio import billion_laughs

GOOD_FINDING = ("GG-MANIFEST-005", "good.yaml", 3)

CASES: list[tuple[str, str, bytes, tuple[str, int | None, str]]] = [
    # (case id, file name, content, (rule, line, message fragment))
    ("malformed-yaml", "bad.yaml", b"apiVersion: v1\nkind: [ConfigMap\nmetadata: {}\n",
     ("GG-MANIFEST-001", 3, "did not find expected ',' or ']'")),
    ("malformed-json", "bad.json", b'{"apiVersion": "v1",\n "kind": }\n',
     ("GG-MANIFEST-001", 2, "Expecting value")),
    ("alias-bomb", "bomb.yaml", billion_laughs().encode(),
     ("GG-MANIFEST-012", 1, "aliases expand to more than 200,000 nodes")),
    ("nesting-10000", "deep.yaml", ("a: " + "[" * 10_000 + "]" * 10_000 + "\n").encode(),
     ("GG-MANIFEST-012", 1, "nests more than 1000 levels deep")),
    ("nesting-10000-json", "deep.json", ("[" * 10_000 + "]" * 10_000).encode(),
     ("GG-MANIFEST-012", None, "nests too deeply")),
    ("binary", "image.yaml", bytes(range(256)) * 4, ("GG-MANIFEST-011", 1, "NUL bytes")),
    ("nul-byte", "nul.yaml", b"apiVersion: v1\nkind: Config\x00Map\n",
     ("GG-MANIFEST-011", 2, "NUL bytes")),
    ("invalid-utf8", "latin1.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {k: café}\n"
     .encode("latin-1"), ("GG-MANIFEST-008", 3, "invalid UTF-8 (byte 0xe9)")),
    ("utf16", "utf16.yaml", "apiVersion: v1\n".encode("utf-16"),
     ("GG-MANIFEST-008", 1, "UTF-16")),
    ("bom", "bom.yaml", b"\xef\xbb\xbfapiVersion: v1\nkind: ConfigMap\nmetadata:\n  x: 1\n",
     ("GG-MANIFEST-005", 3, "no metadata.name")),
    ("crlf", "crlf.yaml", b"apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n"
     b"  name: b\r\n", ("GG-MANIFEST-002", 5, 'duplicate key "name"')),
    ("empty", "empty.yaml", b"", ("GG-MANIFEST-013", 1, "no documents")),
    ("only-comments", "comments.yaml", b"# nothing here\n---\n", ("GG-MANIFEST-013", 1,
                                                                   "no documents")),
    ("tabs", "tabs.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n",
     ("GG-MANIFEST-007", 4, "tab character")),
    ("duplicate-keys", "dup.yaml", b"apiVersion: v1\nkind: ConfigMap\nkind: Secret\n"
     b"metadata: {name: x}\n", ("GG-MANIFEST-002", 3, 'duplicate key "kind"')),
    ("unknown-tag", "tag.yaml", b"apiVersion: v1\nkind: !Ref Kind\n",
     ("GG-MANIFEST-001", 2, "unsupported tag: a local tag (!...)")),
    ("truncated", "cut.yaml", b'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "unterminated\n',
     ("GG-MANIFEST-001", 5, "found unexpected end of stream")),
]


def assert_reported(result: CliRun, path: str, expected: tuple[str, int | None, str],
                    code: int = 1) -> None:
    assert result.code == code, result.err
    assert "Traceback" not in result.err and "Traceback" not in result.out
    report = result.json()
    found = {(f["rule"], f["path"], f["line"]): f["message"] for f in report["findings"]}
    rule, line, fragment = expected
    assert (rule, path, line) in found, found
    assert fragment in found[(rule, path, line)]
    assert GOOD_FINDING in found, "the good file beside the bad one must still be reported"


@pytest.mark.parametrize(("name", "content", "expected"),
                         [pytest.param(n, c, e, id=case) for case, n, c, e in CASES])
def test_bad_file_beside_a_good_one(tmp_path: Path, run_cli: Callable[..., CliRun], name: str,
                                    content: bytes, expected: tuple[str, int | None, str]) -> None:
    write(tmp_path, {name: content, "good.yaml": NAMELESS_CONFIGMAP})
    assert_reported(run_cli("check", "--format", "json", cwd=tmp_path), name, expected)


def test_file_over_the_size_limit(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("wb") as handle:
        line = b"- " + b"x" * 1021 + b"\n"
        for _ in range(50 * 1024):  # 50 MiB
            handle.write(line)
    write(tmp_path, {"good.yaml": NAMELESS_CONFIGMAP})
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert_reported(result, "huge.yaml", ("GG-MANIFEST-010", None, "52,428,800 bytes, over the "
                                          "8,388,608-byte limit"))


def test_size_limit_comes_from_config(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {".gitops-guard.yaml": "max_file_size: 64\n", "good.yaml": NAMELESS_CONFIGMAP,
                     "big.yaml": "a: " + "b" * 100 + "\n"})
    assert_reported(run_cli("check", "--format", "json", cwd=tmp_path), "big.yaml",
                    ("GG-MANIFEST-010", None, "104 bytes, over the 64-byte limit"))


def test_file_that_vanishes_after_discovery(tmp_path: Path, run_cli: Callable[..., CliRun],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"gone.yaml": NAMELESS_CONFIGMAP, "good.yaml": NAMELESS_CONFIGMAP})
    real_discover = engine.discover

    def discover_then_delete(*args: Any, **kwargs: Any) -> Any:
        found = real_discover(*args, **kwargs)
        (tmp_path / "gone.yaml").unlink()
        return found

    monkeypatch.setattr(engine, "discover", discover_then_delete)
    assert_reported(run_cli("check", "--format", "json", cwd=tmp_path), "gone.yaml",
                    ("GG-MANIFEST-009", None, "file disappeared before it could be read"))


def test_file_replaced_by_a_directory_after_discovery(
        tmp_path: Path, run_cli: Callable[..., CliRun], monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"x.yaml": NAMELESS_CONFIGMAP, "good.yaml": NAMELESS_CONFIGMAP})
    real_discover = engine.discover

    def discover_then_replace(*args: Any, **kwargs: Any) -> Any:
        found = real_discover(*args, **kwargs)
        (tmp_path / "x.yaml").unlink()
        (tmp_path / "x.yaml").mkdir()
        return found

    monkeypatch.setattr(engine, "discover", discover_then_replace)
    assert_reported(run_cli("check", "--format", "json", cwd=tmp_path), "x.yaml",
                    ("GG-MANIFEST-009", None, "not a regular file"))


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """As root, permission bits do not apply: drop the effective uid for the block."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def _readable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach `path` (every directory above it
    searchable by others): the unprivileged run below needs the tool's own data files."""
    return all(directory.stat().st_mode & 0o001 for directory in (path, *path.parents))


def test_unreadable_file(run_cli: Callable[..., CliRun]) -> None:
    if is_root() and not _readable_by_others(Path(gitops_guard.__file__).parent):
        pytest.skip("the checkout is not reachable by an unprivileged user (e.g. cloned under "
                    "mktemp's 0700 directory), so a run without root cannot load its schemas")
    # Not under pytest's tmp_path: that tree is private to its owner.
    root = Path(tempfile.mkdtemp(prefix="gitops-guard-perm-"))
    try:
        root.chmod(0o755)
        write(root, {"secret.yaml": NAMELESS_CONFIGMAP, "good.yaml": NAMELESS_CONFIGMAP})
        (root / "secret.yaml").chmod(0)
        (root / "good.yaml").chmod(0o644)
        with unprivileged():
            result = run_cli("check", "--format", "json", cwd=root)
        assert_reported(result, "secret.yaml", ("GG-MANIFEST-009", None, "permission denied"))
    finally:
        shutil.rmtree(root)


def test_symlink_loop(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"good.yaml": NAMELESS_CONFIGMAP})
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert_reported(result, "a.yaml", ("GG-MANIFEST-009", None, "symbolic link loop"))
    assert_reported(result, "b.yaml", ("GG-MANIFEST-009", None, "symbolic link loop"))


def test_symlink_loop_named_explicitly(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"good.yaml": NAMELESS_CONFIGMAP})
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    result = run_cli("check", "--format", "json", "loop.yaml", "good.yaml", cwd=tmp_path)
    assert_reported(result, "loop.yaml", ("GG-MANIFEST-009", None, "symbolic link loop"))


def test_directory_named_like_a_manifest(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"x.yaml/inner.yaml": NAMELESS_CONFIGMAP, "good.yaml": NAMELESS_CONFIGMAP})
    result = run_cli("check", "--format", "json", "x.yaml", "good.yaml", cwd=tmp_path)
    assert_reported(result, "x.yaml/inner.yaml", (GOOD_FINDING[0], 3, "no metadata.name"))


def test_many_bad_files_at_once_in_parallel(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    """Every case together, with enough files to use worker processes."""
    files: dict[str, str | bytes] = {name: content for _, name, content, _ in CASES}
    files.update({f"filler/{i:03d}.yaml": NAMELESS_CONFIGMAP.replace("web", f"w{i}")
                  for i in range(engine.PARALLEL_MIN_FILES)})
    files["good.yaml"] = NAMELESS_CONFIGMAP
    write(tmp_path, files)
    result = run_cli("check", "--format", "json", "--jobs", "2", cwd=tmp_path)
    for _, name, _, expected in CASES:
        assert_reported(result, name, expected)
    assert result.json()["summary"]["files"] == len(files)


@pytest.mark.parametrize(("argv", "code"), [
    (("check", "."), 1), (("check", "--checks", "schema", "."), 1),
    (("check", "--checks", "policy", "."), 1), (("init", "."), 0),
], ids=["check", "schema", "policy", "init"])
def test_a_fifo_named_like_a_manifest_never_blocks(tmp_path: Path, argv: tuple[str, ...],
                                                   code: int) -> None:
    """Every reader (the loader, the checks' pre-reads of CRDs and Namespaces, init's scan)
    goes through loader.read_regular: opening a FIFO for reading would wait for a writer.
    A check reports it as a file it could not read, and the good file beside it is checked."""
    write(tmp_path, {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    os.mkfifo(tmp_path / "pipe.yaml")
    completed = subprocess.run([sys.executable, "-m", "gitops_guard", *argv], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60, check=False,
                               env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert completed.returncode == code, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    if code:
        assert "pipe.yaml" in completed.stdout and "not a regular file" in completed.stdout
        assert "(2 files, 1 document checked;" in completed.stdout
