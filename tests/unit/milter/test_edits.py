"""Milter edits on a message, with Postfix's header positions (cleanup_milter.c)."""

from __future__ import annotations

from vmail.milter.edits import MessageEdits

CONTENT = (
    b"Received: from x by mx.test\r\n\tid ABC\r\n"
    b"Subject: one\r\nX-A: 1\r\nSubject: two\r\n\r\nbody\r\n"
)


def test_what_the_milters_see() -> None:
    edits = MessageEdits(CONTENT)
    assert edits.visible_headers() == [("Subject", " one"), ("X-A", " 1"), ("Subject", " two")]
    assert edits.visible_body() == b"body\r\n"


def test_changes_count_instances_without_the_own_received_header() -> None:
    edits = MessageEdits(CONTENT)
    edits.change_header(2, "subject", " second")
    edits.change_header(1, "X-A", None)
    edits.change_header(1, "X-Missing", " added")
    edits.change_header(3, "Subject", None)  # not there: nothing to delete
    assert edits.content() == (
        b"Received: from x by mx.test\r\n\tid ABC\r\n"
        b"Subject: one\r\nsubject: second\r\nX-Missing: added\r\n\r\nbody\r\n"
    )


def test_inserts_count_all_headers_and_a_new_top_makes_received_ordinary() -> None:
    edits = MessageEdits(CONTENT)
    edits.insert_header(1, "X-After", " received")
    edits.insert_header(0, "DKIM-Signature", " v=1;\n\tb=abc")
    edits.insert_header(99, "X-End", " last")
    edits.change_header(1, "Received", " replaced")  # now the own header counts
    assert edits.content() == (
        b"DKIM-Signature: v=1;\r\n\tb=abc\r\nReceived: replaced\r\nX-After: received\r\n"
        b"Subject: one\r\nX-A: 1\r\nSubject: two\r\nX-End: last\r\n\r\nbody\r\n"
    )


def test_a_replaced_body_keeps_the_empty_line_and_gets_crlf() -> None:
    edits = MessageEdits(CONTENT)
    edits.replace_body(b"new\nlines\r\nlast")
    assert edits.content().endswith(b"Subject: two\r\n\r\nnew\r\nlines\r\nlast\r\n")
    assert edits.changed


def test_envelope_requests_are_recorded() -> None:
    edits = MessageEdits(CONTENT)
    edits.add_recipient("<a@b>", "NOTIFY=NEVER")
    edits.delete_recipient("<c@d>")
    edits.change_sender("<e@f>", "")
    assert edits.envelope.added == [("<a@b>", "NOTIFY=NEVER")]
    assert edits.envelope.deleted == ["<c@d>"]
    assert edits.envelope.sender == ("<e@f>", "")
    assert not edits.changed


def test_milter_header_checks_see_new_headers_only() -> None:
    seen: list[bytes] = []

    def check(header: bytes) -> bytes | None:
        seen.append(header)
        return None if header.startswith(b"X-Drop") else header.replace(b"old", b"new")

    edits = MessageEdits(CONTENT, check)
    edits.add_header("X-Drop", " 1")
    edits.add_header("X-Keep", " old")
    edits.change_header(1, "Subject", " X-Drop-not")  # not dropped: "Subject:" does not match
    edits.change_header(1, "X-A", None)  # a deletion is no new header: not checked
    edits.insert_header(1, "X-Drop", " 2")
    assert seen == [
        b"X-Drop: 1\r\n",
        b"X-Keep: old\r\n",
        b"Subject: X-Drop-not\r\n",
        b"X-Drop: 2\r\n",
    ]
    assert edits.content().endswith(
        b"Subject: X-Drop-not\r\nSubject: two\r\nX-Keep: new\r\n\r\nbody\r\n"
    )


def test_a_changed_header_that_checks_drop_leaves_the_old_one() -> None:
    edits = MessageEdits(CONTENT, lambda header: None)
    edits.change_header(1, "Subject", " replaced")
    assert edits.content() == CONTENT  # as Postfix's cleanup_patch_header returns early
