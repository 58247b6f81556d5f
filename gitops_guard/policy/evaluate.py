"""Evaluating policies against one object.

A Subject is an object made ready once: its variables (podspec.py) converted to CEL in one
library context, which every policy then reuses. Converting is the expensive part (about a
microsecond per YAML node), so a caller checking many policies builds one Subject per object,
or calls evaluate_all. A failing expression never raises: it becomes an EvaluationError.

A key whose value is null (`seccompProfile:` with nothing under it) counts as absent, as the
API server treats it: such keys are dropped from what CEL is given (drop_nulls, prune).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from gitops_guard.policy import celrt, podspec
from gitops_guard.policy.model import Expression, Match, Policy, Validation
from gitops_guard.policy.podspec import PodSpecPath

LATEST_PSS_VERSION = 37  # the newest Pod Security Standards version known, as v1.<minor>
PSS_LEVELS = ("privileged", "baseline", "restricted")


@dataclass(frozen=True)
class Environment:
    """What an object is checked under: the PSS version and level in force for it."""

    pss_version: int  # the minor number: 37 for v1.37
    pss_level: str  # privileged | baseline | restricted
    pod_spec_paths: tuple[PodSpecPath, ...] = ()

    def __post_init__(self) -> None:
        if self.pss_level not in PSS_LEVELS:
            raise ValueError(f"unknown Pod Security level {self.pss_level!r}")


class Violation(NamedTuple):
    policy_id: str
    message: str
    pointer: str  # JSON pointer into the object ("" for the object itself)


class EvaluationError(NamedTuple):
    """An expression failed on this object: a fault of the policy, reported where it is."""

    policy_id: str
    message: str  # "validations[0].expression: no such key: privileged"
    path: Path  # the policy file
    line: int  # the failing expression's line in it


Outcome = Violation | EvaluationError


class PolicyResult(NamedTuple):
    policy: Policy
    outcomes: list[Outcome]  # empty: the object passes


class Subject:
    """One object with its variables, converted to CEL once for every policy."""

    __slots__ = ("_context", "_error", "_given", "_matched", "_verdicts", "env", "obj",
                 "values")

    def __init__(self, obj: Mapping[str, Any], env: Environment,
                 policies: Iterable[Policy] = ()) -> None:
        self.obj = obj
        self.env = env
        self.values = podspec.variables(obj, env.pod_spec_paths)
        self.values["pssVersion"] = env.pss_version
        self.values["pssLevel"] = env.pss_level
        self.values[celrt.NAMESPACE_ALIAS] = self.values["namespace"]
        self._context = celrt.new_context({})
        self._error: celrt.CelError | None = None
        self._given: dict[str, celrt.Paths] = {}  # what the context holds of each variable
        self._verdicts: dict[int, tuple[Policy, bool | EvaluationError]] = {}
        self._matched: set[int] = set()  # ids of policies whose level and match hold
        matched = []
        for policy in policies:
            if _may_apply(policy, self):
                matched.append(policy)
                self._matched.add(id(policy))
            else:
                self._verdicts[id(policy)] = (policy, False)
        # What the policies that can apply read goes in at once: after each later addition the
        # library copies every variable again.
        self.provide(_reads(tuple(matched)))

    def provide(self, reads: Mapping[str, celrt.Paths]) -> None:
        """Make sure the CEL context holds what `reads` names (Policy.reads)."""
        changed = {}
        for name, paths in reads.items():
            if name not in self.values:
                continue  # a macro variable, or a name CEL will report as undefined
            if name in self._given:
                have = self._given[name]
                if have is None or (paths is not None and paths <= have):
                    continue
                paths = None if paths is None else paths | have
            self._given[name] = paths
            value = self.values[name]
            changed[name] = drop_nulls(value) if paths is None else prune(value, paths)
        if changed:
            try:
                celrt.add_variables(self._context, changed)
            except celrt.CelError as error:
                self._error = error

    def run(self, program: celrt.Program) -> Any:
        if self._error is not None:
            raise self._error
        return program.run(self._context)

    def verdict(self, policy: Policy) -> bool | EvaluationError:
        """Whether the policy applies (match, level, skipWhen), decided once per policy."""
        cached = self._verdicts.get(id(policy))
        if cached is not None and cached[0] is policy:
            return cached[1]
        result = _decide(policy, self, id(policy) in self._matched)
        self._verdicts[id(policy)] = (policy, result)
        return result


def prune(value: Any, paths: frozenset[tuple[str, ...]]) -> Any:
    """The parts of `value` that the field paths reach (celrt.selections): the value at each
    path's end whole, or None where only its presence is tested; without null-valued keys."""
    if () in paths:
        return drop_nulls(value)
    if paths == _PRESENCE:
        return None
    if not isinstance(value, dict):
        return drop_nulls(value)
    rests: dict[str, set[tuple[str, ...]]] = {}
    for path in paths:
        if path != (celrt.PRESENCE,):
            rests.setdefault(path[0], set()).add(path[1:])
    return {key: prune(value[key], frozenset(rest)) for key, rest in rests.items()
            if value.get(key) is not None}


