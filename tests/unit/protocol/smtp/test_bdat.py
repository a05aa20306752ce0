"""BDAT/CHUNKING (RFC 3030): exact byte counts, LAST, errors, replies as Postfix 3.7's."""

from __future__ import annotations

from vmail.protocol.smtp import SessionConfig

from .transcript import HOST, talk

E = b"EHLO x\r\n"
M = b"MAIL FROM:<a@b.test>\r\n"
R = b"RCPT TO:<c@d.test>\r\n"


def test_chunks_and_last() -> None:
    run = talk(
        E + M + R + b"BDAT 5\r\nhelloBDAT 7 LAST\r\n\r\n.\r\nab" + b"BDAT 0 LAST\r\nDATA\r\n"
    )
    assert run.replies()[3:] == [
        "250 2.0.0 Ok: 5 bytes",
        "250 2.0.0 Ok: queued as 4ABC",
        "503 5.5.1 Error: need RCPT command",
        "503 5.5.1 Error: need RCPT command",
    ]
    # no dot-unstuffing, no end marker in BDAT content
    assert run.messages == [b"hello\r\n.\r\nab"]


def test_chunk_bytes_that_look_like_commands_are_content() -> None:
    run = talk(E + M + R + b"BDAT 12 LAST\r\nQUIT\r\nRSET\r\nNOOP\r\n")
    assert run.messages == [b"QUIT\r\nRSET\r\n"]
    assert run.replies()[-1] == "250 2.0.0 Ok"
    assert not run.closed


def test_bdat_errors_discard_until_last() -> None:
    run = talk(E + b"BDAT 5\r\nhello" + M + b"BDAT 3\r\nabc" + R + b"BDAT 1 LAST\r\nx" + M)
    assert run.replies()[1:] == [
        "503 5.5.1 Error: need RCPT command",
        "503 5.5.1 Error: MAIL after BDAT",
        "551 5.0.0 Discarded 3 bytes after earlier error",
        "503 5.5.1 Error: need MAIL command",
        "551 5.0.0 Discarded 1 bytes after earlier error",
        "250 2.1.0 Ok",
    ]
    assert run.messages == []


def test_commands_between_chunks() -> None:
    run = talk(E + M + R + b"BDAT 1\r\nx" + M + R + b"DATA\r\nRSET\r\n" + M)
    assert run.replies()[4:] == [
        "503 5.5.1 Error: nested MAIL command",
        "503 5.5.1 Error: RCPT after BDAT",
        "503 5.5.1 Error: DATA after BDAT",
        "250 2.0.0 Ok",
        "250 2.1.0 Ok",
    ]
    assert [type(e).__name__ for e in run.events].count("MessageAborted") == 1


def test_bdat_syntax_errors_close_the_session() -> None:
    for bad in (b"BDAT\r\n", b"BDAT x\r\n", b"BDAT 3 FOO\r\n", b"BDAT -1\r\n", b"BDAT 1 2 3\r\n"):
        run = talk(E + M + R + bad + b"NOOP\r\n")
        assert run.replies()[-1] == "521 5.5.4 Syntax: BDAT count [LAST]"
        assert run.closed


def test_null_bdat_is_an_error_until_last() -> None:
    assert talk(E + M + R + b"BDAT 0\r\nBDAT 0 LAST\r\n").replies()[-2:] == [
        "551 5.7.1 Null BDAT request",
        "551 5.0.0 Discarded 0 bytes after earlier error",
    ]


def test_chunk_over_size_limit() -> None:
    config = SessionConfig(myhostname=HOST, message_size_limit=100)
    run = talk(E + M + R + b"BDAT 300\r\n" + b"x" * 300 + b"BDAT 1 LAST\r\nx" + b"QUIT\r\n", config)
    assert run.replies()[3:] == [
        "552 5.3.4 Chunk exceeds message size limit",
        "551 5.0.0 Discarded 1 bytes after earlier error",
        "221 2.0.0 Bye",
    ]
    assert run.messages == []


def test_huge_chunk_streams_without_buffering() -> None:
    config = SessionConfig(myhostname=HOST, message_size_limit=0)
    from vmail.protocol.smtp import ServerSession

    from .transcript import drive

    session = ServerSession(config)
    run = drive(session, [E + M + R + b"BDAT 1000000000 LAST\r\n"])
    block = b"y" * 65536
    for _ in range(20):
        run2 = drive(session, [block])
        assert session.buffered == 0
        assert sum(len(e.data) for e in run2.events if hasattr(e, "data")) == len(block)
    assert run.replies()[-1] == "250 2.1.5 Ok"


def test_bare_lf_in_bdat_rejected_across_chunk_boundary() -> None:
    run = talk(E + M + R + b"BDAT 3\r\nab\rBDAT 3 LAST\r\n\ncd" + M)
    assert run.replies()[4:] == ["250 2.0.0 Ok: queued as 4ABC", "250 2.1.0 Ok"]  # CR|LF: CRLF
    assert run.messages == [b"ab\r\ncd"]
    run = talk(E + M + R + b"BDAT 3\r\nab\nBDAT 3 LAST\r\nxcd" + M + b"QUIT\r\n")
    assert run.replies()[3:] == [
        "550 5.5.2 mail.example.test Error: bare <LF> received",
        "551 5.0.0 Discarded 3 bytes after earlier error",
        "250 2.1.0 Ok",
        "221 2.0.0 Bye",
    ]
