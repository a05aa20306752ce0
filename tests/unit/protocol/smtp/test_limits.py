"""Limits with Postfix's names: lines, recipients, errors, junk commands, pipelined input."""

from __future__ import annotations

import time

from vmail.core.reply import Reply
from vmail.protocol.smtp import Decision, RcptTo, Send, ServerSession, SessionConfig

from .transcript import HOST, drive, talk

E = b"EHLO x\r\n"
M = b"MAIL FROM:<a@b.test>\r\n"


def test_overlong_command_is_cut_at_line_length_limit_like_postfix() -> None:
    # Postfix keeps the first line_length_limit bytes and drops the rest of the line.
    run = talk(
        E + b"NOOP " + b"a" * 5000 + b"\r\nNOOP\r\nMAIL FROM:<" + b"a" * 2100 + b"@b.test>\r\n"
    )
    assert run.replies()[1:] == [
        "250 2.0.0 Ok",
        "250 2.0.0 Ok",
        "501 5.1.7 Bad sender address syntax",
    ]


def test_endless_line_does_not_grow_the_buffer() -> None:
    session = ServerSession(SessionConfig(myhostname=HOST))
    for _ in range(200):
        session.receive(b"x" * 10000)
        assert session.buffered == 0
    assert drive(session, [b"\r\nNOOP\r\n"]).replies() == [
        "500 5.5.2 Error: command not recognized",
        "250 2.0.0 Ok",
    ]


def test_too_many_recipients_and_overshoot() -> None:
    config = SessionConfig(
        myhostname=HOST, smtpd_recipient_limit=2, smtpd_recipient_overshoot_limit=1
    )
    session = ServerSession(config)
    run = drive(session, [E + M + b"RCPT TO:<x@y>\r\n" * 4])
    assert run.replies()[2:] == ["250 2.1.5 Ok"] * 2 + ["452 4.5.3 Error: too many recipients"] * 2
    assert session.error_count == 1  # only the overshoot counts as an error


def test_hard_error_limit_421() -> None:
    config = SessionConfig(myhostname=HOST, smtpd_hard_error_limit=3, smtpd_soft_error_limit=2)
    session = ServerSession(config)
    run = drive(session, [E + b"FOO\r\n" * 2])
    assert session.should_delay
    run = drive(session, [b"FOO\r\nFOO\r\nNOOP\r\n"])
    assert run.replies() == [
        "500 5.5.2 Error: command not recognized",
        "421 4.7.0 mail.example.test Error: too many errors",
    ]
    assert run.closed
    assert session.receive(b"NOOP\r\n") == []


def test_hard_error_limit_closes_after_the_last_error_reply_without_more_input() -> None:
    # checked against Postfix 3.7: the reply and the 421 come in one segment, before the
    # client sends anything else; a rejected recipient counts as an error too
    config = SessionConfig(myhostname=HOST, smtpd_hard_error_limit=2)
    session = ServerSession(config)
    run = drive(session, [E + b"FOO\r\n", b"FOO\r\n"])
    assert run.replies()[-2:] == [
        "500 5.5.2 Error: command not recognized",
        "421 4.7.0 mail.example.test Error: too many errors",
    ]
    assert run.closed
    rejected = Reply(550, "5.1.1", "<x@y>: Recipient address rejected")

    def reject_recipients(decision: Decision) -> Reply | None:
        return rejected if isinstance(decision, RcptTo) else None

    run = drive(
        ServerSession(config), [E + b"FOO\r\n" + M + b"RCPT TO:<x@y>\r\n"], reject_recipients
    )
    assert run.replies()[-2:] == [
        "550 5.1.1 <x@y>: Recipient address rejected",
        "421 4.7.0 mail.example.test Error: too many errors",
    ]
    assert run.closed


def test_junk_commands_count_as_errors_past_the_limit() -> None:
    config = SessionConfig(myhostname=HOST, smtpd_junk_command_limit=2)
    session = ServerSession(config)
    drive(session, [b"NOOP\r\n" * 5])
    assert session.error_count == 2


