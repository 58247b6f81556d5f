"""Master keys: the data key of a sops file, wrapped for age recipients and PGP keys.

age goes through pyrage (X25519 `age1...` and SSH `ssh-ed25519`/`ssh-rsa` recipients); PGP goes
through the system `gpg`, with the data key on pipes only. Identities are looked up where sops
looks, in an environment passed in (`KeyEnvironment`), never read from `os.environ` here.
No message ever carries key material: only recipients, fingerprints, paths and reasons.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import replace

from gitops_guard.errors import GuardError
from gitops_guard.sops import _pyrage, shamir
from gitops_guard.sops.age_identities import (
    PLUGIN_NOTE,
    PQ_NOTE,
    AgeIdentities,
    AgeIdentity,
    KeyEnvironment,
    load_age_identities,
    same_recipient,
    unsupported_identity,
)
from gitops_guard.sops.metadata import AgeKey, KeyGroup, PgpKey

DATA_KEY_SIZE = 32


class DataKeyError(GuardError):
    """No master key gave the data key; `attempts` says what was tried and why it failed."""

    def __init__(self, message: str, attempts: Sequence[tuple[str, str]]) -> None:
        lines = [message, *(f"  - {key}: {reason}" for key, reason in attempts)]
        super().__init__("\n".join(lines))
        self.attempts = tuple(attempts)


# -- age recipients and wrapping ---------------------------------------------------------------

def parse_age_recipient(text: str) -> _pyrage.Recipient:
    """The recipient for an `age1...` or `ssh-...` public key, as sops classifies them."""
    text = text.strip()
    if text.startswith("age1pq1"):
        raise GuardError(f"age recipient {text[:16]}…: {PQ_NOTE}")
    if text.startswith("age1") and text.count("1") > 1:
        raise GuardError(f"age recipient {text}: {PLUGIN_NOTE}")
    try:
        if text.startswith("age1"):
            return _pyrage.x25519_recipient(text)
        if text.startswith("ssh-"):
            return _pyrage.ssh_recipient(text)
    except _pyrage.ERRORS as exc:
        raise GuardError(f"age recipient {text!r} is not valid: {exc}") from None
    raise GuardError(f"age recipient {text!r}: unknown type (expected age1... or ssh-...)")


def wrap_age(data_key: bytes, recipient: str) -> str:
    """The armored age file sops stores as `enc`: one recipient stanza, 64-column base64.

    pyrage also writes one random "grease" stanza, which every age reader skips.
    """
    parsed = parse_age_recipient(recipient)
    try:
        armored = _pyrage.encrypt_armored(data_key, parsed)
    except _pyrage.ERRORS as exc:
        raise GuardError(f"age recipient {recipient}: encryption failed: {exc}") from None
    return armored if armored.endswith("\n") else armored + "\n"


def unwrap_age(enc: str, identities: Sequence[AgeIdentity]) -> bytes:
    """The plaintext of an armored age `enc`, decrypted by any of `identities`."""
    if not identities:
        raise GuardError("no age identities to decrypt with")
    try:
        # YAML block scalars may lose the final newline or gain indentation; age wants neither.
        ciphertext = enc.strip().encode("ascii") + b"\n"
    except UnicodeEncodeError:
        raise GuardError("the age `enc` is not ASCII armor") from None
    try:
        return _pyrage.decrypt(ciphertext, [identity.handle for identity in identities])
    except _pyrage.ERRORS as exc:
        raise GuardError(f"age decryption failed: {exc}") from None


def age_recipient_of(identity_line: str) -> str:
    """The `age1...` recipient of an `AGE-SECRET-KEY-1...` identity."""
    text = identity_line.strip()
    problem = unsupported_identity(text)
    if problem:
        raise GuardError(problem)
    try:
        return _pyrage.x25519_identity(text)[1]
    except _pyrage.ERRORS as exc:
        raise GuardError(f"not a valid age identity: {exc}") from None


def generate_age_identity() -> tuple[str, str]:
    """A new X25519 identity: (`AGE-SECRET-KEY-1...`, `age1...`)."""
    return _pyrage.generate_x25519()


def age_key_file_text(secret: str, recipient: str, created: datetime.datetime) -> str:
    """A key file as age-keygen writes it (sops reads the same format)."""
    stamp = created.isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"# created: {stamp}\n# public key: {recipient}\n{secret}\n"


# -- PGP through gpg ---------------------------------------------------------------------------

# Status keywords worth showing; their arguments are key ids and codes, never secrets.
_GPG_STATUS = frozenset({"NO_SECKEY", "NO_PUBKEY", "INV_RECP", "KEYEXPIRED", "KEYREVOKED",
                         "DECRYPTION_FAILED", "FAILURE", "ERROR", "NODATA"})


def _gpg_binary(environ: Mapping[str, str]) -> str:
    name = environ.get("SOPS_GPG_EXEC") or "gpg"
    found = shutil.which(name, path=environ.get("PATH", os.defpath))
    if found is None:
        raise GuardError(f"gpg not found: {name!r} is not on PATH "
                         "(install GnuPG, or name the binary in SOPS_GPG_EXEC)")
    return found


def _run_gpg(args: Sequence[str], stdin: bytes, environ: Mapping[str, str]) -> bytes:
    """gpg's stdout; the secret only ever travels on stdin or stdout."""
    argv = [_gpg_binary(environ), "--batch", "--no-tty", "--status-fd", "2", *args]
    try:
        result = subprocess.run(argv, input=stdin, capture_output=True, env=dict(environ),
                                check=False)
    except OSError as exc:
        raise GuardError(f"cannot run gpg: {exc.strerror or exc}") from None
    if result.returncode != 0:
        raise GuardError(_gpg_failure(result.returncode, result.stderr))
    return result.stdout


