"""smtpd_proxy_filter: the before-queue content filter, over real sockets.

Expected behaviour recorded from Postfix 3.7.11 (private instance, tests/oracle/postfix.py,
``smtpd_proxy_filter = 127.0.0.1:PORT``, a scripted Python filter like
tests/smtp_filter_peer.py). What Postfix did, in short:

- the filter is reached at the first RCPT that passes smtpd's restrictions: greeting,
  ``EHLO mail.example.test``, ``XFORWARD NAME=[UNAVAILABLE] ADDR=127.0.0.1 PORT=44402
  HELO=client.test IDENT=[UNAVAILABLE] PROTO=ESMTP SOURCE=LOCAL``, then the client's MAIL
  and RCPT lines verbatim (``mail from: <A@Example.org>  size=100``); the client gets
  smtpd's own ``250 2.1.5 Ok`` (also for the filter's ``251``), the filter's refusal
  otherwise (``550 5.1.1 <bad@x>: filter rejects rcpt``, logged only as ``warning: proxy
  127.0.0.1:PORT rejected "RCPT TO:<bad@elsewhere.org>": "550 5.1.1 ..."``);
- ``NOQUEUE: client=unknown[127.0.0.1]`` once the filter took MAIL;
- DATA: ``Received: from client.test (unknown [127.0.0.1])`` / ``by mail.example.test
  (Postfix) with ESMTP`` / ``for <root@example.test>; DATE`` (no ``id``), the message
  dot-stuffed, ``.``, then QUIT; the filter's reply goes to the client and is logged
  ``proxy-accept: END-OF-MESSAGE: 250 2.0.0 Ok: queued as FILTERID; from=<a@example.org>
  to=<root@example.test> proto=ESMTP helo=<client.test>`` (``proxy-reject`` for 4xx/5xx);
- failures: ``451 4.3.0 Error: queue file write error`` with ``warning: connect to proxy
  filter 127.0.0.1:1: Connection refused``, ``warning: proxy 127.0.0.1:PORT rejected
  "connection request": "554 5.3.2 filter not ready"`` (then QUIT, no EHLO), ``warning:
  timeout talking to proxy 127.0.0.1:PORT``, ``rejected "DATA": "250 why"``; a refused
  MAIL (``451 4.7.1 Filter busy (mail)``) is the reply to RCPT; each RCPT tries again;
- too big: ``552 5.3.4 Error: message file too big``, the filter gets QUIT without the
  dot, ``warning: NOQUEUE: queue file size limit exceeded`` and ``proxy-reject:
  END-OF-MESSAGE: 354 End data with <CR><LF>.<CR><LF>; ...``;
- BDAT: DATA to the filter, ``250 2.0.0 Ok: 12 bytes`` for a middle chunk, the filter's
  reply for the last;
- hostile replies: ``warning: 127.0.0.1:PORT: response longer than 2048: 250 2.1.5
  yyyy...`` (the client still gets 250), multi-line refusals passed on with control
  characters as ``?``;
- speed_adjust: the client gets 250 to every RCPT; at the end of data the filter gets the
  whole transaction and its first refusal is the reply (``550 5.1.1 <bad@x>: filter
  rejects rcpt``, logged ``proxy-reject: END-OF-MESSAGE: 550 5.1.1 ...``).
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from tests.smtp_filter_peer import FilterPeer
from tests.unit.servers.helpers import dialogue, queued, serve, setup
from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.servers.smtpd.proxyfilter import (
    PAYLOAD_LIMIT,
    Forward,
    client_reply,
    proxy_settings,
    xforward_commands,
)

GENERIC = "451 4.3.0 Error: queue file write error"
ENVELOPE = [b"EHLO client.test", b"MAIL FROM:<a@example.org>", b"RCPT TO:<alice@example.com>"]
MESSAGE = [b"DATA", b"Subject: hi\r\n\r\n..dot\r\nbody\r\n."]


def run(
    tmp_path: Path, filter_peer: FilterPeer | None, commands: list[bytes], extra: str = ""
) -> list[str]:
    port = filter_peer.port if filter_peer else 1
    router, spool = setup(
        tmp_path, f"smtpd_proxy_filter = 127.0.0.1:{port}\nsmtpd_proxy_timeout = 1s\n{extra}"
    )
    replies = serve(router, spool, lambda p: dialogue(p, commands))
    assert queued(spool) == []  # nothing goes through vmail's own queue
    return replies


@pytest.fixture(autouse=True)
def _logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vmail")


def test_a_message_goes_through_the_filter(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FilterPeer() as peer:
        commands = [b"EHLO client.test", b"mail from: <a@example.org>  size=100 "]
        commands += [b"RCPT TO:<alice@example.com> NOTIFY=NEVER", b"RCPT TO:<nobody@example.com>"]
        commands += [b"RCPT TO:<bob@example.com>", *MESSAGE, b"QUIT"]
        replies = run(tmp_path, peer, commands)
        lines = peer.wait("[closed]")
    assert replies[2:] == [
        "250 2.1.0 Ok",
        "250 2.1.5 Ok",
        "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in "
        "virtual mailbox table",
        "250 2.1.5 Ok",
        "354 End data with <CR><LF>.<CR><LF>",
        "250 2.0.0 Ok: queued as FILTERID",
        "221 2.0.0 Bye",
    ]
    xforward = lines[2]
    assert xforward.startswith("XFORWARD NAME=[UNAVAILABLE] ADDR=127.0.0.1 PORT=")
    assert xforward.endswith(" HELO=client.test IDENT=[UNAVAILABLE] PROTO=ESMTP SOURCE=LOCAL")
    assert lines[:2] == ["[connect]", "EHLO mail.example.net"]
    assert lines[3:7] == [
        "mail from: <a@example.org>  size=100 ",
        "RCPT TO:<alice@example.com> NOTIFY=NEVER",
        "RCPT TO:<bob@example.com>",
        "DATA",
    ]
    assert lines[7:9] == [
        "Received: from client.test (unknown [127.0.0.1])",
        "\tby mail.example.net (vmail) with ESMTP;",
    ]
    assert lines[10:] == ["Subject: hi", "", "..dot", "body", ".", "QUIT", "[closed]"]
    assert "NOQUEUE: client=unknown[127.0.0.1]" in caplog.messages
    assert (
        "proxy-accept: END-OF-MESSAGE: 250 2.0.0 Ok: queued as FILTERID; from=<a@example.org>"
        " to=<alice@example.com> proto=ESMTP helo=<client.test>" in caplog.messages
    )


def test_refusals_of_the_filter_reach_the_client(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    replies = {
        "RCPT bob": "550 5.1.1 <bob@x>: filter rejects rcpt",
        "RCPT NOTIFY": "550-5.1.1 first line\r\n550 5.1.1 second\x01line",
        ".": "554 5.7.1 Filter says no",
    }
    with FilterPeer(replies) as peer:
        commands = [*ENVELOPE[:2], b"RCPT TO:<bob@example.com>"]
        commands += [b"RCPT TO:<alice@example.com> NOTIFY=NEVER", b"RSET", *ENVELOPE[1:], *MESSAGE]
        got = run(tmp_path, peer, commands)
    assert got[3:5] == [
        "550 5.1.1 <bob@x>: filter rejects rcpt",
        "550-5.1.1 first line | 550 5.1.1 second?line",
    ]
    assert got[-1] == "554 5.7.1 Filter says no"
    port = peer.port
    assert (
        f'proxy 127.0.0.1:{port} rejected "RCPT TO:<bob@example.com>": '
        '"550 5.1.1 <bob@x>: filter rejects rcpt"' in caplog.messages
    )
    assert not [m for m in caplog.messages if "reject: RCPT" in m]
    assert any(
        m.startswith("proxy-reject: END-OF-MESSAGE: 554 5.7.1 Filter says no;")
        for m in caplog.messages
    )
    assert peer.lines.count("[connect]") == 2  # RSET ended the first conversation


@pytest.mark.parametrize(
    ("replies", "stall", "at_data", "warning"),
    [
        ({}, "", False, "connect to proxy filter 127.0.0.1:1: Connection refused"),
        (
            {"greeting": "554 5.3.2 not ready"},
            "",
            False,
            '"connection request": "554 5.3.2 not ready"',
        ),
        ({"EHLO": "502 5.5.2 no"}, "", False, 'rejected "EHLO mail.example.net": "502 5.5.2 no"'),
        ({"XFORWARD": "550 5.5.1 no"}, "", False, 'rejected "XFORWARD NAME='),
        ({"MAIL": "354 huh"}, "", False, 'rejected "MAIL FROM:<a@example.org>": "354 huh"'),
        ({}, "MAIL", False, "timeout talking to proxy 127.0.0.1:"),
        ({}, "greeting", False, "timeout talking to proxy 127.0.0.1:"),
        ({"DATA": "250 why"}, "", True, 'rejected "DATA": "250 why"'),
        ({}, ".", True, "timeout talking to proxy 127.0.0.1:"),
    ],
)
def test_failures_get_the_generic_reply(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    replies: dict[str, str],
    stall: str,
    at_data: bool,
    warning: str,
) -> None:
    unreachable = warning.startswith("connect to")
    with FilterPeer(replies, stall) as peer:
        got = run(tmp_path, None if unreachable else peer, [*ENVELOPE, *MESSAGE])
    if at_data:
        assert got[3] == "250 2.1.5 Ok"
        assert got[4 if replies else 5] == GENERIC
    else:
        assert got[3] == GENERIC
    assert any(warning in m for m in caplog.messages), caplog.messages
    if stall == ".":
        assert (
            f"proxy-reject: END-OF-MESSAGE: {GENERIC}; from=<a@example.org> "
            "to=<alice@example.com> proto=ESMTP helo=<client.test>" in caplog.messages
        )
    if replies.get("greeting"):
        assert peer.wait("[closed]") == ["[connect]", "QUIT", "[closed]"]


def test_a_refused_mail_is_the_reply_to_each_rcpt(tmp_path: Path) -> None:
    with FilterPeer({"MAIL": "451 4.7.1 Filter busy (mail)"}) as peer:
        got = run(tmp_path, peer, [*ENVELOPE, ENVELOPE[2], b"DATA"])
    assert got[3:] == ["451 4.7.1 Filter busy (mail)"] * 2 + [
        "554 5.5.1 Error: no valid recipients"
    ]
    assert peer.lines.count("[connect]") == 2


def test_a_message_too_big(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    big = b"Subject: hi\r\n\r\n" + b"x" * 300 + b"\r\n."
    with FilterPeer() as peer:
        got = run(tmp_path, peer, [*ENVELOPE, b"DATA", big], "message_size_limit = 200\n")
        lines = peer.wait("[eof]")
    assert got[-1] == "552 5.3.4 Error: message file too big"
    assert lines[-2:] == ["QUIT", "[eof]"]
    assert "." not in lines
    assert "NOQUEUE: queue file size limit exceeded" in caplog.messages
    assert any(
        m.startswith("proxy-reject: END-OF-MESSAGE: 354 End data with <CR><LF>.<CR><LF>;")
        for m in caplog.messages
    )


def test_bdat_becomes_data(tmp_path: Path) -> None:
    with FilterPeer() as peer:
        # dialogue() ends each with CRLF: 12 and 9 bytes
        chunks = [b"BDAT 12\r\nSubject: t", b"BDAT 9 LAST\r\n\r\n.body"]
        got = run(tmp_path, peer, [*ENVELOPE, *chunks])
        lines = peer.wait("[closed]")
    assert got[-2:] == ["250 2.0.0 Ok: 12 bytes", "250 2.0.0 Ok: queued as FILTERID"]
    assert lines[lines.index("DATA") + 1].startswith("Received: from client.test ")
    assert lines[-6:] == ["Subject: t", "", "..body", ".", "QUIT", "[closed]"]


def test_hostile_replies_are_bounded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    replies = {
        "RCPT alice": "250 2.1.5 " + "y" * 100_000,
        "RCPT bob": "hello there\r\n" * 2000 + "250 ok",
    }
    with FilterPeer(replies) as peer:
        commands = [*ENVELOPE, b"RCPT TO:<bob@example.com>"]
        got = run(tmp_path, peer, commands)
    assert got[3:] == ["250 2.1.5 Ok", GENERIC]
    port = peer.port
    assert (
        f"127.0.0.1:{port}: response longer than 2048: 250 2.1.5 {'y' * 20}..." in caplog.messages
    )
    assert f"received garbage from proxy 127.0.0.1:{port}: hello there" in caplog.messages
    assert f"lost connection with proxy 127.0.0.1:{port}" in caplog.messages


def test_speed_adjust_replays_at_the_end(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with FilterPeer({"RCPT bob": "550 5.1.1 <bob@x>: filter rejects rcpt"}) as peer:
        commands = [*ENVELOPE, b"RCPT TO:<bob@example.com>", b"DATA"]
        extra = "smtpd_proxy_options = speed_adjust\n"
        router, spool = setup(tmp_path, f"smtpd_proxy_filter = 127.0.0.1:{peer.port}\n{extra}")

        def client(port: int) -> list[str]:
            with socket.create_connection(("127.0.0.1", port)) as s, s.makefile("rb") as f:
                s.sendall(b"\r\n".join(commands) + b"\r\n")
                replies: list[str] = []
                while len(replies) < 6:
                    line = f.readline().decode().rstrip("\r\n")
                    if line[3:4] != "-":
                        replies.append(line)
                assert peer.lines == []  # nothing reached the filter yet
                s.sendall(MESSAGE[1] + b"\r\n")
                return [*replies, f.readline().decode().rstrip("\r\n")]

        got = serve(router, spool, client)
        lines = peer.wait("[closed]")
    assert got[3:] == [
        "250 2.1.5 Ok",
        "250 2.1.5 Ok",
        "354 End data with <CR><LF>.<CR><LF>",
        "550 5.1.1 <bob@x>: filter rejects rcpt",
    ]
    assert lines[-3:] == ["RCPT TO:<bob@example.com>", "QUIT", "[closed]"]
    assert any(
        m.startswith("proxy-reject: END-OF-MESSAGE: 550 5.1.1 <bob@x>: filter rejects rcpt;")
        for m in caplog.messages
    )


def test_settings(tmp_path: Path) -> None:
    def config(text: str) -> MainConfig:
        return MainConfig.from_text(text)

    with pytest.raises(ConfigError):
        proxy_settings(config("smtpd_proxy_filter = :10025\nsmtpd_proxy_options = fast\n"))
    assert proxy_settings(config("")) is None
    settings = proxy_settings(
        config("smtpd_proxy_filter = inet:[::1]:10025\nmyhostname = h.test\n")
    )
    assert settings is not None
    assert (settings.ehlo, settings.timeout, settings.speed_adjust) == ("h.test", 100.0, False)


def test_xforward_is_split_as_postfix_splits_it() -> None:
    forward = Forward("n" * 300, "192.0.2.1", "25", "h" * 300, "ESMTP", local=False)
    offered = {"NAME", "ADDR", "PORT", "HELO", "IDENT", "PROTO", "SOURCE"}
    commands = xforward_commands(offered, forward)
    assert [len(c) - len("XFORWARD") <= PAYLOAD_LIMIT for c in commands] == [True, True]
    assert commands[1].endswith("IDENT=[UNAVAILABLE] PROTO=ESMTP SOURCE=REMOTE")
    assert xforward_commands({"ADDR"}, forward) == ["XFORWARD ADDR=192.0.2.1"]


def test_client_reply() -> None:
    assert str(client_reply("550-5.1.1 a\r\n550 5.1.1 b")) == "550 5.1.1 a\nb"
    assert str(client_reply("hello\r\n250 ok")) == GENERIC
