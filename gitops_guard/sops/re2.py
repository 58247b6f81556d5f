"""Go RE2 patterns (what .sops.yaml and sops metadata hold) read with Python's `re`.

The common subset means the same in both; the few differences are translated (`\\z`) or
refused (lookarounds, backreferences, which RE2 rejects), and a pattern Python would read
differently (`[[:alpha:]]`, a FutureWarning) is refused rather than silently misread.
"""

from __future__ import annotations

import functools
import re
import warnings

_LOOKAROUNDS = ("(?=", "(?!", "(?<=", "(?<!")


def translate(pattern: str) -> str:
    """RE2's `\\z` as Python's `\\Z`; what RE2 rejects (lookarounds, backreferences) refused."""
    out: list[str] = []
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if not in_class and escaped in "123456789":
                raise ValueError("backreferences are not RE2 syntax")
            out.append("\\Z" if escaped == "z" and not in_class else char + escaped)
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A `]` right after `[` or `[^` is a literal member, not the end of the class.
            start = index + 2 if pattern.startswith("[^", index) else index + 1
            if pattern.startswith("]", start):
                out.append(pattern[index:start + 1])
                index = start + 1
                continue
        elif pattern.startswith(_LOOKAROUNDS, index):
            raise ValueError("lookaround assertions are not RE2 syntax")
        out.append(char)
        index += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile(pattern: str) -> re.Pattern[str]:
    """The pattern compiled; ValueError (with the reason) when it cannot be used as RE2."""
    try:
        translated = translate(pattern)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(translated)
    except (re.error, FutureWarning) as exc:
        raise ValueError(str(exc)) from None
