"""SORT and THREAD keys: RFC 5256 base subject, first-address keys, RFC 5957 display keys."""

from __future__ import annotations

import re

from .addresses import Address
from .headers import to_text
from .words import decode_words

_WSP = re.compile(r"[ \t\r\n]+")
_TRAILER = re.compile(r"(?:\s*\(fwd\)|\s+)$", re.I)
_BLOB = r"\[[^\[\]]*\]\s*"
_LEADER = re.compile(rf"^(?:{_BLOB})*(?:re|fwd?)\s*(?:{_BLOB})?:\s*", re.I)
_BLOB_LEADER = re.compile(rf"^{_BLOB}")
_FWD_WRAP = re.compile(r"^\[fwd:(.*)\]$", re.I | re.S)
_MSGID = re.compile(rb"<([^<>\s]*)>")


def base_subject(subject: str) -> str:
    """RFC 5256 section 2.1 base subject of an already decoded subject (case kept)."""
    s = _WSP.sub(" ", subject).strip(" ")
    while True:
        while True:  # (2) trailers
            t = _TRAILER.sub("", s)
            if t == s:
                break
            s = t
        while True:  # (3)-(5) leaders and blobs
            t = _LEADER.sub("", s, count=1)
            if t == s:
                b = _BLOB_LEADER.sub("", s, count=1)
                if b != s and b.strip():
                    t = b
            if t == s:
                break
            s = t
        m = _FWD_WRAP.match(s)  # (6) [fwd: ...] wrapper
        if m is None:
            return s
        s = m.group(1).strip(" ")


def first_address(addresses: list[Address]) -> Address | None:
    """The first real address (not a group marker), or None."""
    for a in addresses:
        if a[3] is not None:
            return a
    return None


def sort_key(addresses: list[Address]) -> str:
    """RFC 5256 FROM/TO/CC key: the first address's mailbox, lower-cased."""
    a = first_address(addresses)
    return "" if a is None or a[2] is None else to_text(a[2]).lower()


def display_key(addresses: list[Address]) -> str:
    """RFC 5957 DISPLAYFROM/DISPLAYTO key: decoded display name, else the addr-spec."""
    a = first_address(addresses)
    if a is None:
        return ""
    if a[0]:
        return decode_words(to_text(a[0]))
    return to_text((a[2] or b"") + b"@" + (a[3] or b""))


def message_ids(value: bytes | None) -> tuple[str, ...]:
    """The message-ids in a Message-ID/In-Reply-To/References value, without <>."""
    if not value:
        return ()
    return tuple(to_text(m) for m in _MSGID.findall(value) if m)


__all__ = ["base_subject", "display_key", "first_address", "message_ids", "sort_key"]
