"""Per-client and per-reply tables of smtpd, each as Postfix 3.7.11 answered the same
dialogue: ``smtpd_discard_ehlo_keyword_address_maps`` (and what a discarded keyword turns
off), ``smtpd_reject_footer_maps`` and ``smtpd_command_filter``."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.unit.servers.helpers import dialogue, serve, setup
from vmail.protocol.smtp.ehlomask import ehlo_keywords, ehlo_mask_names

DOWN_TABLE = "hosts = 127.0.0.1:1\nuser = x\npassword = y\ndbname = z\nquery = SELECT 1\n"
XCLIENT = "smtpd_authorized_xclient_hosts = 127.0.0.1\nmynetworks = 127.0.0.0/8, 10.0.0.0/8\n"


def _keywords(reply: str) -> list[str]:
    """The EHLO keywords of a joined multi-line reply."""
    return [line[4:].split()[0] for line in reply.split(" | ")[1:]]


def test_keyword_lists_as_postfix_reads_and_logs_them() -> None:
    assert ehlo_keywords("chunking, smtputf8 dsn,bogus Silent-Discard") == {
        "CHUNKING",
        "SMTPUTF8",
        "DSN",
        "SILENT-DISCARD",
    }
    # Postfix 3.7.11, smtpd_discard_ehlo_keywords = chunking, smtputf8 dsn,etrn 8BITMIME verp
    # xclient xforward starttls vrfy size pipelining auth bogus
    everything = ehlo_keywords(
        "chunking, smtputf8 dsn,etrn 8BITMIME verp xclient xforward starttls vrfy size "
        "pipelining auth bogus"
    )
    assert " ".join(ehlo_mask_names(everything)) == (
        "8BITMIME AUTH ETRN PIPELINING SIZE VERP VRFY XCLIENT XFORWARD STARTTLS DSN"
        " EHLO_MASK_SMTPUTF8 CHUNKING"
    )


def test_the_address_table_replaces_the_list_and_is_asked_again_after_xclient(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    router, spool = setup(
        tmp_path,
        XCLIENT + "smtpd_discard_ehlo_keywords = etrn\n"
        "smtpd_discard_ehlo_keyword_address_maps = inline:{ 10.0.0.1=dsn, "
        "{10.0.0.2=pipelining silent-discard}, 10.0.0.3=enhancedstatuscodes }\n",
    )
    caplog.set_level(logging.INFO, "vmail")

    def client(port: int) -> list[list[str]]:
        return [
            dialogue(port, [b"EHLO x", f"XCLIENT ADDR=10.0.0.{n}".encode(), b"EHLO x", b"QUIT"])
            for n in (1, 2, 3)
        ]

    sessions = serve(router, spool, client)
    first = _keywords(sessions[0][1])
    assert "ETRN" not in first
    assert "DSN" in first
    assert "ETRN" in _keywords(sessions[0][3])
    assert "DSN" not in _keywords(sessions[0][3])
    assert "PIPELINING" not in _keywords(sessions[1][3])
    assert "ENHANCEDSTATUSCODES" not in _keywords(sessions[2][3])
    # the XCLIENT client is not an XCLIENT host itself
    assert sessions[0][2].startswith("220 ")
    discarding = [r.getMessage() for r in caplog.records if "discarding" in r.getMessage()]
    # Postfix logs no line for silent-discard, nor when ENHANCEDSTATUSCODES is discarded
    assert (
        discarding
        == ["discarding EHLO keywords: ETRN", "discarding EHLO keywords: DSN"]
        + ["discarding EHLO keywords: ETRN"] * 2
    )


def test_a_discarded_keyword_turns_its_feature_off(tmp_path: Path) -> None:
    router, spool = setup(
        tmp_path, "smtpd_discard_ehlo_keywords = dsn, smtputf8, auth, chunking, starttls\n"
    )
    commands = [
        b"HELO x",
        b"MAIL FROM:<a@b.test> RET=FULL",
        b"MAIL FROM:<a@b.test> ENVID=x",
        b"MAIL FROM:<a@b.test> SMTPUTF8",
        b"MAIL FROM:<a@b.test> BODY=8BITMIME SIZE=10",
        b"RCPT TO:<x@y.test> NOTIFY=NEVER",
        b"RCPT TO:<x@y.test> ORCPT=rfc822;x@y.test",
        b"AUTH PLAIN AGEAYg==",
        b"STARTTLS",
        b"BDAT 3 LAST",
        b"NOOP",
    ]
    # Postfix 3.7.11's replies to the same commands
    assert serve(router, spool, lambda port: dialogue(port, commands))[2:] == [
        "501 5.7.1 DSN support is disabled",
        "501 5.7.1 DSN support is disabled",
        "555 5.5.4 Unsupported option: SMTPUTF8",
        "250 2.1.0 Ok",
        "501 5.7.1 DSN support is disabled",
        "501 5.7.1 DSN support is disabled",
        "503 5.5.1 Error: authentication not enabled",
        "502 5.5.1 Error: command not implemented",
        "521 5.5.1 Error: command not implemented",
        "",  # and the connection is closed
    ]


def test_a_failed_address_table_answers_ehlo_with_421(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "down.cf").write_text(DOWN_TABLE)
    router, spool = setup(
        tmp_path, f"smtpd_discard_ehlo_keyword_address_maps = pgsql:{tmp_path}/down.cf\n"
    )
    caplog.set_level(logging.INFO, "vmail")
    commands = [b"HELO x", b"MAIL FROM:<a@b.test> RET=FULL", b"EHLO x", b"QUIT"]
    assert serve(router, spool, lambda port: dialogue(port, commands))[1:] == [
        "250 mail.example.net",
        "250 2.1.0 Ok",
        "421 4.3.0 mail.example.net Server local data error",
        "",
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert f'pgsql:{tmp_path}/down.cf lookup error for "127.0.0.1"' in messages
    assert "don't know what EHLO features to announce to unknown[127.0.0.1]" in messages
    assert (
        "NOQUEUE: reject: EHLO from unknown[127.0.0.1]: 421 4.3.0 mail.example.net"
        " Server local data error"
    ) in messages


def test_footer_tables_pick_the_footer_by_the_whole_reply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "footer").write_text(
        "/^454 4\\.7\\.1 / \\c. Call 555, client $$client_address\n"
        "/^500 5\\.5\\.2 Error: command/ First\\nsecond $$server_name\n"
        "/^503 /  \n"
    )
    router, spool = setup(
        tmp_path,
        "smtpd_reject_footer = \\c (default footer $client_address)\n"
        f"smtpd_reject_footer_maps = pcre:{tmp_path}/footer\n",
    )
    caplog.set_level(logging.INFO, "vmail")
    commands = [
        b"HELO x",
        b"MAIL FROM:<a@b.test>",
        b"RCPT TO:<x@y.test>",
        b"DATA",
        b"FOO",
        b"MAIL FROM:<a@b.test> RET=BAD",
    ]
    # as Postfix 3.7.11 answered with the same tables
    assert serve(router, spool, lambda port: dialogue(port, commands))[3:] == [
        "454 4.7.1 <x@y.test>: Relay access denied. Call 555, client 127.0.0.1",
        "554 5.5.1 Error: no valid recipients (default footer 127.0.0.1)",
        "500-5.5.2 Error: command not recognized | 500-5.5.2 First"
        " | 500 5.5.2 second mail.example.net",
        "503 5.5.1 Error: nested MAIL command (default footer 127.0.0.1)",
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "smtpd_reject_footer_maps lookup of 503 5.5.1 Error: nested MAIL command returns an"
        " empty string result"
    ) in messages
    assert "smtpd_reject_footer_maps should return NO RESULT in case of NOT FOUND" in messages


def test_command_filter_rewrites_commands_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "filter").write_text(
        "/^HELO\\s*$/ HELO domain.invalid\n"
        "/^\\s*$/ NOOP\n"
        "/^(RCPT\\s+TO:\\s*<)'([^[:space:]]+)'(>.*)/ $1$2$3\n"
        "/^FOOBAR$/ RSET\n"
        "/^UPPER (.*)$/ ${1}X\n"
    )
    router, spool = setup(
        tmp_path, f"mynetworks = 127.0.0.0/8\nsmtpd_command_filter = pcre:{tmp_path}/filter\n"
    )
    caplog.set_level(logging.INFO, "vmail")
    commands = [
        b"HELO",
        b"",
        b"MAIL FROM:<a@b.test>",
        b"RCPT TO:<'postmaster@localhost'>",
        b"FOOBAR",
        b"UPPER NOOP",
    ]
    assert serve(router, spool, lambda port: dialogue(port, commands))[1:] == [
        "250 mail.example.net",
        "250 2.0.0 Ok",
        "250 2.1.0 Ok",
        "250 2.1.5 Ok",
        "250 2.0.0 Ok",
        "500 5.5.2 Error: command not recognized",
    ]
    replaced = [r.getMessage() for r in caplog.records if "replacing" in r.getMessage()]
    assert replaced == [
        'unknown[127.0.0.1]: replacing command "HELO" with "HELO domain.invalid"',
        'unknown[127.0.0.1]: replacing command "" with "NOOP"',
        "unknown[127.0.0.1]: replacing command \"RCPT TO:<'postmaster@localhost'>\" with"
        ' "RCPT TO:<postmaster@localhost>"',
        'unknown[127.0.0.1]: replacing command "FOOBAR" with "RSET"',
        'unknown[127.0.0.1]: replacing command "UPPER NOOP" with "NOOPX"',
    ]


def test_a_failed_command_filter_hangs_up_with_421(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "down.cf").write_text(DOWN_TABLE)
    router, spool = setup(tmp_path, f"smtpd_command_filter = pgsql:{tmp_path}/down.cf\n")
    caplog.set_level(logging.INFO, "vmail")
    replies = serve(router, spool, lambda port: dialogue(port, [b"HELO x", b"NOOP"]))
    assert replies[1:] == ["421 4.3.0 mail.example.net Server local data error", ""]
    messages = [r.getMessage() for r in caplog.records]
    assert f'pgsql:{tmp_path}/down.cf lookup error for "HELO x"' in messages
    assert (
        "NOQUEUE: reject: CONNECT from unknown[127.0.0.1]: 421 4.3.0 mail.example.net"
        " Server local data error"
    ) in messages
