"""Run `kustomize build` (or `kubectl kustomize`) on one directory, offline, with a timeout.

The build goes through a throwaway kustomization in a temporary directory that names the root
as its only resource and sets `buildMetadata: [originAnnotations]`, so every object comes out
annotated with the file it was read from, and the user's files are never touched. When that
build fails, the root is built directly, so the error the user sees names their own paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

from gitops_guard.errors import GuardError

TIMEOUT_SECONDS = 120.0
_MAX_MESSAGE = 400
# kubectl prefixes errors with a klog header: `E1127 11:12:50.111 18221 run.go:72] "command
# failed" err=`; kustomize with `Error: `.
_KLOG = re.compile(r'^[EWIF]\d{4} [\d:.]+\s+\d+ [\w.-]+:\d+\]\s*(?:"command failed"\s*)?'
                   r'(?:err=)?', re.MULTILINE)
# Go's dumps of whole objects (`{{v1 ConfigMap} {...}}`, `map[key:value ...]`) could carry the
# values of a Secret: they are cut from messages.
_DUMP = re.compile(r"\{\{.*\}\}|map\[[^\n]*\]")
# Generator errors quote the literal or env line they could not read (`invalid literal source
# DB_PASSWORD:s3cr3t`); its value is cut, the key kept.
_LITERAL = re.compile(r"(literal source )([^\s,:=]+)[:=]?[^\s,]*")
_LITERAL_LIST = re.compile(r"(literal sources )\[[^\]]*\]")
_ASSIGNMENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_.-]*)=[^\s,]+")


class Tool(NamedTuple):
    command: tuple[str, ...]  # e.g. ("/usr/bin/kubectl", "kustomize")
    name: str  # for messages: "kustomize build" or "kubectl kustomize"


class Build(NamedTuple):
    text: str | None  # the rendered YAML stream, or None when the build failed
    error: str | None  # why it failed, cleaned up for a finding
    # When the output carries origin annotations: (the temporary directory they are relative
    # to, the root as kustomize saw it), both resolved; else None.
    anchor: tuple[str, str] | None = None


def find_tool() -> Tool:
    """`kustomize`, else `kubectl` (which embeds it), from PATH."""
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return Tool((kustomize, "build"), "kustomize build")
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return Tool((kubectl, "kustomize"), "kubectl kustomize")
    raise GuardError("--render kustomize needs `kustomize` or `kubectl` on PATH, and neither "
                     "was found (install one, or run without --render / with --render none)")


def build(tool: Tool, directory: Path, cwd: Path) -> Build:
    timeout = TIMEOUT_SECONDS  # read at each call: tests shorten it
    with tempfile.TemporaryDirectory(prefix="gitops-guard-render-") as temp:
        wrapper = os.path.realpath(temp)
        root = os.path.realpath(directory)
        # JSON is YAML; a relative path, as kustomize accepts no absolute one.
        Path(wrapper, "kustomization.yaml").write_text(json.dumps({
            "resources": [os.path.relpath(root, wrapper)],
            "buildMetadata": ["originAnnotations"],
        }), encoding="utf-8")
        text, _ = _run(tool, wrapper, timeout)
        if text is not None:
            return Build(text, None, (wrapper, root))
    text, error = _run(tool, str(directory), timeout)
    if text is not None:  # only the wrapper failed (an old kustomize): no origins
        return Build(text, None)
    return Build(None, clean_message(error or "", [str(cwd)]))


def _run(tool: Tool, directory: str, timeout: float) -> tuple[str | None, str | None]:
    try:
        done = subprocess.run([*tool.command, directory], capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=timeout, env=_environment(),
                              check=False)
    except subprocess.TimeoutExpired:
        return None, f"{tool.name} did not finish within {timeout:g} s"
    except OSError as exc:
        return None, f"{tool.name} could not be run: {exc.strerror or exc}"
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        return None, stderr or f"{tool.name} exited with status {done.returncode}"
    return done.stdout.decode("utf-8", "replace"), None


def _environment() -> dict[str, str]:
    """The caller's environment, with every way for kustomize to reach the network closed:
    remote bases are found and reported before a build, this is the guarantee."""
    environ = dict(os.environ)
    environ.update({"GIT_ALLOW_PROTOCOL": "file", "GIT_TERMINAL_PROMPT": "0"})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        environ[name] = "http://127.0.0.1:9"  # the discard port: nothing listens
    for name in ("NO_PROXY", "no_proxy"):
        environ.pop(name, None)
    return environ


def clean_message(stderr: str, prefixes: list[str]) -> str:
    """One line: no klog header, no object dumps, paths relative to the run."""
    text = _KLOG.sub("", stderr)
    text = text.removeprefix("Error: ").strip().strip("<>").strip()
    if len(text) > 1 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('\\"', '"').replace("\\n", " ").replace("\\t", " ")
    text = _DUMP.sub("{...}", text)
    text = _LITERAL_LIST.sub(r"\1[...]", text)
    text = _LITERAL.sub(r"\1\2:<value withheld>", text)
    text = _ASSIGNMENT.sub(lambda m: m[0] if m[0] == "key=value"
                           else f"{m[1]}=<value withheld>", text)
    for prefix in sorted(prefixes, key=len, reverse=True):
        text = text.replace(prefix.rstrip("/") + "/", "")
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE - 3].rstrip() + "..."
    return text
