"""FETCH responses: one ``* n FETCH (...)`` line per message, built from what each item needs.

:class:`FetchPlan` looks at the requested items once: which need the cached summary
(ENVELOPE, BODY, BODYSTRUCTURE — only the envelope column is read when ENVELOPE is the
only one), which need the message file (body sections, RFC822*, BINARY*), and whether
reading marks the message ``\\Seen`` (BODY[...] and RFC822/RFC822.TEXT without PEEK).
:func:`build` then renders a batch of messages (blocking; the session runs it in a worker
thread, batch by batch, so a FETCH of 100,000 messages streams instead of piling up).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

from vmail.mailstore.folder import Folder
from vmail.mailstore.message import (
    UnknownEncodingError,
    binary,
    body_offset,
    crlf,
    section,
)
from vmail.mailstore.records import MessageRecord
from vmail.protocol.imap import types as t
from vmail.protocol.imap.wire import literal
from vmail.servers.imapd.selected import format_flags

_SUMMARY_ITEMS = frozenset({"ENVELOPE", "BODYSTRUCTURE"})
_DATA_ITEMS = frozenset({"RFC822", "RFC822.HEADER", "RFC822.TEXT", "BINARY", "BINARY.SIZE"})
_SMALL_ITEMS = frozenset({"FLAGS", "INTERNALDATE", "MODSEQ", "UID", "RFC822.SIZE"})


class FetchError(Exception):
    """An item cannot be served (unknown transfer encoding for BINARY): ``NO``."""

    def __init__(self, text: str, code: str) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


@dataclass(frozen=True)
class FetchPlan:
    """What a FETCH command's items need."""

    items: tuple[t.FetchAtt, ...]
    with_uid: bool
    uid_first: bool
    with_modseq: bool
    needs_summary: bool
    envelope_only: bool
    needs_data: bool
    sets_seen: bool

    @property
    def small_items(self) -> tuple[t.FetchAtt, ...]:
        """What Dovecot writes first (its "buffered" handlers)."""
        return tuple(i for i in self.items if i.name in _SMALL_ITEMS)

    @property
    def large_items(self) -> tuple[t.FetchAtt, ...]:
        """What Dovecot writes after the small items, in the order asked."""
        return tuple(i for i in self.items if i.name not in _SMALL_ITEMS)

    @classmethod
    def of(cls, cmd: t.Fetch, *, condstore: bool, readonly: bool) -> FetchPlan:
        names = {item.name for item in cmd.items}
        structure = any(i.name == "BODY" and i.section is None for i in cmd.items)
        needs_summary = bool(names & _SUMMARY_ITEMS) or structure
        needs_data = bool(names & _DATA_ITEMS) or any(
            i.name == "BODY" and i.section is not None for i in cmd.items
        )
        sets_seen = not readonly and any(
            (i.name == "BODY" and i.section is not None and not i.peek)
            or i.name in ("RFC822", "RFC822.TEXT")
            or (i.name == "BINARY" and not i.peek)
            for i in cmd.items
        )
        return cls(
            items=cmd.items,
            with_uid=cmd.uid or "UID" in names,
            uid_first=cmd.uid or "UID" not in names,
            with_modseq=condstore and ("MODSEQ" in names or cmd.changedsince is not None),
            needs_summary=needs_summary,
            envelope_only=needs_summary
            and names & _SUMMARY_ITEMS == {"ENVELOPE"}
            and not structure,
            needs_data=needs_data,
            sets_seen=sets_seen,
        )


