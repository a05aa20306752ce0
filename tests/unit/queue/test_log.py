"""Log lines in Postfix's format (compared with lines from a real Postfix 3.7 log)."""

from __future__ import annotations

import pytest

from vmail.queue import log


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0"), (0.004, "0"), (0.01, "0.01"), (0.06, "0.06"), (0.183, "0.18"), (0.1, "0.1"),
     (1.23, "1.2"), (1.0, "1"), (9.99, "9.9"), (23.4, "23"), (1234.5, "1234")],
)  # fmt: skip
def test_format_delay(seconds: float, text: str) -> None:
    assert log.format_delay(seconds) == text


def test_lines_match_postfix() -> None:
    assert (
        log.queue_active("4jbQrC6PdLzJC10", "alice@example.com", 3301, 2)
        == "4jbQrC6PdLzJC10: from=<alice@example.com>, size=3301, nrcpt=2 (queue active)"
    )
    assert log.queue_active("4jbQrC6RS4zJC11", "", 316, 1) == (
        "4jbQrC6RS4zJC11: from=<>, size=316, nrcpt=1 (queue active)"
    )
    assert log.delivery(
        "4jbQrC6PdLzJC10",
        "bob@remote.example",
        relay="none",
        delays=log.Delays(23, 0.01, 0, 0),
        dsn="4.4.1",
        status="deferred",
        text="connect to 127.0.0.1[127.0.0.1]:9: Connection refused",
    ) == (
        "4jbQrC6PdLzJC10: to=<bob@remote.example>, relay=none, delay=23,"
        " delays=23/0.01/0/0, dsn=4.4.1, status=deferred"
        " (connect to 127.0.0.1[127.0.0.1]:9: Connection refused)"
    )
    assert log.delivery(
        "4jbQrC6PdLzJC10",
        "bob@example.net",
        original="team@example.com",
        relay="virtual",
        delays=log.Delays(0.1, 0.01, 0, 0.06),
        dsn="2.0.0",
        status="sent",
        text="delivered to maildir",
    ) == (
        "4jbQrC6PdLzJC10: to=<bob@example.net>, orig_to=<team@example.com>, relay=virtual,"
        " delay=0.17, delays=0.1/0.01/0/0.06, dsn=2.0.0, status=sent (delivered to maildir)"
    )
    assert log.removed("4jbQrC6PdLzJC10") == "4jbQrC6PdLzJC10: removed"
    assert log.client("Q", "unknown", "127.0.0.1") == "Q: client=unknown[127.0.0.1]"
    assert log.message_id("Q", " <a@b> ") == "Q: message-id=<a@b>"
    assert log.message_id("Q", "a@b") == "Q: message-id=a@b"  # as the header has it
    assert log.message_id("Q", "") == "Q: message-id=<>"
