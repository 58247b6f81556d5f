"""The `sops` commands' error paths show no plaintext and no key: a wrong or malformed age
identity, a MAC mismatch, a file already encrypted, plaintext that does not parse, an editor
that fails or writes what does not parse; each with --debug, in place or not, and the file
left as it was. `edit`'s private temp directory (in $TMPDIR) is gone afterwards. (A successful
`decrypt` prints plaintext: that is what it is for.)"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import write
from tests.security import corpus
from tests.security.conftest import (
    AgeKey,
    PlantedRepo,
    RunCli,
    age_key,
    identity_body,
    no_leaks,
)


class Case(NamedTuple):
    argv: tuple[str, ...]
    keys: str  # "right", "wrong" (another identity) or "malformed" (a corrupted right one)
    message: str  # what stderr must say
    editor: str = "exit 0"  # what $EDITOR does to the decrypted file ($1)


EDITED_SECRET = "Ed7tWq2xLm9vKc4n"


CASES: dict[str, Case] = {
    "decrypt, wrong key": Case(("decrypt", "enc/secret.yaml"), "wrong",
                               "could not decrypt the data key"),
    "decrypt, malformed key": Case(("decrypt", "enc/secret.yaml"), "malformed",
                                   "not a valid age identity"),
    "decrypt -i, wrong key": Case(("decrypt", "-i", "enc/secret.yaml"), "wrong",
                                  "could not decrypt the data key"),
    "rotate -i, wrong key": Case(("rotate", "-i", "enc/secret.yaml"), "wrong",
                                 "could not decrypt the data key"),
    "edit, wrong key": Case(("edit", "enc/secret.yaml"), "wrong",
                            "could not decrypt the data key"),
    "updatekeys -y, wrong key": Case(("updatekeys", "-y", "enc/secret.yaml"), "wrong",
                                     "could not decrypt the data key"),
    "decrypt, MAC mismatch": Case(("decrypt", "enc/mac.yaml"), "right", "MAC mismatch"),
    "decrypt -i, MAC mismatch": Case(("decrypt", "-i", "enc/mac.yaml"), "right",
                                     "MAC mismatch"),
    "rotate -i, MAC mismatch": Case(("rotate", "-i", "enc/mac.yaml"), "right", "MAC mismatch"),
    "edit, MAC mismatch": Case(("edit", "enc/mac.yaml"), "right", "MAC mismatch"),
    "edit, the editor fails": Case(("edit", "enc/secret.yaml"), "right",
                                   "the editor exited with 3; nothing written",
                                   'printf "password: %s\\n" "$(cat "$1")" > "$1"; exit 3'),
    "edit, the edit does not parse": Case(
        ("edit", "enc/secret.yaml"), "right", "the edited file is not valid yaml",
        f'printf "stringData:\\n    password: \\"{EDITED_SECRET}\\n" >> "$1"'),
    "encrypt -i, already encrypted": Case(("encrypt", "-i", "enc/secret.yaml"), "right",
                                          "already encrypted"),
    "encrypt, a value added after encryption": Case(("encrypt", "-i", "enc/added.yaml"),
                                                    "right", "already encrypted"),
    "decrypt, a value added after encryption": Case(("decrypt", "enc/added.yaml"), "right",
                                                    "should be encrypted but is in plain text"),
    "decrypt, not encrypted": Case(("decrypt", "secrets/plain.yaml"), "right",
                                   "is not encrypted"),
    "encrypt, syntax error": Case(("encrypt", "broken/secret-syntax.yaml"), "right",
                                  "secret-syntax.yaml:8"),
    "encrypt, tab indentation": Case(("encrypt", "broken/values-tab.yaml"), "right",
                                     "values-tab.yaml:3"),
    "encrypt, truncated JSON": Case(("encrypt", "broken/truncated.json"), "right",
                                    "truncated.json:1"),
    "encrypt, invalid UTF-8": Case(("encrypt", "broken/invalid-utf8.yaml"), "right",
                                   "invalid-utf8.yaml:3"),
    "encrypt, duplicate key": Case(("encrypt", "broken/secret-duplicate.yaml"), "right",
                                   "secret-duplicate.yaml:7"),
    "encrypt, dotenv line without =": Case(("encrypt", "broken/no-equals.env"), "right",
                                           "no-equals.env:2"),
    "encrypt, INI line": Case(("encrypt", "broken/bad.ini"), "right", "bad.ini:3"),
}

MAC_FILE = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: mac\nstringData:\n" \
           "    password: {password}\n    token: {token}\n"


@pytest.fixture
def sops_repo(planted_repo: PlantedRepo, key: AgeKey) -> PlantedRepo:
    """The planted repository plus a SOPS file whose MAC no longer matches (a value was
    removed) and plaintext files a sops store refuses."""
    repo, p = planted_repo.repo, planted_repo.planted.add
    write(repo, {"enc/mac.yaml": MAC_FILE.format(
        password=p("SOPS plaintext (MAC file)", "Mc5wQz8rTn2vKx7d"),
        token=p("SOPS plaintext removed from the MAC file", "Nd3kWx6qBv9mLs1t"))})
    corpus.sops_encrypt(repo, "enc/mac.yaml", key.recipient)
    text = (repo / "enc/mac.yaml").read_text()
    (repo / "enc/mac.yaml").write_text(
        "".join(line for line in text.splitlines(keepends=True)
                if not line.startswith("    token: ENC[")))
    write(repo, {
        "broken/no-equals.env": "USER=app\n"
                                f"{p('dotenv line without =', 'Ey8nVq2xLw5tHc3k')}\n",
        "broken/bad.ini": "[db]\nuser = app\n"
                          f"password {p('INI line without =', 'Ik4tMw9pZq2xRv6b')}\n",
    })
    return planted_repo


@pytest.mark.parametrize("name", list(CASES))
def test_sops_errors_show_no_plaintext_and_no_key(
        sops_repo: PlantedRepo, key: AgeKey, tmp_path: Path, run_cli: RunCli,
        monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    case = CASES[name]
    repo, planted = sops_repo.repo, sops_repo.planted
    wrong = age_key(tmp_path / "keys", "wrong.txt")
    planted.add("wrong age identity", identity_body(wrong.identity))
    if case.keys == "wrong":
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(wrong.file))
    elif case.keys == "malformed":  # the right identity with its checksum broken
        monkeypatch.delenv("SOPS_AGE_KEY_FILE")
        last = "P" if key.identity.endswith("Q") else "Q"
        monkeypatch.setenv("SOPS_AGE_KEY", key.identity[:-1] + last)
    planted.add("written by the editor", EDITED_SECRET)
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\n{case.editor}\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    # updatekeys has something to do: the rule now names a second recipient.
    write(repo, {".sops.yaml": corpus.SOPS_RULES.format(
        recipient=f"{key.recipient},{wrong.recipient}")})
    sandbox = sops_repo.sandbox
    target = repo / case.argv[-1]
    original = target.read_bytes()
    before = sandbox.start()
    result = run_cli("sops", *case.argv, "--debug", cwd=repo)
    assert result.code == 2, result.err
    assert case.message in result.err
    assert "Traceback" not in result.err and "bug" not in result.err
    assert target.read_bytes() == original
    no_leaks(sandbox, before, {"stdout": result.out, "stderr": result.err})
