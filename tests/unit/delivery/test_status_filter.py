"""Delivery status filters (``*_delivery_status_filter``), checked against Postfix 3.7.11.

The oracle run (a private Postfix, relayhost a local sink that answers RCPT TO
``busy@...`` with ``450 4.2.1 mailbox busy, try later``; aliases running commands)::

    smtp_delivery_status_filter = pcre:smtp_dsn
        /^4\\.(\\S+) (.*said: 4\\d\\d.*)/ 5.$1 $2
    default_delivery_status_filter = pcre:default_dsn   (local's, by inheritance)
        /^4\\.3\\.0 (temporary failure.*)/ 5.3.0 hard: $1
        /^(2\\S+ delivered to command).+/ $1
        /^5\\.3\\.0 (.*status 1.*)/ 2.0.0 ok
        /^5\\.3\\.0 (.*status 2.*)/ 5.7.7

logged (postfix/local, postfix/smtp)::

    warning: local_delivery_status_filter: bad status code: 2.0.0 ok
    to=<ok@localhost>, relay=local, ..., dsn=2.0.0, status=sent (delivered to command)
    to=<fail1@localhost>, ..., dsn=5.3.0, status=bounced (Command died with status 1: "exit 1")
    to=<fail2@localhost>, ..., dsn=5.7.7, status=bounced (Command died with status 2: "exit 2")
    to=<tempfail@localhost>, ..., dsn=5.3.0, status=bounced (hard: temporary failure)
    to=<busy@remote.example>, relay=127.0.0.1[127.0.0.1]:PORT, ..., dsn=5.2.1,
        status=bounced (host 127.0.0.1[127.0.0.1] said: 450 4.2.1 mailbox busy, try later
        (in reply to RCPT TO command))

and the non-delivery notice has, for busy@remote.example, ``Action: failed``, ``Status:
5.2.1``, ``Remote-MTA: dns; 127.0.0.1``, ``Diagnostic-Code: smtp; 450 4.2.1 mailbox
busy, try later``; for tempfail@localhost ``Status: 5.3.0`` and ``Diagnostic-Code:
x-unix; temporary failure`` (Postfix keeps the agent's own diagnostic; vmail derives
it from the filtered text: ``X-Postfix; hard: temporary failure``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.unit.delivery.smtp_sink import SmtpSink
from vmail.bounce.dsn import diagnostic
from vmail.config import MainConfig
from vmail.config.master import MasterConfig
from vmail.delivery.request import (
    ContentSource,
    DeliveryRequest,
    DeliveryResult,
    Status,
    failed,
    sent,
)
from vmail.delivery.status_filter import FilteringAgent, StatusFilter, with_status_filter
from vmail.qmgr import QueueManager
from vmail.qmgr.agents import build_agents, close_agents
from vmail.queue import Envelope, Recipient, Spool

SMTP_RULES = "/^4\\.(\\S+) (.*said: 4\\d\\d.*)/ 5.$1 $2\n"
DEFAULT_RULES = (
    "/^4\\.3\\.0 (temporary failure.*)/ 5.3.0 hard: $1\n"
    "/^(2\\S+ delivered to command).+/ $1\n"
    "/^5\\.3\\.0 (.*status 1.*)/ 2.0.0 ok\n"
    "/^5\\.3\\.0 (.*status 2.*)/ 5.7.7\n"
    "/^5\\.1\\.1 (.*)/ 4.1.1 soft: $1\n"
)
BUSY = (
    "host 127.0.0.1[127.0.0.1] said: 450 4.2.1 mailbox busy, try later"
    " (in reply to RCPT TO command)"
)


def make_config(tmp_path: Path, **settings: str) -> MainConfig:
    (tmp_path / "smtp_dsn").write_text(SMTP_RULES)
    (tmp_path / "default_dsn").write_text(DEFAULT_RULES)
    text = "".join(f"{k} = {v}\n" for k, v in settings.items())
    return MainConfig.from_text(text, config_dir=tmp_path)


def local_filter(tmp_path: Path) -> StatusFilter:
    cfg = make_config(tmp_path, default_delivery_status_filter=f"pcre:{tmp_path}/default_dsn")
    return StatusFilter(cfg, "local_delivery_status_filter")


def test_a_soft_smtp_error_becomes_a_bounce(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, smtp_delivery_status_filter=f"pcre:{tmp_path}/smtp_dsn")
    result = DeliveryResult(Status.DEFERRED, "4.2.1", BUSY, relay="127.0.0.1[127.0.0.1]:25")
    filtered = StatusFilter(cfg, "smtp_delivery_status_filter").apply(result)
    assert filtered == DeliveryResult(
        Status.BOUNCED, "5.2.1", BUSY, relay="127.0.0.1[127.0.0.1]:25"
    )


def test_text_replacement_and_censored_success(tmp_path: Path) -> None:
    status_filter = local_filter(tmp_path)
    tempfail = status_filter.apply(failed("4.3.0", "temporary failure"))
    assert (tempfail.status, tempfail.dsn, tempfail.text) == (
        Status.BOUNCED,
        "5.3.0",
        "hard: temporary failure",
    )
    ok = status_filter.apply(sent("delivered to command: cat >/dev/null"))
    assert (ok.status, ok.dsn, ok.text) == (Status.SENT, "2.0.0", "delivered to command")


def test_a_hard_error_may_become_soft(tmp_path: Path) -> None:
    result = local_filter(tmp_path).apply(failed("5.1.1", "unknown user: bob"))
    assert (result.status, result.dsn, result.text) == (
        Status.DEFERRED,
        "4.1.1",
        "soft: unknown user: bob",
    )


def test_failure_to_success_is_refused_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    status_filter = local_filter(tmp_path)
    result = failed("5.3.0", 'Command died with status 1: "exit 1"')
    with caplog.at_level(logging.WARNING):
        assert status_filter.apply(result) is result
    assert "local_delivery_status_filter: bad status code: 2.0.0 ok" in caplog.messages


@pytest.mark.parametrize("answer", ["5.0.0 no", "x.1.1 text", "5.1 text", "5.1.1000 t", "ok"])
def test_success_stays_success(
    tmp_path: Path, answer: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "pipe_dsn").write_text(f"/^2\\.0\\.0 done$/ {answer}\n")
    cfg = make_config(tmp_path, pipe_delivery_status_filter=f"pcre:{tmp_path}/pipe_dsn")
    result = sent("done")
    with caplog.at_level(logging.WARNING):
        assert StatusFilter(cfg, "pipe_delivery_status_filter").apply(result) is result
    assert caplog.messages == [f"pipe_delivery_status_filter: bad status code: {answer}"]


def test_a_code_alone_keeps_the_text(tmp_path: Path) -> None:
    """Postfix 3.7 logged dsn=5.7.7, status=bounced (Command died with status 2: ...)."""
    result = local_filter(tmp_path).apply(failed("5.3.0", 'Command died with status 2: "exit 2"'))
    assert (result.status, result.dsn, result.text) == (
        Status.BOUNCED,
        "5.7.7",
        'Command died with status 2: "exit 2"',
    )


def test_no_match_and_no_tables_leave_the_outcome(tmp_path: Path) -> None:
    result = failed("4.4.1", "connect to x: Connection refused")
    assert local_filter(tmp_path).apply(result) is result
    cfg = make_config(tmp_path)
    assert not StatusFilter(cfg, "smtp_delivery_status_filter")


def test_agents_inherit_the_default_and_may_override_it(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path,
        default_delivery_status_filter=f"pcre:{tmp_path}/default_dsn",
        smtp_delivery_status_filter=f"pcre:{tmp_path}/smtp_dsn",
    )
    for command in ("lmtp", "local", "pipe", "virtual"):
        assert StatusFilter(cfg, f"{command}_delivery_status_filter").specs == [
            f"pcre:{tmp_path}/default_dsn"
        ]
    assert StatusFilter(cfg, "smtp_delivery_status_filter").specs == [f"pcre:{tmp_path}/smtp_dsn"]
    agent = Fixed([])
    assert with_status_filter(agent, cfg, "error") is agent  # error(8), discard(8): none


def test_build_agents_uses_the_services_overrides(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, virtual_mailbox_base=str(tmp_path))
    master = MasterConfig.from_text(
        "virtual unix - n n - - virtual\n"
        "strict unix - n n - - virtual\n"
        f"  -o virtual_delivery_status_filter=pcre:{tmp_path}/default_dsn\n"
    )
    agents = build_agents(cfg, master)
    assert not isinstance(agents["virtual"], FilteringAgent)
    strict = agents["strict"]
    assert isinstance(strict, FilteringAgent)
    assert strict.status_filter.parameter == "virtual_delivery_status_filter"


class Fixed:
    """An agent that returns the given results and counts its calls."""

    def __init__(self, results: list[DeliveryResult]) -> None:
        self.results = results
        self.calls = 0

    def deliver_batch(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> list[DeliveryResult]:
        self.calls += 1
        return self.results[: len(requests)]


def test_a_table_that_does_not_open_fails_before_delivering(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, smtp_delivery_status_filter=f"pcre:{tmp_path}/missing")
    inner = Fixed([sent("250 ok")])
    agent = with_status_filter(inner, cfg, "smtp")
    with pytest.raises(Exception, match="missing"):
        agent.deliver_batch([DeliveryRequest("Q", "a@b", "c@d")], lambda: iter(()))
    assert inner.calls == 0


def test_qmgr_bounces_a_filtered_deferral(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    arrival = 1_795_766_555.0
    cfg = make_config(
        tmp_path,
        myhostname="mx.test",
        queue_directory=str(tmp_path / "spool"),
        smtp_delivery_status_filter=f"pcre:{tmp_path}/smtp_dsn",
        transport_maps="inline:{ remote.example=relay:[127.0.0.1] }",
    )
    spool = Spool.from_config(cfg).create()
    deferral = DeliveryResult(Status.DEFERRED, "4.2.1", BUSY, relay="127.0.0.1[127.0.0.1]:25")
    relay = with_status_filter(Fixed([deferral]), cfg, "smtp")
    qmgr = QueueManager(
        cfg, spool, {"relay": relay}, clock=lambda: arrival, programs={"relay": "smtp"}
    )
    env = Envelope("alice@example.org", (Recipient("busy@remote.example"),), arrival)
    with spool.writer(env) as w:
        w.write(b"Subject: t\r\n\r\nhello\r\n")
        qid = w.commit()
    with caplog.at_level(logging.INFO, "vmail"):
        asyncio.run(qmgr.run_once(arrival))
    assert spool.find(qid) is None  # bounced and removed, not deferred
    [line] = [r.getMessage() for r in caplog.records if r.name == "vmail.smtp"]
    assert line == (
        f"{qid}: to=<busy@remote.example>, relay=127.0.0.1[127.0.0.1]:25, delay=0,"
        f" delays=0/0/0/0, dsn=5.2.1, status=bounced ({BUSY})"
    )
    # the non-delivery notice's Remote-MTA and Diagnostic-Code, as Postfix wrote them
    assert diagnostic(BUSY) == ("127.0.0.1", "smtp", "450 4.2.1 mailbox busy, try later")


def test_the_smtp_agent_through_build_agents(tmp_path: Path) -> None:
    """The real smtp agent, a next hop answering RCPT with 450, the oracle's filter."""
    cfg = make_config(
        tmp_path,
        myhostname="client.test",
        virtual_mailbox_base=str(tmp_path),
        smtp_delivery_status_filter=f"pcre:{tmp_path}/smtp_dsn",
    )
    master = MasterConfig.from_text("relay unix - - n - - smtp\n")
    agents = build_agents(cfg, master)
    try:
        with SmtpSink() as sink:
            sink.replies["RCPT"] = "450 4.2.1 mailbox busy, try later"
            request = DeliveryRequest(
                "4ABC",
                "alice@client.test",
                "busy@remote.example",
                transport="relay",
                nexthop=f"[127.0.0.1]:{sink.port}",
            )
            [result] = agents["relay"].deliver_batch([request], lambda: iter([b"\r\n"]))
    finally:
        close_agents(agents)
    assert result == DeliveryResult(
        Status.BOUNCED, "5.2.1", BUSY, relay=f"127.0.0.1[127.0.0.1]:{sink.port}"
    )
