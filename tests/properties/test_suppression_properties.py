"""Suppression comments (suppression.parse_directives) under generated and arbitrary lines.

- A generated `# gitops-guard: ignore[RULES] reason` comment, alone or after YAML on its line,
  parses to the rules and reason written, at the column of its `#`, standalone exactly when
  nothing but spaces precedes it.
- Any text, any number of lines, never raises, and what it returns is well formed.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from gitops_guard.suppression import MARKERS, SECRET_RULES, Directive, parse_directives
from tests.properties.strategies import unicode_text

# Rule ids and the shell globs the docs allow (GG-MANIFEST-*, pss-baseline-?ost*).
rule_ids = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z").filter(lambda rule: "--" not in rule)
rule_globs = st.builds(lambda head, tail: head + tail, rule_ids, st.sampled_from(["", "*", "?"]))
spaces = st.sampled_from(["", " ", "  ", "\t"])
# A reason is the rest of the line: any text but a line break; the directive keeps it trimmed.
reasons = st.text(st.characters(codec="utf-8", exclude_characters="\n\r\x0b\x0c"
                                "\x1c\x1d\x1e\x85\u2028\u2029"), max_size=40)
# YAML before a same-line comment, which must not itself hold a directive or a marker.
code = st.sampled_from(["", "  ", "key: value", "  - item", 'password: "a#b"', "k: v  ",
                        "url: http://x/#frag"])


@st.composite
def directive_lines(draw: st.DrawFn) -> tuple[str, tuple[str, ...], str, int, bool]:
    """A line with a directive, and the rules, reason, column and standalone flag it says."""
    rules = draw(st.lists(st.one_of(rule_ids, rule_globs), min_size=0, max_size=4))
    separator = draw(st.sampled_from([",", ", ", " , ", ",  "]))
    reason = draw(reasons)
    before = draw(code)
    gap = " " if before and not before.endswith(" ") else ""
    prefix = before + gap
    comment = (f"#{draw(spaces)}gitops-guard:{draw(spaces)}ignore["
               f"{draw(spaces)}{separator.join(rules)}{draw(spaces)}]")
    comment += (" " + reason) if reason else ""
    return (prefix + comment, tuple(rules), reason.strip(), len(prefix) + 1,
            not prefix.strip())


@given(line=directive_lines(), above=st.lists(code, max_size=3))
@example(line=("  # gitops-guard: ignore[GG-MANIFEST-002] kept for OPS-7",
               ("GG-MANIFEST-002",), "kept for OPS-7", 3, True), above=[])
@example(line=('gamma: "2"  # gitops-guard: ignore[GG-MANIFEST-*, GG-SECRET-00?] glob',
               ("GG-MANIFEST-*", "GG-SECRET-00?"), "glob", 13, False), above=["a: 1"])
@example(line=("# gitops-guard: ignore[GG-MANIFEST-002]", ("GG-MANIFEST-002",), "", 1, True),
         above=[])
def test_a_written_directive_parses_to_what_was_written(
        line: tuple[str, tuple[str, ...], str, int, bool], above: list[str]) -> None:
    text, rules, reason, column, standalone = line
    number = len(above) + 1
    found = parse_directives([*above, text])
    assert found == {number: Directive(number, column, rules, reason, standalone)}


@given(line=st.just("x: 1  # gitops-guard: ignore[GG-SECRET-00[12], GG-MANIFEST-002] rotated"))
@example(line="# gitops-guard: ignore[GG-[AB]*] reason")
def test_a_glob_with_a_character_class_parses(line: str) -> None:
    [directive] = parse_directives([line]).values()
    assert all("[" not in rule or "]" in rule for rule in directive.rules)
    assert "]" not in directive.reason


lines = st.lists(st.one_of(
    unicode_text,
    st.lists(st.sampled_from(["#", " ", "gitops-guard:", "ignore[", "]", ",", "*", "GG-X-1",
                              "gitleaks:allow", "pragma: allowlist", " nextline", " secret",
                              "\t", "é", "\n"]), max_size=12).map("".join)), max_size=6)


@given(lines=lines)
@example(lines=["# gitops-guard: ignore[", "# gitops-guard: ignore[]", "x # gitleaks:allow",
                "# pragma: allowlist nextline secret", "#gitops-guard:ignore[,,] ", ""])
def test_any_text_parses_to_well_formed_directives(lines: list[str]) -> None:
    found = parse_directives(lines)
    for number, directive in found.items():
        text = lines[number - 1]
        assert directive.line == number
        assert any(marker in text for marker in MARKERS)
        assert 1 <= directive.column <= len(text)
        assert all(rule and rule == rule.strip() and "," not in rule
                   for rule in directive.rules)
        assert directive.reason == directive.reason.strip()
        assert directive.standalone == (not text[:directive.column - 1].strip()) or \
            directive.rules == SECRET_RULES
