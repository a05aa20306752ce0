"""A queue file laid out like Postfix's postcat(1), for ``vmail postcat`` and the web UI.

:func:`render` yields the lines (bytes, without line ends) of the sections ``*** ENVELOPE
RECORDS queue/ID ***``, ``*** MESSAGE CONTENTS queue/ID ***``, ``*** HEADER EXTRACTED
queue/ID ***`` and ``*** MESSAGE FILE END queue/ID ***``; the envelope uses Postfix's
record names, vmail's status records follow as ``delivery_status`` lines; content is
streamed (a huge message is never in memory). :func:`message_text` is the capped text a
page shows. Blocking disk reads; a bad content checksum raises
:class:`~vmail.queue.file.CorruptQueueFileError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from vmail.queue.file import QueueFile
from vmail.queue.ids import id_time


def _when(seconds: float) -> str:
    return time.asctime(time.localtime(seconds))


def envelope_lines(entry: QueueFile) -> Iterator[str]:
    env = entry.envelope
    yield (
        f"message_size:{entry.message_size:16d}{entry.content_offset:16d}"
        f"{len(env.recipients):16d}{0:16d}{entry.message_size:16d}{0:16d}"
    )
    yield f"message_arrival_time: {_when(env.arrival_time)}"
    yield f"create_time: {_when(id_time(entry.queue_id))}"
    if env.envid:
        yield f"dsn_envelope_id: {env.envid}"
    if env.ret:
        yield f"dsn_ret: {env.ret}"
    yield f"sender: {env.sender}"
    for key, value in env.client.items():
        yield (
            f"named_attribute: client_{key}={value}"
            if key != "helo"
            else (f"named_attribute: helo_name={value}")
        )
    for key, value in env.attributes.items():
        yield f"named_attribute: {key}={value}"
    for recipient, state in zip(env.recipients, entry.states, strict=True):
        if recipient.orcpt:
            yield f"named_attribute: dsn_orig_rcpt={recipient.orcpt}"
        if recipient.notify:
            yield f"dsn_notify: {','.join(recipient.notify)}"
        if recipient.original:
            yield f"original_recipient: {recipient.original}"
        yield f"{'done_recipient' if state.final else 'recipient'}: {recipient.address}"
    for record in entry.status_records:
        fields = ", ".join(f"{k}={v}" for k, v in record.items() if k != "t" and v != "")
        yield f"delivery_status: {_when(float(record['t']))}: {fields}"


def render(
    entry: QueueFile, where: str, *, envelope: bool, header: bool, body: bool, sections: bool
) -> Iterator[bytes]:
    """postcat's output for ``entry`` (``where`` is ``queue/ID``)."""
    if envelope:
        if sections:
            yield f"*** ENVELOPE RECORDS {where} ***".encode()
        yield from (line.encode() for line in envelope_lines(entry))
    if header or body:
        if sections:
            yield f"*** MESSAGE CONTENTS {where} ***".encode()
        in_header = True
        for line in content_lines(entry):
            if in_header and line == b"":
                in_header = False
                if header and body:
                    yield line
                continue
            if (header and in_header) or (body and not in_header):
                yield line
    if sections:
        yield f"*** HEADER EXTRACTED {where} ***".encode()
        yield f"*** MESSAGE FILE END {where} ***".encode()


def content_lines(entry: QueueFile) -> Iterator[bytes]:
    """Content lines without line ends, streamed."""
    rest = b""
    for chunk in entry.content_chunks():
        rest += chunk
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield line.removesuffix(b"\r")
    if rest:
        yield rest.removesuffix(b"\r")


@dataclass(frozen=True)
class MessageText:
    """What a page shows of a message: postcat's envelope, and header + body as text
    (undecodable bytes replaced), cut after ``limit`` bytes of content."""

    envelope: list[str]
    content: str
    truncated: bool


def message_text(entry: QueueFile, limit: int = 256 * 1024) -> MessageText:
    """The envelope lines and at most ``limit`` bytes of the content (LF line ends)."""
    kept: list[bytes] = []
    size = 0
    truncated = False
    for line in content_lines(entry):
        if size + len(line) + 1 > limit:
            kept.append(line[: max(0, limit - size)])
            truncated = True
            break
        kept.append(line)
        size += len(line) + 1
    content = b"\n".join(kept).decode("utf-8", errors="replace")
    return MessageText(list(envelope_lines(entry)), content, truncated)


__all__ = ["MessageText", "content_lines", "envelope_lines", "message_text", "render"]
