"""POSIX regular expressions (regcomp(3), as Postfix's ``regexp:`` tables use them) in Python.

:func:`translate` rewrites an extended (ERE) or basic (BRE) expression as Python ``re``
syntax with the same matches:

* bracket expressions: ``]`` first is literal, a backslash is literal, ``[:class:]``
  names become explicit sets (ASCII meaning), ``[=c=]``/``[.c.]`` become the character;
* without ``REG_NEWLINE`` (the ``m`` flag off) ``.`` and ``[^...]`` match a newline and
  ``$`` matches only at the very end (``\\Z``); with it, ``^``/``$`` also match at
  newlines and ``.``/``[^...]`` do not match one;
* GNU escapes ``\\w \\W \\s \\S \\b \\B \\< \\> \\``` ``\\'`` and back-references ``\\1``..``\\9``;
  any other escaped character stands for itself;
* a repetition with nothing before it is an error in an ERE (literal in a BRE), as is a
  ``{`` that does not start a valid interval; a repeated repetition (``a+?``, ``a**``) repeats
  the repetition (greedily), as in POSIX, rather than meaning "lazy";
* BRE: ``\\( \\) \\{ \\} \\| \\+ \\?`` are the operators, ``^``/``$`` are anchors only at
  the ends of the expression or of a group.

Not emulated: POSIX's leftmost-*longest* rule. Whether a key matches is the same, but
with alternatives of different lengths (``(a|ab)``) the text captured for ``$n`` may be
shorter than Postfix's. Bracket classes use ASCII meanings (Postfix runs in the C locale).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vmail.tables.regex_classes import POSIX_CLASSES

_GNU_ESCAPES = {
    "w": r"\w",
    "W": r"\W",
    "s": r"\s",
    "S": r"\S",
    "b": r"\b",
    "B": r"\B",
    "<": r"\b(?=\w)",
    ">": r"\b(?<=\w)",
    "`": r"\A",
    "'": r"\Z",
}
_INTERVAL = re.compile(r"\{(\d+)(,(\d*))?\}")
_BRE_INTERVAL = re.compile(r"\\\{(\d+)(,(\d*))?\\\}")


class PosixRegexError(ValueError):
    """The expression is invalid (regcomp would fail)."""


def _class_char(c: str) -> str:
    return "\\" + c if c in "\\]^-[" else c


@dataclass
class _Level:
    """The pieces of one group; each piece is (text, kind)."""

    pieces: list[tuple[str, str]] = field(default_factory=list)

    def last_is_atom(self) -> bool:
        return bool(self.pieces) and self.pieces[-1][1] in ("atom", "repeat")


@dataclass
class _Translator:
    pattern: str
    extended: bool
    newline: bool
    pos: int = 0
    stack: list[_Level] = field(default_factory=lambda: [_Level()])

    # -- output helpers ------------------------------------------------------------

    def emit(self, text: str, kind: str = "atom") -> None:
        self.stack[-1].pieces.append((text, kind))

    def repeat(self, quantifier: str) -> None:
        level = self.stack[-1]
        if not level.last_is_atom():
            if self.extended:
                raise PosixRegexError("Invalid preceding regular expression")
            self.emit(re.escape(quantifier[0]) + quantifier[1:])  # BRE: literal
            return
        text, kind = level.pieces[-1]
        if kind == "repeat":
            text = f"(?:{text})"
        level.pieces[-1] = (text + quantifier, "repeat")

    def at_expression_start(self) -> bool:
        pieces = self.stack[-1].pieces
        return not pieces or pieces[-1][1] == "alt"

    # -- main loop -----------------------------------------------------------------

    def run(self) -> str:
        p = self.pattern
        while self.pos < len(p):
            c = p[self.pos]
            self.pos += 1
            if c == "\\":
                self.escape()
            elif c == "[":
                self.emit(self.bracket())
            elif c == ".":
                self.emit(r"[^\n]" if self.newline else ".")
            elif c == "^":
                self.caret()
            elif c == "$":
                self.dollar()
            elif c == "*":
                if self.at_expression_start() and not self.extended:
                    self.emit(r"\*")
                else:
                    self.repeat("*")
            elif self.extended and c in "+?":
                self.repeat(c)
            elif self.extended and c == "{":
                self.interval(_INTERVAL, c)
            elif self.extended and c == "(":
                self.stack.append(_Level())
            elif self.extended and c == ")":
                self.close_group()
            elif self.extended and c == "|":
                self.emit("|", "alt")
            else:
                self.emit(re.escape(c))
        if len(self.stack) != 1:
            raise PosixRegexError("Unmatched ( or \\(")
        return "".join(text for text, _ in self.stack[0].pieces)

    def close_group(self) -> None:
        if len(self.stack) == 1:
            if self.extended:
                self.emit(r"\)")  # an unmatched ")" in an ERE is an ordinary character
                return
            raise PosixRegexError("Unmatched ) or \\)")
        inner = self.stack.pop()
        self.emit("(" + "".join(text for text, _ in inner.pieces) + ")")

    def interval(self, pattern: re.Pattern[str], c: str) -> None:
        if not self.stack[-1].last_is_atom():
            raise PosixRegexError("Invalid preceding regular expression")
        m = pattern.match(self.pattern, self.pos - len(c))
        if m is None:
            close = "}" if self.extended else "\\}"
            if self.pattern.find(close, self.pos) < 0:
                raise PosixRegexError("Unmatched \\{")
            raise PosixRegexError("Invalid content of \\{\\}")
        low, comma, high = m.group(1), m.group(2), m.group(3)
        if high and int(high) < int(low):
            raise PosixRegexError("Invalid content of \\{\\}")
        self.pos = m.end()
        self.repeat("{" + low + ("," + high if comma else "") + "}")

    def caret(self) -> None:
        if self.extended or self.at_expression_start():
            self.emit("^", "anchor")
        else:
            self.emit(r"\^")

    def dollar(self) -> None:
        anchor = "$" if self.newline else r"\Z"
        if self.extended:
            self.emit(anchor, "anchor")
            return
        rest = self.pattern[self.pos :]
        if not rest or rest.startswith(("\\)", "\\|")):
            self.emit(anchor, "anchor")
        else:
            self.emit(r"\$")

    def escape(self) -> None:
        p = self.pattern
        if self.pos >= len(p):
            raise PosixRegexError("Trailing backslash")
        c = p[self.pos]
        self.pos += 1
        if not self.extended:
            if c == "(":
                self.stack.append(_Level())
                return
            if c == ")":
                self.close_group()
                return
            if c == "{":
                self.interval(_BRE_INTERVAL, "\\{")
                return
            if c == "|":
                self.emit("|", "alt")
                return
            if c in "+?":
                self.repeat(c)
                return
        if c in "123456789":
            self.emit(f"(?:\\{c})")
        elif c in _GNU_ESCAPES:
            self.emit(_GNU_ESCAPES[c], "anchor" if c in "bB<>`'" else "atom")
        else:
            self.emit(re.escape(c))

    def bracket(self) -> str:
        """Translate a bracket expression; ``self.pos`` is just after ``[``."""
        p = self.pattern
        negate = p.startswith("^", self.pos)
        if negate:
            self.pos += 1
        items: list[str] = []
        first = True
        while True:
            if self.pos >= len(p):
                raise PosixRegexError("Unmatched [, [^, [:, [., or [=")
            c = p[self.pos]
            if c == "]" and not first:
                self.pos += 1
                break
            first = False
            if c == "[" and p[self.pos + 1 : self.pos + 2] in (":", "=", "."):
                kind = p[self.pos + 1]
                end = p.find(kind + "]", self.pos + 2)
                if end < 0:
                    raise PosixRegexError("Unmatched [, [^, [:, [., or [=")
                name = p[self.pos + 2 : end]
                self.pos = end + 2
                if kind == ":":
                    if name not in POSIX_CLASSES:
                        raise PosixRegexError("Invalid character class name")
                    items.append(POSIX_CLASSES[name])
                elif len(name) == 1:
                    items.append(_class_char(name))
                else:
                    raise PosixRegexError("Invalid collation character")
                continue
            self.pos += 1
            if (
                p[self.pos : self.pos + 1] == "-"
                and self.pos + 1 < len(p)
                and p[self.pos + 1] != "]"
            ):
                high = p[self.pos + 1]
                if ord(high) < ord(c):
                    raise PosixRegexError("Invalid range end")
                items.append(_class_char(c) + "-" + _class_char(high))
                self.pos += 2
                continue
            items.append(_class_char(c))
        body = "".join(items)
        if negate:
            return "[^" + body + (r"\n" if self.newline else "") + "]"
        return "[" + body + "]"


def translate(pattern: str, *, extended: bool = True, newline: bool = False) -> str:
    """The Python ``re`` source for a POSIX expression; PosixRegexError if it is invalid."""
    return _Translator(pattern, extended, newline).run()


def compile_posix(
    pattern: str, *, icase: bool = True, extended: bool = True, newline: bool = False
) -> re.Pattern[str]:
    """Compile a POSIX expression with regcomp's flag meanings."""
    flags = re.DOTALL
    if icase:
        flags |= re.IGNORECASE
    if newline:
        flags |= re.MULTILINE
    source = translate(pattern, extended=extended, newline=newline)
    try:
        return re.compile(source, flags)
    except re.error as e:
        raise PosixRegexError(f"Invalid regular expression ({e})") from None
