"""CommandReader: framing of lines and literals, limits, any split of the input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmail.protocol.imap.framing import (
    CommandLine,
    CommandReader,
    Event,
    FramingError,
    Literal,
    NeedContinuation,
    RawLine,
    ReaderStateError,
)
from vmail.protocol.imap.parser import parse_command
from vmail.protocol.imap.types import Append, ParseError


def drain(reader: CommandReader, accept: bool = True) -> list[Event]:
    out: list[Event] = []
    while (ev := reader.next_event()) is not None:
        out.append(ev)
        if isinstance(ev, NeedContinuation):
            if accept:
                reader.accept_literal()
            else:
                reader.reject_literal()
    return out


def run(data: bytes, accept: bool = True, **kw: int | bool) -> list[Event]:
    r = CommandReader(**kw)  # type: ignore[arg-type]
    r.feed(data)
    return drain(r, accept)


def test_simple_line_crlf_and_lf() -> None:
    assert run(b"a1 NOOP\r\na2 NOOP\n") == [CommandLine([b"a1 NOOP"]), CommandLine([b"a2 NOOP"])]


def test_incomplete_line_waits() -> None:
    r = CommandReader()
    r.feed(b"a1 NO")
    assert r.next_event() is None
    r.feed(b"OP\r\n")
    assert r.next_event() == CommandLine([b"a1 NOOP"])


def test_sync_literal_needs_continuation() -> None:
    r = CommandReader()
    r.feed(b"a1 LOGIN {4}\r\n")
    assert r.next_event() == NeedContinuation(4, b"a1")
    assert r.waiting_for_decision
    assert r.next_event() is None
    r.accept_literal()
    r.feed(b"fred {3+}\r\nabc\r\n")
    assert r.next_event() == CommandLine(
        [b"a1 LOGIN ", Literal(b"fred"), b" ", Literal(b"abc"), b""]
    )


def test_reject_literal_drops_command() -> None:
    events = run(b"a1 APPEND x {10}\r\na2 NOOP\r\n", accept=False)
    assert events == [NeedContinuation(10, b"a1"), CommandLine([b"a2 NOOP"])]


def test_accept_without_pending_literal_is_error() -> None:
    r = CommandReader()
    with pytest.raises(ReaderStateError):
        r.accept_literal()
    with pytest.raises(ReaderStateError):
        r.reject_literal()


def test_literal8_and_minus() -> None:
    events = run(b"a APPEND x ~{3+}\r\n\x00\x01\x02 {2-}\r\nab\r\n")
    assert events == [
        CommandLine([b"a APPEND x ", Literal(b"\x00\x01\x02", True), b" ", Literal(b"ab"), b""])
    ]


def test_literal_minus_over_4096_is_error_and_skipped() -> None:
    data = b"a1 APPEND x {5000-}\r\n" + b"x" * 5000 + b" more {3+}\r\nabc\r\na2 NOOP\r\n"
    events = run(data)
    assert events == [
        FramingError(b"a1", "non-synchronizing literal larger than 4096 bytes"),
        CommandLine([b"a2 NOOP"]),
    ]


def test_literal_plus_disabled_limits_to_4096() -> None:
    assert isinstance(run(b"a {5000+}\r\n", literal_plus=False)[0], FramingError)
    assert run(b"a X {4096+}\r\n" + b"y" * 4096 + b"\r\n", literal_plus=False) == [
        CommandLine([b"a X ", Literal(b"y" * 4096), b""])
    ]


def test_huge_sync_literal_rejected_before_reading() -> None:
    events = run(b"a1 APPEND INBOX {1073741824}\r\na2 NOOP\r\n", max_literal=1000)
    assert events == [FramingError(b"a1", "literal too big"), CommandLine([b"a2 NOOP"])]


def test_literal_total_limit() -> None:
    data = b"a X {5+}\r\n12345 {5+}\r\n12345\r\nb NOOP\r\n"
    assert run(data, max_literal_total=8) == [
        FramingError(b"a", "literal too big"),
        CommandLine([b"b NOOP"]),
    ]


@pytest.mark.parametrize("size", [b"4294967296", b"99999999999999999999999"])
def test_literal_size_beyond_32_bits(size: bytes) -> None:
    assert run(b"a X {" + size + b"}\r\nb NOOP\r\n") == [
        FramingError(b"a", "literal size out of range"),
        CommandLine([b"b NOOP"]),
    ]


def test_line_too_long_is_skipped_in_constant_memory() -> None:
    r = CommandReader(max_line=100)
    r.feed(b"tag1 ")
    for _ in range(1000):
        r.feed(b"x" * 1000)
        assert drain(r) in ([], [FramingError(b"tag1", "command line too long")])
        assert len(r._line) <= 100
        assert len(r._in) == 0
    r.feed(b"\r\nb NOOP\r\n")
    assert drain(r) == [CommandLine([b"b NOOP"])]


def test_line_too_long_reports_once() -> None:
    events = run(b"a " + b"x" * 300 + b"\r\nb NOOP\r\n", max_line=100)
    assert events == [FramingError(b"a", "command line too long"), CommandLine([b"b NOOP"])]


def test_too_long_line_ending_with_nonsync_literal_skips_payload() -> None:
    data = b"a " + b"x" * 300 + b" {5+}\r\nx\r\nyz\r\nb NOOP\r\n"
    assert run(data, max_line=100) == [
        FramingError(b"a", "command line too long"),
        CommandLine([b"b NOOP"]),
    ]


def test_total_text_of_command_is_bounded() -> None:
    data = b"a X {0+}\r\n" + b"y" * 60 + b" {0+}\r\n" + b"z" * 60 + b"\r\nb NOOP\r\n"
    assert run(data, max_line=100) == [
        FramingError(b"a", "command line too long"),
        CommandLine([b"b NOOP"]),
    ]


def test_unreadable_tag_is_none() -> None:
    assert run(b"+++ " + b"x" * 200 + b"\r\n", max_line=50) == [
        FramingError(None, "command line too long")
    ]


def test_raw_line_mode() -> None:
    r = CommandReader()
    r.expect_line()
    r.feed(b"dGVzdA== {5}\r\na NOOP\r\n")
    assert drain(r) == [RawLine(b"dGVzdA== {5}"), CommandLine([b"a NOOP"])]


def test_raw_line_too_long() -> None:
    r = CommandReader(max_line=10)
    r.expect_line()
    r.feed(b"x" * 50 + b"\r\na NOOP\r\n")
    assert drain(r) == [FramingError(None, "line too long"), CommandLine([b"a NOOP"])]


def test_expect_line_only_between_commands() -> None:
    r = CommandReader()
    r.feed(b"a LOGIN {3}\r\n")
    drain(r, accept=False)
    r.feed(b"a NO")
    assert r.next_event() is None
    with pytest.raises(ReaderStateError):
        r.expect_line()


def test_ten_thousand_commands_at_once() -> None:
    r = CommandReader()
    r.feed(b"".join(b"t%d NOOP\r\n" % i for i in range(10_000)))
    first = r.next_event()
    assert first == CommandLine([b"t0 NOOP"])
    events = drain(r)
    assert len(events) == 9_999
    assert events[-1] == CommandLine([b"t9999 NOOP"])


SAMPLE = (
    b"a1 LOGIN {4}\r\nfred {3+}\r\nabc\r\n"
    b"a2 APPEND x ~{3}\r\n\x00\r\n {0}\r\n\r\n"
    b"a3 " + b"q" * 80 + b"\r\n"
    b"a4 X {200+}\r\n" + b"z" * 200 + b"\r\na5 NOOP\n"
)


def test_every_split_gives_same_events() -> None:
    whole = run(SAMPLE, max_line=64, max_literal=100)
    assert len(whole) == 8
    for cut in range(len(SAMPLE) + 1):
        r = CommandReader(max_line=64, max_literal=100)
        r.feed(SAMPLE[:cut])
        events = drain(r)
        r.feed(SAMPLE[cut:])
        assert events + drain(r) == whole, cut


def test_one_byte_at_a_time() -> None:
    whole = run(SAMPLE, max_line=64, max_literal=100)
    r = CommandReader(max_line=64, max_literal=100)
    events: list[Event] = []
    for i in range(len(SAMPLE)):
        r.feed(SAMPLE[i : i + 1])
        events += drain(r)
    assert events == whole


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=5))
def test_arbitrary_input_any_split_is_bounded_and_consistent(data: bytes, cuts: list[int]) -> None:
    whole = run(data, max_line=40, max_literal=50, max_literal_total=80)
    r = CommandReader(max_line=40, max_literal=50, max_literal_total=80)
    events: list[Event] = []
    prev = 0
    for cut in [*sorted(cuts), len(data)]:
        r.feed(data[prev:cut])
        prev = max(prev, cut)
        events += drain(r)
        assert len(r._line) <= 40
        assert len(r._lit) <= 50
    assert events == whole


def test_buffered_counts_unconsumed_input() -> None:
    r = CommandReader()
    r.feed(b"a APPEND x {3}\r\nabc\r\n")
    assert r.next_event() == NeedContinuation(3, b"a")
    assert r.buffered == 5  # a conforming client sends nothing before "+"
    r.accept_literal()
    assert r.next_event() == CommandLine([b"a APPEND x ", Literal(b"abc"), b""])
    assert r.buffered == 0


def test_cr_split_from_lf_and_bare_cr_inside() -> None:
    r = CommandReader()
    for chunk in (b"a X\r", b"\r", b"\n", b"b X\r", b"\n"):
        r.feed(chunk)
    assert drain(r) == [CommandLine([b"a X\r"]), CommandLine([b"b X"])]


def test_pipelined_authenticate_response_and_idle_done() -> None:
    r = CommandReader()
    r.feed(b"a AUTHENTICATE PLAIN\r\nAGEAYg==\r\nb IDLE\r\nDONE\r\nc NOOP\r\n")
    assert r.next_event() == CommandLine([b"a AUTHENTICATE PLAIN"])
    r.expect_line()
    assert r.next_event() == RawLine(b"AGEAYg==")
    assert r.next_event() == CommandLine([b"b IDLE"])
    r.expect_line()
    assert r.next_event() == RawLine(b"DONE")
    assert r.next_event() == CommandLine([b"c NOOP"])


TOKENS = [
    b"a",
    b" ",
    b"\r",
    b"\n",
    b"{",
    b"}",
    b"3",
    b"0",
    b"+",
    b"-",
    b"~",
    b"x" * 30,
    b"t1 ",
    b"{2}\r\n",
    b"{5+}\r\n",
    b"{5000-}\r\n",
    b"~{3}\r\n",
]


@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.lists(st.integers(0, 400), max_size=4))
def test_token_soup_any_split_is_consistent(tokens: list[bytes], cuts: list[int]) -> None:
    data = b"".join(tokens)
    whole = run(data, max_line=40, max_literal=50, max_literal_total=80)
    r = CommandReader(max_line=40, max_literal=50, max_literal_total=80)
    events: list[Event] = []
    prev = 0
    for cut in [*sorted(cuts), len(data)]:
        r.feed(data[prev:cut])
        prev = max(prev, cut)
        events += drain(r)
    assert events == whole


def _pending(data: bytes) -> tuple[CommandReader, CommandLine]:
    r = CommandReader()
    r.feed(data)
    while not isinstance(r.next_event(), NeedContinuation):
        pass
    return r, r.pending_command()


def test_pending_command_shows_what_precedes_the_literal() -> None:
    r, line = _pending(b"a1 APPEND Sent {3+}\r\nabc ~{5}\r\n")
    assert line == CommandLine([b"a1 APPEND Sent ", Literal(b"abc"), b" ", Literal(b"", True), b""])
    r.accept_literal()
    with pytest.raises(ReaderStateError):
        r.pending_command()
    r.feed(b"hello\r\n")
    assert r.next_event() == CommandLine(
        [b"a1 APPEND Sent ", Literal(b"abc"), b" ", Literal(b"hello", True), b""]
    )


def test_pending_append_can_be_refused_before_the_continuation() -> None:
    _, line = _pending(b'a1 APPEND INBOX (\\Seen) "01-Feb-2026 10:00:00 +0000" {5}\r\n')
    cmd = parse_command(line)
    assert isinstance(cmd, Append)
    assert (cmd.mailbox, cmd.messages[0].flags) == ("INBOX", ("\\Seen",))
    for data in (
        b"a1 APPEND INBOX (\\Recent) {5}\r\n",
        b'a1 APPEND INBOX "1-Feb-2026 10:00:00 +0000" {5}\r\n',
        b"a1 APPEND INBOX (\\Seen {5}\r\n",
    ):
        r, line = _pending(data)
        assert isinstance(parse_command(line), ParseError), data
        r.reject_literal()
        assert r.next_event() is None
