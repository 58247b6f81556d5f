"""Git plumbing for the promotion check: history in bulk, never a checkout per commit.

One `git log --first-parent --raw` over the location paths gives every commit that changed
one and the blob ids of the new contents; one long-lived `git cat-file --batch` reads those
blobs (and commit messages, for override trailers). Git is run with an argument list, never
through a shell, and with `GIT_OPTIONAL_LOCKS=0` so a read never takes the index lock.
"""

from __future__ import annotations

import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from gitops_guard.errors import GuardError

_NULL_SHA = "0" * 40


class Change(NamedTuple):
    path: str
    blob: str | None  # None: the file was deleted


class Commit(NamedTuple):
    sha: str
    time: int  # committer time, seconds since the epoch
    changes: tuple[Change, ...]
    merge: bool = False  # more than one parent


def _environ() -> dict[str, str]:
    environ = dict(os.environ)
    environ["GIT_OPTIONAL_LOCKS"] = "0"
    return environ


def git(root: Path, *args: str) -> bytes:
    """Run git in `root`; a failure is a GuardError with git's own first line."""
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False,
                                env=_environ())
    except FileNotFoundError:
        raise GuardError("git is not installed; the promotion check reads git history") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GuardError(f"git {args[0]} failed: {message[0] if message else 'no output'}")
    return result.stdout


def work_tree_root(cwd: Path) -> Path:
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd,
                             capture_output=True, check=False, env=_environ())
    except FileNotFoundError:
        raise GuardError("git is not installed; the promotion check reads git history") from None
    if out.returncode != 0:
        raise GuardError(f"{cwd} is not inside a git work tree: the promotion check reads "
                         "git history")
    return Path(os.fsdecode(out.stdout.strip()))


def is_shallow(root: Path) -> bool:
    return git(root, "rev-parse", "--is-shallow-repository").strip() == b"true"


def resolve(root: Path, rev: str) -> str | None:
    """The commit `rev` names, or None when it names none (an empty repository's HEAD)."""
    result = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                            cwd=root, capture_output=True, check=False, env=_environ())
    if result.returncode != 0:
        return None
    return result.stdout.decode("ascii").strip()


def merge_base(root: Path, first: str, second: str) -> str | None:
    result = subprocess.run(["git", "merge-base", first, second], cwd=root,
                            capture_output=True, check=False, env=_environ())
    if result.returncode != 0:
        return None
    return result.stdout.decode("ascii").strip()


def first_parent_history(root: Path, ref: str, pathspecs: Sequence[str]) -> list[Commit]:
    """Every first-parent commit of `ref` that changed a path in `pathspecs`, oldest first,
    with its changes against its first parent (a merge: what it brought in)."""
    return list(stream_first_parent_history(root, ref, pathspecs))


def _history_argv(ref: str, pathspecs: Sequence[str]) -> list[str]:
    return ["log", "--first-parent", "--reverse", "--diff-merges=first-parent", "--raw",
            "--no-renames", "--no-abbrev", "-z", "--format=%x1e%H %ct %P", ref, "--",
            *pathspecs]


def stream_first_parent_history(root: Path, ref: str,
                                pathspecs: Sequence[str]) -> Iterator[Commit]:
    """`first_parent_history`, commit by commit as git writes them: the first commits can be
    replayed while git still writes the last ones. A failure is a GuardError, as from `git`."""
    argv = ["git", *_history_argv(ref, pathspecs)]
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(argv, cwd=root, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=errors, env=_environ())
        except FileNotFoundError:
            raise GuardError("git is not installed; the promotion check reads git "
                             "history") from None
        stdout = process.stdout
        if stdout is None:  # pragma: no cover
            raise OSError("git log: no pipe")
        try:
            pending = b""
            started = False
            while True:
                block = stdout.read1(1 << 16)  # type: ignore[attr-defined]
                if not block:
                    break
                records = (pending + block).split(b"\x1e")
                pending = records.pop()
                for record in records:
                    if started:
                        yield _commit(record)
                    started = True  # what precedes the first separator is no commit
            returncode = process.wait()
            if returncode != 0:
                errors.seek(0)
                message = errors.read().decode("utf-8", "replace").strip().splitlines()
                raise GuardError(f"git log failed: {message[0] if message else 'no output'}")
            if started:
                yield _commit(pending)
        finally:
            if process.poll() is None:
                process.kill()
            stdout.close()
            process.wait()


def _commit(record: bytes) -> Commit:
    header, _, body = record.partition(b"\0")
    sha, time, *parents = header.decode("ascii").split()
    fields = body.lstrip(b"\n").split(b"\0")
    changes = []
    for index in range(0, len(fields) - 1, 2):
        meta = fields[index].decode("ascii").split()
        if len(meta) < 5:
            continue
        blob = meta[3] if meta[4] != "D" and meta[3] != _NULL_SHA else None
        # Only files count: a submodule (160000) or a symlink (120000) holds no YAML.
        if blob is not None and not meta[1].startswith("100"):
            blob = None
        changes.append(Change(os.fsdecode(fields[index + 1]), blob))
    return Commit(sha, int(time), tuple(changes), len(parents) > 1)


def tree_files(root: Path, rev: str) -> dict[str, str]:
    """path -> blob id of every regular file in the tree of `rev`."""
    # "<mode> blob <sha>\t<path>"
    return _regular_files(git(root, "ls-tree", "-r", "-z", "--full-tree", rev),
                          lambda mode, kind, _sha: kind == "blob", sha_field=2)


