"""Silent and vanishing servers: Postfix's "timed out while" and "lost connection" texts."""

from __future__ import annotations

import pytest

from tests.unit.delivery.smtp_sink import SmtpSink
from tests.unit.delivery.test_smtp import content, make_agent, requests
from vmail.delivery.request import Status

SHORT = {
    "smtp_helo_timeout": "1s",
    "smtp_mail_timeout": "1s",
    "smtp_rcpt_timeout": "1s",
    "smtp_data_init_timeout": "1s",
    "smtp_data_done_timeout": "1s",
}


@pytest.mark.parametrize(
    ("delay", "stage"),
    [
        ("CONNECT", "receiving the initial server greeting"),
        ("EHLO", "performing the EHLO handshake"),
        ("MAIL", "sending MAIL FROM"),
        ("DOT", "sending end of data -- message may be sent more than once"),
    ],
)
def test_timeouts(delay: str, stage: str) -> None:
    with SmtpSink(delays={delay: 2.5}) as sink:
        [result] = make_agent(None, **SHORT).deliver_batch(
            requests(f"[127.0.0.1]:{sink.port}", "a@remote.test"), content
        )
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.4.2")
    assert result.text == f"conversation with 127.0.0.1[127.0.0.1] timed out while {stage}"


@pytest.mark.parametrize(
    ("verb", "stage", "keywords"),
    [
        ("RCPT", "sending RCPT TO", ["SIZE"]),
        ("MAIL", "sending MAIL FROM", ["PIPELINING"]),
        ("DATA", "sending DATA command", ["SIZE"]),
        ("DOT", "sending end of data -- message may be sent more than once", ["SIZE"]),
    ],
)
def test_lost_connection(verb: str, stage: str, keywords: list[str]) -> None:
    with SmtpSink(hangup={verb}, keywords=keywords) as sink:
        [result] = make_agent().deliver_batch(
            requests(f"[127.0.0.1]:{sink.port}", "a@remote.test"), content
        )
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.4.2")
    assert result.text == f"lost connection with 127.0.0.1[127.0.0.1] while {stage}"


def test_rejected_recipient_keeps_its_result_when_connection_is_lost() -> None:
    sink = SmtpSink(hangup={"DATA"}, keywords=["SIZE"])
    sink.replies["RCPT"] = lambda arg: "550 5.1.1 unknown" if "bad" in arg else "250 2.1.5 Ok"
    with sink:
        results = make_agent().deliver_batch(
            requests(f"[127.0.0.1]:{sink.port}", "bad@remote.test", "good@remote.test"), content
        )
    assert [r.status for r in results] == [Status.BOUNCED, Status.DEFERRED]
