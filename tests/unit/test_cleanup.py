"""cleanup: alias expansion with original recipients, duplicate removal, Received:."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.routing_helpers import make_router
from vmail.cleanup import Cleanup, Rcpt, Submission, mail_date, received_header
from vmail.core.errors import TemporaryError
from vmail.queue import Spool

MAIN = """\
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{ a@example.com=x, b@example.com=x }
virtual_alias_maps = inline:{ {all@example.com=a@example.com, b@example.com}, \
{dup@example.com=a@example.com, A@example.com}, x@example.com=y@example.com, \
y@example.com=x@example.com }
"""


def cleanup(tmp_path: Path) -> tuple[Cleanup, Spool]:
    router = make_router(tmp_path, MAIN)
    spool = Spool(tmp_path / "q").create()
    return Cleanup(router.config, router, spool), spool


def test_expansion_keeps_original_and_removes_duplicates_per_final_and_original(
    tmp_path: Path,
) -> None:
    c, _ = cleanup(tmp_path)
    got = c.expand(
        [
            Rcpt("all@example.com"),
            Rcpt("dup@example.com"),
            Rcpt("a@example.com", ("SUCCESS",), "rfc822;a@example.com"),
            Rcpt("a@example.com", ("SUCCESS",), "rfc822;a@example.com"),
            Rcpt("ALL@example.com"),
        ]
    )
    assert [(r.address, r.original, r.notify) for r in got] == [
        ("a@example.com", "all@example.com", ()),
        ("b@example.com", "all@example.com", ()),
        ("a@example.com", "dup@example.com", ()),
        ("a@example.com", "a@example.com", ("SUCCESS",)),
    ]
    assert got[3].orcpt == "rfc822;a@example.com"


def test_expansion_error_commits_nothing(tmp_path: Path) -> None:
    c, spool = cleanup(tmp_path)
    with pytest.raises(TemporaryError) as e:
        c.open(Submission("s@example.org", [Rcpt("a@example.com"), Rcpt("x@example.com")]))
    assert str(e.value.reply) == "451 4.6.0 Alias expansion error"
    assert spool.ids("incoming") == []
    assert spool.temp_files() == []


def test_streamed_message_is_committed_under_the_id_in_received(tmp_path: Path) -> None:
    c, spool = cleanup(tmp_path)
    message = c.open(Submission("s@example.org", [Rcpt("all@example.com")], helo="h"))
    for chunk in (b"Subject: x\r\n", b"\r\n", b"body\r\n"):
        message.write(chunk)
    queue_id = message.commit()
    qf = spool.load("incoming", queue_id)
    content = qf.read_content()
    assert f"with ESMTP id {queue_id}\r\n\tfor <all@example.com>; ".encode() in content
    assert content.endswith(b"\r\nSubject: x\r\n\r\nbody\r\n")
    assert qf.envelope.client["helo"] == "h"


def test_mail_date_is_postfix_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert mail_date(0) == "Thu,  1 Jan 1970 00:00:00 +0000 (UTC)"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_received_layout() -> None:
    sub = Submission("", [], client_address="2001:db8::1", client_name="unknown", tls=True)
    text = received_header(sub, "mx.example", "vmail", "ID").decode()
    assert text.startswith(
        "Received: from unknown (unknown [IPv6:2001:db8::1])\r\n"
        "\tby mx.example (vmail) with ESMTPS id ID;\r\n\t"
    )
