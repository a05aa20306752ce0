"""The summary the index caches."""

from __future__ import annotations

import dataclasses
import marshal
from pathlib import Path

import pytest

from vmail.mailstore.message import SUMMARY_VERSION, MessageSummary, envelope_summary, summarize

FIX = Path(__file__).parent / "fixtures"


def test_fields_of_a_thread_reply() -> None:
    s = summarize((FIX / "11-long-folded.eml").read_bytes())
    assert s.message_id == "folded@example.com"
    assert s.in_reply_to == "prev@example.com"
    assert s.references == ("a@example.com", "b@example.com", "prev@example.com")
    assert s.sent_date == 1641344523.0
    assert s.from_sort == "long"
    assert s.to_sort == "one"
    assert s.cc_sort == ""
    assert s.display_from == "A very long display name that goes on and on"


def test_subject_and_sizes() -> None:
    data = (FIX / "02-multipart-mixed.eml").read_bytes()
    s = summarize(data)
    assert s.subject == "Hello wörld and café"
    assert s.base_subject == s.subject
    assert s.size == len(data) + data.count(b"\n")
    assert s.lines == data.count(b"\n")
    header_end = data.index(b"\n\n") + 2
    assert s.header_size == header_end + data.count(b"\n", 0, header_end)


def test_crlf_message_sizes() -> None:
    data = (FIX / "08-crlf.eml").read_bytes()
    assert summarize(data).size == len(data)


def test_marshal_round_trip() -> None:
    s = summarize((FIX / "04-nested-rfc822.eml").read_bytes())
    again = MessageSummary(*marshal.loads(marshal.dumps(dataclasses.astuple(s))))
    assert again == s
    assert SUMMARY_VERSION == 2  # 2: ENVELOPE, BODY, BODYSTRUCTURE as Dovecot 2.3.19 writes them


@pytest.mark.parametrize(
    "data", [b"", b"\n", b"\r\n\r\n", b"\x00\xff" * 100, b"Content-Type: multipart/x\n\n", b":::\n"]
)
def test_garbage_gives_a_summary(data: bytes) -> None:
    s = summarize(data)
    assert s.size == len(data) + data.count(b"\n") - data.count(b"\r\n")
    assert s.sent_date is None


@pytest.mark.parametrize("path", sorted(FIX.glob("*.eml")), ids=lambda p: p.stem)
def test_envelope_summary_is_the_summary_envelope(path: Path) -> None:
    data = path.read_bytes()
    assert envelope_summary(data) == summarize(data).envelope
