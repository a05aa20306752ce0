"""ENVELOPE details not covered by the Dovecot corpus."""

from __future__ import annotations

from vmail.mailstore.message.envelope import envelope, for_humans
from vmail.mailstore.message.headers import collect


def _env(header: bytes) -> bytes:
    return envelope(collect(header, 0, len(header)))


def test_empty_header() -> None:
    assert _env(b"") == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"


def test_sender_and_reply_to_given() -> None:
    env = _env(b"From: a@b\nSender: s@b\nReply-To: r@b\nBcc: x@y\n")
    assert env == (
        b'(NIL NIL ((NIL NIL "a" "b")) ((NIL NIL "s" "b")) ((NIL NIL "r" "b")) '
        b'NIL NIL ((NIL NIL "x" "y")) NIL NIL)'
    )


def test_empty_address_header_is_nil() -> None:
    assert _env(b"To: \n") == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"


def test_for_humans() -> None:
    assert for_humans(b"  a\t\tb  c ") == b"a b c"
    assert for_humans(b"\t") == b""
    assert for_humans(b"a\x00b") == b"a\x80b"
