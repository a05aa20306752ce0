"""Bytes in, replies out: the command grammar, with replies recorded from Postfix 3.7 smtpd.

Each expected reply was observed on a private Postfix 3.7.11 (tests/oracle/postfix.py)
given the same input, except where a comment says vmail differs on purpose.
"""

from __future__ import annotations

import pytest

from vmail.core.reply import Reply
from vmail.protocol.smtp import Decision, Extension, MailFrom, RcptTo, SessionConfig
from vmail.protocol.smtp.ehlomask import ehlo_keywords

from .transcript import HOST, talk

M = b"MAIL FROM:<a@b.test>\r\n"
R = b"RCPT TO:<postmaster@mail.example.test>\r\n"
E = b"EHLO x.test\r\n"


def replies(data: bytes, config: SessionConfig | None = None) -> list[str]:
    return talk(data, config).replies()


def test_greeting_and_ehlo_keywords_in_postfix_order() -> None:
    config = SessionConfig(
        myhostname=HOST,
        smtpd_banner="$myhostname ESMTP Postfix",
        disable_vrfy_command=False,
        tls_available=True,
        smtpd_sasl_auth_enable=True,
    )
    from vmail.auth.sasl import new_exchange
    from vmail.protocol.smtp import ServerSession

    from .transcript import drive

    run = drive(ServerSession(config, new_exchange), [E, b"QUIT\r\n"], greet=True)
    assert run.lines() == [
        "220 mail.example.test ESMTP Postfix",
        "250-mail.example.test",
        "250-PIPELINING",
        "250-SIZE 10240000",
        "250-VRFY",
        "250-STARTTLS",
        "250-AUTH PLAIN LOGIN",
        "250-ENHANCEDSTATUSCODES",
        "250-8BITMIME",
        "250-DSN",
        "250-SMTPUTF8",
        "250 CHUNKING",
        "221 2.0.0 Bye",
    ]
    assert run.closed


def test_default_ehlo_hides_vrfy_etrn_starttls_auth() -> None:
    assert talk(E).lines() == [
        "250-mail.example.test",
        "250-PIPELINING",
        "250-SIZE 10240000",
        "250-ENHANCEDSTATUSCODES",
        "250-8BITMIME",
        "250-DSN",
        "250-SMTPUTF8",
        "250 CHUNKING",
    ]


def test_discard_ehlo_keywords_and_no_size_limit() -> None:
    config = SessionConfig(
        myhostname=HOST, message_size_limit=0, smtpd_discard_ehlo_keywords=ehlo_keywords("dsn")
    )
    lines = talk(E, config).lines()
    assert "250-SIZE" in lines
    assert "250-DSN" not in lines


