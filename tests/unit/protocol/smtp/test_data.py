"""DATA framing: dot-unstuffing, CRLF.CRLF only, bare LF policies, smuggling attempts."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vmail.protocol.smtp import SessionConfig
from vmail.protocol.smtp import data as data_module
from vmail.protocol.smtp.data import DataReader, line_start_dots

from .transcript import HOST, talk

HEAD = b"EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
SECOND = b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@d.test>\r\nDATA\r\nspoofed\r\n"


def test_dot_unstuffing_and_first_line() -> None:
    run = talk(HEAD + b"..first\r\nmid\r\n..\r\n.x\r\nlast\r\n.\r\n")
    assert run.messages == [b".first\r\nmid\r\n.\r\nx\r\nlast\r\n"]


def test_empty_message() -> None:
    assert talk(HEAD + b".\r\n").messages == [b""]


@pytest.mark.parametrize(
    "fake_end",
    [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n", b"\r\n.\r", b"\n..\n", b"\r\n .\r\n"],
)
@pytest.mark.parametrize("mode", ["reject", "normalize", "no"])
def test_smuggling_never_ends_data(fake_end: bytes, mode: str) -> None:
    config = SessionConfig(myhostname=HOST, smtpd_forbid_bare_newline=mode)  # type: ignore[arg-type]
    data = HEAD + b"Subject: x\r\n\r\nhello" + fake_end + SECOND + b".\r\nQUIT\r\n"
    # every way of feeding it: at once, byte by byte, in odd chunks
    for chunks in (
        [data],
        [bytes([b]) for b in data],
        [data[i : i + 7] for i in range(0, len(data), 7)],
    ):
        run = talk(chunks, config)
        data_complete = [r for r in run.replies() if r.startswith(("250 2.0.0 Ok: queued", "550"))]
        assert len(data_complete) == 1, (fake_end, mode, run.replies())
        assert not any(b"evil" in m and not m.startswith(b"Subject") for m in run.messages)
        assert run.replies()[-1] == "221 2.0.0 Bye"
        if run.messages:
            assert run.messages[0].startswith(b"Subject: x\r\n\r\nhello")
            assert b"spoofed" in run.messages[0]


def test_bare_lf_reject_is_postfix_550_after_the_message() -> None:
    run = talk(HEAD + b"Subject: x\r\n\r\nline\nmore\r\n.\r\nNOOP\r\n")
    assert run.replies()[-2:] == [
        "550 5.5.2 mail.example.test Error: bare <LF> received",
        "250 2.0.0 Ok",
    ]
    assert run.messages == []


def test_bare_lf_reject_code_is_configurable() -> None:
    config = SessionConfig(myhostname=HOST, smtpd_forbid_bare_newline_reject_code=521)
    assert talk(HEAD + b"a\nb\r\n.\r\n", config).replies()[-1] == (
        "521 5.5.2 mail.example.test Error: bare <LF> received"
    )


def test_bare_lf_normalize_and_no() -> None:
    body = HEAD + b"a\nb\r\n.c\n..d\r\n.\r\n"
    norm = SessionConfig(myhostname=HOST, smtpd_forbid_bare_newline="normalize")
    assert talk(body, norm).messages == [b"a\r\nb\r\nc\r\n.d\r\n"]
    keep = SessionConfig(myhostname=HOST, smtpd_forbid_bare_newline="no")
    assert talk(body, keep).messages == [b"a\nb\r\nc\n..d\r\n"]


def test_bare_cr_is_content_as_in_postfix() -> None:
    assert talk(HEAD + b"a\rb\r\n.\r\n").messages == [b"a\rb\r\n"]


def test_bare_lf_in_a_command_closes_the_session() -> None:
    run = talk(b"EHLO x\nNOOP\r\n")
    assert run.lines() == ["550 5.5.2 mail.example.test Error: bare <LF> received"]
    assert run.closed


def test_bare_lf_command_accepted_when_normalizing() -> None:
    config = SessionConfig(myhostname=HOST, smtpd_forbid_bare_newline="normalize")
    assert talk(b"NOOP\nNOOP\r\n", config).replies() == ["250 2.0.0 Ok", "250 2.0.0 Ok"]


def test_message_too_big() -> None:
    config = SessionConfig(myhostname=HOST, message_size_limit=100)
    run = talk(HEAD + b"x" * 300 + b"\r\n.\r\nQUIT\r\n", config)
    assert run.replies()[-2:] == ["552 5.3.4 Error: message file too big", "221 2.0.0 Bye"]
    assert run.messages == []


def test_split_anywhere_gives_the_same_message() -> None:
    body = b"..a\r\n.\rb\n\r\n..\r\nend"
    data = HEAD + body + b"\r\n.\r\n"
    config = SessionConfig(myhostname=HOST, smtpd_forbid_bare_newline="no")
    whole = talk(data, config).messages
    assert whole == [b".a\r\n\rb\n\r\n.\r\nend\r\n"]
    for cut in range(len(HEAD), len(data)):
        assert talk([data[:cut], data[cut:]], config).messages == whole, cut


def _reference(stream: bytes, mode: str) -> tuple[bytes, bool, bytes] | None:
    """DATA decoded from the whole stream at once: (content, bare LF seen, rest)."""
    whole = b"\r\n" + stream
    end = whole.find(b"\r\n.\r\n")
    if end < 0:
        return None
    piece = whole[: end + 2]
    bare = piece.count(b"\n") != piece.count(b"\r\n")
    if mode == "normalize":
        piece = piece.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return piece.replace(b"\r\n.", b"\r\n")[2:], bare and mode == "reject", whole[end + 5 :]


@settings(max_examples=1000)
@example([b"a", b"\n", b".", b"a"], [3], "normalize", 32)  # a bare <LF>. is unstuffed too
@example([b"\r\n.", b"\r\n."], [1, 2], "no", 32)  # stuffing dots at a chunk's end
@given(
    st.lists(
        st.sampled_from([b"\r", b"\n", b"\r\n", b".", b"a", b"\r\n.", b"\r\n.\r\n"]), max_size=60
    ),
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=8),
    st.sampled_from(["no", "normalize", "reject"]),
    st.integers(min_value=0, max_value=3),
)
def test_reader_agrees_with_decoding_the_whole_stream(
    parts: list[bytes], sizes: list[int], mode: str, dot_limit: int
) -> None:
    """Whatever the chunking, and whether dots are found one by one or by searching."""
    stream = b"".join(parts) + b"\r\n.\r\nQUIT\r\n"
    reader = DataReader(mode)  # type: ignore[arg-type]
    decoded, rest, at = [], None, 0
    with patch.object(data_module, "DOT_SCAN_LIMIT", dot_limit):
        while rest is None:
            size = sizes[at % len(sizes)]
            out, rest = reader.feed(stream[at : at + size])
            decoded.append(out)
            at += size
    expected = _reference(stream, mode)
    assert expected is not None
    content, bare, after = expected
    assert b"".join(decoded) == content
    assert reader.bare_lf == bare
    assert rest + stream[at:] == after


def test_line_start_dots() -> None:
    chunk = b"\r\n.a\r\nb.c\r\n..\r\n.\r\nafter\r\n.x"
    assert line_start_dots(chunk, 32) == (13, [2, 11])
    assert line_start_dots(b"\r\n.a\r\n.b", 1) is None
    assert line_start_dots(b"no dots\r\n", 32) == (-1, [])
