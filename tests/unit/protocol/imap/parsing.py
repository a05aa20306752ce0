"""Test helper: frame bytes with a real CommandReader and parse the single command."""

from __future__ import annotations

from vmail.protocol.imap.framing import CommandLine, CommandReader, NeedContinuation
from vmail.protocol.imap.parser import parse_command
from vmail.protocol.imap.types import Command, ParseError


def frame(data: bytes) -> CommandLine:
    reader = CommandReader()
    reader.feed(data if data.endswith(b"\n") else data + b"\r\n")
    while True:
        event = reader.next_event()
        if isinstance(event, NeedContinuation):
            reader.accept_literal()
            continue
        assert isinstance(event, CommandLine), event
        assert reader.next_event() is None
        return event


def parse(data: bytes, utf8: bool = False) -> Command | ParseError:
    return parse_command(frame(data), utf8=utf8)


def ok(data: bytes, utf8: bool = False) -> Command:
    result = parse(data, utf8)
    assert not isinstance(result, ParseError), result
    return result


def bad(data: bytes) -> ParseError:
    result = parse(data)
    assert isinstance(result, ParseError), result
    assert result.status == "BAD"
    return result
