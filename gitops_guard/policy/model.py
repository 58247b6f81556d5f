"""What a loaded policy is: immutable records holding compiled programs and where each part
was written (file and 1-based line), so every later message can point back at the source.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitops_guard.findings import Severity
from gitops_guard.policy.celrt import Paths, Program, merge_reads


@dataclass(frozen=True)
class Expression:
    source: str  # as written
    program: Program  # compiled from the source with each `variables.<name>` expanded
    where: str  # the field, e.g. "validations[0].messageExpression"
    line: int
    column: int


@dataclass(frozen=True)
class Requirement:
    """One labelSelector.matchExpressions entry."""

    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """Which objects a policy looks at; an empty Match takes every object."""

    pod_spec: bool = False
    kinds: tuple[str, ...] = ()  # "Kind" or "group/Kind" ("/Kind": the core group)
    namespaces: tuple[str, ...] = ()  # fnmatch globs
    exclude_namespaces: tuple[str, ...] = ()
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class PssInfo:
    control: str  # the PSA control id
    level: str  # baseline | restricted


@dataclass(frozen=True)
class Variable:
    name: str
    expression: Expression


@dataclass(frozen=True)
class Validation:
    expression: Expression
    message: str | None = None
    message_expression: Expression | None = None
    pointer_expression: Expression | None = None
    # With a message or pointer expression: all three as one program returning [true] or
    # [false, message, pointer], so shared variables are evaluated once.
    combined: Program | None = None


@dataclass(frozen=True)
class Example:
    name: str
    expect: str  # pass | fail
    manifest: str
    pss_version: int | None  # the minor version (34 for "1.34"); None: the default
    line: int


# Compared by identity: two loads of one file are different policies, and hashing every field
# on each lookup would cost more than the lookups save.
@dataclass(frozen=True, eq=False)
class Policy:
    id: str
    title: str
    description: str
    remediation: str
    severity: Severity
    pack: str
    pss: PssInfo | None
    enabled: bool
    match: Match
    skip_when: tuple[Expression, ...]
    variables: tuple[Variable, ...]
    validations: tuple[Validation, ...]
    examples: tuple[Example, ...]
    name: str  # metadata.name, informative
    path: Path  # the file it was loaded from
    line: int  # where its document starts

    @functools.cached_property
    def reads(self) -> Mapping[str, Paths]:
        """What the programs that run read of each identifier (celrt.selections): CEL is given
        only that. Variables do not run on their own: they are expanded where used."""
        programs = [e.program for e in self.skip_when]
        for validation in self.validations:
            programs += [e.program for e in (validation.expression, validation.message_expression,
                                             validation.pointer_expression) if e is not None]
            if validation.combined is not None:
                programs.append(validation.combined)
        return merge_reads(program.reads for program in programs)

    @functools.cached_property
    def expressions(self) -> tuple[Expression, ...]:
        """Every expression, in the order they are written."""
        found = [*self.skip_when, *(variable.expression for variable in self.variables)]
        for validation in self.validations:
            found.append(validation.expression)
            found += [e for e in (validation.message_expression, validation.pointer_expression)
                      if e is not None]
        return tuple(found)
