"""The in-place SOPS writes the data-loss tests interrupt, and how their result is judged.

After an interrupted write the file must be exactly what it was, or exactly what the command
makes of it, complete: never a part of either, never another mode, and no plaintext copy
beside it or in $TMPDIR.
"""

from __future__ import annotations

import io
import stat
from dataclasses import dataclass
from pathlib import Path

from gitops_guard.sops import commands, sopsfile
from gitops_guard.sops.masterkeys import LocalKeyring
from gitops_guard.sops.stores import EmitOptions, format_for_path
from tests.security.conftest import AgeKey, age_key
from tests.security.leaks import windows

NAME = "secret.yaml"
PASSWORD = "Dl7wQx3mVk9tRz2p"
TOKEN = "Dt4nWq8xKc2vLm6b"
# As sops writes YAML (4 spaces), so a decrypted file is byte for byte this text. The secrets
# come first, so even the first half of a written plaintext holds one.
PLAINTEXT = (f"password: {PASSWORD}\ntoken: {TOKEN}\nmetadata:\n    name: db\n"
             "    labels:\n        app: web\n").encode()
RULE = "creation_rules:\n  - age: {recipients}\n"


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    starts_encrypted: bool
    writes: str  # "ciphertext" or "plaintext"

    def argv(self, setup: Setup) -> tuple[str, ...]:
        return (*self.args, setup.target.name)


COMMANDS: dict[str, Command] = {
    "encrypt -i": Command(("encrypt", "-i"), False, "ciphertext"),
    "decrypt -i": Command(("decrypt", "-i"), True, "plaintext"),
    "rotate -i": Command(("rotate", "-i"), True, "ciphertext"),
    "updatekeys -y": Command(("updatekeys", "-y"), True, "ciphertext"),
}


@dataclass(frozen=True)
class Setup:
    folder: Path
    target: Path
    original: bytes
    mode: int
    first: AgeKey  # the recipient of the file as it starts
    second: AgeKey  # added by the rule updatekeys applies
    plaintext: bytes


def prepare(folder: Path, keys: Path, command: Command, mode: int,
            plaintext: bytes = PLAINTEXT, name: str = NAME) -> Setup:
    """`folder` with a .sops.yaml and the target file, as the command expects it."""
    folder.mkdir(parents=True)
    first, second = age_key(keys, "first.txt"), age_key(keys, "second.txt")
    (folder / ".sops.yaml").write_text(RULE.format(recipients=first.recipient))
    target = folder / name
    target.write_bytes(plaintext)
    if command.starts_encrypted:
        request = commands.Request(file=target, cwd=folder, environ={}, stdout=io.BytesIO(),
                                   stderr=io.StringIO(), in_place=True, stdin_is_tty=False)
        assert commands.encrypt(request) == 0
    if command.args[0] == "updatekeys":
        (folder / ".sops.yaml").write_text(
            RULE.format(recipients=f"{first.recipient},{second.recipient}"))
    target.chmod(mode)
    return Setup(folder, target, target.read_bytes(), mode, first, second, plaintext)


def decrypted(data: bytes, name: str, key: AgeKey) -> bytes | None:
    """The plaintext of a complete SOPS file that `key` opens (MAC verified), else None."""
    fmt = format_for_path(Path(name))
    try:
        encrypted = sopsfile.load_encrypted(data, fmt, name)
        if encrypted is None:
            return None
        keyring = LocalKeyring({"SOPS_AGE_KEY_FILE": str(key.file)}, Path("/nonexistent"))
        plain = sopsfile.decrypt(encrypted, keyring, name, verify_mac=True)
    except Exception:  # anything that is not a complete, valid file
        return None
    return sopsfile.emit_plain(plain.documents, fmt, EmitOptions())


def outcome(setup: Setup, command: Command) -> str:
    """"original", "new" (the complete result of the command) or "broken"."""
    data = setup.target.read_bytes()
    if data == setup.original:
        return "original"
    if command.writes == "plaintext":
        return "new" if data == setup.plaintext else "broken"
    # updatekeys: the key it added opens the file; the others: the file's own key does.
    key = setup.second if command.args[0] == "updatekeys" else setup.first
    return "new" if decrypted(data, setup.target.name, key) == setup.plaintext else "broken"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def holds_plaintext(data: bytes) -> bool:
    text = data.decode("utf-8", "replace")
    return any(piece in text for secret in (PASSWORD, TOKEN) for piece in windows(secret))


def plaintext_copies(setup: Setup, tmpdir: Path) -> list[str]:
    """Files other than the target, beside it or in $TMPDIR, that hold a piece of the
    plaintext."""
    others = [p for p in (*setup.folder.iterdir(), *tmpdir.rglob("*"))
              if p.is_file() and p != setup.target]
    return sorted(str(p) for p in others if holds_plaintext(p.read_bytes()))