def _gpg_failure(code: int, stderr: bytes) -> str:
    """gpg's own words: its last message and the failure status lines (no session keys)."""
    human = ""
    statuses: list[str] = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("[GNUPG:] "):
            words = line[len("[GNUPG:] "):].split()
            if words and words[0] in _GPG_STATUS:
                statuses.append(" ".join(words))
        elif line.startswith("gpg: ") and "session key" not in line.lower():
            human = line[len("gpg: "):].strip()
    detail = f" [{'; '.join(statuses)}]" if statuses else ""
    return f"gpg failed (exit status {code}): {human or 'no message'}{detail}"


def normalize_fingerprint(fingerprint: str) -> str:
    """The fingerprint sops stores: spaces removed."""
    return fingerprint.replace(" ", "").strip()


def wrap_pgp(data_key: bytes, fingerprint: str, environ: Mapping[str, str]) -> str:
    """The armored PGP message sops stores as `enc` (no final newline, as sops 3.13 writes)."""
    fp = normalize_fingerprint(fingerprint)
    args = ["--yes", "--no-default-recipient", "--no-encrypt-to", "--trust-model", "always",
            "--armor", "--encrypt", "--recipient", fp]
    try:
        out = _run_gpg(args, data_key, environ)
    except GuardError as exc:
        raise GuardError(f"PGP key {fp}: {exc.message}") from None
    return out.decode("utf-8", "replace").rstrip("\n")


def unwrap_pgp(enc: str, fingerprint: str, environ: Mapping[str, str]) -> bytes:
    """The plaintext of an armored PGP `enc`, decrypted by gpg with the user's keyring."""
    try:
        return _gpg_decrypt(enc, environ)
    except GuardError as exc:
        raise GuardError(f"PGP key {fingerprint}: {exc.message}") from None


def _gpg_decrypt(enc: str, environ: Mapping[str, str]) -> bytes:
    # gpg finds the secret key itself; the fingerprint only names the entry in messages.
    plaintext = _run_gpg(["--decrypt"], enc.strip().encode("utf-8") + b"\n", environ)
    if not plaintext:
        raise GuardError("gpg returned nothing")
    return plaintext


# -- the data key from a file's key groups, and back -------------------------------------------

MasterKey = AgeKey | PgpKey


def unwrap_key_groups(groups: Sequence[KeyGroup], threshold: int, env: KeyEnvironment) -> bytes:
    """The data key: from one group's keys, or `threshold` groups' Shamir shares (0: all)."""
    if not groups:
        raise GuardError("the file names no master keys (no key groups)")
    if len(groups) == 1:
        data_key = unwrap_group(groups[0], env)
    else:
        data_key = _combine_groups(groups, threshold or len(groups), env)
    if len(data_key) != DATA_KEY_SIZE:
        raise GuardError(f"the data key is {len(data_key)} bytes, not {DATA_KEY_SIZE}")
    return data_key


def _combine_groups(groups: Sequence[KeyGroup], threshold: int, env: KeyEnvironment) -> bytes:
    shares: list[bytes] = []
    failures: list[tuple[str, str]] = []
    for index, group in enumerate(groups):
        try:
            shares.append(unwrap_group(group, env))
        except DataKeyError as exc:
            failures.extend((f"key group {index}: {key}", why) for key, why in exc.attempts)
            continue
        if len(shares) >= threshold:
            return shamir.combine(shares)
    raise DataKeyError(f"only {len(shares)} of the {threshold} key groups needed could be "
                       "decrypted", failures)


