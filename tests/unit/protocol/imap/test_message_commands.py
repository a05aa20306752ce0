"""Message commands: APPEND (MULTIAPPEND, literal8, date-time) and its malformed forms."""

from __future__ import annotations

import datetime

import pytest

from vmail.protocol.imap.types import Append, AppendMessage

from .parsing import bad, ok

CET = datetime.timezone(datetime.timedelta(hours=1))


def test_append() -> None:
    cmd = ok(b'a APPEND inbox (\\Seen $X) " 5-Mar-2020 10:11:12 +0100" {5}\r\nHello')
    assert cmd == Append(
        "a",
        "INBOX",
        (
            AppendMessage(
                ("\\Seen", "$X"), datetime.datetime(2020, 3, 5, 10, 11, 12, tzinfo=CET), b"Hello"
            ),
        ),
    )
    cmd = ok(b'a APPEND x {1+}\r\nA () {1+}\r\nB "05-mar-2020 10:11:12 -0000" ~{2+}\r\n\x00C')
    assert isinstance(cmd, Append)
    assert [(m.flags, m.data, m.binary) for m in cmd.messages] == [
        ((), b"A", False),
        ((), b"B", False),
        ((), b"\x00C", True),
    ]
    assert cmd.messages[2].date == datetime.datetime(2020, 3, 5, 10, 11, 12, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    "line",
    [
        b"a APPEND x",
        b"a APPEND x (\\Seen)",
        b'a APPEND x "hello"',
        b"a APPEND x (\\Recent) {1+}\r\nA",
        b"a APPEND x (\\*) {1+}\r\nA",
        b"a APPEND x (\\Foo) {1+}\r\nA",
        b'a APPEND x "5-Mar-2020 10:11:12 +0100" {1+}\r\nA',
        b'a APPEND x "05-Foo-2020 10:11:12 +0100" {1+}\r\nA',
        b"a APPEND x {1+}\r\nA extra",
    ],
)
def test_bad_append(line: bytes) -> None:
    bad(line)


def test_append_accepts_nul_in_plain_literal_as_dovecot() -> None:
    cmd = ok(b"a APPEND x {3+}\r\na\x00b")
    assert isinstance(cmd, Append)
    assert cmd.messages[0].data == b"a\x00b"


def test_append_message_without_literal_is_invalid_arguments() -> None:
    assert bad(b"a APPEND INBOX {1+}\r\nx APPEND Sent {1+}\r\ny").text == "Invalid arguments"
    assert bad(b'a APPEND INBOX (\\Seen) "x"').text == "invalid date-time"


def test_append_impossible_date_time_means_no_date() -> None:
    """Dovecot stores such a message with the current time as its internal date."""
    for date in (
        b"31-Feb-2026 10:00:00 +0000",
        b"05-Mar-2020 25:11:12 +0100",
        b"01-Jan-2026 10:61:00 +0000",
    ):
        cmd = ok(b'a APPEND x "' + date + b'" {1+}\r\nA')
        assert isinstance(cmd, Append)
        assert cmd.messages[0].date is None, date


def test_append_zone_beyond_a_day_is_applied_in_utc() -> None:
    cmd = ok(b'a APPEND x " 1-Jan-2026 10:00:00 +9999" {1+}\r\nA')
    assert isinstance(cmd, Append)
    assert cmd.messages[0].date == datetime.datetime(2025, 12, 28, 5, 21, tzinfo=datetime.UTC)
    cmd = ok(b'a APPEND x " 1-Jan-2026 10:00:00 -0130" {1+}\r\nA')
    assert isinstance(cmd, Append)
    date = cmd.messages[0].date
    assert date is not None
    assert date.utcoffset() == datetime.timedelta(hours=-1, minutes=-30)
