"""The message as a command reads it: Postfix's mail_copy() over a stream of chunks.

Optional envelope lines go first, in this order: ``From sender  date`` (``F``),
``Return-Path: <sender>`` (``R``), ``X-Original-To:`` (``O``; left out when the original
recipient is unknown), ``Delivered-To:`` (``D``). Addresses are quoted where RFC 5321
needs it; the null sender is ``MAILER-DAEMON`` in the ``From `` line and empty in
``Return-Path``. Then every line of the message (queue CRLF or LF ends) is written with
``eol`` as its end, ``>`` before lines starting with ``From `` (``>``) and ``.`` before
lines starting with ``.`` (``.``); the last line always gets an end, and ``B`` adds one
empty line. A bare CR inside a line is kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vmail.core.address import Address
from vmail.delivery.mbox import from_line

_BATCH = 1 << 16


@dataclass(frozen=True)
class CopyOptions:
    """Which of mail_copy()'s flags apply, and the output line end."""

    from_line: bool = False  # F
    return_path: bool = False  # R
    original_to: bool = False  # O
    delivered_to: bool = False  # D
    quote_from: bool = False  # >
    dot_stuff: bool = False  # .
    blank_line: bool = False  # B
    eol: bytes = b"\n"


def _external(address: str) -> str:
    return Address.from_internal(address).external if address else ""


def envelope_lines(
    options: CopyOptions,
    sender: str,
    original_recipient: str,
    recipient: str,
    when: float | None = None,
) -> bytes:
    """The lines mail_copy() prepends (already with ``eol`` ends)."""
    eol = options.eol
    out = b""
    if options.from_line:
        out += from_line(sender, time.time() if when is None else when).rstrip(b"\n") + eol
    if options.return_path:
        out += f"Return-Path: <{_external(sender)}>".encode("utf-8", "surrogateescape") + eol
    if options.original_to and original_recipient:
        text = f"X-Original-To: {_external(original_recipient)}"
        out += text.encode("utf-8", "surrogateescape") + eol
    if options.delivered_to:
        out += f"Delivered-To: {_external(recipient)}".encode("utf-8", "surrogateescape") + eol
    return out


def _line(line: bytes, options: CopyOptions) -> bytes:
    if options.quote_from and line.startswith(b"From "):
        line = b">" + line
    if options.dot_stuff and line.startswith(b"."):
        line = b"." + line
    return line + options.eol


def copy_lines(chunks: Iterable[bytes], options: CopyOptions) -> Iterator[bytes]:
    """The message body converted line by line, in batches of about 64 KiB."""
    rest = b""
    batch: list[bytes] = []
    size = 0
    for chunk in chunks:
        data = rest + chunk
        lines = data.split(b"\n")
        rest = lines.pop()
        for line in lines:
            converted = _line(line[:-1] if line.endswith(b"\r") else line, options)
            batch.append(converted)
            size += len(converted)
        if size >= _BATCH:
            yield b"".join(batch)
            batch, size = [], 0
    if rest:
        batch.append(_line(rest, options))
    if options.blank_line:
        batch.append(options.eol)
    if batch:
        yield b"".join(batch)


def mail_copy(
    chunks: Iterable[bytes],
    options: CopyOptions,
    *,
    sender: str,
    original_recipient: str = "",
    recipient: str = "",
    when: float | None = None,
) -> Iterator[bytes]:
    """The envelope lines, then the converted message, as a stream of chunks."""
    head = envelope_lines(options, sender, original_recipient, recipient, when)
    if head:
        yield head
    yield from copy_lines(chunks, options)


__all__ = ["CopyOptions", "copy_lines", "envelope_lines", "mail_copy"]
