"""Perl-compatible expressions (PCRE2, as Postfix's ``pcre:`` tables use them) in Python.

Python's ``re`` is close to PCRE; :func:`translate` rewrites what differs:

* named groups ``(?<n>..)``/``(?'n'..)`` and references ``\\k<n>``/``\\k'n'``/``\\k{n}``/
  ``(?P>n)`` (the last is unsupported);
* ``\\z`` → ``\\Z``; PCRE's ``\\Z`` (end, or before a final newline); ``\\h \\H \\v \\V \\R \\N
  \\e \\cX \\x{...} \\o{...}``; ``\\Q...\\E`` quoting;
* POSIX classes ``[[:alpha:]]`` inside brackets; a literal ``[`` inside a class;
* inline options in the middle of a pattern (``a(?i)b``), which Python only accepts at
  the start, become scoped groups ``a(?i:b)`` up to the end of the enclosing group;
* the table flags: ``x`` (whitespace and ``#`` comments are removed here), ``U``
  (greediness of every quantifier inverted), ``E`` (``$`` only at the very end).

Unsupported constructs raise :class:`PcreError` naming the construct, so the rule is
skipped with a warning (as Postfix skips a rule whose pattern does not compile):
``\\K``, ``\\G``, ``\\X``, ``\\C``, ``\\p{..}``/``\\P{..}``, recursion and subroutine calls,
``(?|...)``, ``(*VERB)``, callouts, and the ``U``/``J``/``n`` inline options.
Python's ``\\d \\w \\s \\b`` and case-insensitivity use Unicode meanings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vmail.tables.regex_classes import PCRE_ONLY_CLASSES, POSIX_CLASSES

_PCRE_CLASSES = {**POSIX_CLASSES, **PCRE_ONLY_CLASSES}

_HSPACE = r"\t \xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000"
_VSPACE = r"\n\x0b\f\r\x85\u2028\u2029"
_SIMPLE_ESCAPES = {
    "z": r"\Z",
    "Z": r"(?=\n?\Z)",
    "h": f"[{_HSPACE}]",
    "H": f"[^{_HSPACE}]",
    "v": f"[{_VSPACE}]",
    "V": f"[^{_VSPACE}]",
    "R": f"(?:\\r\\n|[{_VSPACE}])",
    "e": r"\x1b",
}
_CLASS_ESCAPES = {"h": _HSPACE, "v": _VSPACE, "e": r"\x1b"}
_UNSUPPORTED_ESCAPES = "KGXCpPgE"
_QUANTIFIER = re.compile(r"[*+?]|\{\d+(?:,\d*)?\}")
_INLINE_OPTIONS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?(\)|:)")


class PcreError(ValueError):
    """The pattern is invalid, or uses a construct Python cannot express."""


@dataclass
class _Translator:
    pattern: str
    extended: bool
    ungreedy: bool
    dollar_endonly: bool
    pos: int = 0
    out: list[str] = field(default_factory=list)
    # for each open group: how many scoped option groups to close with it
    opened: list[int] = field(default_factory=lambda: [0])

    def run(self) -> str:
        p = self.pattern
        while self.pos < len(p):
            c = p[self.pos]
            if self.extended and c in " \t\n\r\f\v":
                self.pos += 1
            elif self.extended and c == "#":
                end = p.find("\n", self.pos)
                self.pos = len(p) if end < 0 else end + 1
            elif c == "\\":
                self.escape()
            elif c == "[":
                self.out.append(self.char_class())
            elif c == "(":
                self.open_group()
            elif c == ")":
                self.pos += 1
                self.out.append(")" * (self.opened.pop() + 1) if len(self.opened) > 1 else ")")
                if not self.opened:
                    self.opened.append(0)
                self.quantifier()
            elif c == "$" and self.dollar_endonly:
                self.pos += 1
                self.out.append(r"\Z")
            elif _QUANTIFIER.match(p, self.pos):
                self.quantifier()
            elif c == "{" and re.match(r"\{,\d+\}", p[self.pos :]):
                self.pos += 1
                self.out.append(r"\{")  # {,n} is literal in PCRE2 10.42
            else:
                self.pos += 1
                self.out.append(c)
        self.out.append(")" * self.opened[0])
        return "".join(self.out)

    def quantifier(self) -> None:
        m = _QUANTIFIER.match(self.pattern, self.pos)
        if m is None:
            return
        self.pos = m.end()
        self.out.append(m.group())
        nxt = self.pattern[self.pos : self.pos + 1]
        if nxt == "+":  # possessive
            self.pos += 1
            self.out.append("+")
        elif nxt == "?":
            self.pos += 1
            if not self.ungreedy:
                self.out.append("?")
        elif self.ungreedy:
            self.out.append("?")

    def open_group(self) -> None:
        p, i = self.pattern, self.pos
        rest = p[i:]
        if rest.startswith("(*"):
            raise PcreError(f'unsupported PCRE construct "{rest[:8]}"')
        m = _INLINE_OPTIONS.match(p, i)
        if m is not None:
            on, off = m.group(1), m.group(2) or ""
            bad = set(on + off) - set("imsx")
            if bad:
                raise PcreError(f'unsupported PCRE inline option "{"".join(sorted(bad))}"')
            self.pos = m.end()
            flags = on + (f"-{off}" if off else "")
            if m.group(3) == ")":
                if flags:  # scoped to the rest of the enclosing group
                    self.out.append(f"(?{flags}:")
                    self.opened[-1] += 1
                return
            self.out.append(f"(?{flags}:" if flags else "(?:")
            self.opened.append(0)
            return
        for prefix, replacement in (("(?<", "(?P<"), ("(?'", "(?P<")):
            if rest.startswith(prefix) and not rest.startswith(("(?<=", "(?<!")):
                end = p.find(">" if prefix == "(?<" else "'", i + 3)
                if end < 0:
                    raise PcreError("syntax error in subpattern name (missing terminator?)")
                self.out.append(replacement + p[i + 3 : end] + ">")
                self.pos = end + 1
                self.opened.append(0)
                return
        if rest.startswith(("(?(<", "(?('")):
            end = p.find(")", i)
            self.out.append("(?(" + p[i + 4 : end - 1] + ")")
            self.pos = end + 1
            self.opened.append(0)
            return
        if re.match(r"\(\?(\||R|[+-]?\d|&|P>|C)", rest):
            raise PcreError(f'unsupported PCRE construct "{rest[:4]}"')
        self.pos += 1
        self.out.append("(")
        self.opened.append(0)

    def escape(self) -> None:
        p = self.pattern
        if self.pos + 1 >= len(p):
            raise PcreError("\\ at end of pattern")
        c = p[self.pos + 1]
        self.pos += 2
        if c == "Q":
            end = p.find("\\E", self.pos)
            end = len(p) if end < 0 else end
            self.out.append(re.escape(p[self.pos : end]))
            self.pos = end + 2
        elif c in _SIMPLE_ESCAPES:
            self.out.append(_SIMPLE_ESCAPES[c])
        elif c == "N" and not p.startswith("{", self.pos):
            self.out.append(r"[^\n]")
        elif c == "k":
            self.out.append(f"(?P={self.braced_name()})")
        else:
            self.out.append(self.common_escape(c, in_class=False))
        self.quantifier()

    def braced_name(self) -> str:
        p = self.pattern
        close = {"<": ">", "'": "'", "{": "}"}.get(p[self.pos : self.pos + 1])
        end = p.find(close, self.pos + 1) if close else -1
        if end < 0:
            raise PcreError("\\k is not followed by a braced, angle-bracketed, or quoted name")
        name = p[self.pos + 1 : end]
        self.pos = end + 1
        return name

    def common_escape(self, c: str, *, in_class: bool) -> str:
        """Escapes meaning the same inside and outside a class (pos is after ``c``)."""
        p = self.pattern
        if c in _UNSUPPORTED_ESCAPES:
            raise PcreError(f'unsupported PCRE escape "\\{c}"')
        if c == "c":
            if self.pos >= len(p):
                raise PcreError("\\c at end of pattern")
            ch = p[self.pos]
            self.pos += 1
            return f"\\x{ord(ch.upper()) ^ 0x40:02x}"
        if c in "xo" and p.startswith("{", self.pos):
            end = p.find("}", self.pos)
            if end < 0:
                raise PcreError(f"missing }} after \\{c}{{")
            digits = p[self.pos + 1 : end]
            self.pos = end + 1
            try:
                code = int(digits, 16 if c == "x" else 8)
                return re.escape(chr(code))
            except ValueError:
                raise PcreError(f"bad \\{c}{{...}} escape") from None
        return "\\" + c

    def char_class(self) -> str:
        p = self.pattern
        self.pos += 1
        out = ["["]
        if p.startswith("^", self.pos):
            out.append("^")
            self.pos += 1
        first = True
        while True:
            if self.pos >= len(p):
                raise PcreError("missing terminating ] for character class")
            c = p[self.pos]
            if c == "]" and not first:
                self.pos += 1
                break
            first = False
            if c == "[":
                m = re.match(r"\[:(\^?)([a-z]+):\]", p[self.pos :])
                if m:
                    if m.group(2) not in _PCRE_CLASSES or m.group(1):
                        raise PcreError(f'unsupported POSIX class "{m.group()}"')
                    out.append(_PCRE_CLASSES[m.group(2)])
                    self.pos += m.end()
                    continue
                out.append(r"\[")
                self.pos += 1
            elif c == "\\":
                if self.pos + 1 >= len(p):
                    raise PcreError("\\ at end of pattern")
                e = p[self.pos + 1]
                self.pos += 2
                if e == "Q":
                    end = p.find("\\E", self.pos)
                    end = len(p) if end < 0 else end
                    out.append("".join("\\" + ch for ch in p[self.pos : end]))
                    self.pos = end + 2
                elif e in _CLASS_ESCAPES:
                    out.append(_CLASS_ESCAPES[e])
                elif e in "HVRN":
                    raise PcreError(f'unsupported PCRE escape "\\{e}" in a class')
                else:
                    out.append(self.common_escape(e, in_class=True))
            elif c in "&~|-" and p[self.pos + 1 : self.pos + 2] == c:
                out.append("\\" + c)  # Python reserves doubled set operators
                self.pos += 1
            else:
                out.append(c)
                self.pos += 1
        out.append("]")
        return "".join(out)


def translate(
    pattern: str, *, extended: bool = False, ungreedy: bool = False, dollar_endonly: bool = False
) -> str:
    """The Python ``re`` source for a PCRE pattern; PcreError if unsupported."""
    return _Translator(pattern, extended, ungreedy, dollar_endonly).run()


def compile_pcre(
    pattern: str,
    *,
    icase: bool = True,
    multiline: bool = False,
    dotall: bool = True,
    extended: bool = False,
    ungreedy: bool = False,
    dollar_endonly: bool = False,
) -> re.Pattern[str]:
    """Compile a PCRE pattern with PCRE2's option meanings."""
    flags = 0
    if icase:
        flags |= re.IGNORECASE
    if multiline:
        flags |= re.MULTILINE
    if dotall:
        flags |= re.DOTALL
    source = translate(
        pattern,
        extended=extended,
        ungreedy=ungreedy,
        dollar_endonly=dollar_endonly and not multiline,
    )
    try:
        return re.compile(source, flags)
    except re.error as e:
        raise PcreError(f"error in regex at offset {e.pos}: {e.msg}") from None