def drop_nulls(value: Any) -> Any:
    """`value` without its null-valued mapping keys, at any depth (nulls in lists stay).

    The input is never changed: what holds no null is returned as is, and only the mappings
    and lists on the way to a null are copied, so the common case allocates nothing.
    """
    if type(value) is dict:  # plain dicts and lists, as YAML loads them: cheaper to test
        for key, item in value.items():
            if item is None:
                cleaned = None
            elif type(item) is dict or type(item) is list:
                cleaned = drop_nulls(item)
                if cleaned is item:
                    continue
            else:
                continue
            return _rebuilt(value, key, cleaned)
        return value
    if type(value) is list:
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                cleaned = drop_nulls(item)
                if cleaned is not item:
                    return [*value[:index], cleaned, *map(drop_nulls, value[index + 1:])]
        return value
    return value


def _rebuilt(value: dict[Any, Any], changed: Any, cleaned: Any) -> dict[Any, Any]:
    """A copy of `value` whose first changed key is `changed`, now `cleaned` (None: dropped),
    with the keys after it cleaned too."""
    copy: dict[Any, Any] = {}
    after = False
    for key, item in value.items():
        if after:
            if item is not None:
                copy[key] = drop_nulls(item)
        elif key == changed:
            after = True
            if cleaned is not None:
                copy[key] = cleaned
        else:
            copy[key] = item
    return copy


_PRESENCE = frozenset({(celrt.PRESENCE,)})


@functools.lru_cache(maxsize=64)
def _reads(policies: tuple[Policy, ...]) -> Mapping[str, celrt.Paths]:
    # Policies hash by identity: the same run asks for the same tuple object after object.
    return MappingProxyType(celrt.merge_reads(policy.reads for policy in policies))


def applies(policy: Policy, obj: Mapping[str, Any] | Subject, env: Environment) -> bool:
    """Whether the policy looks at this object. A skipWhen that fails counts as applying:
    evaluate() then reports the failure."""
    return _subject(obj, env, policy).verdict(policy) is not False


def evaluate(policy: Policy, obj: Mapping[str, Any] | Subject,
             env: Environment) -> list[Outcome]:
    """The policy's violations and evaluation errors on this object ([] if it does not apply)."""
    subject = _subject(obj, env, policy)
    verdict = subject.verdict(policy)
    if verdict is False:
        return []
    if isinstance(verdict, EvaluationError):
        return [verdict]
    outcomes: list[Outcome] = []
    for validation in policy.validations:
        outcomes += _validate(policy, validation, subject)
    return outcomes


def evaluate_all(policies: Iterable[Policy], obj: Mapping[str, Any],
                 env: Environment) -> list[PolicyResult]:
    """Every policy that applies to the object, with its outcomes; one Subject for all."""
    chosen = tuple(policies)
    subject = Subject(obj, env, chosen)
    return [PolicyResult(policy, evaluate(policy, subject, env))
            for policy in chosen if subject.verdict(policy) is not False]


def _subject(obj: Mapping[str, Any] | Subject, env: Environment, policy: Policy) -> Subject:
    if isinstance(obj, Subject):
        if obj.env is not env and obj.env != env:
            raise ValueError("the Subject was prepared for another Environment")
        return obj
    return Subject(obj, env, (policy,))


def _may_apply(policy: Policy, subject: Subject) -> bool:
    """Level and match: everything but skipWhen."""
    if policy.pss is not None and subject.env.pss_level == "privileged":
        return False  # a privileged namespace waives every Pod Security control
    return matches(policy.match, subject.values)


