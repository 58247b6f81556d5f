"""Credential files known by their name or place, read by their structure whatever the suffix.

The loader types a file by its suffix, so `kubeconfig`, `prod.kubeconfig` or `.kube/config`
would reach the secrets check as plain text: there a private key hides in base64
`client-key-data` and `password: x` is only prose. Named here, such a file is parsed and walked
like a manifest (scan.py reads a kubeconfig's `users` and a docker config's `auths`). Content
decides too, without a name: any YAML with `kind: Config` is read as a kubeconfig, any YAML or
JSON with `auths` as a docker config.
"""

from __future__ import annotations

import enum
from pathlib import Path, PurePath

from gitops_guard.documents import Document
from gitops_guard.loader import json_documents, yaml_documents
from gitops_guard.yamlio import ParseFailure


class Format(enum.Enum):
    KUBECONFIG = "kubeconfig"  # YAML; `users[].user` hold the credentials
    DOCKER_CONFIG = "docker config"  # JSON: {"auths": {registry: {auth, ...}}}
    DOCKERCFG = "dockercfg"  # JSON from before `auths`: {registry: {auth, email}}


# Lower-cased; a (directory, name) place wins over a name, a name over a suffix.
_PLACES = {(".kube", "config"): Format.KUBECONFIG,
           (".docker", "config.json"): Format.DOCKER_CONFIG}
_NAMES = {"kubeconfig": Format.KUBECONFIG, "kubeconfig.yaml": Format.KUBECONFIG,
          "kubeconfig.yml": Format.KUBECONFIG}
_SUFFIXES = ((".kubeconfig", Format.KUBECONFIG), (".dockercfg", Format.DOCKERCFG),
             (".dockerconfigjson", Format.DOCKER_CONFIG))


def of(path: str | PurePath) -> Format | None:
    """The format a file's name, or the directory it is in, says it has. `path` may be a bare
    name (then only the name counts: a lone `config` is nothing known)."""
    # String operations: discovery asks about every file it meets, twice for most.
    directory, _, name = (path.as_posix() if isinstance(path, PurePath) else path
                          ).lower().rpartition("/")
    place = _PLACES.get((directory.rpartition("/")[2], name))
    if place is not None:
        return place
    if name in _NAMES:
        return _NAMES[name]
    return next((known for suffix, known in _SUFFIXES if name.endswith(suffix)), None)


def documents(path: Path, text: str, known: Format) -> list[Document] | None:
    """The documents of a file the loader read as text, parsed as `known` says; None when the
    text does not parse into a mapping (the caller then reads its lines: a key pasted into a
    file named `kubeconfig` is YAML too, one plain string)."""
    try:
        found = (yaml_documents(path, text) if known is Format.KUBECONFIG
                 else json_documents(path, text))
    except ParseFailure:
        return None
    return found if any(isinstance(doc.data, dict) for doc in found) else None
