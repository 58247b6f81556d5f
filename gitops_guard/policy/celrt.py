"""The CEL runtime: compiling and running expressions with `common-expression-language`.

Adds what Kubernetes CEL has and the library lacks (lowerAscii, split, join, quantity, ...), as
Python functions; CEL calls `x.f(y)` as `f(x, y)`, so each works receiver style too. Every
failure is a CelError with a short message that names no value of the checked object.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import logging
import math
import re
import string
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

MAX_EXPANDED = 100_000  # characters of an expression with its variables expanded: a sanity limit


class CelError(Exception):
    """An expression does not compile or fails while running.

    `position` is the (line, column) inside the expression a compile error names, if any.
    """

    def __init__(self, message: str, position: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class Context(Protocol):
    """The library's evaluation context: variables converted to CEL once, reused per call."""

    def update(self, variables: dict[str, Any]) -> None: ...


class _NativeProgram(Protocol):
    def execute(self, context: Context) -> Any: ...

    def variables(self) -> list[str]: ...

    def functions(self) -> list[str]: ...


@functools.cache
def _native() -> ModuleType:
    """The extension module, loaded without the package `__init__`.

    `import cel` also imports its command line (typer, rich, prompt_toolkit): ~120 ms we do
    not need. The extension must be registered as `cel.cel`: loading it twice panics.
    """
    module = sys.modules.get("cel.cel")
    if module is None:
        module = _load_extension() or importlib.import_module("cel")
    # The library logs every failing Python function as a warning besides raising it; the
    # error is reported once, by us. pyo3-log reads the level once, so set it before any use.
    logging.getLogger("cel").setLevel(logging.ERROR)
    return module


def _load_extension() -> ModuleType | None:
    spec = importlib.util.find_spec("cel")
    locations = spec.submodule_search_locations if spec is not None else None
    for directory in locations or ():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(directory) / f"cel{suffix}"
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
                module_spec = importlib.util.spec_from_file_location(
                    "cel.cel", path, loader=loader)
                if module_spec is None:  # pragma: no cover - a file with a known suffix
                    return None
                module = importlib.util.module_from_spec(module_spec)
                sys.modules["cel.cel"] = module
                loader.exec_module(module)
                return module
    return None  # pragma: no cover - another layout: import the package


Paths = frozenset[tuple[str, ...]] | None  # field paths read from a variable; None: all of it


class Program:
    """A compiled expression: `source` is the text compiled (variables expanded), `names` the
    identifiers it reads (macro variables too), `reads` what it reads of each (see selections).
    """

    __slots__ = ("_native", "names", "reads", "source")

    def __init__(self, source: str, native: _NativeProgram) -> None:
        self.source = source
        self.names = frozenset(native.variables())
        selected = selections(source)
        self.reads: dict[str, Paths] = {name: selected.get(name) for name in self.names}
        self._native = native

    def run(self, context: Context) -> Any:
        try:
            return self._native.execute(context)
        except Exception as exc:  # any failure inside an expression is the policy's to report
            raise CelError(_concise(exc)) from None

    def __repr__(self) -> str:
        return f"Program({self.source!r})"


_POSITION = re.compile(r"<input>:(\d+):(\d+)")
_OPTIONAL = ("optional syntax (.?, [?, {?, orValue, optional.*) is not supported; "
             "guard fields with has() instead")


def compile_expression(source: str) -> Program:
    """Compile `source`; CelError (with the position, if known) when it does not compile or
    uses the optional syntax the library cannot run."""
    try:
        native = cast(_NativeProgram, _native().compile(source))
    except ValueError as exc:
        message = str(exc).removeprefix(f"Failed to parse expression '{source}': ")
        message = message.removeprefix("ERROR: ")
        found = _POSITION.match(message)
        position = (int(found[1]), int(found[2])) if found else None
        message = message[found.end():].lstrip(": ") if found else message
        if "unsupported syntax '.?'" in message or "unsupported syntax '[?'" in message \
                or "unsupported syntax '?'" in message:
            message = _OPTIONAL
        raise CelError(message, position) from None
    if "orValue" in native.functions() or "optional" in native.variables():
        raise CelError(_OPTIONAL)
    return Program(source, native)


def new_context(variables: dict[str, Any]) -> Context:
    """A context holding `variables` (converted to CEL now) and the extra functions."""
    context = cast(Context, _native().Context({}, dict(FUNCTIONS)))
    add_variables(context, variables)
    return context


def add_variables(context: Context, variables: dict[str, Any]) -> None:
    """Convert `variables` into the context (the library then rebuilds it on the next run)."""
    try:
        context.update(variables)
    except (ValueError, TypeError) as exc:
        raise CelError(f"a value cannot be represented in CEL: {exc}") from None