CASES: list[tuple[str, bytes, list[str]]] = [
    ("helo", b"HELO x.test\r\n", ["250 mail.example.test"]),
    (
        "sequence errors",
        M + E + R + b"DATA\r\n" + M + M + b"DATA\r\n",
        [
            "250 2.1.0 Ok",
            "250 CHUNKING",
            "503 5.5.1 Error: need MAIL command",
            "503 5.5.1 Error: need RCPT command",
            "250 2.1.0 Ok",
            "503 5.5.1 Error: nested MAIL command",
            "554 5.5.1 Error: no valid recipients",
        ],
    ),
    (
        "simple commands",
        b"FOO bar\r\nEHLO\r\nHELO\r\nNOOP\r\nNOOP x\r\nRSET x\r\nRSET\r\nVRFY a@b\r\n"
        b"HELP\r\nEXPN a\r\nTURN\r\nLHLO x\r\nPROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        [
            "500 5.5.2 Error: command not recognized",
            "501 Syntax: EHLO hostname",
            "501 Syntax: HELO hostname",
            "250 2.0.0 Ok",
            "250 2.0.0 Ok",
            "501 5.5.4 Syntax: RSET",
            "250 2.0.0 Ok",
            "502 5.5.1 VRFY command is disabled",  # vmail default disable_vrfy_command=yes
            "500 5.5.2 Error: command not recognized",
            "500 5.5.2 Error: command not recognized",
            "500 5.5.2 Error: command not recognized",
            "500 5.5.2 Error: command not recognized",
            "500 5.5.2 Error: command not recognized",
        ],
    ),
    (
        "refused extensions",
        b"ETRN x\r\nXCLIENT NAME=x\r\nXFORWARD NAME=x\r\nSTARTTLS\r\n",
        [
            "502 5.5.1 Error: command not implemented",
            "550 5.7.0 Error: insufficient authorization",
            "550 5.7.0 Error: insufficient authorization",
            "502 5.5.1 Error: command not implemented",
        ],
    ),
    (
        "mail syntax",
        E
        + b"MAIL\r\nMAIL FROM\r\nMAIL FROM:\r\nMAIL FROM:<>\r\nRSET\r\nMAIL FROM:a@b.test\r\nRSET\r\n"
        b"MAIL FROM:<a@b.test\r\nMAIL FROM:<a b@c>\r\nMAIL FROM:<@r1,@r2:a@b.test>\r\nRSET\r\n"
        b'MAIL FROM:<"a b"@c.test>\r\nRSET\r\nMAIL FROM: <a@b.test>\r\nRSET\r\n'
        b"MAIL FROM:<a@b.test> FOO=bar\r\nMAIL FROM:<a@b.test> SIZE=1000000000\r\n"
        b"MAIL FROM:<a@b.test> SIZE=abc\r\nMAIL FROM:<a@b.test> BODY=FOO\r\n"
        b"MAIL FROM:<a@b.test> RET=XX\r\nMAIL FROM:<a@b.test> ENVID=a+zz\r\n"
        b"MAIL FROM:<a@b.test> RET=FULL RET=HDRS\r\nMAIL FROM:<a@b.test> SMTPUTF8=x\r\n"
        b"MAIL FROM:<a@b.test> BODY=BINARYMIME\r\n"
        b"MAIL FROM:<a@b.test> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=a+2Bb AUTH=<>\r\n",
        [
            "250 CHUNKING",
            "501 5.5.4 Syntax: MAIL FROM:<address>",
            "501 5.5.4 Syntax: MAIL FROM:<address>",
            "501 5.5.4 Syntax: MAIL FROM:<address>",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            "501 5.1.7 Bad sender address syntax",
            "501 5.1.7 Bad sender address syntax",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            "555 5.5.4 Unsupported option: FOO=bar",
            "552 5.3.4 Message size exceeds fixed limit",
            "501 5.5.4 Bad message size syntax",
            "555 5.5.4 Unsupported option: BODY=FOO",
            "501 5.5.4 Bad RET parameter syntax",
            "501 5.5.4 Bad ENVID parameter syntax",
            "501 5.5.4 Bad RET parameter syntax",
            "555 5.5.4 Unsupported option: SMTPUTF8=x",
            "555 5.5.4 Unsupported option: BODY=BINARYMIME",
            "250 2.1.0 Ok",
        ],
    ),
    (
        "rcpt syntax",
        E + b"MAIL FROM:<>\r\nRCPT\r\nRCPT TO\r\nRCPT TO:\r\nRCPT TO:<>\r\nRCPT TO:<postmaster>\r\n"
        b"RCPT TO:postmaster@mail.example.test\r\n"
        b"RCPT TO:<p@mail.example.test> NOTIFY=NEVER\r\n"
        b"RCPT TO:<p@mail.example.test> NOTIFY=SUCCESS,FAILURE,DELAY\r\n"
        b"RCPT TO:<p@mail.example.test> NOTIFY=NEVER,SUCCESS\r\n"
        b"RCPT TO:<p@mail.example.test> NOTIFY=BOGUS\r\n"
        b"RCPT TO:<p@mail.example.test> ORCPT=rfc822;a+40b\r\n"
        b"RCPT TO:<p@mail.example.test> ORCPT=bogus\r\n"
        b"RCPT TO:<p@mail.example.test> ORCPT=x-foo;abc\r\n"
        b"RCPT TO:<p@mail.example.test> ORCPT=rfc822;a+zz\r\n"
        b"RCPT TO:<p@mail.example.test> FOO=1\r\n"
        b"RCPT TO:<a b@c>\r\nRCPT TO:<a@b.test\r\n",
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "501 5.5.4 Syntax: RCPT TO:<address>",
            "501 5.5.4 Syntax: RCPT TO:<address>",
            "501 5.5.4 Syntax: RCPT TO:<address>",
            "501 5.1.3 Bad recipient address syntax",
            "250 2.1.5 Ok",
            "250 2.1.5 Ok",
            "250 2.1.5 Ok",
            "250 2.1.5 Ok",
            "501 5.5.4 Error: Bad NOTIFY parameter syntax",
            "501 5.5.4 Error: Bad NOTIFY parameter syntax",
            "250 2.1.5 Ok",
            "501 5.5.4 Error: Bad ORCPT parameter syntax",
            "250 2.1.5 Ok",
            "501 5.5.4 Error: Bad ORCPT parameter syntax",
            "555 5.5.4 Unsupported option: FOO=1",
            "501 5.1.3 Bad recipient address syntax",
            "501 5.1.3 Bad recipient address syntax",
        ],
    ),
    (
        "helo and ehlo reset the transaction",
        b"HELO a\r\n" + M + b"EHLO b\r\n" + M + b"HELO c\r\nRCPT TO:<x@y>\r\n",
        [
            "250 mail.example.test",
            "250 2.1.0 Ok",
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 mail.example.test",
            "503 5.5.1 Error: need MAIL command",
        ],
    ),
    (
        "8-bit and control characters in commands",
        E + b"MAIL FROM:<a\xe9@b.test>\r\nNOOP \x00\r\nNOOP a\rb\r\n"
        b"MAIL FROM:<a\xc3\xa9@b.test> SMTPUTF8\r\n",
        [
            "250 CHUNKING",
            "500 5.5.2 Error: bad UTF-8 syntax",
            # Postfix truncates at the NUL and answers 250; vmail refuses the line
            "500 5.5.2 Error: bad syntax",
            "500 5.5.2 Error: bad syntax",
            "250 2.1.0 Ok",
        ],
    ),
    (
        "xtext with encoded control characters",
        # Postfix accepts ENVID=a+00b and ORCPT=rfc822;a+00b (C strings end at the NUL);
        # vmail refuses any encoded control character.
        E
        + b"MAIL FROM:<a@b.test> ENVID=a+00b\r\nMAIL FROM:<a@b.test> ENVID=a+0Db\r\n"
        + M
        + b"RCPT TO:<p@x> ORCPT=rfc822;a+00b\r\nRCPT TO:<p@x> ORCPT=rfc822;a+0Ab\r\n"
        b"RCPT TO:<p@x> ORCPT=rfc822;a+C3+A9b\r\n",
        [
            "250 CHUNKING",
            "501 5.5.4 Bad ENVID parameter syntax",
            "501 5.5.4 Bad ENVID parameter syntax",
            "250 2.1.0 Ok",
            "501 5.5.4 Error: Bad ORCPT parameter syntax",
            "501 5.5.4 Error: Bad ORCPT parameter syntax",
            "250 2.1.5 Ok",
        ],
    ),
    (
        "data syntax and pipelined content",
        E + M + R + b"DATA x\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n",
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "501 5.5.4 Syntax: DATA",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 Ok: queued as 4ABC",
            "221 2.0.0 Bye",
        ],
    ),
]


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_transcript(data: bytes, expected: list[str]) -> None:
    assert replies(data) == expected


