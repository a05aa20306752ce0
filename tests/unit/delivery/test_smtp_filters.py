"""smtp_discard_ehlo_keywords(_address_maps) and smtp_reply_filter against a scripted
server (real sockets); expectations from Postfix 3.7.11 runs relaying to such a server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.unit.delivery.smtp_sink import SmtpSink
from tests.unit.delivery.test_smtp import deliver, hop, make_agent, requests
from vmail.delivery.request import DeliveryResult, Status
from vmail.delivery.smtp import SmtpAgent
from vmail.delivery.smtp_client import Reply

KEYWORDS = ["PIPELINING", "SIZE 10240000", "CHUNKING", "AUTH PLAIN LOGIN", "DSN", "8BITMIME"]


def sink_with(**kwargs: object) -> SmtpSink:
    return SmtpSink(keywords=list(KEYWORDS), **kwargs).start()  # type: ignore[arg-type]


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def send(
    caplog: pytest.LogCaptureFixture, sink: SmtpSink | None = None, **settings: str
) -> tuple[DeliveryResult, SmtpSink]:
    """One message (NOTIFY=FAILURE) through an agent with ``settings`` to ``sink``."""
    sink = sink or sink_with()
    try:
        agent = make_agent(None, **settings)
        with caplog.at_level(logging.INFO, "vmail.delivery.smtp"):
            [result] = deliver(agent, requests(hop(sink), "bob@remote.test", notify=("failure",)))
    finally:
        sink.stop()
    return result, sink


def test_discarded_keywords_are_ignored_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    result, sink = send(
        caplog,
        smtp_discard_ehlo_keywords="pipelining, STARTTLS auth chunking dsn bogus",
        smtp_sasl_auth_enable="yes",
        smtp_sasl_password_maps="static:user:pass",
        smtp_sasl_security_options="",
    )
    assert result.status is Status.SENT
    # Postfix: EHLO, MAIL FROM:<...> SIZE=272, RCPT TO:<...>, DATA, QUIT (no AUTH, no ORCPT)
    assert [c.split()[0] for c in sink.commands] == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    assert "SIZE=" in sink.commands[1]
    assert "NOTIFY" not in sink.commands[2]
    assert "discarding EHLO keywords: AUTH PIPELINING STARTTLS DSN CHUNKING" in messages(caplog)


def test_address_map_replaces_list_silently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    table = tmp_path / "discard"
    table.write_text("127.0.0.1 silent-discard, pipelining size\n")
    result, sink = send(
        caplog,
        smtp_discard_ehlo_keywords="dsn",
        smtp_discard_ehlo_keyword_address_maps=f"texthash:{table}",
    )
    assert result.status is Status.SENT
    assert sink.commands[1] == "MAIL FROM:<alice@client.test>"  # no SIZE
    assert "NOTIFY=FAILURE" in sink.commands[2]  # DSN not discarded
    assert not any("discarding" in m for m in messages(caplog))


def test_address_map_without_match_uses_list(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    table = tmp_path / "discard"
    table.write_text("127.0.0.2 size\n")
    result, sink = send(
        caplog,
        smtp_discard_ehlo_keywords="dsn pipelining",
        smtp_discard_ehlo_keyword_address_maps=f"texthash:{table}",
    )
    assert result.status is Status.SENT
    assert "SIZE=" in sink.commands[1]
    assert "discarding EHLO keywords: PIPELINING DSN" in messages(caplog)


def test_address_map_failure_defers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    result, sink = send(
        caplog,
        smtp_discard_ehlo_keywords="dsn",
        smtp_discard_ehlo_keyword_address_maps=f"hash:{tmp_path / 'missing'}",
    )
    # Postfix: EHLO, QUIT; deferred (local data error while talking to HOST[ADDR])
    assert sink.commands == ["EHLO client.test", "QUIT"]
    assert result.status is Status.DEFERRED
    assert result.dsn == "4.3.0"
    assert result.text == "local data error while talking to 127.0.0.1[127.0.0.1]"
    assert result.relay == f"127.0.0.1[127.0.0.1]:{sink.port}"
    assert (
        "4ABC: smtp_discard_ehlo_keyword_address_maps map lookup error for 127.0.0.1"
        in messages(caplog)
    )


def test_lmtp_uses_lhlo_names(caplog: pytest.LogCaptureFixture) -> None:
    from vmail.config import MainConfig

    sink = SmtpSink(lmtp=True, keywords=list(KEYWORDS)).start()
    try:
        config = MainConfig.from_text(
            "myhostname = client.test\nlmtp_discard_lhlo_keywords = pipelining\n"
            "smtp_discard_ehlo_keywords = dsn\n"
        )
        agent = SmtpAgent(config, lmtp=True)
        with caplog.at_level(logging.INFO, "vmail.delivery.smtp"):
            reqs = requests(f"inet:127.0.0.1:{sink.port}", "bob@remote.test")
            [result] = deliver(agent, reqs)
    finally:
        sink.stop()
    assert result.status is Status.SENT
    assert "discarding EHLO keywords: PIPELINING" in messages(caplog)


def test_reply_filter_rewrites_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rules = tmp_path / "reply_filter"
    rules.write_text(
        "/^550 5\\.1\\.1 (.*)$/ 550 5.1.2 hard: $1\n"
        "!/^([2-5][0-9][0-9]($|[- ]))/ 250-filler for garbage\n"
        "/^220 (.*)/ 220 rewritten $1\n"
    )
    result, sink = send(
        caplog,
        sink_with(replies={"RCPT": "junk line here\r\n550-5.1.1 first\r\n550 5.1.1 user unknown"}),
        smtp_reply_filter=f"pcre:{rules}",
    )
    relay = f"127.0.0.1[127.0.0.1]:{sink.port}"
    assert result.status is Status.BOUNCED
    assert result.dsn == "5.1.2"  # the final line's enhanced status code
    assert result.text == (
        "host 127.0.0.1[127.0.0.1] said: 250-filler for garbage 550-5.1.1 first"
        " 550 5.1.2 hard: user unknown (in reply to RCPT TO command)"
    )
    logged = messages(caplog)
    assert (
        f'{relay}: replacing server reply "220 sink.test ESMTP" with'
        ' "220 rewritten sink.test ESMTP"' in logged
    )
    assert (
        f'{relay}: replacing server reply "junk line here" with "250-filler for garbage"' in logged
    )


def test_reply_filter_data_reply(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rules = tmp_path / "reply_filter"
    rules.write_text("/^250 2\\.0\\.0 Ok: queued as (.*)$/ 451 4.3.0 rewritten $1\n")
    result, _ = send(caplog, smtp_reply_filter=f"pcre:{rules}")
    assert result.status is Status.DEFERRED
    assert result.dsn == "4.3.0"
    assert result.text == (
        "host 127.0.0.1[127.0.0.1] said: 451 4.3.0 rewritten 4ABC (in reply to end of DATA command)"
    )


def test_reply_filter_ehlo_line_hides_keyword(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "reply_filter"
    rules.write_text("/^250-DSN$/ 250-XDSN\n")
    result, sink = send(caplog, smtp_reply_filter=f"pcre:{rules}")
    assert result.status is Status.SENT
    assert "NOTIFY" not in sink.commands[2]


def test_reply_filter_failure_defers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = f"hash:{tmp_path / 'missing'}"
    result, sink = send(caplog, smtp_reply_filter=spec)
    # Postfix: QUIT right after the greeting; deferred
    assert sink.commands == ["QUIT"]
    assert result.status is Status.DEFERRED
    assert (result.dsn, result.text) == (
        "4.3.0",
        "local data error while talking to 127.0.0.1[127.0.0.1]",
    )
    assert f"4ABC: table {spec} lookup error for 220 sink.test ESMTP" in messages(caplog)


def test_dsn_comes_from_final_line() -> None:
    reply = Reply(550, ("550-5.1.1 first", "550 5.7.1 last"))
    assert reply.dsn == "5.7.1"
