"""The audit's shortcuts give what the long way gives: documents derived from a file's previous
version (reparse), kustomize values kept across commits (the memo), history read ahead."""

from __future__ import annotations

import random
import textwrap
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from yaml.nodes import MappingNode, Node, ScalarNode

from gitops_guard.errors import GuardError
from gitops_guard.promotion import extractors, gitdata
from gitops_guard.promotion.reparse import reparse
from gitops_guard.yamlio import TEXT_LOADER, ParsedDocument, ParseFailure, parse_yaml
from tests.promotion.test_scenarios import (
    ERR,
    IMAGE,
    V0,
    V1,
    V2,
    P,
    RunCli,
    Step,
    assert_report,
    bump,
    play,
    seed,
)

# -- reparse ----------------------------------------------------------------------------------


def _shape(node: Node | None) -> Any:
    """Everything a node tree tells: kinds, tags, values, styles and positions."""
    if node is None:
        return None
    marks = (type(node).__name__, node.tag, node.start_mark.line, node.start_mark.column,
             node.end_mark.line, node.end_mark.column)
    if isinstance(node, ScalarNode):
        return (*marks, node.value, node.style)
    if isinstance(node, MappingNode):
        return (*marks, node.flow_style, tuple((_shape(k), _shape(v)) for k, v in node.value))
    return (*marks, getattr(node, "flow_style", None), tuple(_shape(c) for c in node.value))


def _parsed(text: str) -> tuple[ParsedDocument, ...]:
    return tuple(parse_yaml(text, TEXT_LOADER))


def _same(derived: Sequence[ParsedDocument], full: Sequence[ParsedDocument]) -> bool:
    return ([d.data for d in derived] == [d.data for d in full]
            and [_shape(d.node) for d in derived] == [_shape(d.node) for d in full])


OVERLAY = """\
# Managed by the release bot.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web-prod
resources:
  - ../../base
patches:
  - target: {kind: Deployment, name: web}
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 4
images:
  - name: ghcr.io/acme/web
    newTag: 1.18.5
  - name: ghcr.io/acme/sidecar
    digest: sha256:0123abcd
"""
SAMPLES = (
    OVERLAY,
    "a: 1\nb:\n  - x\n  - y\nc: {d: e}\n---\nf: g\nh:\n  i: j\n",
    "k:\n  v\nl: |\n  m: n\n  o\np: q # c\nr:\n  s\n  t\n",
    "- a\n- b: c\n  d: e\n-  f\n",
    "x: 'a'\ny: \"b\"\nz: !!str c\nw: 1\nv: [a, b]\n",
)
REPLACEMENTS = (
    "1.2", "v2", "2.0.0@sha256:ab", "null", "Null", "~", "a b", "a:", "a: b", "#x", " #x",
    "1.2 #c", "-x", "- x", "[a]", "{a: b}", '"q"', "'q'", "&a x", "*a", "!t x", "a:b", "|",
    ">", "", ":x", "?x", "%x", "@x", "`x", "a,b", "a]", "a}", "a#b", "=x", "1e3", "0x1F",
    "nulls", "yes", ".5", "--- x", "...", "x  ", "\u00e9", "a\tb", "<<", "x\ry", "x\u2028y",
)


def test_reparse_gives_what_a_full_parse_gives() -> None:
    rng = random.Random(7)  # noqa: S311 - seeded test data
    outcomes: Counter[str] = Counter()
    for _ in range(3000):
        old_text = rng.choice(SAMPLES)
        lines = old_text.split("\n")
        index = rng.randrange(len(lines))
        line = lines[index]
        cut = rng.randrange(len(line) + 1)
        token = rng.choice(REPLACEMENTS)
        lines[index] = (line[:cut] + token if rng.random() < 0.7
                        else line[:cut] + token + line[cut:])
        new_text = "\n".join(lines)
        derived = reparse(old_text, _parsed(old_text), new_text)
        if derived is None:
            outcomes["declined"] += 1
            continue
        try:
            full = _parsed(new_text)
        except ParseFailure:
            pytest.fail(f"derived documents for text that does not parse: {new_text!r}")
        assert _same(derived, full), (old_text, new_text)
        outcomes["derived"] += 1
    assert outcomes["derived"] > 100 and outcomes["declined"] > 100