def test_parsed_envelope_reaches_the_driver() -> None:
    seen: list[Decision] = []

    def policy(d: Decision) -> Reply | None:
        seen.append(d)
        return None

    talk(
        E + b'MAIL FROM:<@r1,@r2:"a b"@c.test> SIZE=100 BODY=8bitmime RET=hdrs ENVID=x+2By\r\n'
        b"RCPT TO:<u@d.test> NOTIFY=success,failure ORCPT=rfc822;u+40d.test\r\n",
        policy=policy,
    )
    mail, rcpt = seen[1], seen[2]
    assert isinstance(mail, MailFrom)
    assert isinstance(rcpt, RcptTo)
    assert mail.sender is not None
    assert mail.sender.internal == "a b@c.test"
    assert (mail.params.size, mail.params.body, mail.params.ret, mail.params.envid) == (
        100,
        "8BITMIME",
        "HDRS",
        "x+y",
    )
    assert rcpt.recipient.internal == "u@d.test"
    assert rcpt.params.notify == ("SUCCESS", "FAILURE")
    assert (rcpt.params.orcpt_type, rcpt.params.orcpt) == ("rfc822", "u@d.test")


def test_rejections_from_the_driver_are_sent_verbatim_and_keep_state() -> None:
    deny = Reply(554, "5.7.1", "<x@y.test>: Relay access denied")

    def policy(d: Decision) -> Reply | None:
        return deny if isinstance(d, RcptTo) else None

    run = talk(E + M + b"RCPT TO:<x@y.test>\r\nDATA\r\n", policy=policy)
    assert run.replies()[-2:] == [
        "554 5.7.1 <x@y.test>: Relay access denied",
        "554 5.5.1 Error: no valid recipients",
    ]


