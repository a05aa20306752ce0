"""Address parsing the way Dovecot's ENVELOPE sees it."""

from __future__ import annotations

import pytest

from vmail.mailstore.message.addresses import GROUP_END, _Parser, _simple, parse_addresses


def _slow(value: bytes) -> list[object]:
    p = _Parser(value)
    out: list[object] = []
    while p.skip() >= 0:
        if p.skip() == 0x2C:
            p.pos += 1
            continue
        p.address(out)  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(
    "value",
    [
        b"a@b.c",
        b"Alice Example <alice@example.com>",
        b"Bob <bob@example.org>, carol@example.net",
        b'"Doe, John" <j@x.com>',
        b'"q\\"x" <q@x.com>',
        b"A  B <a@b>",
        b'"" <a@b>',
    ],
)
def test_fast_path_agrees_with_full_parser(value: bytes) -> None:
    assert _simple(value) == _slow(value)


def test_groups_and_missing_parts() -> None:
    assert parse_addresses(b"undisclosed-recipients:;") == [
        (None, None, b"undisclosed-recipients", None),
        GROUP_END,
    ]
    assert parse_addresses(b"foo") == [(None, None, b"foo", b"MISSING_DOMAIN")]
    assert parse_addresses(b"<>") == [(None, None, b"MISSING_MAILBOX", b"MISSING_DOMAIN")]
    assert parse_addresses(b'"Only Name"') == [
        (b"Only Name", None, b"MISSING_MAILBOX", b"MISSING_DOMAIN")
    ]


def test_comment_route_literal_and_stop_at_error() -> None:
    assert parse_addresses(b"(c) c@example.com (Real Name)") == [
        (b"Real Name", None, b"c", b"example.com")
    ]
    assert parse_addresses(b"A <@r1,@r2:u@h>") == [(b"A", b"@r1,@r2", b"u", b"h")]
    assert parse_addresses(b"u@[1.2.3.4]") == [(None, None, b"u", b"[1.2.3.4]")]
    assert parse_addresses(b"a@b@c, d@e") == [(None, None, b"a", b"b")]


@pytest.mark.parametrize(
    "value", [b"", b",,,", b"<", b"(unclosed", b'"unclosed', b"a@", b"g: a@b", b"@:", b"\x00\xff"]
)
def test_garbage_never_raises(value: bytes) -> None:
    assert isinstance(parse_addresses(value), list)