def test_size_of_one_gigabyte() -> None:
    run = talk(E + b"MAIL FROM:<a@b.test> SIZE=1073741824\r\n" + M)
    assert run.replies()[1:] == ["552 5.3.4 Message size exceeds fixed limit", "250 2.1.0 Ok"]
    unlimited = SessionConfig(myhostname=HOST, message_size_limit=0)
    assert talk(E + b"MAIL FROM:<a@b.test> SIZE=1073741824\r\n", unlimited).replies()[1:] == [
        "250 2.1.0 Ok"
    ]
    huge = b"MAIL FROM:<a@b.test> SIZE=" + b"9" * 1000 + b"\r\n"
    assert talk(E + huge).replies()[1:] == ["552 5.3.4 Message size exceeds fixed limit"]


def test_ten_thousand_pipelined_commands_in_one_buffer() -> None:
    session = ServerSession(SessionConfig(myhostname=HOST, smtpd_junk_command_limit=10**6))
    started = time.perf_counter()
    run = drive(session, [b"NOOP\r\n" * 10000])
    assert time.perf_counter() - started < 2.0
    assert run.replies() == ["250 2.0.0 Ok"] * 10000
    assert session.buffered == 0
    assert len([e for e in run.events if type(e).__name__ == "Send"]) == 1


def test_ten_thousand_recipients_in_one_buffer() -> None:
    config = SessionConfig(myhostname=HOST, smtpd_recipient_limit=10000)
    session = ServerSession(config)
    seen = 0

    def policy(d: Decision) -> Reply | None:
        nonlocal seen
        seen += isinstance(d, RcptTo)
        return None

    started = time.perf_counter()
    data = E + M + b"".join(b"RCPT TO:<u%d@d.test>\r\n" % i for i in range(10000)) + b"QUIT\r\n"
    run = drive(session, [data], policy)
    assert time.perf_counter() - started < 5.0
    assert seen == 10000
    assert run.replies()[-2:] == ["250 2.1.5 Ok", "221 2.0.0 Bye"]


def test_decision_pending_pauses_reading_and_bounds_the_buffer() -> None:
    config = SessionConfig(myhostname=HOST, max_pipelined_input=1000)
    session = ServerSession(config)
    events = session.receive(E)
    assert not session.want_read  # EHLO waits for the driver
    session.receive(b"NOOP\r\n" * 100)
    assert session.buffered == 600
    events = session.receive(b"NOOP\r\n" * 100)
    assert session.buffered == 0
    assert events[-1].__class__.__name__ == "Close"
    assert b"421 4.7.0 mail.example.test Error: too much pipelined input" in events[0].data  # type: ignore[attr-defined]


def test_improper_pipelining_is_noted_as_postfix_notes_it() -> None:
    # what Postfix 3.7 logged "improper command pipelining after X" for: input after EHLO,
    # HELO, DATA, NOOP or VRFY, or after any command of a session without EHLO
    def noted(*chunks: bytes) -> tuple[str, bytes] | None:
        session = ServerSession(SessionConfig(myhostname=HOST))
        drive(session, list(chunks))
        return session.improper_pipelining

    assert noted(E, M + b"RCPT TO:<x@y>\r\nRSET\r\nMAIL FROM:<a@b>\r\n") is None
    assert noted(E + b"NOOP\r\n") == ("EHLO", b"NOOP\r\n")
    assert noted(E, b"NOOP\r\nRSET\r\n") == ("NOOP", b"RSET\r\n")
    assert noted(E, M, b"RCPT TO:<x@y>\r\n", b"DATA\r\nbody\r\n.\r\n") == (
        "DATA",
        b"body\r\n.\r\n",
    )
    assert noted(b"HELO x\r\n", M + b"RSET\r\n") == ("MAIL", b"RSET\r\n")
    assert noted(b"HELO x\r\n", b"FOO\r\nNOOP\r\n") is None  # unknown commands are not
    long_tail = noted(E + b"NOOP " + b"x" * 300 + b"\r\n")
    assert long_tail is not None
    assert len(long_tail[1]) == 100


def test_the_tarpit_delays_every_reply_after_the_soft_error_limit() -> None:
    config = SessionConfig(myhostname=HOST, smtpd_soft_error_limit=2, smtpd_error_sleep_time=1.5)
    run = drive(ServerSession(config), [E + b"FOO\r\nFOO\r\nFOO\r\nNOOP\r\n"])
    sends = [e for e in run.events if isinstance(e, Send)]
    assert [(e.data[:3], e.delay) for e in sends if e.delay] == [(b"500", 1.5), (b"250", 1.5)]
