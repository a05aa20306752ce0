"""``regexp:`` (POSIX, regexp_table(5)) and ``pcre:`` (pcre_table(5)) tables.

Rules are ``/pattern/flags result`` and ``!/pattern/flags result`` with ``if``/``endif``
(see :mod:`vmail.tables.rules`). The delimiter is any character that is not a letter,
digit, whitespace or backslash; a backslash protects the next character. Flags toggle:

* regexp: ``i`` (case-insensitive, on by default), ``m`` (REG_NEWLINE), ``x`` (extended
  syntax, on by default: turning it off selects basic regular expressions);
* pcre: ``i`` (on), ``m``, ``s`` (dot matches newline, on), ``x``, ``A`` (anchored),
  ``E`` (dollar at end only), ``U`` (ungreedy); ``X`` is obsolete with PCRE2 and ignored
  with a warning.

Results may use ``$1``..``$n``, ``${n}``, ``$(n)`` and ``$$`` (:mod:`vmail.tables.substitute`);
negated rules may not use ``$n``. A rule without a result answers the empty string (with a
warning), as Postfix does. Every bad rule is skipped with a ``file:line`` warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from vmail.core.errors import ConfigError, Location
from vmail.tables.base import Table, TableContext
from vmail.tables.patternfile import rule_lines
from vmail.tables.regex_pcre import PcreError, compile_pcre
from vmail.tables.regex_posix import PosixRegexError, compile_posix
from vmail.tables.registry import register
from vmail.tables.rules import Groups, Matcher, RuleError, Step, compile_rules, run_rules
from vmail.tables.source import warn
from vmail.tables.substitute import Template, TemplateError, parse_template

Compiler = Callable[[str, str], "tuple[re.Pattern[str], bool]"]
"""``compiler(pattern, flags)``: the compiled pattern and whether it is anchored."""


def _toggle(flags: str, allowed: str, defaults: str, table_type: str) -> set[str]:
    on = set(defaults)
    for f in flags:
        if f == "X" and table_type == "pcre":
            raise _ObsoleteFlagError(f)
        if f not in allowed:
            raise RuleError(f'unknown regexp option "{f}": skipping this rule')
        on ^= {f}
    return on


class _ObsoleteFlagError(Exception):
    pass


def _compile_regexp(pattern: str, flags: str) -> tuple[re.Pattern[str], bool]:
    on = _toggle(flags, "imx", "ix", "regexp")
    try:
        compiled = compile_posix(pattern, icase="i" in on, extended="x" in on, newline="m" in on)
    except PosixRegexError as e:
        raise RuleError(str(e)) from None
    return compiled, False


def _compile_pcre(pattern: str, flags: str) -> tuple[re.Pattern[str], bool]:
    on = _toggle(flags, "imsxAEU", "is", "pcre")
    try:
        compiled = compile_pcre(
            pattern,
            icase="i" in on,
            multiline="m" in on,
            dotall="s" in on,
            extended="x" in on,
            ungreedy="U" in on,
            dollar_endonly="E" in on,
        )
    except PcreError as e:
        raise RuleError(f"{e}: skipping this rule") from None
    return compiled, "A" in on


def _split_pattern(text: str) -> tuple[bool, str, str, str]:
    """``(negated, pattern, flags, rest)`` of ``!/pattern/flags rest``."""
    negated = text.startswith("!")
    body = text[1:] if negated else text
    if not body or body[0].isalnum() or body[0] in " \t\\":
        raise RuleError("ignoring unrecognized request")
    delimiter = body[0]
    i = 1
    while i < len(body) and body[i] != delimiter:
        i += 2 if body[i] == "\\" else 1
    if i >= len(body):
        raise RuleError(f'no closing regexp delimiter "{delimiter}": skipping this rule')
    pattern = body[1:i]
    j = i + 1
    while j < len(body) and body[j] not in " \t":
        j += 1
    return negated, pattern, body[i + 1 : j], body[j:].strip()


def _matcher(compiled: re.Pattern[str], anchored: bool, negated: bool) -> Matcher:
    find = compiled.match if anchored else compiled.search
    if negated:

        def negative(key: str) -> Groups | None:
            return None if find(key) else ()

        return negative

    def positive(key: str) -> Groups | None:
        m = find(key)
        return None if m is None else m.groups()

    return positive


class _Parser:
    """Parses the lines of one regexp or pcre table."""

    def __init__(self, table_type: str) -> None:
        self.table_type = table_type
        self.compiler = _compile_pcre if table_type == "pcre" else _compile_regexp

    def _compile(self, pattern: str, flags: str, where: Location) -> tuple[re.Pattern[str], bool]:
        try:
            return self.compiler(pattern, flags)
        except _ObsoleteFlagError:
            warn(where, 'ignoring obsolete regexp option "X"')
            return self.compiler(pattern, flags.replace("X", ""))

    def rule(self, text: str, where: Location) -> tuple[Matcher, Template]:
        negated, pattern, flags, result = _split_pattern(text)
        compiled, anchored = self._compile(pattern, flags, where)
        if not result:
            warn(where, "no replacement text: using empty string")
        try:
            template = parse_template(result, 99 if negated else compiled.groups)
        except TemplateError as e:
            raise RuleError(f"{e}: skipping this rule") from None
        if negated and template.groups:
            raise RuleError("$number found in negative match replacement text: skipping this rule")
        return _matcher(compiled, anchored, negated), template

    def condition(self, text: str, where: Location) -> Matcher:
        negated, pattern, flags, rest = _split_pattern(text)
        if rest:
            warn(where, f'ignoring extra text after IF statement: "{rest}"')
        compiled, anchored = self._compile(pattern, flags, where)
        return _matcher(compiled, anchored, negated)


class RegexpTable(Table):
    """A regexp or pcre table: the first applicable rule's result."""

    pattern = True
    fold_case = False
    local = True

    def __init__(self, spec: str, steps: Sequence[Step[str]]) -> None:
        super().__init__(spec)
        self.steps = tuple(steps)

    def lookup(self, key: str) -> str | None:
        return run_rules(self.steps, key)


def _opener(table_type: str) -> Callable[[str, str, TableContext], Table]:
    def open_table(spec: str, name: str, context: TableContext) -> Table:
        if not name:
            raise ConfigError(f'open dictionary: expecting "type:name" form instead of "{spec}"')
        parser = _Parser(table_type)
        lines = rule_lines(table_type, name, context)
        return RegexpTable(spec, compile_rules(lines, parser.rule, parser.condition))

    return open_table


register("regexp", _opener("regexp"))
register("pcre", _opener("pcre"))
