"""Builds delivery status notifications (RFC 3464 ``multipart/report``) in Postfix's layout.

:func:`build_notice` streams one notice as bytes chunks with CRLF line ends::

    Date: ... / From: MAILER-DAEMON@HOST (Mail Delivery System) / Subject: ... / To: <sender>
    Auto-Submitted: auto-replied / MIME-Version: 1.0
    Content-Type: multipart/report; report-type=delivery-status;
    \\tboundary="QUEUEID.TIME/HOST"
    Content-Transfer-Encoding: 8bit / Message-Id: <YYYYMMDDHHMMSS.NEWID@HOST>

    This is a MIME-encapsulated message.
    part 1  Content-Description: Notification   text/plain: the template text, then one
            "<rcpt> (expanded from <orig>): reason" paragraph per recipient
    part 2  Content-Description: Delivery report   message/delivery-status: Reporting-MTA,
            Original-Envelope-Id, X-Postfix-Queue-ID, X-Postfix-Sender, Arrival-Date; per
            recipient Final-Recipient, Original-Recipient, Action, Status, Remote-MTA,
            Diagnostic-Code, Will-Retry-Until (delayed only)
    part 3  Content-Description: Undelivered Message   message/rfc822 (the whole original)
            or "Undelivered Message Headers"   text/rfc822-headers (its header only)

Every boundary line is preceded by an empty line, as Postfix writes it. A reason Postfix's
SMTP/LMTP client wrote as ``host NAME[ADDR] said: REPLY (in reply to CMD command)`` gives
``Remote-MTA: dns; NAME`` and ``Diagnostic-Code: smtp; REPLY``; any other reason is
``Diagnostic-Code: X-Postfix; REASON``. Pure: the original arrives as an iterable of chunks.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from vmail.cleanup import mail_date
from vmail.core.address import Address

FAILED = "failed"
DELAYED = "delayed"
DELIVERED = "delivered"
RELAYED = "relayed"

WRAP_WIDTH = 79  # Postfix's bounce_print_wrap(): 79 columns, continuation indented 4
_SAID = re.compile(r"^host (\S+?)\[[^\]]*\](?::\d+)? said: (.*?)(?: \(in reply to .* command\))?$")


@dataclass(frozen=True)
class ReportedRecipient:
    """One recipient in a notice (addresses in internal form)."""

    address: str
    action: str  # failed, delayed, delivered or relayed
    dsn: str  # e.g. 5.1.1
    reason: str
    original: str = ""  # the address the client gave
    orcpt: str = ""  # DSN ORCPT, "type;value"


@dataclass(frozen=True)
class NoticeInfo:
    """Everything about a notice but its recipients and the original content."""

    queue_id: str  # of the message reported on
    notice_id: str  # of the notice (its Message-Id)
    sender: str  # the envelope sender reported to (internal form, not empty)
    arrival_time: float
    now: float
    myhostname: str
    mail_name: str
    subject: str
    from_header: str  # template From:, e.g. "MAILER-DAEMON (Mail Delivery System)"
    text: str  # the expanded template text
    charset: str = "us-ascii"
    envid: str = ""
    headers_only: bool = False
    eight_bit: bool = True
    will_retry_until: float | None = None  # for delay warnings


def external(address: str) -> str:
    """An internal address in RFC 5321 form (quoted local part when needed)."""
    try:
        return Address.from_internal(address).external
    except ValueError:
        return address


def from_header(template_from: str, myhostname: str) -> str:
    """``MAILER-DAEMON (Mail Delivery System)`` → ``MAILER-DAEMON@HOST (Mail Delivery
    System)``; ``Name <user>`` becomes ``user@HOST (Name)`` as cleanup writes it."""
    angle = re.fullmatch(r"\s*(.*?)\s*<([^>]*)>\s*", template_from)
    if angle:
        address, comment = angle.group(2), angle.group(1).strip('"')
    else:
        address, _, comment = template_from.partition(" ")
        comment = comment.strip().removeprefix("(").removesuffix(")")
    if address and "@" not in address:
        address = f"{address}@{myhostname}"
    return f"{address} ({comment})" if comment else address


def diagnostic(reason: str) -> tuple[str, str, str]:
    """(remote MTA name, diagnostic type, diagnostic text) for a recorded reason."""
    match = _SAID.match(reason)
    if match:
        return match.group(1), "smtp", match.group(2)
    return "", "X-Postfix", reason


def recipient_paragraph(rcpt: ReportedRecipient) -> list[str]:
    """The notification part's wrapped ``<rcpt> (expanded from <orig>): reason`` lines."""
    head = f"<{external(rcpt.address)}>"
    if rcpt.original and rcpt.original.lower() != rcpt.address.lower():
        head += f" (expanded from <{external(rcpt.original)}>)"
    return textwrap.wrap(
        f"{head}: {rcpt.reason}",
        width=WRAP_WIDTH,
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def recipient_fields(rcpt: ReportedRecipient, will_retry_until: float | None) -> list[str]:
    """The per-recipient fields of the ``message/delivery-status`` part."""
    fields = [f"Final-Recipient: rfc822; {external(rcpt.address)}"]
    if rcpt.orcpt:
        fields.append(f"Original-Recipient: {rcpt.orcpt}")
    elif rcpt.original:
        fields.append(f"Original-Recipient: rfc822;{external(rcpt.original)}")
    fields += [f"Action: {rcpt.action}", f"Status: {rcpt.dsn}"]
    mta, kind, text = diagnostic(rcpt.reason)
    if mta:
        fields.append(f"Remote-MTA: dns; {mta}")
    if text:
        fields.append(f"Diagnostic-Code: {kind}; {text}")
    if rcpt.action == DELAYED and will_retry_until is not None:
        fields.append(f"Will-Retry-Until: {mail_date(will_retry_until)}")
    return fields


def message_id(info: NoticeInfo) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(info.now))
    return f"<{stamp}.{info.notice_id}@{info.myhostname}>"


