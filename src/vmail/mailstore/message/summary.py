"""The per-message summary the folder index caches, built in one pass over the raw bytes."""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Any

from .bodystructure import write_both
from .dates import parse_date
from .envelope import addresses_of, envelope
from .headers import collect_envelope, to_text, unfold
from .raw import body_offset
from .sortkeys import base_subject, display_key, message_ids, sort_key
from .structure import parse
from .words import decode_words

SUMMARY_VERSION = 2
"""Bump whenever a field or its meaning changes: the index drops caches of other versions."""


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """What FETCH, SORT, THREAD and SEARCH need without rereading the message.

    Every field is a plain value so ``marshal.dumps(dataclasses.astuple(s))`` stores it
    and ``MessageSummary(*values)`` rebuilds it. Sizes are of the CRLF form. Message-ids
    are given without their angle brackets.
    """

    envelope: bytes
    body: bytes
    bodystructure: bytes
    size: int
    lines: int
    header_size: int
    sent_date: float | None
    subject: str
    base_subject: str
    from_sort: str
    to_sort: str
    cc_sort: str
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    display_from: str
    display_to: str


def _last(values: list[bytes] | None) -> bytes | None:
    return values[-1] if values else None


_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(MessageSummary)))


def summary_values(summary: MessageSummary) -> tuple[Any, ...]:
    """The fields in order, for ``marshal`` (``dataclasses.astuple`` deep-copies: slow)."""
    values: tuple[Any, ...] = _VALUES(summary)
    return values


def summarize(data: bytes) -> MessageSummary:
    """The summary of one raw message (LF or CRLF); never raises on malformed mail."""
    root = parse(data)
    h = root.headers
    n_lf = data.count(b"\n")
    n_crlf = data.count(b"\r\n")
    subject_raw = _last(h.get(b"subject"))
    subject = decode_words(to_text(unfold(subject_raw))) if subject_raw is not None else ""
    date_raw = _last(h.get(b"date"))
    mid = message_ids(_last(h.get(b"message-id")))
    irt = message_ids(_last(h.get(b"in-reply-to")))
    refs = h.get(b"references")
    body, bodystructure = write_both(data, root)
    parsed = {name: addresses_of(h.get(name)) for name in (b"from", b"to", b"cc")}
    return MessageSummary(
        envelope=envelope(h, parsed),
        body=body,
        bodystructure=bodystructure,
        size=len(data) + n_lf - n_crlf,
        lines=n_lf,
        header_size=root.body + data.count(b"\n", 0, root.body) - data.count(b"\r\n", 0, root.body),
        sent_date=parse_date(date_raw.decode("latin-1")) if date_raw is not None else None,
        subject=subject,
        base_subject=base_subject(subject),
        from_sort=sort_key(parsed[b"from"]),
        to_sort=sort_key(parsed[b"to"]),
        cc_sort=sort_key(parsed[b"cc"]),
        message_id=mid[0] if mid else "",
        in_reply_to=irt[0] if irt else "",
        references=message_ids(b" ".join(refs)) if refs else (),
        display_from=display_key(parsed[b"from"]),
        display_to=display_key(parsed[b"to"]),
    )


def envelope_summary(data: bytes) -> bytes:
    """The ENVELOPE of a raw message from its header alone (no MIME walk, no body scan).

    Equal to ``summarize(data).envelope`` at a fraction of the cost: lets the index serve
    a first ``FETCH ENVELOPE`` of a large folder and build the full summary lazily.
    """
    return envelope(collect_envelope(data, 0, body_offset(data)))


def header_summary(data: bytes) -> tuple[bytes, str]:
    """The ENVELOPE and the decoded Subject (``summarize(data).subject``), from the header
    alone: what a first FETCH ENVELOPE and a SUBJECT search need."""
    h = collect_envelope(data, 0, body_offset(data))
    subject_raw = _last(h.get(b"subject"))
    subject = decode_words(to_text(unfold(subject_raw))) if subject_raw is not None else ""
    return envelope(h), subject


__all__ = [
    "SUMMARY_VERSION",
    "MessageSummary",
    "envelope_summary",
    "header_summary",
    "summarize",
]
