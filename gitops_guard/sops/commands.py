"""`gitops-guard sops encrypt|decrypt|edit|rotate|updatekeys|keygen`: sops' commands, same flags.

Each command reads one file, goes through `sopsfile`, and writes the result atomically (in
place, to --output, or to stdout). Plaintext reaches the disk only where the user asks for it
(decrypt -i / --output) and inside `edit`'s private temp directory, removed whatever happens.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping as EnvMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, TextIO

from gitops_guard import atomic
from gitops_guard.errors import GuardError
from gitops_guard.sops import config as sops_config
from gitops_guard.sops import sopsfile
from gitops_guard.sops.masterkeys import LocalKeyring, groups_from_recipients
from gitops_guard.sops.metadata import WRITE_VERSION, KeyGroup, Metadata
from gitops_guard.sops.stores import EmitOptions, format_for_path
from gitops_guard.sops.tree import DEFAULT_UNENCRYPTED_SUFFIX, Selector
from gitops_guard.sops.values import Mapping


@dataclass(frozen=True)
class Request:
    """What the command line asked for, plus the process context (explicit, for tests)."""

    file: Path
    cwd: Path
    environ: EnvMapping[str, str]
    stdout: BinaryIO
    stderr: TextIO
    in_place: bool = False
    output: Path | None = None
    age: tuple[str, ...] = ()
    pgp: tuple[str, ...] = ()
    selector: Selector | None = None
    mac_only_encrypted: bool | None = None
    input_type: str | None = None
    output_type: str | None = None
    ignore_mac: bool = False
    config: str | None = None
    yes: bool = False
    add_age: tuple[str, ...] = ()
    remove_age: tuple[str, ...] = ()
    stdin_is_tty: bool = field(
        default_factory=lambda: sys.stdin is not None and sys.stdin.isatty())

    @property
    def display(self) -> str:
        try:
            return str(self.file.relative_to(self.cwd))
        except ValueError:
            return str(self.file)

    @property
    def input_format(self) -> str:
        return self.input_type or format_for_path(self.file)

    @property
    def output_format(self) -> str:
        return self.output_type or self.input_format  # as sops: not from --output's name


def encrypt(request: Request) -> int:
    data = _read(request)
    fmt = request.input_format
    if _already_encrypted(data, fmt, request.display):
        raise GuardError("is already encrypted (it has sops metadata); use `edit`, `rotate` or "
                         "`updatekeys`", path=request.display)
    documents = _parse_plain(data, fmt, request.display)
    rule = _creation_rule(request)
    metadata = Metadata(key_groups=rule.key_groups, selector=_selection(rule.selector, fmt),
                        mac_only_encrypted=rule.mac_only_encrypted,
                        shamir_threshold=rule.shamir_threshold, version=WRITE_VERSION)
    keyring = _keyring(request)
    data_key = os.urandom(32)
    metadata = replace(metadata, key_groups=keyring.wrap(data_key, metadata.key_groups,
                                                         metadata.threshold))
    encrypted = sopsfile.encrypt(documents, metadata, data_key)
    _deliver(request, sopsfile.emit_encrypted(encrypted, request.output_format,
                                              _emit_options(request, rule.stores)))
    return 0


def decrypt(request: Request) -> int:
    encrypted = _load_encrypted(request)
    if request.ignore_mac:
        request.stderr.write("gitops-guard: WARNING: --ignore-mac: the file's integrity is NOT "
                             "verified; its content may have been tampered with\n")
    plain = sopsfile.decrypt(encrypted, _keyring(request), request.display,
                             verify_mac=not request.ignore_mac)
    stores = _stores_settings(request)
    _deliver(request, sopsfile.emit_plain(plain.documents, request.output_format,
                                          _emit_options(request, stores)), private=True)
    return 0


def rotate(request: Request) -> int:
    encrypted = _load_encrypted(request)
    keyring = _keyring(request)
    plain = sopsfile.decrypt(encrypted, keyring, request.display, verify_mac=True)
    groups = _changed_recipients(plain.metadata.key_groups, request.add_age, request.remove_age)
    foreign = [key.kind for group in groups for key in group.foreign]
    if foreign:
        raise GuardError(f"cannot rotate: the data key is also wrapped by {', '.join(foreign)} "
                         "keys, which gitops-guard cannot re-wrap; use sops", path=request.display)
    data_key = os.urandom(32)
    metadata = replace(plain.metadata, version=WRITE_VERSION,
                       key_groups=keyring.wrap(data_key, _without_enc(groups),
                                               plain.metadata.threshold))
    rotated = sopsfile.encrypt(plain.documents, metadata, data_key)
    _deliver(request, sopsfile.emit_encrypted(rotated, request.output_format,
                                              _emit_options(request, _stores_settings(request))))
    return 0


def updatekeys(request: Request) -> int:
    encrypted = _load_encrypted(request)
    rule = _creation_rule(request, use_flags=False)
    current = encrypted.metadata.key_groups
    wanted = rule.key_groups
    changes = _describe_changes(current, wanted)
    if not changes and encrypted.metadata.shamir_threshold == rule.shamir_threshold:
        request.stderr.write(f"{request.display}: already up to date\n")
        return 0
    request.stderr.write(f"{request.display}: the master keys change as follows:\n")
    for line in changes:
        request.stderr.write(f"    {line}\n")
    if not request.yes:
        if not request.stdin_is_tty:
            raise GuardError("not a terminal: pass --yes to apply these changes",
                             path=request.display)
        request.stderr.write("Apply? [y/N] ")
        request.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            request.stderr.write("unchanged\n")
            return 1
    keyring = _keyring(request)
    data_key = keyring.unwrap(encrypted.metadata)
    groups = keyring.wrap(data_key, _reuse_entries(current, wanted), rule.shamir_threshold
                          or len(wanted))
    # Values and MAC stay: the data key is the same, only who can open it changes.
    metadata = replace(encrypted.metadata, key_groups=groups,
                       shamir_threshold=rule.shamir_threshold, version=WRITE_VERSION)
    updated = sopsfile.Encrypted(encrypted.documents, metadata)
    data = sopsfile.emit_encrypted(updated, request.input_format,
                                   _emit_options(request, rule.stores))
    _write(request, request.file, data, request.display)
    request.stderr.write(f"{request.display}: master keys updated\n")
    return 0


def edit(request: Request) -> int:
    encrypted = _load_encrypted(request)
    keyring = _keyring(request)
    plain = sopsfile.decrypt(encrypted, keyring, request.display,
                             verify_mac=not request.ignore_mac)
    fmt = request.input_format
    options = _emit_options(request, _stores_settings(request))
    before = sopsfile.emit_plain(plain.documents, fmt, options)
    editor = _editor(request.environ)
    workdir = Path(tempfile.mkdtemp(prefix="gitops-guard-edit-"))  # 0700
    try:
        temp = workdir / request.file.name
        _write_private(temp, before)
        documents = _edit_until_valid(request, editor, temp, fmt)
        if documents is None:
            request.stderr.write(f"{request.display}: unchanged\n")
            return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    metadata = replace(plain.metadata, version=WRITE_VERSION)
    edited = sopsfile.encrypt(documents, metadata, plain.data_key, stash=plain.stash)
    _write(request, request.file, sopsfile.emit_encrypted(edited, fmt, options), request.display)
    return 0


def keygen(output: Path | None, stdout: TextIO, stderr: TextIO) -> int:
    from gitops_guard.sops.keys import generate_age_identity

    secret, recipient = generate_age_identity()
    text = f"# public key: {recipient}\n{secret}\n"
    if output is None:
        stdout.write(text)
        return 0
    if output.exists():
        raise GuardError(f"{output} exists; not overwriting an identity file")
    output.parent.mkdir(parents=True, exist_ok=True)
    _write_private(output, text.encode())
    stderr.write(f"Public key: {recipient}\n")
    return 0


# -- pieces ------------------------------------------------------------------------------------

def _read(request: Request) -> bytes:
    try:
        return request.file.read_bytes()
    except FileNotFoundError:
        raise GuardError("file not found", path=request.display) from None
    except OSError as exc:
        raise GuardError(f"cannot read: {exc.strerror}", path=request.display) from None


def _selection(selector: Selector, fmt: str) -> Selector:
    """What a new file records: sops >= 3.11 ignores selection for binary files (the whole
    file is one value) and otherwise writes the implied `_unencrypted` suffix."""
    if fmt == "binary":
        return Selector()
    return selector if selector.field is not None else Selector(
        unencrypted_suffix=DEFAULT_UNENCRYPTED_SUFFIX)


def _already_encrypted(data: bytes, fmt: str, display: str) -> bool:
    try:
        return sopsfile.load_encrypted(data, fmt, display) is not None
    except GuardError:
        return False  # not even a sops file: reading it as plaintext says what is wrong


def _load_encrypted(request: Request) -> sopsfile.Encrypted:
    encrypted = sopsfile.load_encrypted(_read(request), request.input_format, request.display)
    if encrypted is None:
        raise GuardError("is not encrypted with sops (no sops metadata)", path=request.display)
    return encrypted


def _parse_plain(data: bytes, fmt: str, display: str) -> list[Mapping]:
    try:
        return sopsfile.load_plain(data, fmt)
    except GuardError as exc:
        raise GuardError(exc.message, path=display, line=exc.line, column=exc.column) from None


def _keyring(request: Request) -> LocalKeyring:
    return LocalKeyring(request.environ, Path(request.environ.get("HOME", "~")).expanduser())


@dataclass(frozen=True)
class _Rule:
    key_groups: tuple[KeyGroup, ...]
    selector: Selector
    mac_only_encrypted: bool
    shamir_threshold: int
    stores: sops_config.StoresSettings


def _creation_rule(request: Request, *, use_flags: bool = True) -> _Rule:
    """Keys from the flags (or $SOPS_AGE_RECIPIENTS), else from the first matching .sops.yaml
    rule; selection from the flags, else from that rule. As in sops, a .sops.yaml whose rules
    do not cover the file is an error even when the flags name the keys."""
    loaded = _sops_config(request)
    stores = loaded.stores if loaded is not None else sops_config.StoresSettings()
    age: tuple[str, ...] = ()
    pgp: tuple[str, ...] = ()
    if use_flags:
        age = request.age or tuple(
            part.strip() for part in request.environ.get("SOPS_AGE_RECIPIENTS", "").split(",")
            if part.strip())
        pgp = request.pgp
    rule: sops_config.CreationRule | None = None
    if loaded is not None and loaded.creation_rules is not None:
        rule = loaded.match(request.file, request.cwd) if age or pgp else \
            loaded.rule_for(request.file, request.cwd)
        if rule is None:
            loaded.rule_for(request.file, request.cwd)  # raises: no matching creation rule
    if age or pgp:
        groups, threshold = groups_from_recipients(age, pgp), 0
    elif rule is not None:
        groups, threshold = rule.key_groups, rule.shamir_threshold
    else:
        hint = "pass --age (or set SOPS_AGE_RECIPIENTS), or add" if use_flags else "add"
        raise GuardError(f"no recipients: {hint} a .sops.yaml with a creation rule for this "
                         "file")
    selector = request.selector or (rule.selector if rule is not None else Selector())
    mac_only = request.mac_only_encrypted
    if mac_only is None:
        mac_only = rule.mac_only_encrypted if rule is not None else False
    return _Rule(groups, selector, mac_only, threshold, stores)


def _warn(request: Request, message: str) -> None:
    request.stderr.write(f"gitops-guard: warning: {message}\n")


def _sops_config(request: Request) -> sops_config.SopsConfig | None:
    found = sops_config.find_sops_config(
        request.config, request.cwd, request.environ,
        warn=lambda message: _warn(request, message))
    return sops_config.load_sops_config(found) if found is not None else None


def _stores_settings(request: Request) -> sops_config.StoresSettings:
    loaded = _sops_config(request)
    return loaded.stores if loaded is not None else sops_config.StoresSettings()


def _emit_options(request: Request, stores: sops_config.StoresSettings) -> EmitOptions:
    fmt = request.output_format
    indent = {"yaml": stores.yaml_indent, "json": stores.json_indent,
              "binary": stores.json_binary_indent}.get(fmt)
    return EmitOptions(indent=indent)


def _deliver(request: Request, data: bytes, private: bool = False) -> None:
    """To the file in place, to --output, or to stdout."""
    if request.in_place:
        _write(request, request.file, data, request.display)
    elif request.output is not None:
        # A new plaintext file is private; an existing one keeps its mode.
        mode = 0o600 if private and not request.output.exists() else None
        _write(request, request.output, data, str(request.output), mode)
    else:
        request.stdout.write(data)
        request.stdout.flush()


def _write(request: Request, path: Path, data: bytes, display: str,
           mode: int | None = None) -> None:
    """Atomically, through a symlink to the file it names (the link stays a link)."""
    target = path.resolve() if path.is_symlink() else path
    # Only a process killed in the instant between naming its temp file and the rename
    # leaves one; it may hold a decrypted copy, and nothing else would say so.
    for leftover in atomic.leftovers(target):
        _warn(request, f"{leftover}: a temp file left by an interrupted write of "
                       f"{target.name}; it may hold a decrypted copy: delete it")
    try:
        atomic.write_bytes(target, data, mode)
    except OSError as exc:
        raise GuardError(f"cannot write: {exc.strerror or exc}", path=display) from None


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _editor(environ: EnvMapping[str, str]) -> list[str]:
    for variable in ("SOPS_EDITOR", "EDITOR"):
        if environ.get(variable):
            return shlex.split(environ[variable])
    for candidate in ("vim", "nano", "vi"):
        if shutil.which(candidate, path=environ.get("PATH")):
            return [candidate]
    raise GuardError("no editor: set $EDITOR (or $SOPS_EDITOR)")


def _edit_until_valid(request: Request, editor: list[str], temp: Path,
                      fmt: str) -> list[Mapping] | None:
    """Run the editor until the file parses; None when nothing changed."""
    original = temp.read_bytes()
    while True:
        try:
            completed = subprocess.run([*editor, str(temp)], env=dict(request.environ),
                                       check=False)
        except OSError as exc:
            raise GuardError(f"cannot run the editor {editor[0]!r}: {exc.strerror}") from None
        if completed.returncode != 0:
            raise GuardError(f"the editor exited with {completed.returncode}; nothing written",
                             path=request.display)
        edited = temp.read_bytes()
        if edited == original:
            return None
        try:
            return sopsfile.load_plain(edited, fmt)
        except GuardError as exc:
            if not request.stdin_is_tty:
                raise GuardError(f"the edited file is not valid {fmt}: {exc}; nothing written",
                                 path=request.display) from None
            request.stderr.write(f"the edited file is not valid {fmt}: {exc}\n"
                                 "Press Enter to edit it again, or Ctrl-C to give up. ")
            request.stderr.flush()
            sys.stdin.readline()


def _without_enc(groups: tuple[KeyGroup, ...]) -> tuple[KeyGroup, ...]:
    return tuple(replace(group, age=tuple(replace(k, enc="") for k in group.age),
                         pgp=tuple(replace(k, enc="") for k in group.pgp)) for group in groups)


def _changed_recipients(groups: tuple[KeyGroup, ...], add: tuple[str, ...],
                        remove: tuple[str, ...]) -> tuple[KeyGroup, ...]:
    if not add and not remove:
        return groups
    extra = groups_from_recipients(add, ())[0].age if add else ()
    first = groups[0]
    kept = tuple(key for key in first.age if key.recipient not in remove)
    known = {key.recipient for key in kept}
    merged = replace(first, age=kept + tuple(k for k in extra if k.recipient not in known))
    result = (merged, *groups[1:])
    if all(group.empty for group in result):
        raise GuardError("no master key would be left")
    return result


def _recipient_names(group: KeyGroup) -> set[str]:
    return ({f"age {key.recipient}" for key in group.age} | {f"pgp {key.fp}" for key in group.pgp}
            | {f"{key.kind}" for key in group.foreign})


def _describe_changes(current: tuple[KeyGroup, ...], wanted: tuple[KeyGroup, ...]) -> list[str]:
    lines = []
    for index in range(max(len(current), len(wanted))):
        have = _recipient_names(current[index]) if index < len(current) else set()
        want = _recipient_names(wanted[index]) if index < len(wanted) else set()
        prefix = f"group {index}: " if max(len(current), len(wanted)) > 1 else ""
        lines += [f"{prefix}+ {name}" for name in sorted(want - have)]
        lines += [f"{prefix}- {name}" for name in sorted(have - want)]
    return lines


def _reuse_entries(current: tuple[KeyGroup, ...],
                   wanted: tuple[KeyGroup, ...]) -> tuple[KeyGroup, ...]:
    """The wanted groups, keeping the existing wrapped key of recipients that stay (one group:
    same data key, same entry); with several groups the shares are split afresh."""
    if len(current) != 1 or len(wanted) != 1:
        return _without_enc(wanted)
    have_age = {key.recipient: key for key in current[0].age}
    have_pgp = {key.fp: key for key in current[0].pgp}
    group = wanted[0]
    return (replace(group,
                    age=tuple(have_age.get(key.recipient, key) for key in group.age),
                    pgp=tuple(have_pgp.get(key.fp, key) for key in group.pgp)),)
