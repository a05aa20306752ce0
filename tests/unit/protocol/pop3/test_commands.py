"""POP3 command-line parsing and Dovecot's number checks."""

from __future__ import annotations

from vmail.protocol.pop3.commands import message_number, parse, size


def test_parse_upper_cases_verb_and_strips_spaces() -> None:
    command = parse(b"retr   12\r\n")
    assert (command.verb, command.args) == ("RETR", "12")
    assert parse(b"QUIT\n").args == ""
    assert parse(b"\xff\x00 x").verb == "\xff\x00"


def test_message_number() -> None:
    assert message_number("2", 3) == (1, "")
    assert message_number("2 10", 3, then_space=True) == (1, "10")
    assert message_number("x", 3) == b"-ERR Invalid message number: x\r\n"
    assert message_number("", 3) == b"-ERR Invalid message number: \r\n"
    assert message_number("4", 3) == b"-ERR There's no message 4.\r\n"
    assert message_number("0", 3) == b"-ERR There's no message 0.\r\n"
    assert message_number("1 2", 3) == b"-ERR Noise after message number:  2\r\n"
    assert message_number("1", 3, then_space=True) == b"-ERR Noise after message number: \r\n"
    assert str(message_number("99999999999999999999999", 3)).startswith("b'-ERR Message number too")
    assert str(message_number("4294967296", 3)).startswith("b'-ERR Message number too large")
    assert str(message_number("\u00b2", 3)).startswith("b'-ERR Invalid message number")


def test_size() -> None:
    assert size("0") == 0
    assert size("x") == b"-ERR Invalid size: x\r\n"
    assert size("1 2") == b"-ERR Noise after size:  2\r\n"


def test_echoed_text_is_bounded_and_printable() -> None:
    reply = message_number("x\x00\x1b" + "y" * 5000, 3)
    assert isinstance(reply, bytes)
    assert len(reply) < 200
    assert b"\x00" not in reply
    assert b"\x1b" not in reply
