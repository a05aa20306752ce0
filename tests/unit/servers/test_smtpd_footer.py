"""smtpd_reject_footer: the footer after 4xx/5xx replies, as Postfix 3.7.11 sent it."""

from __future__ import annotations

from pathlib import Path

from tests.unit.servers.helpers import dialogue, serve, setup
from vmail.core.reply import Reply
from vmail.servers.smtpd.footer import with_footer


def test_footer_lines_and_continuation() -> None:
    reply = Reply(550, "5.1.1", "<a@b>: Recipient address rejected: User unknown")
    macros = {"client_address": "192.0.2.1"}
    assert str(with_footer(reply, "Call us. ($client_address)\\nLine 2 $nothing.", macros)) == (
        "550 5.1.1 <a@b>: Recipient address rejected: User unknown\nCall us. (192.0.2.1)\nLine 2 ."
    )
    assert with_footer(reply, "\\c (ref $client_address)", macros).text.endswith(
        "User unknown (ref 192.0.2.1)"
    )


def test_every_refusal_gets_the_footer_and_nothing_else_does(tmp_path: Path) -> None:
    router, spool = setup(
        tmp_path,
        "mynetworks = 10.0.0.0/8\n"
        "smtpd_reject_footer = Help: $client_address at $server_name.\\nSecond line.\n",
    )
    commands = [b"FOO", b"EHLO x", b"RCPT TO:<x@y.test>", b"MAIL FROM:<a@b.test>", b"QUIT"]
    assert serve(router, spool, lambda port: dialogue(port, commands))[1:4] == [
        "500-5.5.2 Error: command not recognized | 500-5.5.2 Help: 127.0.0.1 at"
        " mail.example.net. | 500 5.5.2 Second line.",
        "250-mail.example.net | 250-PIPELINING | 250-SIZE 10240000 | 250-ETRN |"
        " 250-ENHANCEDSTATUSCODES | 250-8BITMIME | 250-DSN | 250-SMTPUTF8 | 250 CHUNKING",
        "503-5.5.1 Error: need MAIL command | 503-5.5.1 Help: 127.0.0.1 at mail.example.net."
        " | 503 5.5.1 Second line.",
    ]