@pytest.mark.parametrize("new", [
    OVERLAY.replace("newTag: 1.18.5", "newTag: 1.18.6"),
    OVERLAY.replace("newTag: 1.18.5", "newTag: 1.18.6-rc.1+build.7"),
    OVERLAY.replace("sha256:0123abcd", "sha256:fedc9876"),
    OVERLAY.replace("web-prod", "web-production").replace("1.18.5", "1.19.0"),
    OVERLAY.replace("  - ../../base", "  - ../../base-v2"),
    OVERLAY.replace("value: 4\n", "value: 5\n"),  # inside a block scalar: not a scalar line
], ids=["tag", "semver", "digest", "two-lines", "resource", "block-scalar"])
def test_reparse_of_an_overlay(new: str) -> None:
    derived = reparse(OVERLAY, _parsed(OVERLAY), new)
    if "value: 5" in new or "base-v2" in new:
        assert derived is None  # `../` and block scalar content are left to the full parse
        return
    assert derived is not None
    assert _same(derived, _parsed(new))


@pytest.mark.parametrize(("old", "new"), [
    ("a: 1\n", "a: 1\nb: 2\n"),  # a line added
    ("a: 1\n", "a: 1 # pinned\n"),  # a comment after the value
    ("a: 1\n", "a: '2'\n"),  # quoted
    ("a: '1'\n", "a: 2\n"),  # was quoted
    ("a: 1\n", "a: null\n"),  # reads as null
    ("a: 1\nb: 2\n", "a: 1\nb: *x\n"),  # an alias
    ("a: &x 1\nb: 2\n", "a: &x 1\nb: 3\n"),  # anchors elsewhere in the file
    ("a: 1\na: 2\n", "a: 1\na: 3\n"),  # duplicate keys
    ("a: 1\n  2\n", "a: 3\n  2\n"),  # a plain scalar over two lines
    ("a: [1, 2]\n", "a: [1, 3]\n"),  # flow style
    ("a: 1\r\nb: 2\r\n", "a: 1\r\nb: 3\r\n"),  # other line breaks
    ("- 1\n", "- 2:\n"),  # would become a mapping
    ("a: 1\n", "a: 1\n"),  # nothing changed: cached by blob id anyway
])
def test_reparse_declines(old: str, new: str) -> None:
    assert reparse(old, _parsed(old), new) is None


def _overlay(tag: str, comment_lines: int = 0) -> str:
    header = "".join(f"# note {n}\n" for n in range(comment_lines))
    return header + textwrap.dedent(f"""\
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - ../../base
        images:
          - name: {IMAGE}
            newTag: {tag}
        """)


def test_a_finding_in_a_derived_version_has_the_line_of_its_value(
        tmp_path: Path, run_cli: RunCli) -> None:
    # prod's overlay has 5 comment lines on top (tag on line 12); each bump changes the tag
    # line only, so its documents come from the version before (twice in a row), and the
    # finding still names line 12, column 13.
    history = [*seed(), Step(35, {P: _overlay(V0, 5)}, message="comment prod"),
               Step(36, {P: _overlay(V1, 5)}, message="prod 1.1.0 (skips staging)"),
               bump(40, V2, "dev"), bump(41, V2, "staging")]
    repo = play(tmp_path / "repo", history)
    last = repo.commit("prod 1.2.0 too soon", "2026-03-04T11:00:00+00:00",
                       files={P: _overlay(V2, 5)})
    result = run_cli("promotion", "audit", "--format", "json", cwd=repo.root)
    found = assert_report(result, [("PROMO001", ERR, P, 12), ("PROMO002", ERR, P, 12)])
    assert {f["column"] for f in found} == {13}
    assert any(f["message"].startswith(f"commit {last[:7]}: ") for f in found)


# -- the kustomize memo -----------------------------------------------------------------------

