"""Shared fixtures for the SOPS tests: the interop vectors and a GnuPG home with their keys."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "sops"
# Every published PGP test key the vectors are encrypted for (see the vectors' README).
PGP_KEYS = ("fluxcd-kustomize-controller/keys/pgp.asc", "Mic92-sops-nix/key.asc",
            "Mic92-sops-nix/ssh-key.asc", "jkroepke-helm-secrets/gpg/private.gpg",
            "getsops-sops/pgp/sops_functional_tests_key.asc")


def vectors_or_skip() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"the shared sops vectors are not here: {VECTORS}")
    return VECTORS


@pytest.fixture(scope="session")
def gnupg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private GnuPG home holding the vectors' published test keys."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    vectors = vectors_or_skip()
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    environ = {**os.environ, "GNUPGHOME": str(home)}
    for key in PGP_KEYS:
        subprocess.run(["gpg", "--batch", "--quiet", "--import", str(vectors / key)],
                       env=environ, check=True, capture_output=True)
    yield home
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=environ, check=False,
                   capture_output=True)
