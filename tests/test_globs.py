from __future__ import annotations

import pytest

from gitops_guard import globs


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("*.yaml", "a.yaml", True),
    ("*.yaml", "deep/dir/a.yaml", True),
    ("*.yaml", "a.yml", False),
    ("apps/*.yaml", "apps/a.yaml", True),
    ("apps/*.yaml", "apps/x/a.yaml", False),
    ("apps/**/a.yaml", "apps/a.yaml", True),
    ("apps/**/a.yaml", "apps/x/y/a.yaml", True),
    ("/apps", "apps/x.yaml", True),
    ("/apps", "other/apps/x.yaml", False),
    ("apps", "other/apps/x.yaml", True),
    ("vendor/", "vendor/a/b.yaml", True),
    ("**/charts/*/templates", "x/charts/web/templates/d.yaml", True),
    ("a?.yaml", "ab.yaml", True),
    ("a?.yaml", "a/.yaml", False),
    ("[ab].yaml", "b.yaml", True),
    ("[!ab].yaml", "b.yaml", False),
    ("[ab.yaml", "[ab.yaml", True),
    ("*.enc.yaml", "secrets/db.enc.yaml", True),
])
def test_match(pattern: str, path: str, matches: bool) -> None:
    assert globs.match(pattern, path) is matches


@pytest.mark.parametrize(("pattern", "ok"), [("*.yaml", True), ("/", False), ("", False),
                                             ("[z-a]", False)])
def test_valid(pattern: str, ok: bool) -> None:
    assert globs.valid(pattern) is ok
