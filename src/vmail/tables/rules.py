"""Ordered rule files with ``if``/``endif``: the shared engine of regexp, pcre and cidr tables.

A rule file is a list of logical lines (see :mod:`vmail.tables.source`):
``PATTERN result``, ``if PATTERN`` ... ``endif`` (nesting), where PATTERN is type
specific and may be negated with ``!``. The first rule that applies wins.

As in Postfix, a bad line is reported (``file:line: text``) and skipped, never fatal; an
``endif`` without ``if`` is ignored; an ``if`` without ``endif`` extends to the end of the
file; text after ``endif`` is ignored with a warning.

The program is a flat list: an ``if`` that does not apply jumps past its ``endif``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from vmail.core.errors import Location
from vmail.tables.source import LogicalLine, warn
from vmail.tables.substitute import Template

K = TypeVar("K")
Groups = Sequence[str | None]
Matcher = Callable[[str], Groups | None]
"""``matcher(key)``: the captured groups when the pattern applies (negation included).

The engine is generic in the key type: cidr tables match parsed addresses."""


class RuleError(ValueError):
    """A line Postfix would skip; the message is what to warn."""


@dataclass(frozen=True)
class Step(Generic[K]):
    """One program step: a rule (``result`` set) or an ``if`` (``jump`` set)."""

    matcher: Callable[[K], Groups | None]
    result: Template | None
    jump: int
    location: Location


ParseRule = Callable[[str, Location], "tuple[Callable[[K], Groups | None], Template]"]
ParseCondition = Callable[[str, Location], "Callable[[K], Groups | None]"]


def _keyword(text: str, word: str) -> str | None:
    """The rest of ``text`` if it starts with the keyword ``word`` (any case)."""
    head = text[: len(word)]
    rest = text[len(word) :]
    if head.lower() == word and (not rest or rest[0] in " \t"):
        return rest.strip()
    return None


def compile_rules(
    lines: Iterable[LogicalLine],
    parse_rule: ParseRule[K],
    parse_condition: ParseCondition[K],
) -> tuple[Step[K], ...]:
    """Build the program; bad lines are warned about (with file:line) and skipped."""
    steps: list[Step[K]] = []
    open_ifs: list[tuple[int, Location]] = []  # index in steps of each open ``if``
    for line in lines:
        where = line.location
        try:
            cond = _keyword(line.text, "if")
            if cond is not None:
                if not cond:
                    raise RuleError("no regexp: skipping this rule")
                matcher = parse_condition(cond, where)
                open_ifs.append((len(steps), where))
                steps.append(Step(matcher, None, -1, where))
                continue
            rest = _keyword(line.text, "endif")
            if rest is not None:
                if rest:
                    warn(where, "ignoring extra text after ENDIF")
                if not open_ifs:
                    warn(where, "ignoring ENDIF without matching IF")
                    continue
                index, _ = open_ifs.pop()
                steps[index] = _with_jump(steps[index], len(steps))
                continue
            matcher, template = parse_rule(line.text, where)
            steps.append(Step(matcher, template, -1, where))
        except RuleError as e:
            warn(where, str(e))
    for index, where in reversed(open_ifs):
        warn(where, "IF has no matching ENDIF")
        steps[index] = _with_jump(steps[index], len(steps))
    return tuple(steps)


def _with_jump(step: Step[K], target: int) -> Step[K]:
    return Step(step.matcher, step.result, target, step.location)


def run_rules(steps: Sequence[Step[K]], key: K) -> str | None:
    """The result of the first rule that applies to ``key``, or None."""
    i, n = 0, len(steps)
    while i < n:
        step = steps[i]
        groups = step.matcher(key)
        if step.result is None:  # an ``if``
            i = i + 1 if groups is not None else step.jump
            continue
        if groups is not None:
            return step.result.expand(groups)
        i += 1
    return None
