"""cleanup: alias expansion with original recipients, duplicate removal, Received:."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.routing_helpers import make_router
from vmail.cleanup import (
    Cleanup,
    MissingHeaders,
    Rcpt,
    Submission,
    mail_date,
    received_header,
)
from vmail.core.errors import PermanentError, TableError, TemporaryError
from vmail.core.reply import Reply
from vmail.queue import Spool
from vmail.tables import Table
from vmail.tables.registry import register

MAIN = """\
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{ a@example.com=x, b@example.com=x }
virtual_alias_maps = inline:{ {all@example.com=a@example.com, b@example.com}, \
{dup@example.com=a@example.com, A@example.com}, x@example.com=y@example.com, \
y@example.com=x@example.com }
"""


def cleanup(tmp_path: Path, extra: str = "") -> tuple[Cleanup, Spool]:
    router = make_router(tmp_path, MAIN + extra)
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


# -- missing headers -------------------------------------------------------------


def _fix(content: list[bytes], sender: str = "s@example.org", limit: int = 1000) -> bytes:
    fixer = MissingHeaders(sender, 0.0, "QID", "mail.example.net", limit)
    return b"".join(fixer.feed(c) for c in content) + fixer.finish()


def test_missing_headers_are_appended_at_the_end_of_the_header_section() -> None:
    got = _fix([b"Subj", b"ect: hi\r\n\tmore\r\nTo: a@b\r", b"\n\r\nbody\r\nDate: no\r\n"])
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[:3] == [b"Subject: hi", b"\tmore", b"To: a@b"]
    assert lines[3] == b"Message-Id: <19700101000000.QID@mail.example.net>"
    assert lines[4].startswith(b"Date: Thu,  1 Jan 1970 ")
    assert lines[5] == b"From: s@example.org"
    assert body == b"body\r\nDate: no\r\n"


def test_present_headers_are_not_added_and_case_does_not_matter() -> None:
    msg = b"message-ID: <x@y>\r\nDATE: today\r\nfrom: me\r\n\r\nbody\r\n"
    assert _fix([msg]) == msg


def test_resent_headers_get_resent_counterparts_and_null_sender_is_mailer_daemon() -> None:
    got = _fix([b"Resent-From: x\r\nFrom: a\r\nDate: d\r\nMessage-Id: <m>\r\n\r\nb\r\n"], "")
    assert b"Resent-Message-Id: <19700101000000.QID@mail.example.net>\r\n" in got
    assert b"Resent-Date: " in got
    assert b"Resent-From:" in got
    assert got.count(b"Resent-From:") == 1
    assert got.endswith(b"\r\n\r\nb\r\n")


def test_body_without_headers_and_headers_only_messages() -> None:
    got = _fix([b"no header line here\r\n"], "")
    assert got.startswith(b"Message-Id: ")
    assert got.endswith(b"From: MAILER-DAEMON\r\nno header line here\r\n")
    got = _fix([b"Subject: x\r\n"])
    assert got.startswith(b"Subject: x\r\nMessage-Id: ")
    got = _fix([b"Subject: x"])  # BDAT content need not end in CRLF
    assert got.startswith(b"Subject: x\r\nMessage-Id: ")


def test_an_overlong_header_line_ends_the_header_section_without_buffering_it() -> None:
    fixer = MissingHeaders("s@example.org", 0.0, "QID", "h", 100)
    out = fixer.feed(b"X-Long: " + b"a" * 50)
    assert out == b""
    out = fixer.feed(b"a" * 100)
    assert out.startswith(b"Message-Id: ")
    assert out.endswith(b"a" * 100)
    assert fixer.feed(b"tail\r\n") == b"tail\r\n"
    assert fixer.finish() == b""


def test_cleanup_adds_headers_only_for_local_rewrite_clients(tmp_path: Path) -> None:
    c, spool = cleanup(tmp_path)
    for local in (False, True):
        sub = Submission("s@example.org", [Rcpt("a@example.com")], local_rewrite=local)
        m = c.open(sub)
        m.write(b"Subject: hi\r\n\r\nbody\r\n")
        qid = m.commit()
        content = spool.load("incoming", qid).read_content()
        assert (b"\r\nMessage-Id: <" in content) is local
        assert (b"\r\nFrom: s@example.org\r\n" in content) is local
        assert content.endswith(b"\r\n\r\nbody\r\n")


def test_received_with_tls_details() -> None:
    sub = Submission(
        "s@example.org",
        [Rcpt("a@example.com")],
        helo="c.example",
        client_name="unknown",
        tls=True,
        tls_info="(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))",
        sasl_username="u@example.com",
    )
    lines = received_header(sub, "mail.example.net", "vmail", "QID").split(b"\r\n")
    assert lines[1] == b"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))"
    assert lines[2] == b"\t(No client certificate requested)"
    assert lines[3] == b"\tby mail.example.net (vmail) with ESMTPSA id QID"


def test_store_queues_a_message_held_in_memory_in_one_call(tmp_path: Path) -> None:
    c, spool = cleanup(tmp_path)
    sub = Submission("s@example.org", [Rcpt("all@example.com")], helo="h")
    queue_id = c.store(sub, [b"Subject: x\r\n", b"\r\n", b"body\r\n"])
    qf = spool.load("incoming", queue_id)
    assert qf.read_content().endswith(b"\r\nSubject: x\r\n\r\nbody\r\n")
    assert [r.address for r in qf.envelope.recipients] == ["a@example.com", "b@example.com"]


def test_store_leaves_nothing_behind_when_expansion_or_writing_fails(tmp_path: Path) -> None:
    c, spool = cleanup(tmp_path)
    with pytest.raises(TemporaryError, match=r"4\.6\.0"):
        c.store(Submission("s@example.org", [Rcpt("x@example.com")]), [b"x\r\n"])

    def broken() -> Iterator[bytes]:
        yield b"Subject: x\r\n"
        raise TemporaryError(Reply(451, "4.3.0", "Error: queue file write error"))

    with pytest.raises(TemporaryError, match=r"4\.3\.0"):
        c.store(Submission("s@example.org", [Rcpt("a@example.com")]), broken())
    assert spool.ids("incoming") == []
    assert spool.temp_files() == []


def test_the_message_id_is_logged_as_postfix_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # what a private Postfix 3.7.11 logged for the same three messages
    caplog.set_level(logging.INFO, logger="vmail.cleanup")
    c, _spool = cleanup(tmp_path)
    contents = (
        [b"Subject: x\r\n", b"\r\n", b"body\r\n"],
        [b"Message-ID:\r\n  <folded@x.example>\r\nSubject: x\r\n\r\nbody\r\n"],
        [b"Subject: x\r\nMessage-Id: no-brackets@x\r\n", b"\r\nMessage-ID: <body@x>\r\n"],
        [b"\r\nMessage-ID: <in-the-body@x>\r\n"],
    )
    ids = [c.store(Submission("s@example.org", [Rcpt("a@example.com")]), k) for k in contents]
    assert [m for m in caplog.messages if "message-id=" in m] == [
        f"{ids[0]}: message-id=<>",
        f"{ids[1]}: message-id=<folded@x.example>",
        f"{ids[2]}: message-id=no-brackets@x",
        f"{ids[3]}: message-id=<>",
    ]


class Down(Table):
    def lookup(self, key: str) -> str | None:
        raise TableError(self.spec, "server down")


@pytest.mark.parametrize(
    "setting",
    [
        "header_checks = testdown:x",  # a check table
        "canonical_maps = testdown:x",  # a map for the envelope and the headers
        "sender_canonical_maps = testdown:x\nsender_canonical_classes = header_sender",
    ],
)
def test_a_table_that_fails_defers_and_leaves_nothing(tmp_path: Path, setting: str) -> None:
    register("testdown", lambda spec, name, context: Down(spec))
    c, spool = cleanup(tmp_path, setting + "\n")
    with pytest.raises(TemporaryError, match=r"4\.3\.0"):
        c.store(
            Submission("s@example.org", [Rcpt("a@example.com")]),
            [b"From: s@example.org\r\nSubject: x\r\n\r\n"],
        )
    assert spool.ids("incoming") == []
    assert spool.ids("hold") == []
    assert spool.temp_files() == []


def _checked(tmp_path: Path) -> tuple[Cleanup, Spool]:
    checks = tmp_path / "header_checks"
    checks.write_text("/^Subject: scan/ FILTER scan:[127.0.0.1]:10024\n/^Subject: bad/ REJECT\n")
    return cleanup(tmp_path, f"header_checks = regexp:{checks}\n")


def test_the_filter_of_a_message_is_kept_in_its_envelope(tmp_path: Path) -> None:
    c, spool = _checked(tmp_path)
    given = Submission("s@example.org", [Rcpt("a@example.com")], filter="scan:")
    qf = spool.load("incoming", c.store(given, [b"Subject: x\r\n\r\nbody\r\n"]))
    assert qf.envelope.filter == "scan:"
    # header_checks FILTER wins over content_filter (postconf(5))
    qf = spool.load("incoming", c.store(given, [b"Subject: scan me\r\n\r\nbody\r\n"]))
    assert qf.envelope.filter == "scan:[127.0.0.1]:10024"


def test_receive_override_options_before_and_after_a_filter(tmp_path: Path) -> None:
    c, spool = _checked(tmp_path)
    before = Submission(
        "s@example.org",
        [Rcpt("all@example.com")],
        receive_options=frozenset({"no_address_mappings"}),
    )
    qf = spool.load("incoming", c.store(before, [b"Subject: x\r\n\r\nbody\r\n"]))
    assert [(r.address, r.original) for r in qf.envelope.recipients] == [
        ("all@example.com", "all@example.com")
    ]
    after = Submission(
        "s@example.org",
        [Rcpt("all@example.com")],
        receive_options=frozenset({"no_header_body_checks"}),
    )
    qf = spool.load("incoming", c.store(after, [b"Subject: bad\r\n\r\nbody\r\n"]))
    assert [r.address for r in qf.envelope.recipients] == ["a@example.com", "b@example.com"]


BCC = (
    "sender_bcc_maps = inline:{ s@example.org=archive@example.com }\n"
    "recipient_bcc_maps = inline:{ @example.com=all@example.com }\n"
    "always_bcc = b@example.com\n"
)


def test_automatic_bcc_recipients(tmp_path: Path) -> None:
    c, spool = cleanup(tmp_path, BCC)
    sub = Submission("s@example.org", [Rcpt("a@example.com", ("SUCCESS",))])
    qf = spool.load("incoming", c.store(sub, [b"Subject: x\r\n\r\nbody\r\n"]))
    # sender's first, then each recipient's (aliases expanded), always_bcc last; NOTIFY=NEVER
    assert [(r.address, r.original, r.notify) for r in qf.envelope.recipients] == [
        ("archive@example.com", "archive@example.com", ("NEVER",)),
        ("a@example.com", "a@example.com", ("SUCCESS",)),
        ("a@example.com", "all@example.com", ("NEVER",)),
        ("b@example.com", "all@example.com", ("NEVER",)),
        ("b@example.com", "b@example.com", ("NEVER",)),
    ]
    # none for mail the system makes itself, nor before a content filter
    for quiet in (
        Submission("s@example.org", [Rcpt("a@example.com")], origin="bounce"),
        Submission(
            "s@example.org",
            [Rcpt("a@example.com")],
            receive_options=frozenset({"no_address_mappings"}),
        ),
    ):
        qf = spool.load("incoming", c.store(quiet, [b"Subject: x\r\n\r\nbody\r\n"]))
        assert [r.address for r in qf.envelope.recipients] == ["a@example.com"]


def test_received_names_the_login_with_smtpd_sasl_authenticated_header() -> None:
    sub = Submission(
        "s@example.org", [Rcpt("a@example.com")], helo="h", sasl_username="s@example.org"
    )
    assert b"(Authenticated sender" not in received_header(sub, "mx.test", "vmail", "ID")
    header = received_header(dataclasses.replace(sub, auth_header=True), "mx.test", "vmail", "ID")
    assert header.split(b"\r\n")[1] == b"\t(Authenticated sender: s@example.org)"


CANONICAL = (
    "sender_canonical_maps = inline:{ s@sender.test=renamed@sender.test }\n"
    "recipient_canonical_maps = inline:{ old@example.com=a@example.com }\n"
    "canonical_maps = inline:{ @legacy.test=@example.com }\n"
    "myorigin = origin.test\n"
)


def test_canonical_maps_rewrite_the_envelope_and_the_headers(tmp_path: Path) -> None:
    # what a private Postfix 3.7.11 made of the same message from a local client (it
    # writes the untouched group "undisclosed:;" as "undisclosed: ;")
    c, spool = cleanup(tmp_path, CANONICAL)
    sub = Submission(
        "s@sender.test",
        [Rcpt("old@example.com"), Rcpt("b@legacy.test")],
        local_rewrite=True,
    )
    content = (
        b'From: Sender <s@sender.test>\r\nTo: old@example.com, "Legacy" <b@legacy.test>\r\n'
        b"Cc: alice, undisclosed:;\r\nReply-To: s@sender.test (comment)\r\nSender: s\r\n"
        b"Subject: canon\r\n\r\nbody\r\n"
    )
    qf = spool.load("incoming", c.store(sub, [content]))
    assert qf.envelope.sender == "renamed@sender.test"
    assert [(r.address, r.original) for r in qf.envelope.recipients] == [
        ("a@example.com", "old@example.com"),
        ("b@example.com", "b@legacy.test"),
    ]
    assert _addressed(qf.read_content()) == [
        b"From: Sender <renamed@sender.test>",
        b'To: a@example.com, "Legacy" <b@example.com>',
        b"Cc: alice@origin.test, undisclosed:;",
        b"Reply-To: renamed@sender.test (comment)",
        b"Sender: s@origin.test",
    ]
    # a remote client's header addresses are mapped but not completed
    qf = spool.load("incoming", c.store(dataclasses.replace(sub, local_rewrite=False), [content]))
    header = _addressed(qf.read_content())
    assert header[2] == b"Cc: alice, undisclosed:;"
    assert header[0] == b"From: Sender <renamed@sender.test>"


def _addressed(content: bytes) -> list[bytes]:
    """The header lines with addresses that the test message has."""
    lines = content.split(b"\r\n\r\n")[0].split(b"\r\n")
    names = (b"From", b"To", b"Cc", b"Reply-To", b"Sender")
    return [line for line in lines if line.split(b":")[0] in names]


def test_too_many_hops_is_refused_as_postfix_refuses_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # hopcount_limit counts the Received: headers with cleanup's own; Postfix 3.7.11
    # accepted 48 incoming ones and refused 49 with this reply and log line
    c, spool = cleanup(tmp_path)
    sub = Submission("s@example.org", [Rcpt("a@example.com")], helo="h")

    def content(hops: int) -> list[bytes]:
        received = b"".join(b"Received: from h%d by x; date\r\n" % i for i in range(hops))
        return [received + b"Subject: x\r\n\r\nReceived: in the body\r\n" * 3]

    c.store(sub, content(48))
    caplog.set_level(logging.WARNING, logger="vmail.cleanup")
    with pytest.raises(PermanentError) as refused:
        c.store(sub, content(49))
    assert str(refused.value.reply) == "554 5.4.0 Error: too many hops"
    assert any(m.endswith(": message rejected: hopcount exceeded") for m in caplog.messages)
    assert len(spool.ids("incoming")) == 1


def test_the_sender_bcc_lookup_sees_the_sender_not_the_recipient_maps(tmp_path: Path) -> None:
    # recipient_canonical_maps are for recipients: the sender's BCC key is the sender
    c, spool = cleanup(
        tmp_path,
        "sender_bcc_maps = inline:{ s@example.org=archive@example.com }\n"
        "recipient_canonical_maps = inline:{ s@example.org=other@example.org }\n",
    )
    sub = Submission("s@example.org", [Rcpt("a@example.com")])
    qf = spool.load("incoming", c.store(sub, [b"Subject: x\r\n\r\nbody\r\n"]))
    assert [r.address for r in qf.envelope.recipients] == ["archive@example.com", "a@example.com"]


def test_header_checks_redirect_and_bcc(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """As a private Postfix 3.7.11 did with the same table: REDIRECT leaves one delivery,
    with the first recipient as its original; BCC adds a recipient; the log lines name
    the last recipient."""
    rules = tmp_path / "hc"
    rules.write_text("/^X-Redirect:/ REDIRECT c@example.com\n/^X-Bcc:/ BCC b@example.com\n")
    c, spool = cleanup(tmp_path, f"header_checks = regexp:{rules}\n")
    given = Submission("s@example.org", [Rcpt("a@example.com"), Rcpt("d@example.com")])
    with caplog.at_level(logging.INFO, "vmail.cleanup"):
        redirected = c.store(given, [b"X-Redirect: yes\r\n\r\nbody\r\n"])
        copied = c.store(given, [b"X-Bcc: yes\r\n\r\nbody\r\n"])
    envelope = spool.load("incoming", redirected).envelope
    assert [(r.address, r.original) for r in envelope.recipients] == [
        ("c@example.com", "a@example.com")
    ]
    envelope = spool.load("incoming", copied).envelope
    assert [(r.address, r.notify) for r in envelope.recipients] == [
        ("a@example.com", ()),
        ("d@example.com", ()),
        ("b@example.com", ("NEVER",)),
    ]
    assert f"{redirected}: redirect: header X-Redirect: yes from localhost[127.0.0.1]; " in (
        caplog.text
    )
    assert "to=<d@example.com> proto=ESMTP: c@example.com" in caplog.text
