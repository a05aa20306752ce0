"""``$1``, ``${1}``, ``$(1)`` and ``$$`` in regexp/pcre results, parsed once at load time.

Checked against Postfix 3.7: a ``$name`` reference takes every following letter, digit
and underscore (so ``$1x`` is the bad index ``1x``, write ``${1}x``); the index must be a
number from 1 to the number of groups in the pattern; a bad reference makes Postfix skip
the whole rule. A group that did not take part in the match expands to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_CLOSE = {"{": "}", "(": ")"}


class TemplateError(ValueError):
    """A result text that Postfix would reject (the rule is skipped)."""


@dataclass(frozen=True)
class Template:
    """Literal text and group numbers, in order."""

    parts: tuple[str | int, ...]

    @property
    def groups(self) -> tuple[int, ...]:
        return tuple(p for p in self.parts if isinstance(p, int))

    @property
    def constant(self) -> str | None:
        """The text itself when there is nothing to substitute."""
        if all(isinstance(p, str) for p in self.parts):
            return "".join(p for p in self.parts if isinstance(p, str))
        return None

    def expand(self, groups: Sequence[str | None]) -> str:
        """``groups[n - 1]`` is group n (None when it did not match)."""
        out: list[str] = []
        for p in self.parts:
            if isinstance(p, str):
                out.append(p)
            else:
                out.append(groups[p - 1] or "")
        return "".join(out)


def _index(name: str) -> int:
    if not name:
        raise TemplateError(f'empty macro name: "{name}"')
    if not name.isascii() or not name.isdigit():
        raise TemplateError(f'non-numeric replacement index "{name}"')
    return int(name)


def parse_template(text: str, group_count: int) -> Template:
    """Parse ``text``; TemplateError when Postfix would skip the rule."""
    parts: list[str | int] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "$":
            literal.append(c)
            i += 1
            continue
        if i + 1 < n and text[i + 1] == "$":
            literal.append("$")
            i += 2
            continue
        if i + 1 < n and text[i + 1] in _CLOSE:
            close = text.find(_CLOSE[text[i + 1]], i + 2)
            if close < 0:
                raise TemplateError(f'truncated macro reference: "{text[i:]}"')
            name = text[i + 2 : close]
            i = close + 1
        else:
            j = i + 1
            while j < n and ((text[j].isalnum() and text[j].isascii()) or text[j] == "_"):
                j += 1
            name = text[i + 1 : j]
            i = j
            if not name:
                raise TemplateError(f'empty macro name: "{text[i - 1 :]}"')
        index = _index(name)
        if index < 1 or index > group_count:
            raise TemplateError(f'out of range replacement index "{name}"')
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(index)
    if literal:
        parts.append("".join(literal))
    return Template(tuple(parts))