class MemoTree:
    """Files by path with blob ids (the text itself), as the tracker offers them."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = {path: textwrap.dedent(text) for path, text in files.items()}
        self.kustomize_memo: dict[tuple[str, str], Any] = {}
        self.parses: Counter[str] = Counter()

    def blob(self, path: str) -> str | None:
        return self.files.get(path)

    def documents(self, path: str) -> Sequence[ParsedDocument] | None:
        text = self.files.get(path)
        if text is None:
            return None
        self.parses[path] += 1
        return _parsed(text)


BASE_K = "apps/web/base/kustomization.yaml"
MID_K = "apps/web/mid/kustomization.yaml"
DEV_K = "apps/web/overlays/dev/kustomization.yaml"


def _images(tree: MemoTree, path: str = DEV_K) -> list[tuple[str, str, str, int | None]]:
    extraction = extractors.extract("kustomize-images", tree, path, {})
    return [(v.artifact, v.version.display, v.path, v.line) for v in extraction.values]


def _kustomization(*resources: str, tag: str | None = None) -> str:
    text = "resources:\n" + "".join(f"  - {r}\n" for r in resources) if resources else ""
    if tag is not None:
        text += f"images:\n  - name: {IMAGE}\n    newTag: {tag}\n"
    return text or "{}\n"


def test_the_memo_reads_an_unchanged_base_once() -> None:
    tree = MemoTree({BASE_K: _kustomization("deployment.yaml", tag=V0),
                     MID_K: _kustomization("../base"),
                     DEV_K: _kustomization("../../mid")})
    assert _images(tree) == [(IMAGE, V0, BASE_K, 5)]  # the tag after 1 resource
    for tag in (V1, V2):
        tree.files[DEV_K] = _kustomization("../../mid", tag=tag)
        assert _images(tree) == [(IMAGE, tag, DEV_K, 5)]
    assert tree.parses == {BASE_K: 1, MID_K: 1, DEV_K: 3}
    # A base that changes is read again, and so is what includes it.
    tree.files[DEV_K] = _kustomization("../../mid")
    tree.files[BASE_K] = _kustomization(tag=V1)
    assert _images(tree) == [(IMAGE, V1, BASE_K, 3)]
    assert tree.parses == {BASE_K: 2, MID_K: 2, DEV_K: 4}
    # So is one that appears where the walk found none.
    extraction = extractors.extract("kustomize-images", tree, DEV_K, {})
    assert "apps/web/mid/kustomization.yml" not in extraction.reads  # the .yaml was found
    tree.files[MID_K] = _kustomization("../base", tag=V2)
    assert _images(tree) == [(IMAGE, V2, MID_K, 5)]


def test_the_memo_matches_a_walk_without_it() -> None:
    files = {BASE_K: _kustomization(tag=V0), MID_K: _kustomization("../base", tag=V1),
             DEV_K: _kustomization("../../mid", "../../base")}
    plain = extractors.extract("kustomize-images", _PlainTree(files), DEV_K, {})
    tree = MemoTree(files)
    for _ in range(2):
        assert extractors.extract("kustomize-images", tree, DEV_K, {}) == plain


class _PlainTree:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def documents(self, path: str) -> Sequence[ParsedDocument] | None:
        text = self.files.get(path)
        return None if text is None else _parsed(text)


def test_a_cycle_is_not_remembered() -> None:
    a, b = "apps/a/kustomization.yaml", "apps/b/kustomization.yaml"
    tree = MemoTree({a: _kustomization("../b", tag=V0), b: _kustomization("../a", tag=V1)})
    first = _images(tree, a)
    assert first == _images(tree, a)
    assert _images(tree, b) == [(IMAGE, V1, b, 5)]  # not what b gave inside a's walk
    assert tree.kustomize_memo == {}


def test_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extractors, "MEMO_LIMIT", 8)
    tree = MemoTree({BASE_K: _kustomization(tag=V0)})
    for n in range(30):
        tree.files[DEV_K] = _kustomization("../../base", tag=f"1.0.{n}")
        _images(tree)
        assert len(tree.kustomize_memo) <= 8


# -- reading history ahead --------------------------------------------------------------------

def test_read_ahead_gives_the_history_in_chunks(tmp_path: Path) -> None:
    repo = play(tmp_path / "repo", [*seed(), bump(40, V1, "dev"), bump(41, V1, "staging")])
    whole = gitdata.first_parent_history(repo.root, "HEAD", [":(glob)apps/**"])
    with gitdata.ReadAhead(repo.root, "HEAD", [":(glob)apps/**"],
                           lambda change: change.path == P, chunk=2, first_chunk=1) as ahead:
        chunks = list(ahead)
    assert [len(chunk.commits) for chunk in chunks] == [1, 2, 2]
    assert [c for chunk in chunks for c in chunk.commits] == whole
    wanted = [c for chunk in chunks for changes in chunk.wanted for c in changes]
    assert [c.path for c in wanted] == [P]
    blob = wanted[0].blob
    assert blob is not None
    read = [chunk.blobs[blob] for chunk in chunks if blob in chunk.blobs]
    assert read == [repo.git("cat-file", "-p", blob).encode()]


def test_read_ahead_raises_what_git_says(tmp_path: Path) -> None:
    repo = play(tmp_path / "repo", seed())
    with gitdata.ReadAhead(repo.root, "no-such-branch", ["apps"], lambda change: True,
                           chunk=10) as ahead, pytest.raises(GuardError, match="git log failed"):
        list(ahead)


def test_read_ahead_stops_when_the_replay_stops(tmp_path: Path) -> None:
    repo = play(tmp_path / "repo", [*seed(), *(bump(40 + n, f"1.0.{n + 1}", "dev")
                                             for n in range(6))])
    ahead = gitdata.ReadAhead(repo.root, "HEAD", ["apps"], lambda change: True, chunk=1,
                              depth=1)
    first = next(iter(ahead))
    assert len(first.commits) == 1
    ahead.close()
    assert not ahead._thread.is_alive()