_FUNCTION_FAILURE = re.compile(
    r"Function '([\w.]+)' error: Python function call failed: (\w+): (.*?)\. Check function",
    re.DOTALL)


def _concise(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0]}" if exc.args else "no such key"
    text = str(exc)
    failure = _FUNCTION_FAILURE.match(text)
    if failure is not None:
        name, kind, detail = failure.groups()
        # Our functions check their arguments and raise ValueError; a TypeError is a call
        # with the wrong number of them.
        return f"{name}(): " + ("wrong number of arguments" if kind == "TypeError" else detail)
    # The library appends advice ("Check that ...", "CEL does not coerce ...") after the first
    # sentence.
    return text.split(". ", 1)[0]


# -- reading expressions: variables, namespace, field selections ----------------------------------

_LEXEME = re.compile(r"""
      (?P<string>
          (?:[rR][bB]?|[bB][rR])(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"[^"\n]*"|'[^'\n]*')
        | [bB]?(?:\"\"\"(?:\\[\s\S]|[^\\])*?\"\"\"|'''(?:\\[\s\S]|[^\\])*?'''
                 |"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
    | (?P<comment>//[^\n]*)
    | (?P<space>\s+)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<other>[\s\S])
""", re.VERBOSE)


# `namespace` is reserved in CEL, yet the format offers it as a variable: expressions are given
# it under this name instead.
NAMESPACE_ALIAS = "_namespace"
BOUND = "_var_"  # the name a variable used more than once is bound to


def _tokens(source: str) -> list[re.Match[str]]:
    return [match for match in _LEXEME.finditer(source)
            if match.lastgroup not in ("space", "comment")]


# Ends a path whose last field is only tested with has(): its value is not needed.
PRESENCE = ""


def selections(source: str) -> dict[str, Paths]:
    """For each identifier, the chains of fields the expression selects from it: `object.spec.
    replicas` reads ("spec", "replicas"), `has(object.spec)` ("spec", PRESENCE). None when it
    is used any other way (passed whole, indexed, iterated, a method called on it): then all of
    it is needed.

    A value can then be given to CEL cut down to those paths. That is the same to the
    expression, since any other look at a part makes a chain that ends at that part, which is
    given whole; and much cheaper, since converting costs about a microsecond per node.
    """
    tokens = _tokens(source)
    found: dict[str, set[tuple[str, ...]] | None] = {}
    for index, token in enumerate(tokens):
        if token.lastgroup != "ident" or (index and tokens[index - 1][0] == "."):
            continue
        path: list[str] = []
        at = index + 1
        while at + 1 < len(tokens) and tokens[at][0] == "." \
                and tokens[at + 1].lastgroup == "ident" \
                and not (at + 2 < len(tokens) and tokens[at + 2][0] == "("):
            path.append(tokens[at + 1][0])
            at += 2
        tested = (index >= 2 and tokens[index - 2][0] == "has" and tokens[index - 1][0] == "("
                  and (index == 2 or tokens[index - 3][0] != ".")
                  and at < len(tokens) and tokens[at][0] == ")")
        paths = found.setdefault(token[0], set())
        if paths is not None:
            if path:
                paths.add((*path, PRESENCE) if tested else tuple(path))
            else:
                found[token[0]] = None
    return {name: None if paths is None else frozenset(paths) for name, paths in found.items()}


def merge_reads(reads: Iterable[Mapping[str, Paths]]) -> dict[str, Paths]:
    """The union of several `Program.reads`."""
    merged: dict[str, Paths] = {}
    for read in reads:
        for name, paths in read.items():
            if name in merged:
                have = merged[name]
                paths = None if have is None or paths is None else have | paths
            merged[name] = paths
    return merged


