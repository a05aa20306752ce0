"""The ``%`` templates of SQL table ``.cf`` files: ``query`` and ``result_format``.

Both templates know ``%%``, ``%s``, ``%u``, ``%d``, ``%S``, ``%U``, ``%D`` and ``%1``..``%9``.
In ``query`` every directive takes its text from the lookup key, SQL-quoted. In
``result_format`` the lower-case ones take it from each result value and the upper-case
ones and digits from the lookup key, unquoted. Whenever a directive has nothing to insert,
the whole expansion is abandoned: the query is not sent (the lookup finds nothing), or the
result value is left out. Postfix 3.7 behaves this way (checked with ``postmap -q``):

* an address is split at its *last* ``@``;
* ``%u`` is the local part, or the whole text when there is no ``@``; an empty local part
  (``@example.com``) has nothing to insert;
* ``%d`` is the domain; text without ``@`` or with an empty domain (``user@``) has none;
* ``%1`` is the last label of the domain, ``%2`` the one before it, …; empty labels
  (``a@.com``, ``a@com.``) are not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_DIRECTIVES = frozenset("sudSUD123456789")
_FROM_KEY = frozenset("SUD123456789")

Quote = Callable[[str], str]


def no_quote(text: str) -> str:
    return text


@dataclass(frozen=True)
class AddressParts:
    """What the directives can insert for one text (a lookup key or a result value)."""

    whole: str
    local: str | None
    domain: str | None
    labels: tuple[str, ...]  # domain labels, last one first: ("com", "example", ...)

    @classmethod
    def of(cls, text: str) -> AddressParts:
        at = text.rfind("@")
        if at < 0:
            return cls(text, text, None, ())
        local, domain = text[:at], text[at + 1 :]
        labels = tuple(reversed([label for label in domain.split(".") if label]))
        return cls(text, local or None, domain or None, labels)

    def get(self, directive: str) -> str | None:
        """The text for a lower-case directive or digit; None when there is none."""
        if directive == "s":
            return self.whole
        if directive == "u":
            return self.local
        if directive == "d":
            return self.domain
        index = int(directive) - 1
        return self.labels[index] if index < len(self.labels) else None


class TemplateError(ValueError):
    """A ``%`` followed by something other than a known directive."""


class Template:
    """A parsed template: literal text and directives, in order."""

    def __init__(self, text: str) -> None:
        self.text = text
        parts: list[tuple[bool, str]] = []  # (is_directive, literal text or directive letter)
        literal: list[str] = []
        i = 0
        while i < len(text):
            c = text[i]
            if c != "%":
                literal.append(c)
                i += 1
                continue
            if i + 1 >= len(text):
                raise TemplateError(text)
            d = text[i + 1]
            i += 2
            if d == "%":
                literal.append("%")
            elif d in _DIRECTIVES:
                if literal:
                    parts.append((False, "".join(literal)))
                    literal = []
                parts.append((True, d))
            else:
                raise TemplateError(text)
        if literal:
            parts.append((False, "".join(literal)))
        self.parts = tuple(parts)
        self.key_directives = frozenset(p for is_d, p in parts if is_d and p in _FROM_KEY)

    def key_complete(self, key: AddressParts) -> bool:
        """Whether every key directive (``%S %U %D %1``…) has text for this key."""
        return all(key.get(d.lower()) is not None for d in self.key_directives)

    def expand(self, key: AddressParts, value: AddressParts | None, quote: Quote) -> str | None:
        """Fill in the template; None when a directive has nothing to insert.

        Lower-case directives read ``value`` when one is given (``result_format``) and
        the key otherwise (``query``).
        """
        out: list[str] = []
        for is_directive, text in self.parts:
            if not is_directive:
                out.append(text)
                continue
            source = key if value is None or text in _FROM_KEY else value
            piece = source.get(text.lower())
            if piece is None:
                return None
            out.append(quote(piece))
        return "".join(out)

    def parameterized(self) -> tuple[str, tuple[str, ...]] | None:
        """The query with each directive as a ``?`` parameter, for SQLite; None if unsafe.

        Only possible when every directive sits inside a single-quoted string literal:
        ``x = 'a%sb'`` becomes ``x = 'a' || ? || 'b'``, which SQLite evaluates to the same
        text as the quoted expansion — but as one statement text for every key, so SQLite
        compiles it once instead of once per lookup. Returns the SQL and the directive
        letters in parameter order.
        """
        literal_text = "".join(text for is_directive, text in self.parts if not is_directive)
        if any(mark in literal_text for mark in ('"', "`", "--", "/*", "[")):
            return None  # quotes could hide in identifiers or comments: keep it simple
        out: list[str] = []
        directives: list[str] = []
        quoted = False
        for is_directive, text in self.parts:
            if is_directive:
                if not quoted:
                    return None
                out.append("' || ? || '")
                directives.append(text)
            else:
                out.append(text)
                quoted ^= text.count("'") % 2 == 1
        return "".join(out), tuple(directives)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"