def index_files(root: Path) -> dict[str, str]:
    """path -> blob id of every regular file staged in the index (stage 0)."""
    # "<mode> <sha> <stage>\t<path>"
    return _regular_files(git(root, "ls-files", "--stage", "-z"),
                          lambda mode, _sha, stage: stage == "0", sha_field=1)


def _regular_files(out: bytes, keep: Callable[[str, str, str], bool],
                   sha_field: int) -> dict[str, str]:
    files: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        fields = meta.decode("ascii").split()
        if fields[0].startswith("100") and keep(*fields):
            files[os.fsdecode(path)] = fields[sha_field]
    return files


class ObjectReader:
    """A `git cat-file --batch` kept open for the whole run: one process, not one per blob."""

    def __init__(self, root: Path) -> None:
        self._process = subprocess.Popen(
            ["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_environ())
        if self._process.stdin is None or self._process.stdout is None:  # pragma: no cover
            raise OSError("git cat-file: no pipes")
        self._in: IO[bytes] = self._process.stdin
        self._out: IO[bytes] = self._process.stdout
        self._ready: dict[str, bytes | None] = {}

    def prefetch(self, shas: Iterable[str]) -> None:
        """Read many objects in one stream: a thread writes the requests while this one reads
        the answers, so neither pipe fills up and git never waits for a round trip."""
        wanted = [sha for sha in dict.fromkeys(shas) if sha not in self._ready]
        if not wanted:
            return
        requests = "".join(f"{sha}\n" for sha in wanted).encode("ascii")

        def write() -> None:
            self._in.write(requests)
            self._in.flush()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        for sha in wanted:
            self._ready[sha] = self._answer()
        writer.join()

    def take(self) -> dict[str, bytes | None]:
        """Hand over every prefetched object, forgetting them here."""
        ready, self._ready = self._ready, {}
        return ready

    def provide(self, objects: Mapping[str, bytes | None]) -> None:
        """Objects read elsewhere (a `ReadAhead`), to be read from here like prefetched ones."""
        self._ready.update(objects)

    def forget(self) -> None:
        """Drop prefetched objects nobody asked for."""
        self._ready.clear()

    def read(self, sha: str) -> bytes | None:
        """The object's content, or None when the repository lacks it."""
        if sha in self._ready:
            return self._ready.pop(sha)
        self._in.write(sha.encode("ascii") + b"\n")
        self._in.flush()
        return self._answer()

    def _answer(self) -> bytes | None:
        header = self._out.readline().split()
        if len(header) != 3:  # "<sha> missing"
            return None
        size = int(header[2])
        data = self._out.read(size)
        self._out.read(1)  # the newline after every object
        return data

    def message(self, sha: str) -> str:
        """A commit's message (empty when the commit cannot be read)."""
        data = self.read(sha)
        if data is None:
            return ""
        _, _, message = data.partition(b"\n\n")
        return message.decode("utf-8", "replace")

    def close(self) -> None:
        self._in.close()
        self._process.wait()
        self._out.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Chunk(NamedTuple):
    commits: list[Commit]
    wanted: list[list[Change]]  # per commit, the changes the caller wants
    blobs: dict[str, bytes | None]  # the wanted changes' contents, read ahead


class ReadAhead:
    """History read a chunk ahead of its replay, from a thread: `git log` streams the commits
    and a `git cat-file --batch` of its own reads the blobs of the changes `want` picks, while
    the caller replays the chunk before. At most `depth` chunks wait, so memory stays bounded.
    Iterate it for the chunks, oldest first; a git failure is raised there. Close it (or use
    it as a context manager) to stop the thread and the processes early."""

    def __init__(self, root: Path, ref: str, pathspecs: Sequence[str],
                 want: Callable[[Change], bool], chunk: int, first_chunk: int | None = None,
                 depth: int = 4) -> None:
        self._root = root
        self._ref = ref
        self._pathspecs = list(pathspecs)
        self._want = want
        self._sizes = (first_chunk or chunk, chunk)
        self._queue: queue.Queue[Chunk | BaseException | None] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, daemon=True,
                                        name="gitops-guard-read-ahead")
        self._thread.start()

    def _produce(self) -> None:
        try:
            with ObjectReader(self._root) as reader:
                history = stream_first_parent_history(self._root, self._ref, self._pathspecs)
                try:
                    size = self._sizes[0]
                    commits: list[Commit] = []
                    for commit in history:
                        commits.append(commit)
                        if len(commits) >= size:
                            if not self._put(self._read(reader, commits)):
                                return
                            commits, size = [], self._sizes[1]
                    if commits and not self._put(self._read(reader, commits)):
                        return
                finally:
                    history.close()  # type: ignore[attr-defined]  # stops git log early
            self._put(None)
        except BaseException as error:  # handed to the consumer, raised there
            self._put(error)

    def _read(self, reader: ObjectReader, commits: list[Commit]) -> Chunk:
        want = self._want
        wanted = [[change for change in commit.changes if want(change)] for commit in commits]
        shas = [change.blob for changes in wanted for change in changes
                if change.blob is not None]
        reader.prefetch(shas)
        blobs = reader.take()
        return Chunk(commits, wanted, blobs)

    def _put(self, item: Chunk | BaseException | None) -> bool:
        """Hand an item over; False once the consumer has stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
        self._thread.join()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def commit_messages(root: Path, revisions: str) -> Iterator[tuple[str, str]]:
    """(sha, message) of each commit in a revision range such as `A..B`."""
    out = git(root, "log", "-z", "--format=%H%x1f%B", revisions)
    for record in out.split(b"\0"):
        if record.strip():
            sha, _, message = record.decode("utf-8", "replace").partition("\x1f")
            yield sha.strip(), message