def expand(source: str, definitions: Mapping[str, str] | None) -> str:
    """`source` with `namespace` renamed and `variables.<name>` replaced by the variable's
    expression; with `definitions` None, only the renaming.

    A variable used once is inlined, so, as in a ValidatingAdmissionPolicy, it is evaluated
    only if it is needed. One used more often is evaluated once, first, and bound to a name:
    `[(<its expression>)].map(_var_<name>, <source>)[0]`. Either way the library's context
    stays unchanged between policies: changing a variable there converts every other
    variable to CEL again.
    """
    tokens = _tokens(source)
    uses: list[tuple[int, int, str | None]] = []  # spans of variables.<name>; None: namespace
    for index, token in enumerate(tokens):
        if token.lastgroup != "ident" or token[0] not in ("variables", "namespace") \
                or (index and tokens[index - 1][0] == "."):  # a field of that name
            continue
        if token[0] == "namespace":
            uses.append((token.start(), token.end(), None))
            continue
        if definitions is None:
            continue
        following = tokens[index + 1:index + 3]
        if len(following) < 2 or following[0][0] != "." or following[1].lastgroup != "ident":
            raise CelError("use a variable as variables.<name>")
        name = following[1][0]
        if name not in definitions:
            known = ", ".join(definitions) or "none"
            raise CelError(f"unknown variable {name!r} (defined before it: {known})")
        uses.append((token.start(), following[1].end(), name))
    counts = Counter(name for _, _, name in uses if name is not None)
    defined = definitions or {}
    parts: list[str] = []
    done = 0
    for start, end, used in uses:
        if used is None:
            replacement = NAMESPACE_ALIAS
        elif counts[used] > 1:
            replacement = BOUND + used
        else:  # the newline ends a `//` comment in the variable's expression
            replacement = f"({defined[used]}\n)"
        parts += [source[done:start], replacement]
        done = end
    parts.append(source[done:])
    expanded = "".join(parts)
    for used, count in counts.items():
        if count > 1:
            expanded = f"[({defined[used]}\n)].map({BOUND}{used}, ({expanded}\n))[0]"
    if len(expanded) > MAX_EXPANDED:
        raise CelError(f"variables expand to more than {MAX_EXPANDED:,} characters")
    return expanded


# -- functions ----------------------------------------------------------------------------------

_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expects a string")
    return value


def lower_ascii(value: object) -> str:
    return _text(value).translate(_LOWER)


def upper_ascii(value: object) -> str:
    return _text(value).translate(_UPPER)


def trim(value: object) -> str:
    return _text(value).strip()


def split(value: object, separator: object, limit: object = -1) -> list[str]:
    """Go's strings.SplitN: `limit` < 0 all parts, 0 none, n at most n parts."""
    text, sep = _text(value), _text(separator)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise ValueError("expects an int limit")
    if limit == 0:
        return []
    if sep:
        return text.split(sep, limit - 1 if limit > 0 else -1)
    chars = list(text)  # an empty separator splits after each character, as in Go
    if 0 < limit < len(chars):
        return [*chars[:limit - 1], "".join(chars[limit - 1:])]
    return chars


def join(items: object, separator: object = "") -> str:
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("expects a list of strings")
    return _text(separator).join(items)


_QUANTITY = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?[0-9]+))?")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(value: object) -> float | None:
    """A Kubernetes resource.Quantity in base units (`500m` -> 0.5), or None if it is not one.

    A YAML number (`cpu: 2`) counts as the quantity it spells.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    match = _QUANTITY.fullmatch(value)
    if match is None:
        return None
    number, binary, decimal, exponent = match.groups()
    try:
        amount = Decimal(number)
        if binary:
            amount *= 2 ** _BINARY[binary]
        else:
            amount = amount.scaleb(_DECIMAL[decimal] if decimal else int(exponent or 0))
        result = float(amount)
    except (ArithmeticError, ValueError, InvalidOperation):  # an exponent too large for Decimal
        return None
    return result if math.isfinite(result) else None


def quantity(value: object) -> float:
    result = parse_quantity(value)
    if result is None:
        raise ValueError("not a valid Kubernetes quantity")
    return result


def is_quantity(value: object) -> bool:
    return parse_quantity(value) is not None


def index_of(value: object, item: object, offset: object = None) -> int:
    """Kubernetes CEL's indexOf: of a list, the index of the first element equal to `item`;
    of a string, the index of `item` at or after `offset`; -1 when there is none."""
    if isinstance(value, list):
        if offset is not None:
            raise ValueError("expects no offset for a list")
        return next((index for index, element in enumerate(value) if _equal(element, item)), -1)
    if not isinstance(value, str):
        raise ValueError("expects a list or a string")
    text, part = value, _text(item)
    start = 0 if offset is None else offset
    if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start <= len(text):
        raise ValueError("index out of range")
    return text.find(part, start)


def _equal(left: object, right: object) -> bool:
    """CEL equality of converted values: as Python's, except that a bool equals only a bool."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_equal, left, right))
    return left == right


def image_parts(reference: str) -> tuple[str, str]:
    """The tag and digest of an image reference ("" when absent).

    `host:5000/app` has no tag: a colon counts only after the last slash.
    """
    name, _, digest = reference.partition("@")
    colon = name.rfind(":")
    tag = name[colon + 1:] if colon > name.rfind("/") else ""
    return tag, digest


def image_tag(value: object) -> str:
    return image_parts(_text(value))[0]


def image_digest(value: object) -> str:
    return image_parts(_text(value))[1]


FUNCTIONS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("lowerAscii", lower_ascii),
    ("upperAscii", upper_ascii),
    ("trim", trim),
    ("split", split),
    ("join", join),
    ("quantity", quantity),
    ("isQuantity", is_quantity),
    ("imageTag", image_tag),
    ("imageDigest", image_digest),
    ("indexOf", index_of),
)
