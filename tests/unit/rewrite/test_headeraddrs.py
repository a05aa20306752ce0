"""Addresses in headers: finding each addr-spec, and rewriting them while streaming."""

from __future__ import annotations

import pytest

from vmail.core.address import Address
from vmail.rewrite.headeraddrs import HeaderRewriter, address_spans, rewrite_addresses


@pytest.mark.parametrize(
    ("value", "addresses"),
    [
        (" Alice <alice@old.example>", ["alice@old.example"]),
        (" alice@old.example (Alice)", ["alice@old.example"]),
        (' "A, B" <a@x>, b@y,\r\n\tC <c@z>', ["a@x", "b@y", "c@z"]),
        (" undisclosed-recipients:;", []),
        (" team: a@x, b@y;", ["a@x", "b@y"]),
        (" <>", []),
        (" alice", ["alice"]),
        (' "quoted local"@x', ['"quoted local"@x']),
        (" x@[IPv6:::1]", ["x@[IPv6:::1]"]),
        (" Alice Smith", []),  # a phrase alone is no address
        (" <@route.example:u@d>", ["u@d"]),
        (" (only a comment)", []),
    ],
)
def test_address_spans(value: str, addresses: list[str]) -> None:
    assert [value[s:e] for s, e in address_spans(value)] == addresses


def _to_new(address: Address) -> Address:
    return address.with_domain("new.example") if address.domain == "old.example" else address


def test_only_changed_addresses_are_replaced() -> None:
    value = ' "Old, Alice" <alice@old.example> (x), bob@other.example,\r\n\tcarol@old.example'
    assert rewrite_addresses(value, _to_new) == (
        ' "Old, Alice" <alice@new.example> (x), bob@other.example,\r\n\tcarol@new.example'
    )
    assert rewrite_addresses(" bob@other.example", _to_new) is None


@pytest.mark.parametrize("size", [0, 1, 4, 11])
def test_the_rewriter_streams_the_primary_header_only(size: int) -> None:
    content = (
        b"From: Alice <alice@old.example>\r\nTo: a@old.example,\r\n b@old.example\r\n"
        b"Subject: alice@old.example\r\nX-Other: alice@old.example\r\n\r\n"
        b"From: body@old.example\r\n"
    )
    rewriter = HeaderRewriter(1000, (_to_new, _to_new), frozenset())
    pieces = [content[i : i + size] for i in range(0, len(content), size)] if size else [content]
    out = b"".join(rewriter.feed(piece) for piece in pieces) + rewriter.finish()
    assert out == (
        b"From: Alice <alice@new.example>\r\nTo: a@new.example,\r\n b@new.example\r\n"
        b"Subject: alice@old.example\r\nX-Other: alice@old.example\r\n\r\n"
        b"From: body@old.example\r\n"
    )


@pytest.mark.parametrize("size", [0, 1, 7])
def test_dropped_headers_leave_with_their_continuations(size: int) -> None:
    # message_drop_headers' default, as Postfix 3.7.11 left them out ("BCC :" too)
    content = (
        b"From: a@b.test\r\nBcc: secret@x.test,\r\n more@x.test\r\nContent-Length: 5\r\n"
        b"Resent-Bcc: r@x.test\r\nReturn-Path: <evil@x.test>\r\nBCC : spaced@x.test\r\n"
        b"X-Keep: 1\r\n\r\nBcc: a body line\r\n"
    )
    drop = frozenset({b"bcc", b"content-length", b"resent-bcc", b"return-path"})
    rewriter = HeaderRewriter(1000, None, drop)
    pieces = [content[i : i + size] for i in range(0, len(content), size)] if size else [content]
    out = b"".join(rewriter.feed(piece) for piece in pieces) + rewriter.finish()
    assert out == b"From: a@b.test\r\nX-Keep: 1\r\n\r\nBcc: a body line\r\n"