def build_notice(
    info: NoticeInfo, recipients: Sequence[ReportedRecipient], original: Iterable[bytes]
) -> Iterator[bytes]:
    """The notice's bytes, streamed; ``original`` is the reported message (CRLF lines)."""
    boundary = f"{info.queue_id}.{int(info.now)}/{info.myhostname}"
    encoding = "8bit" if info.eight_bit else "7bit"
    head = [
        f"Date: {mail_date(info.now)}",
        f"From: {from_header(info.from_header, info.myhostname)}",
        f"Subject: {info.subject}",
        f"To: {external(info.sender)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        f'\tboundary="{boundary}"',
        f"Content-Transfer-Encoding: {encoding}",
        f"Message-Id: {message_id(info)}",
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Description: Notification",
        f"Content-Type: text/plain; charset={info.charset}",
        "",
        *info.text.rstrip("\n").split("\n"),
    ]
    for rcpt in recipients:
        head += ["", *recipient_paragraph(rcpt)]
    head += [
        "",
        f"--{boundary}",
        "Content-Description: Delivery report",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {info.myhostname}",
    ]
    if info.envid:
        head.append(f"Original-Envelope-Id: {info.envid}")
    head += [
        f"X-{info.mail_name}-Queue-ID: {info.queue_id}",
        f"X-{info.mail_name}-Sender: rfc822; {external(info.sender)}",
        f"Arrival-Date: {mail_date(info.arrival_time)}",
    ]
    for rcpt in recipients:
        head += ["", *recipient_fields(rcpt, info.will_retry_until)]
    suffix = " Headers" if info.headers_only else ""
    head += [
        "",
        f"--{boundary}",
        f"Content-Description: Undelivered Message{suffix}",
        f"Content-Type: {'text/rfc822-headers' if info.headers_only else 'message/rfc822'}",
        f"Content-Transfer-Encoding: {encoding}",
        "",
        "",
    ]
    yield "\r\n".join(head).encode()
    last = b"\r\n"
    for chunk in header_only(original) if info.headers_only else original:
        if chunk:
            yield chunk
            last = chunk
    yield (b"" if last.endswith(b"\n") else b"\r\n") + f"\r\n--{boundary}--\r\n".encode()


def header_only(content: Iterable[bytes]) -> Iterator[bytes]:
    """The message header: everything before the first empty line (CRLF or LF)."""
    pending, first = b"", True
    for chunk in content:
        data = pending + chunk
        cut = _header_end(data, at_start=first)
        if cut >= 0:
            yield data[:cut]
            return
        keep = max(0, len(data) - 3)  # a separator may straddle chunks
        if keep:
            yield data[:keep]
            first = False
        pending = data[keep:]
    yield pending


def _header_end(data: bytes, *, at_start: bool) -> int:
    """Offset just after the header's last line end, -1 if the header goes on."""
    if at_start and data.startswith((b"\r\n", b"\n")):
        return 0
    found = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
    if not found:
        return -1
    i = min(found)
    return i + (2 if data[i : i + 4] == b"\r\n\r\n" else 1)


__all__ = [
    "DELAYED",
    "DELIVERED",
    "FAILED",
    "RELAYED",
    "NoticeInfo",
    "ReportedRecipient",
    "build_notice",
    "diagnostic",
    "external",
    "from_header",
    "header_only",
    "recipient_fields",
    "recipient_paragraph",
]