def unwrap_group(group: KeyGroup, env: KeyEnvironment) -> bytes:
    """What the first master key that works gives (age keys first, then PGP, like sops)."""
    attempts: list[tuple[str, str]] = []
    for key in _decryption_order(group, env.environ):
        try:
            return _unwrap_one(key, env)
        except GuardError as exc:
            attempts.append((_describe(key), exc.message))
    attempts += [(key.kind, "not supported here (gitops-guard uses age and PGP keys only)")
                 for key in group.foreign]
    if not attempts:
        raise DataKeyError("the key group has no master keys", [])
    raise DataKeyError("could not decrypt the data key with any master key", attempts)


def _decryption_order(group: KeyGroup, environ: Mapping[str, str]) -> list[MasterKey]:
    """SOPS_DECRYPTION_ORDER (default: age, then pgp); file order within a type."""
    named = [name.strip() for name in environ.get("SOPS_DECRYPTION_ORDER", "").split(",")]
    order = [name for name in named if name in ("age", "pgp")]
    order += [name for name in ("age", "pgp") if name not in order]
    by_type: dict[str, Sequence[MasterKey]] = {"age": group.age, "pgp": group.pgp}
    return [key for name in order for key in by_type[name]]


def _describe(key: MasterKey) -> str:
    return f"age {key.recipient}" if isinstance(key, AgeKey) else f"pgp {key.fp}"


def _unwrap_one(key: MasterKey, env: KeyEnvironment) -> bytes:
    if isinstance(key, PgpKey):
        return _gpg_decrypt(key.enc, env.environ)
    if key.recipient.startswith("age1pq1"):
        raise GuardError(PQ_NOTE)
    loaded = load_age_identities(env.environ, env.home, recipient=key.recipient,
                                 platform=env.platform)
    if not loaded.identities:
        raise GuardError(_identity_report("no age identity found", loaded))
    try:
        return unwrap_age(key.enc, loaded.identities)
    except GuardError as exc:
        if any(same_recipient(key.recipient, i.recipient) for i in loaded.identities):
            raise
        count = len(loaded.identities)
        raise GuardError(_identity_report(
            f"none of the {count} age identities loaded is this recipient's ({exc.message})",
            loaded)) from None


def _identity_report(message: str, loaded: AgeIdentities) -> str:
    parts = [message]
    if loaded.identities:
        sources = sorted({i.source.split(" line ")[0] for i in loaded.identities})
        parts.append("loaded from " + ", ".join(sources))
    if loaded.unused:
        parts.append("nothing in " + ", ".join(loaded.unused))
    parts.extend(loaded.problems)
    return "; ".join(parts)


def wrap_key_groups(data_key: bytes, groups: Sequence[KeyGroup], threshold: int,
                    environ: Mapping[str, str], *,
                    now: datetime.datetime | None = None) -> tuple[KeyGroup, ...]:
    """`groups` with their age and PGP entries wrapping the data key (one group) or one fresh
    Shamir share per group (`threshold` of them needed; 0: all).

    With one group, entries that already have an `enc` are kept: they wrap this data key.
    With several, every entry is wrapped again, since the shares are new.
    """
    if not groups:
        raise GuardError("no key groups to encrypt the data key for")
    created = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if len(groups) == 1:
        return (wrap_group(data_key, groups[0], environ, created, keep_existing=True),)
    shares = shamir.split(data_key, len(groups), threshold or len(groups))
    return tuple(wrap_group(share, group, environ, created, keep_existing=False)
                 for share, group in zip(shares, groups, strict=True))


def wrap_group(secret: bytes, group: KeyGroup, environ: Mapping[str, str], created_at: str, *,
               keep_existing: bool) -> KeyGroup:
    """The group with `secret` wrapped for its age recipients and PGP keys (foreign entries are
    left as they are); PGP entries keep their `created_at` if they have one."""
    age = tuple(key if keep_existing and key.enc else
                AgeKey(key.recipient, wrap_age(secret, key.recipient))
                for key in group.age)
    pgp = tuple(key if keep_existing and key.enc else
                PgpKey(normalize_fingerprint(key.fp), wrap_pgp(secret, key.fp, environ),
                       key.created_at or created_at)
                for key in group.pgp)
    return replace(group, age=age, pgp=pgp)
