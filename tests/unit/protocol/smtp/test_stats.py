"""smtpd's command counts, in the layout of Postfix 3.7's "disconnect from" lines."""

from __future__ import annotations

from vmail.core.reply import Reply
from vmail.protocol.smtp.config import SessionConfig
from vmail.protocol.smtp.session import ServerSession
from vmail.protocol.smtp.stats import CommandStats


def test_layout_as_postfix() -> None:
    assert str(CommandStats()) == "commands=0/0"
    stats = CommandStats()
    for name, ok in (("quit", True), ("rcpt", True), ("ehlo", True), ("rcpt", False)):
        stats.attempt(name)
        if ok:
            stats.succeeded(name)
    stats.attempt("unknown")
    assert str(stats) == "ehlo=1 rcpt=1/2 quit=1 unknown=0/1 commands=3/5"
    only_ok = CommandStats()
    only_ok.attempt("ehlo")
    only_ok.succeeded("ehlo")
    assert str(only_ok) == "ehlo=1 commands=1"


def test_a_session_counts_by_final_replies() -> None:
    session = ServerSession(SessionConfig())
    session.start()
    session.receive(b"EHLO a\r\nFOO\r\nNOOP x y\r\n")
    session.reply()  # EHLO's decision
    assert session.last_command == "NOOP"
    session.receive(b"MAIL FROM:<a@example.org>\r\n")
    session.reply()
    session.receive(b"RCPT TO:<b@example.com>\r\n")
    session.reply()
    session.receive(b"DATA\r\n")
    session.reply()  # 354: DATA is not counted yet
    session.receive(b"Subject: x\r\n\r\nhi\r\n")
    assert session.where == "DATA (16 bytes)"  # the last CRLF waits for what follows
    session.receive(b".\r\n")
    assert session.last_command == "END-OF-MESSAGE"
    session.reply(Reply(250, "2.0.0", "Ok: queued as X"))  # DATA counts by this reply
    assert str(session.stats) == "ehlo=1 mail=1 rcpt=1 data=1 noop=1 unknown=0/1 commands=5/6"
