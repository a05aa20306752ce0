"""Addresses in message headers, rewritten as Postfix's cleanup(8) rewrites them.

Postfix looks for addresses in the sender headers (``From:``, ``Sender:``,
``Reply-To:``, ``Errors-To:``, ``Return-Path:``, ...) and recipient headers (``To:``,
``Cc:``, ``Bcc:``, ``Resent-To:``, ...) of the primary header section (header_opts.c),
and rewrites each address: made complete in the ``local`` context (``@$myorigin``,
``.$mydomain``) or with ``remote_header_rewrite_domain``, then mapped with the
canonical tables for ``header_sender`` or ``header_recipient``. :func:`address_spans`
finds the ``addr-spec`` of each mailbox in an RFC 5322 address list (display names,
comments, quoted strings and groups are skipped); :class:`HeaderRewriter` streams the
content and replaces only the addresses that change, leaving the rest of each header as it
was. It also leaves out the headers named in ``message_drop_headers`` (``Bcc:``,
``Resent-Bcc:``, ``Content-Length:``, ``Return-Path:`` by default), as Postfix's cleanup
does with the primary header section.
"""

from __future__ import annotations

from collections.abc import Callable

from vmail.core.address import Address, AddressError
from vmail.core.headersection import HeaderSection, header_name

SENDER_HEADERS = frozenset(
    {
        b"disposition-notification-to",
        b"errors-to",
        b"from",
        b"mail-followup-to",
        b"reply-to",
        b"resent-from",
        b"resent-sender",
        b"return-path",
        b"return-receipt-to",
        b"sender",
    }
)
RECIPIENT_HEADERS = frozenset(
    {
        b"apparently-to",
        b"bcc",
        b"cc",
        b"resent-bcc",
        b"resent-cc",
        b"resent-reply-to",
        b"resent-to",
        b"to",
    }
)
Rewrite = Callable[[Address], Address]
_ADDRESS_HEADERS = SENDER_HEADERS | RECIPIENT_HEADERS
_KINDS = (SENDER_HEADERS, RECIPIENT_HEADERS)


def address_spans(value: str) -> list[tuple[int, int]]:
    """Where the ``addr-spec`` of each mailbox of the address list ``value`` is."""
    spans: list[tuple[int, int]] = []
    words: list[tuple[int, int]] = []  # the element's text outside comments and brackets
    angle: tuple[int, int] | None = None  # the element's <addr-spec>
    i, n = 0, len(value)

    def element_end() -> None:
        nonlocal angle
        if angle is not None:
            spans.append(angle)
        elif words and all(words[k][1] == words[k + 1][0] for k in range(len(words) - 1)):
            spans.append((words[0][0], words[-1][1]))  # a bare addr-spec, no spaces inside
        words.clear()
        angle = None

    while i < n:
        c = value[i]
        if c == "(":
            i = _skip_comment(value, i)
        elif c == '"':
            end = _skip_quoted(value, i)
            words.append((i, end))
            i = end
        elif c == "<":
            end = value.find(">", i)
            end = n if end < 0 else end
            start = i + 1
            route = value.rfind(":", start, end)  # an obsolete route "@a,@b:" is not rewritten
            angle = (route + 1 if route >= 0 else start, end)
            i = end + 1
        elif c in ",;":
            element_end()
            i += 1
        elif c == ":":  # a group's display name: no address
            words.clear()
            angle = None
            i += 1
        elif c in " \t\r\n":
            i += 1
        else:
            start = i
            while i < n and value[i] not in ' \t\r\n(",;:<':
                if value[i] == "[":  # a domain literal, colons and all
                    close = value.find("]", i)
                    i = n if close < 0 else close
                i += 1
            if words and words[-1][1] == start:
                words[-1] = (words[-1][0], i)
            else:
                words.append((start, i))
    element_end()
    return [(s, e) for s, e in spans if e > s]


def rewrite_addresses(value: str, rewrite: Rewrite) -> str | None:
    """``value`` with each address rewritten; None when none changed."""
    out: list[str] = []
    last = 0
    changed = False
    for start, end in address_spans(value):
        text = value[start:end]
        try:
            address = Address.parse(text)
        except AddressError:
            continue
        new = rewrite(address).external
        if new != text:
            out += [value[last:start], new]
            last = end
            changed = True
    if not changed:
        return None
    out.append(value[last:])
    return "".join(out)


class HeaderRewriter(HeaderSection):
    """Streams the content, rewriting the addresses of the primary header section's
    sender and recipient headers (``rewrite``: a function for each, or None) and leaving
    out the headers named in ``drop`` (lower case). A header longer than ``limit`` passes
    as it is."""

    def __init__(
        self, limit: int, rewrite: tuple[Rewrite, Rewrite] | None, drop: frozenset[bytes]
    ) -> None:
        super().__init__(limit)
        self.rewrites = {} if rewrite is None else dict(zip(_KINDS, rewrite, strict=True))
        self.drop = drop
        self._lines: list[bytes] = []
        self._size = 0
        self._dropping = False  # in a header that is left out

    def held_size(self) -> int:
        return self._size

    def header_line(self, line: bytes, out: list[bytes]) -> bool:
        if line[:1] in (b" ", b"\t"):  # a continuation: held only for address headers
            if self._lines:
                self._lines.append(line)
                self._size += len(line)
            elif not self._dropping:
                out.append(line)
            return True
        self._flush(out)
        name = header_name(line)
        if name is None:
            self.in_header = False
            return False
        lower = name.lower()
        self._dropping = lower in self.drop
        if self._dropping:
            return True
        if self.rewrites and lower in _ADDRESS_HEADERS:
            self._lines, self._size = [line], len(line)
        else:
            out.append(line)  # nothing to do with it: it passes at once
        return True

    def end(self, out: list[bytes]) -> None:
        out.extend(self._lines)
        self._lines, self._size = [], 0
        self.in_header = False

    def finish(self) -> bytes:
        """What is held at the end of the content."""
        out: list[bytes] = []
        partial = self.take_partial()
        if self.in_header and partial and not self.header_line(partial, out):
            out.append(partial)
        self._flush(out)
        return b"".join(out)

    def _flush(self, out: list[bytes]) -> None:
        if not self._lines:
            return
        raw = b"".join(self._lines)
        self._lines, self._size = [], 0
        colon = raw.find(b":")
        name = raw[:colon].rstrip(b" \t").lower()
        for names, rewrite in self.rewrites.items():  # (sender headers, recipient headers)
            if name in names:
                body = raw[colon + 1 :]
                ending = body[len(body.rstrip(b"\r\n")) :]
                text = body[: len(body) - len(ending)].decode("utf-8", "surrogateescape")
                new = rewrite_addresses(text, rewrite)
                if new is not None:
                    raw = raw[: colon + 1] + new.encode("utf-8", "surrogateescape") + ending
                break
        out.append(raw)


def _skip_comment(value: str, i: int) -> int:
    depth = 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _skip_quoted(value: str, i: int) -> int:
    i += 1
    while i < len(value):
        if value[i] == "\\":
            i += 2
            continue
        if value[i] == '"':
            return i + 1
        i += 1
    return i


__all__ = [
    "RECIPIENT_HEADERS",
    "SENDER_HEADERS",
    "HeaderRewriter",
    "address_spans",
    "rewrite_addresses",
]
