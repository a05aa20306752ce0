"""RFC 5322 address-list parsing the way Dovecot's envelope sees it.

Produces IMAP address tuples ``(name, adl, mailbox, host)`` with group start/end
markers. Like Dovecot: a missing local part becomes ``MISSING_MAILBOX``, a missing
domain ``MISSING_DOMAIN``, a lone comment gives the name, and parsing stops at the
first syntax error keeping what was read so far.
"""

from __future__ import annotations

import re

Address = tuple[bytes | None, bytes | None, bytes | None, bytes | None]

MISSING_MAILBOX = b"MISSING_MAILBOX"
MISSING_DOMAIN = b"MISSING_DOMAIN"
GROUP_END: Address = (None, None, None, None)

_SPECIALS = frozenset(b'()<>@,;:\\".[] \t\r\n')
_LIST_ENDS = (0x2C, 0x3B, -1)  # , ; end


class _SyntaxError(Exception):
    """Internal: stop parsing, keep what was read."""


class _Parser:
    __slots__ = ("comment", "data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.comment: bytes | None = None

    def skip(self) -> int:
        """Skip white space and comments; return the next byte (-1 at the end)."""
        data, n = self.data, len(self.data)
        while self.pos < n:
            c = data[self.pos]
            if c in b" \t\r\n":
                self.pos += 1
            elif c == 0x28:  # (
                self._comment()
            else:
                return c
        return -1

    def _comment(self) -> None:
        data, n = self.data, len(self.data)
        depth, i, out = 0, self.pos, bytearray()
        while i < n:
            c = data[i]
            if c == 0x5C and i + 1 < n:
                out.append(data[i + 1])
                i += 2
                continue
            if c == 0x28:
                depth += 1
                if depth > 1:
                    out.append(c)
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    i += 1
                    break
                out.append(c)
            else:
                out.append(c)
            i += 1
        self.pos = i
        self.comment = bytes(out).strip()

    def atom(self) -> bytes:
        data, n, i = self.data, len(self.data), self.pos
        while i < n and data[i] not in _SPECIALS:
            i += 1
        word = data[self.pos : i]
        self.pos = i
        return word

    def quoted(self) -> bytes:
        data, n, i, out = self.data, len(self.data), self.pos + 1, bytearray()
        while i < n:
            c = data[i]
            if c == 0x5C and i + 1 < n:
                out.append(data[i + 1])
                i += 2
                continue
            if c == 0x22:
                i += 1
                break
            if c not in b"\r\n":
                out.append(c)
            i += 1
        self.pos = i
        return bytes(out)

    def word(self) -> tuple[bytes, bool] | None:
        """The next atom or quoted string (and whether it was quoted), or None."""
        c = self.skip()
        if c == 0x22:
            return self.quoted(), True
        if c < 0 or c in _SPECIALS:
            return None
        return self.atom(), False

    def phrase(self) -> tuple[bytes, bool, int]:
        """Words (and dots) up to a special; returns (text, only-quoted, word count)."""
        words: list[bytes] = []
        quoted_only = True
        while True:
            before = self.pos
            c = self.skip()
            gap = words and self.pos > before  # like Dovecot: "J.R. Bob", "a . b"
            if c == 0x2E:  # obsolete: dots in phrases
                self.pos += 1
                words.append(b" ." if gap else b".")
                quoted_only = False
                continue
            w = self.word()
            if w is None:
                break
            words.append(b" " + w[0] if gap else w[0])
            quoted_only = quoted_only and w[1]
        return b"".join(words), quoted_only, len(words)

    def dot_text(self, literal_ok: bool) -> bytes:
        """A dot-atom (or a domain literal); spaces and comments around dots dropped."""
        parts: list[bytes] = []
        while True:
            c = self.skip()
            if literal_ok and c == 0x5B:  # [
                end = self.data.find(b"]", self.pos)
                end = len(self.data) if end < 0 else end + 1
                parts.append(self.data[self.pos : end])
                self.pos = end
            elif c == 0x22 and not literal_ok:
                parts.append(self.quoted())
            else:
                w = self.atom() if c >= 0 and c not in _SPECIALS else b""
                if not w:
                    break
                parts.append(w)
            if self.skip() != 0x2E:
                break
            self.pos += 1
            parts.append(b".")
        return b"".join(parts)

    def angle(self, name: bytes | None) -> Address:
        """``<[route:]addr-spec>`` after the ``<``."""
        self.pos += 1
        adl: bytes | None = None
        if self.skip() == 0x40:  # obsolete route
            start = self.pos
            end = self.data.find(b":", start)
            if end < 0:
                raise _SyntaxError
            adl = self.data[start:end].replace(b" ", b"")
            self.pos = end + 1
        mailbox = self.dot_text(False)
        host = b""
        if self.skip() == 0x40:
            self.pos += 1
            host = self.dot_text(True)
        if self.skip() != 0x3E:
            raise _SyntaxError
        self.pos += 1
        return (name, adl, mailbox or MISSING_MAILBOX, host or MISSING_DOMAIN)

    def mailbox(self, out: list[Address]) -> None:
        """One mailbox (name-addr or addr-spec) appended to ``out``."""
        self.comment = None
        start = self.pos
        text, quoted_only, count = self.phrase()
        c = self.skip()
        if c == 0x3C:  # <
            name = text or self.comment or None
            out.append(self.angle(name))
            self.skip()
            if self.comment is not None and name is None:
                out[-1] = (self.comment, *out[-1][1:])
            return
        phrase_end = self.pos
        self.pos = start
        self.comment = None
        mailbox = self.dot_text(False)
        host = b""
        c = self.skip()
        if c == 0x40:
            self.pos += 1
            host = self.dot_text(True)
            c = self.skip()
        name = self.comment
        if not host and count and name is None and (quoted_only or c not in _LIST_ENDS):
            # Like Dovecot: words that are no address (quoted, or more than a local
            # part) are the display name of an address with neither mailbox nor domain.
            self.pos = phrase_end
            out.append((text, None, MISSING_MAILBOX, MISSING_DOMAIN))
            return
        if not mailbox and not host:
            raise _SyntaxError
        out.append((name, None, mailbox or MISSING_MAILBOX, host or MISSING_DOMAIN))

    def address(self, out: list[Address]) -> None:
        """One address: a group or a mailbox."""
        start = self.pos
        text, _, count = self.phrase()
        if count and self.skip() == 0x3A:  # group
            self.pos += 1
            out.append((None, None, text, None))
            try:
                while True:
                    c = self.skip()
                    if c == 0x3B or c < 0:
                        self.pos += 1
                        break
                    if c == 0x2C:
                        self.pos += 1
                        continue
                    self.mailbox(out)
                    if self.skip() not in (0x2C, 0x3B, -1):
                        raise _SyntaxError
            finally:
                out.append(GROUP_END)
            return
        self.pos = start
        self.mailbox(out)


_ATEXT = rb"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = _ATEXT + rb"(?:\." + _ATEXT + rb")*"
# The common shapes only: ``local@domain``, ``Words <local@domain>``,
# ``"Quoted" <local@domain>``; anything else goes through the full parser.
_SIMPLE = re.compile(
    rb"[ \t\n]*(?:(?:(" + _ATEXT + rb"(?:[ \t\n]+" + _ATEXT + rb')*)|"((?:[^"\\\r\n]|\\.)*)")?'
    rb"[ \t\n]*<("
    + _DOT_ATOM
    + rb")@("
    + _DOT_ATOM
    + rb")>|("
    + _DOT_ATOM
    + rb")@("
    + _DOT_ATOM
    + rb"))[ \t\n]*(?:,|$)"
)
_SPACES = re.compile(rb"[ \t\n]+")
_ESCAPE = re.compile(rb"\\(.)")


def _simple(value: bytes) -> list[Address] | None:
    out: list[Address] = []
    pos, end = 0, len(value)
    match = _SIMPLE.match
    while pos < end:
        m = match(value, pos)
        if m is None:
            return None
        atoms, quoted, mailbox, host, bare_mailbox, bare_host = m.groups()
        if bare_mailbox is not None:
            out.append((None, None, bare_mailbox, bare_host))
        else:
            name = None
            if atoms:
                name = (
                    _SPACES.sub(b" ", atoms)
                    if b"  " in atoms or b"\t" in atoms or b"\n" in atoms
                    else atoms
                )
            elif quoted:
                name = _ESCAPE.sub(rb"\1", quoted) if b"\\" in quoted else quoted
            out.append((name, None, mailbox, host))
        pos = m.end()
    return out


def parse_addresses(value: bytes) -> list[Address]:
    """The addresses of one header value (empty when there are none)."""
    fast = _simple(value)
    if fast is not None:
        return fast
    p = _Parser(value)
    out: list[Address] = []
    try:
        while True:
            c = p.skip()
            if c < 0:
                break
            if c == 0x2C:
                p.pos += 1
                continue
            p.address(out)
            if p.skip() not in (0x2C, -1):
                break
    except _SyntaxError:
        pass
    return out


__all__ = ["GROUP_END", "MISSING_DOMAIN", "MISSING_MAILBOX", "Address", "parse_addresses"]