def _decide(policy: Policy, subject: Subject, matched: bool) -> bool | EvaluationError:
    if not matched:
        if not _may_apply(policy, subject):
            return False
        subject.provide(policy.reads)
    for expression in policy.skip_when:
        try:
            skip = subject.run(expression.program)
        except celrt.CelError as error:
            return _error(policy, expression, error.message)
        if skip is True:
            return False
        if skip is not False:
            return _error(policy, expression, "did not evaluate to a bool")
    return True


def matches(match: Match, values: Mapping[str, Any]) -> bool:
    """Whether an object (its variables) meets every condition of `match`."""
    if match.pod_spec and not values["podSpecPointer"]:
        return False
    if match.kinds and not any(_kind_matches(entry, values["apiVersion"], values["kind"])
                               for entry in match.kinds):
        return False
    namespace = values["namespace"]
    if match.namespaces and not any(fnmatchcase(namespace, g) for g in match.namespaces):
        return False
    if match.exclude_namespaces and any(fnmatchcase(namespace, glob)
                                        for glob in match.exclude_namespaces):
        return False
    labels = values["labels"]
    if match.match_labels and any(labels.get(key) != value for key, value in match.match_labels):
        return False
    for requirement in match.match_expressions:
        present = requirement.key in labels
        value = labels.get(requirement.key)
        if requirement.operator == "In":
            ok = present and value in requirement.values
        elif requirement.operator == "NotIn":
            ok = not present or value not in requirement.values
        else:
            ok = present == (requirement.operator == "Exists")
        if not ok:
            return False
    return True


def _kind_matches(entry: str, api_version: str, kind: str) -> bool:
    group, slash, name = entry.rpartition("/")
    return name == kind and (not slash or group == podspec.group_of(api_version))


def _validate(policy: Policy, validation: Validation, subject: Subject) -> list[Outcome]:
    if validation.combined is not None:
        quick = _combined(policy, validation, validation.combined, subject)
        if quick is not None:
            return quick
    expression = validation.expression
    try:
        passed = subject.run(expression.program)
    except celrt.CelError as error:
        return [_error(policy, expression, error.message)]
    if passed is True:
        return []
    if passed is not False:
        return [_error(policy, expression, "did not evaluate to a bool")]
    outcomes: list[Outcome] = []
    message = _default_message(validation)
    if validation.message_expression is not None:
        message = _optional(policy, validation.message_expression, subject, outcomes,
                            _is_message, "did not evaluate to a non-empty string") or message
    where = ""
    if validation.pointer_expression is not None:
        where = _optional(policy, validation.pointer_expression, subject, outcomes, _is_pointer,
                          "did not evaluate to a JSON pointer ('' or starting with '/')") or ""
    outcomes.insert(0, Violation(policy.id, _one_line(message), where))
    return outcomes


def _combined(policy: Policy, validation: Validation, combined: celrt.Program,
              subject: Subject) -> list[Outcome] | None:
    """The outcome from one run of the combined program; None when any part failed or gave
    a value of the wrong kind, for _validate to redo part by part and report precisely."""
    try:
        result = subject.run(combined)  # [true] or [false, message, pointer]
    except celrt.CelError:
        return None
    if result[0]:
        return []
    _, message, where = result
    if validation.message_expression is None:
        message = _default_message(validation)
    elif not _is_message(message):
        return None
    if validation.pointer_expression is None:
        where = ""
    elif not _is_pointer(where):
        return None
    return [Violation(policy.id, _one_line(message), where)]


def _default_message(validation: Validation) -> str:
    # As in Kubernetes: the static message, else the expression that failed.
    return validation.message or "failed expression: " + validation.expression.source


def _one_line(text: str) -> str:
    return " ".join(text.split())  # Kubernetes does not allow line breaks in a message


def _is_message(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_pointer(value: Any) -> bool:
    return isinstance(value, str) and value[:1] in ("", "/")


def _optional(policy: Policy, expression: Expression, subject: Subject, outcomes: list[Outcome],
              valid: Callable[[Any], bool], problem: str) -> str | None:
    """A message or pointer expression's value; on failure the violation keeps its default
    and the failure is reported too (Kubernetes only logs it)."""
    try:
        value = subject.run(expression.program)
    except celrt.CelError as error:
        outcomes.append(_error(policy, expression, error.message))
        return None
    if not valid(value):
        outcomes.append(_error(policy, expression, problem))
        return None
    return str(value)


def _error(policy: Policy, expression: Expression, message: str) -> EvaluationError:
    return EvaluationError(policy.id, f"{expression.where}: {message}", policy.path,
                           expression.line)