def test_helo_required() -> None:
    config = SessionConfig(myhostname=HOST, smtpd_helo_required=True)
    assert replies(M, config) == ["503 5.5.1 Error: send HELO/EHLO first"]


def test_vrfy_enabled() -> None:
    config = SessionConfig(myhostname=HOST, disable_vrfy_command=False)
    assert replies(b"VRFY a@b\r\nVRFY\r\n", config) == [
        "252 2.0.0 a@b",
        "501 5.5.4 Syntax: VRFY address [SMTPUTF8]",
    ]


def test_etrn_is_checked_in_postfixs_order_then_decided() -> None:
    config = SessionConfig(myhostname=HOST, etrn_allowed=True)
    sites: list[str] = []

    def policy(d: Decision) -> list[Reply] | None:
        if isinstance(d, Extension):
            sites.append(d.argument)
            return [Reply(459, "", f"<{d.argument}>: service unavailable")]
        return None

    run = talk(
        b"ETRN x.test\r\n"  # no HELO needed (smtpd_helo_required = no)
        + E
        + b"ETRN\r\nETRN a b\r\nETRN a..b\r\nETRN 1.2.3.4\r\nETRN -a.test\r\n"
        b"ETRN @x.test\r\nETRN #y.test\r\nETRN [192.0.2.1]\r\nETRN [IPv6:2001:db8::1]\r\n"
        b"ETRN [300.1.1.1]\r\n" + M + b"ETRN x.test\r\n",
        config,
        policy,
    )
    assert run.replies() == [
        "459 <x.test>: service unavailable",
        "250 CHUNKING",
        "500 Syntax: ETRN domain",
        "500 Syntax: ETRN domain",
        "501 Error: invalid parameter syntax",
        "501 Error: invalid parameter syntax",  # numeric: an address needs brackets
        "501 Error: invalid parameter syntax",
        "459 <x.test>: service unavailable",
        "459 <y.test>: service unavailable",
        "459 <[192.0.2.1]>: service unavailable",
        "459 <[IPv6:2001:db8::1]>: service unavailable",
        "501 Error: invalid parameter syntax",
        "250 2.1.0 Ok",
        "503 Error: MAIL transaction in progress",
    ]
    assert sites == ["x.test", "x.test", "y.test", "[192.0.2.1]", "[IPv6:2001:db8::1]"]


def test_etrn_needs_helo_when_helo_is_required() -> None:
    config = SessionConfig(myhostname=HOST, etrn_allowed=True, smtpd_helo_required=True)
    assert talk(b"ETRN x.test\r\n", config).replies() == ["503 Error: send HELO/EHLO first"]


def test_lmtp_per_recipient_replies() -> None:
    config = SessionConfig(myhostname=HOST, lmtp=True)
    ok = Reply(250, "2.0.0", "<a@x> Saved")
    full = Reply(452, "4.2.2", "<b@x> Mailbox full")

    def policy(d: Decision) -> list[Reply] | None:
        from vmail.protocol.smtp import DataComplete

        return [ok, full] if isinstance(d, DataComplete) else None

    run = talk(
        b"EHLO x\r\nMAIL FROM:<>\r\nLHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\n"
        b"DATA\r\nhi\r\n.\r\n",
        config,
        policy,
    )
    assert run.replies() == [
        "500 5.5.2 Error: command not recognized",
        "503 5.5.1 Error: send LHLO first",
        "250 CHUNKING",
        "250 2.1.0 Ok",
        "250 2.1.5 Ok",
        "250 2.1.5 Ok",
        "354 End data with <CR><LF>.<CR><LF>",
        "250 2.0.0 <a@x> Saved",
        "452 4.2.2 <b@x> Mailbox full",
    ]


def test_data_complete_without_answer_fails_closed() -> None:
    run = talk(E + M + R + b"DATA\r\nx\r\n.\r\n", policy=lambda d: None)
    assert run.replies()[-1] == "451 4.3.0 Queue file write error"
