"""smtp_*_checks and smtp_generic_maps on outgoing mail: the content and log lines a
private Postfix 3.7.11 gave for the same tables and message (its smtp client to a sink)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.delivery.smtp_sink import FakeDns, SmtpSink
from vmail.config import MainConfig
from vmail.core.errors import TableError
from vmail.delivery.request import DeliveryRequest, MessageInfo, Status
from vmail.delivery.smtp import SmtpAgent
from vmail.tables import Table
from vmail.tables.registry import register

HEADER_RULES = """/^Subject: warnme/ WARN subject warned
/^X-Replace:/ REPLACE X-Replaced: yes
/^X-Ignore:/ IGNORE
/^X-Prepend:/ PREPEND X-Before: added
/^X-Reject:/ REJECT not here
/^X-Info:/ INFO informed
/^X-Strip:/ STRIP stripped it
/^X-Discard:/ DISCARD gone
/^X-Hold:/ HOLD held
"""
BODY_RULES = """/^badline/ WARN body warned
/^replace me/ REPLACE replaced line
/^ignore me/ IGNORE
/^reject me/ REJECT body reject
"""
MESSAGE = (
    b"From: a@example.com\r\nTo: bob@remote.test\r\nSubject: warnme now\r\nX-Replace: 1\r\n"
    b"X-Ignore: 2\r\nX-Prepend: 3\r\nX-Reject: 4\r\nX-Info: 5\r\nX-Strip: 6\r\n"
    b"X-Discard: 7\r\nX-Hold: 8\r\n\r\nbadline here\r\nreplace me\r\nignore me\r\n"
    b"reject me\r\nend\r\n"
)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def _deliver(sink: SmtpSink, settings: str, data: bytes = MESSAGE) -> Status:
    config = MainConfig.from_text("myhostname = client.test\n" + settings)
    agent = SmtpAgent(config, dns=FakeDns())
    info = MessageInfo("4ABC", "a@example.com", size=len(data))
    request = DeliveryRequest(
        "4ABC",
        info.sender,
        "bob@remote.test",
        transport="smtp",
        nexthop=f"[127.0.0.1]:{sink.port}",
        message=info,
    )
    try:
        [result] = agent.deliver_batch([request], lambda: iter([data]))
    finally:
        agent.close()
    return result.status


def test_checks_take_the_actions_smtp_supports(
    tmp_path: Path, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "hc").write_text(HEADER_RULES)
    (tmp_path / "bc").write_text(BODY_RULES)
    settings = (
        f"smtp_header_checks = regexp:{tmp_path}/hc\nsmtp_body_checks = regexp:{tmp_path}/bc\n"
    )
    with caplog.at_level(logging.INFO, "vmail.delivery.smtp"):
        assert _deliver(sink, settings) is Status.SENT
    assert sink.messages == [
        b"From: a@example.com\r\nTo: bob@remote.test\r\nSubject: warnme now\r\n"
        b"X-Replaced: yes\r\nX-Before: added\r\nX-Prepend: 3\r\nX-Reject: 4\r\nX-Info: 5\r\n"
        b"X-Discard: 7\r\nX-Hold: 8\r\n\r\nbadline here\r\nreplaced line\r\nreject me\r\nend\r\n"
    ]
    logged = [r.getMessage() for r in caplog.records if "4ABC: to=" not in r.getMessage()]
    assert [line for line in logged if ": " in line and "connect" not in line] == [
        "4ABC: warning: header Subject: warnme now: subject warned",
        "4ABC: replace: header X-Replace: 1: X-Replaced: yes",
        "4ABC: prepend: header X-Prepend: 3: X-Before: added",
        "unsupported command in smtp_header_checks map: REJECT not here",
        "4ABC: info: header X-Info: 5: informed",
        "4ABC: strip: header X-Strip: 6: stripped it",
        "unsupported command in smtp_header_checks map: DISCARD gone",
        "unsupported command in smtp_header_checks map: HOLD held",
        "4ABC: warning: body badline here: body warned",
        "4ABC: replace: body replace me: replaced line",
        "unsupported command in smtp_body_checks map: REJECT body reject",
    ]


class _Down(Table):
    def lookup(self, key: str) -> str | None:
        raise TableError(self.spec, "server down")


def test_a_check_table_that_fails_defers_before_anything_is_sent(sink: SmtpSink) -> None:
    register("outdown", lambda spec, name, context: _Down(spec))
    assert _deliver(sink, "smtp_header_checks = outdown:x\n") is Status.DEFERRED
    assert sink.messages == []


def test_a_body_table_that_fails_while_sending_ends_nothing(sink: SmtpSink) -> None:
    register("outdown", lambda spec, name, context: _Down(spec))
    assert _deliver(sink, "smtp_body_checks = outdown:x\n") is Status.DEFERRED
    assert sink.messages == []  # the DATA was never ended: nothing was delivered