def internaldate(timestamp: float) -> bytes:
    """``"17-Jul-1996 02:44:25 -0700"`` in the server's time zone (as Dovecot). The process
    never calls setlocale, so ``%b`` is the C locale's English month.

    Every time zone offset and every offset change is a multiple of 15 minutes, so within
    one 15-minute slice of POSIX time the date, the hour and the offset stay the same:
    they are formatted once per slice and cached (a first FETCH of 100,000 dates).
    """
    second = math.floor(timestamp)
    head, tail, minute = _quarter_hour(second // 900)
    minutes, seconds = divmod(second % 900, 60)
    return b"%b%02d:%02d%b" % (head, minute + minutes, seconds, tail)


@functools.lru_cache(maxsize=8192)
def _quarter_hour(slice_number: int) -> tuple[bytes, bytes, int]:
    """``"dd-Mon-yyyy HH:``, `` +zzzz"`` and the minute at which the slice starts."""
    start = time.localtime(slice_number * 900)
    return (
        time.strftime('"%d-%b-%Y %H:', start).encode(),
        time.strftime(' %z"', start).encode(),
        start.tm_min,
    )


def build(
    plan: FetchPlan,
    folder: Folder,
    batch: Sequence[tuple[int, int]],
    is_recent: Callable[[int], bool],
    extra_flags: Container[int],
) -> tuple[bytes, int, int]:
    """The FETCH lines for ``batch`` ((seq, uid) pairs), the bytes of message data sent
    and how many messages were skipped.

    Messages that vanished since the last sync are skipped (the client hears the
    EXPUNGE later). ``extra_flags``: UIDs whose FLAGS are added (the fetch set ``\\Seen``).
    """
    uids = [uid for _, uid in batch]
    summaries: dict[int, object] = {}
    if plan.envelope_only:
        summaries = folder.envelopes(uids)
    elif plan.needs_summary:
        summaries = dict(folder.summaries(uids))
    out: list[bytes] = []
    sent = skipped = 0
    names = {item.name for item in plan.items}
    keywords = tuple(folder.keywords())  # FLAGS lists keywords in this order (Dovecot)
    small = [
        _small_item(item.name, is_recent, keywords)
        for item in plan.small_items
        if not (item.name == "UID" and plan.uid_first)
    ]
    large = plan.large_items
    uid_first = plan.with_uid and plan.uid_first
    implied_modseq = plan.with_modseq and "MODSEQ" not in names
    implied_flags = "FLAGS" not in names
    for (seq, uid), record in zip(batch, folder.by_uids(uids), strict=True):
        if record is None:
            skipped += 1
            continue
        data = b""
        if plan.needs_data:
            try:
                data = folder.read(uid)
            except OSError:
                skipped += 1
                continue
            sent += len(data)
        # Dovecot's order: UID first in UID FETCH, then the small items in the order asked
        # (then MODSEQ and FLAGS when implied), then the others in the order asked.
        parts = [render(record) for render in small]
        if uid_first:
            parts.insert(0, b"UID %d" % uid)
        if implied_modseq:
            parts.append(b"MODSEQ (%d)" % record.modseq)
        if implied_flags and uid in extra_flags:
            parts.append(b"FLAGS " + format_flags(record.flags, is_recent(uid), keywords))
        for item in large:
            rendered = _item(item, summaries.get(uid), data)
            if rendered is not None:
                parts.append(rendered)
        out.append(b"* %d FETCH (%b)\r\n" % (seq, b" ".join(parts)))
    return b"".join(out), sent, skipped


def _small_item(
    name: str, is_recent: Callable[[int], bool], keywords: tuple[str, ...]
) -> Callable[[MessageRecord], bytes]:
    """The writer of one of the record-only items (:data:`_SMALL_ITEMS`), chosen once
    per batch: a first FETCH of a big folder writes 100,000 of each."""
    if name == "FLAGS":
        return lambda record: (
            b"FLAGS " + format_flags(record.flags, is_recent(record.uid), keywords)
        )
    if name == "UID":  # where it was asked for (Dovecot), first in UID FETCH
        return lambda record: b"UID %d" % record.uid
    if name == "INTERNALDATE":
        return lambda record: b"INTERNALDATE " + internaldate(record.internaldate)
    if name == "RFC822.SIZE":
        return lambda record: b"RFC822.SIZE %d" % record.size
    if name == "MODSEQ":
        return lambda record: b"MODSEQ (%d)" % record.modseq
    raise ValueError(f"not a small item: {name}")


def _item(item: t.FetchAtt, summary: object, data: bytes) -> bytes | None:
    """One of the other items, from the message's summary or its data."""
    name = item.name
    if name == "ENVELOPE":
        envelope = summary if isinstance(summary, bytes) else getattr(summary, "envelope", b"NIL")
        return b"ENVELOPE " + envelope
    if name == "BODYSTRUCTURE":
        return b"BODYSTRUCTURE " + getattr(summary, "bodystructure", b"NIL")
    if name == "BODY" and item.section is None:
        return b"BODY " + getattr(summary, "body", b"NIL")
    if name == "RFC822":
        return b"RFC822 " + literal(crlf(data))
    if name == "RFC822.HEADER":
        return b"RFC822.HEADER " + literal(crlf(data[: body_offset(data)]))
    if name == "RFC822.TEXT":
        return b"RFC822.TEXT " + literal(crlf(data[body_offset(data) :]))
    if name == "BODY":
        sec = item.section
        assert sec is not None
        content = section(data, sec.part, sec.text, sec.fields)
        return item.echo.encode() + b" " + _partial(content or b"", item.partial)
    if name in ("BINARY", "BINARY.SIZE"):
        sec = item.section
        part = sec.part if sec is not None else ()
        try:
            decoded = binary(data, part, sec is not None and sec.text == "TEXT")
        except UnknownEncodingError:
            raise FetchError("Unknown Content-Transfer-Encoding.", "UNKNOWN-CTE") from None
        if name == "BINARY.SIZE":
            return item.echo.encode() + b" %d" % len(decoded or b"")
        if decoded is None:
            return item.echo.encode() + b" NIL"
        if item.partial is not None:
            offset, count = item.partial
            decoded = decoded[offset : offset + count]
        prefix = b"~" if _binary(decoded) else b""
        return item.echo.encode() + b" " + prefix + literal(decoded)
    return None


def _binary(data: bytes) -> bool:
    """Whether Dovecot sends decoded data as a literal8: a NUL or any 8-bit byte in it."""
    return b"\x00" in data or not data.isascii()


def _partial(content: bytes, partial: tuple[int, int] | None) -> bytes:
    if partial is not None:
        offset, count = partial
        content = content[offset : offset + count]
    return literal(content)


__all__ = ["FetchError", "FetchPlan", "build", "internaldate"]
