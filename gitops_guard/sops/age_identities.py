"""Where sops finds age identities, and what it makes of them.

The sources and their order are sops' (age/keysource.go): SSH keys from
SOPS_AGE_SSH_PRIVATE_KEY_FILE, SOPS_AGE_SSH_PRIVATE_KEY_CMD, ~/.ssh/id_ed25519 and ~/.ssh/id_rsa;
age keys from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD and
<user config dir>/sops/age/keys.txt. All of them are read, and every identity found is tried.
A source that cannot be used is recorded as a problem (never with key material) and the
others still count, so one post-quantum key in a keys.txt does not hide the X25519 ones.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from gitops_guard.sops import _pyrage

AGE_ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
AGE_RECIPIENT_ENV = "SOPS_AGE_RECIPIENT"  # given to the key commands, as sops does
PQ_NOTE = "post-quantum age keys (age1pq1 / AGE-SECRET-KEY-PQ-1) are not supported (pyrage)"
PLUGIN_NOTE = "age plugin keys are not supported"


@dataclass(frozen=True)
class KeyEnvironment:
    """Where keys are looked up: an environment, a home directory and the platform."""

    environ: Mapping[str, str]
    home: Path
    platform: str = sys.platform


@dataclass(frozen=True)
class AgeIdentity:
    """A loaded age identity: where it came from and its public recipient, when known."""

    source: str
    recipient: str | None
    handle: _pyrage.Identity = field(repr=False, compare=False)


@dataclass(frozen=True)
class AgeIdentities:
    """What `load_age_identities` found, what it could not use (and why), what was empty."""

    identities: tuple[AgeIdentity, ...]
    problems: tuple[str, ...]
    unused: tuple[str, ...]


@dataclass
class _Found:
    """The accumulator of one `load_age_identities` call."""

    identities: list[AgeIdentity] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)


def load_age_identities(environ: Mapping[str, str], home: Path, *, recipient: str = "",
                        platform: str = sys.platform) -> AgeIdentities:
    """Every age identity sops would load, from every source it reads.

    SSH keys: SOPS_AGE_SSH_PRIVATE_KEY_FILE, SOPS_AGE_SSH_PRIVATE_KEY_CMD, ~/.ssh/id_ed25519,
    ~/.ssh/id_rsa. age keys: SOPS_AGE_KEY (any whitespace between keys), SOPS_AGE_KEY_FILE,
    SOPS_AGE_KEY_CMD, <user config dir>/sops/age/keys.txt. Commands get SOPS_AGE_RECIPIENT =
    `recipient`. A source that cannot be used is a problem, not an error: the others still count.
    """
    env = KeyEnvironment(environ, home, platform)
    found = _Found()
    _load_ssh_sources(env, recipient, found)
    _load_age_sources(env, recipient, found)
    return AgeIdentities(tuple(found.identities), tuple(found.problems), tuple(found.unused))


def _load_ssh_sources(env: KeyEnvironment, recipient: str, found: _Found) -> None:
    path = env.environ.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE", "")
    if path:
        _add_ssh_file(Path(path), f"SOPS_AGE_SSH_PRIVATE_KEY_FILE ({path})", found)
    else:
        found.unused.append("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
    output = _key_command(env, "SOPS_AGE_SSH_PRIVATE_KEY_CMD", recipient, found)
    if output is not None:
        _add_ssh_key(output, "SOPS_AGE_SSH_PRIVATE_KEY_CMD", found)
    for name in ("id_ed25519", "id_rsa"):
        default = env.home / ".ssh" / name
        if default.exists():
            _add_ssh_file(default, str(default), found)
        else:
            found.unused.append(str(default))


def _load_age_sources(env: KeyEnvironment, recipient: str, found: _Found) -> None:
    if "SOPS_AGE_KEY" in env.environ:
        _add_age_keys(env.environ["SOPS_AGE_KEY"], "SOPS_AGE_KEY", found, any_whitespace=True)
    else:
        found.unused.append("SOPS_AGE_KEY")
    path = env.environ.get("SOPS_AGE_KEY_FILE", "")
    if path:
        _add_age_file(Path(path), f"SOPS_AGE_KEY_FILE ({path})", found, missing_is_problem=True)
    else:
        found.unused.append("SOPS_AGE_KEY_FILE")
    output = _key_command(env, "SOPS_AGE_KEY_CMD", recipient, found)
    if output is not None:
        _add_age_keys(output.decode("utf-8", "replace"), "SOPS_AGE_KEY_CMD", found)
    config_dir = _user_config_dir(env, found.problems)
    if config_dir is not None:
        keys = config_dir / "sops" / "age" / "keys.txt"
        _add_age_file(keys, str(keys), found, missing_is_problem=False)


def user_config_dir(environ: Mapping[str, str], home: Path,
                    platform: str = sys.platform) -> Path | None:
    """Go's os.UserConfigDir, with sops' XDG_CONFIG_HOME override on macOS (None: unknown)."""
    return _user_config_dir(KeyEnvironment(environ, home, platform), [])


def _user_config_dir(env: KeyEnvironment, problems: list[str]) -> Path | None:
    xdg = env.environ.get("XDG_CONFIG_HOME", "")
    if env.platform == "darwin":
        return Path(xdg) if xdg else env.home / "Library" / "Application Support"
    if env.platform == "win32":
        appdata = env.environ.get("AppData") or env.environ.get("APPDATA")
        return Path(appdata) if appdata else None
    if xdg and not Path(xdg).is_absolute():
        problems.append(f"XDG_CONFIG_HOME is relative ({xdg}); the user config dir is unset")
        return None
    return Path(xdg) if xdg else env.home / ".config"


def _key_command(env: KeyEnvironment, variable: str, recipient: str,
                 found: _Found) -> bytes | None:
    """The output of a key command; like sops, split shell-style and run without a shell."""
    command = env.environ.get(variable, "")
    if not command:
        found.unused.append(variable)
        return None
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        found.problems.append(f"{variable}: cannot parse the command: {exc}")
        return None
    if not argv:
        found.problems.append(f"{variable}: the command is empty")
        return None
    environ = {**env.environ, AGE_RECIPIENT_ENV: recipient}
    try:
        # stderr stays the user's: a password manager may explain itself there.
        result = subprocess.run(argv, env=environ, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, check=False)
    except OSError as exc:
        found.problems.append(f"{variable}: cannot run {argv[0]!r}: {exc.strerror or exc}")
        return None
    if result.returncode != 0:
        found.problems.append(f"{variable}: the command exited with status {result.returncode}")
        return None
    return result.stdout


def _add_age_file(path: Path, source: str, found: _Found, *, missing_is_problem: bool) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        if missing_is_problem:
            found.problems.append(f"{source}: no such file")
        else:
            found.unused.append(source)
        return
    except OSError as exc:
        found.problems.append(f"{source}: cannot read: {exc.strerror or exc}")
        return
    _add_age_keys(text, source, found)


def _add_age_keys(text: str, source: str, found: _Found, *, any_whitespace: bool = False) -> None:
    """One identity per line (`#` lines and blank lines skipped); SOPS_AGE_KEY: any spacing."""
    if text.lstrip().startswith(("age-encryption.org/", AGE_ARMOR_BEGIN)):
        found.problems.append(
            f"{source}: the key file is itself age-encrypted (passphrase-protected), which is "
            "not supported; decrypt it on demand instead, e.g. SOPS_AGE_KEY_CMD='age -d FILE'")
        return
    before = len(found.identities)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for word in line.split() if any_whitespace else [line]:
            _add_age_identity(word, f"{source} line {number}", found)
    if len(found.identities) == before:
        found.unused.append(source)


def _add_age_identity(text: str, where: str, found: _Found) -> None:
    problem = unsupported_identity(text)
    if problem:
        found.problems.append(f"{where}: {problem}")
        return
    try:
        handle, recipient = _pyrage.x25519_identity(text)
    except _pyrage.ERRORS as exc:
        found.problems.append(f"{where}: not a valid age identity: {exc}")
        return
    found.identities.append(AgeIdentity(where, recipient, handle))


def unsupported_identity(text: str) -> str | None:
    """Why an identity line cannot be used, or None if it looks like an X25519 identity."""
    upper = text.upper()
    if upper.startswith("AGE-SECRET-KEY-PQ-1"):
        return PQ_NOTE
    if upper.startswith("AGE-PLUGIN-"):
        return PLUGIN_NOTE
    if upper.startswith("AGE-SECRET-KEY-1"):
        return None
    if text.startswith(("age1", "ssh-")):
        return "this is a public key (a recipient), not an identity"
    return "not an age identity (expected AGE-SECRET-KEY-1...)"


def _add_ssh_file(path: Path, source: str, found: _Found) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        found.problems.append(f"{source}: cannot read: {exc.strerror or exc}")
        return
    _add_ssh_key(data, source, found)


def _add_ssh_key(data: bytes, source: str, found: _Found) -> None:
    try:
        handle = _pyrage.ssh_identity(data)
    except _pyrage.ERRORS as exc:
        reason = str(exc)
        if "decrypted first" in reason:
            reason = "passphrase-protected SSH keys are not supported"
        found.problems.append(f"{source}: cannot use the SSH key: {reason}")
        return
    found.identities.append(AgeIdentity(source, _ssh_public_key(data), handle))


def _ssh_public_key(private_key: bytes) -> str | None:
    """`ssh-ed25519 AAAA...` for an unencrypted OpenSSH or PEM private key, else None."""
    for load in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        try:
            key = load(private_key, None)
            public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                   serialization.PublicFormat.OpenSSH)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        return public.decode("ascii")
    return None


def same_recipient(configured: str, loaded: str | None) -> bool:
    """Equal keys; SSH recipients compare without their comment."""
    if loaded is None:
        return False
    return configured.strip().split()[:2] == loaded.split()[:2]
