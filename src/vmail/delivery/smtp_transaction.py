"""One mail transaction on an open session: MAIL, RCPT, DATA, per-recipient outcomes.

Like smtp(8)'s smtp_loop(): with PIPELINING the MAIL, RCPT and DATA commands go out in
one write and the replies are read in order; without it one command at a time. MAIL
rejected: every recipient fails with that reply; RCPT rejected: that recipient; no
recipient accepted: no message is sent; the DATA reply and the reply after the message
apply to every accepted recipient (SMTP) or, for LMTP, one reply per accepted
recipient. A broken or silent connection ends the transaction with a soft
:class:`SiteFailure` for the recipients still open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from vmail.core.address import Address
from vmail.delivery.content import MessageReadError
from vmail.delivery.request import DeliveryRequest, DeliveryResult, MessageInfo, Status
from vmail.delivery.smtp_client import ClientConnection, ClientError, Reply
from vmail.delivery.smtp_session import (
    SessionSettings,
    SiteFailure,
    Target,
    Timeouts,
    said,
    stream_failure,
)

log = logging.getLogger("vmail.delivery.smtp")

MAIL_STAGE = "sending MAIL FROM"
RCPT_STAGE = "sending RCPT TO"
DATA_STAGE = "sending DATA command"
BODY_STAGE = "sending message body"
DOT_STAGE = "sending end of data -- message may be sent more than once"


@dataclass
class Outcome:
    """What one transaction did: a result per recipient (``None``: still open)."""

    results: list[DeliveryResult | None]
    failure: SiteFailure | None = None
    broken: bool = False  # the connection cannot carry another transaction


def xtext(text: str) -> str:
    """RFC 3461 xtext: ``+``, ``=``, controls, space and non-ASCII as ``+HH``."""
    out = []
    for byte in text.encode("utf-8", "surrogateescape"):
        if 33 <= byte <= 126 and byte not in (0x2B, 0x3D):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


def _path(address: str) -> str:
    return f"<{Address.from_internal(address).external}>" if address else "<>"


def mail_command(conn: ClientConnection, message: MessageInfo, sender: str) -> str:
    """``MAIL FROM:<sender>`` with the ESMTP parameters the server advertised."""
    ext = conn.extensions
    words = [f"MAIL FROM:{_path(sender)}"]
    if ext.has("SIZE") and message.size > 0:
        words.append(f"SIZE={message.size}")
    if ext.has("8BITMIME") and message.attributes.get("body", "").upper() == "8BITMIME":
        words.append("BODY=8BITMIME")
    if message.attributes.get("smtputf8") and ext.has("SMTPUTF8"):
        words.append("SMTPUTF8")
    if ext.has("DSN"):
        if message.ret:
            words.append(f"RET={message.ret.upper()}")
        if message.envid:
            words.append(f"ENVID={xtext(message.envid)}")
    return " ".join(words)


def rcpt_command(conn: ClientConnection, request: DeliveryRequest) -> str:
    """``RCPT TO:<recipient>`` with NOTIFY/ORCPT when the server speaks DSN."""
    words = [f"RCPT TO:{_path(request.recipient)}"]
    if conn.extensions.has("DSN"):
        if request.notify:
            words.append("NOTIFY=" + ",".join(n.upper() for n in request.notify))
        if request.orcpt:
            kind, semi, address = request.orcpt.partition(";")
            words.append(
                f"ORCPT={kind};{xtext(address)}" if semi else f"ORCPT=rfc822;{xtext(kind)}"
            )
        elif request.original_recipient:
            words.append(f"ORCPT=rfc822;{xtext(request.original_recipient)}")
    return " ".join(words)


def precheck(conn: ClientConnection, target: Target, message: MessageInfo) -> SiteFailure | None:
    """What makes this server unable to take the message at all (size, SMTPUTF8)."""
    limit = conn.extensions.size_limit
    if limit and message.size > limit:
        text = f"message size {message.size} exceeds size limit {limit} of server {target.label}"
        return SiteFailure("5.3.4", text, target.relay)
    if message.attributes.get("smtputf8") and not conn.extensions.has("SMTPUTF8"):
        text = f"SMTPUTF8 is required, but was not offered by host {target.label}"
        return SiteFailure("5.6.7", text, target.relay)
    return None


def _result(target: Target, reply: Reply, request: str) -> DeliveryResult:
    if reply.code // 100 == 2:
        return DeliveryResult(Status.SENT, reply.dsn, reply.text, relay=target.relay)
    status = Status.DEFERRED if reply.dsn.startswith("4") else Status.BOUNCED
    return DeliveryResult(status, reply.dsn, said(target, reply, request), relay=target.relay)


def run_transaction(
    conn: ClientConnection,
    target: Target,
    settings: SessionSettings,
    requests: Sequence[DeliveryRequest],
    message: MessageInfo,
    content: Iterator[bytes],
) -> Outcome:
    """Deliver ``content`` to ``requests``; the caller owns (and later reuses) ``conn``."""
    results: list[DeliveryResult | None] = [None] * len(requests)
    failure = precheck(conn, target, message)
    if failure is not None:
        return Outcome(results, failure)
    stage = MAIL_STAGE
    try:
        accepted = _envelope(conn, target, settings, requests, message, results)
        if accepted is None:
            return Outcome(results)
        stage = BODY_STAGE
        try:
            conn.send_message(content, settings.timeouts.data_xfer, settings.line_limit)
        except (OSError, MessageReadError):  # the queue file, not the peer: never end DATA
            log.warning("%s: error reading the queued message", message.queue_id, exc_info=True)
            failure = SiteFailure("4.3.0", "unreadable mail queue entry", target.relay)
            return Outcome(results, failure, broken=True)
        stage = DOT_STAGE
        for i in accepted if settings.lmtp else accepted[:1]:
            reply = conn.read_reply(settings.timeouts.data_done)
            result = _result(target, reply, "end of DATA command")
            for j in [i] if settings.lmtp else accepted:
                results[j] = result
    except _StageError as e:
        return Outcome(results, stream_failure(target, e.error, e.stage), broken=True)
    except ClientError as e:
        return Outcome(results, stream_failure(target, e, stage), broken=True)
    return Outcome(results)


class _StageError(Exception):
    def __init__(self, error: ClientError, stage: str) -> None:
        super().__init__(stage)
        self.error = error
        self.stage = stage


def _envelope(
    conn: ClientConnection,
    target: Target,
    settings: SessionSettings,
    requests: Sequence[DeliveryRequest],
    message: MessageInfo,
    results: list[DeliveryResult | None],
) -> list[int] | None:
    """MAIL, RCPT and DATA; the indexes of accepted recipients, or None: send nothing."""
    timeouts = settings.timeouts
    commands = [mail_command(conn, message, requests[0].sender)]
    commands += [rcpt_command(conn, request) for request in requests]
    commands.append("DATA")
    pipelining = conn.extensions.has("PIPELINING")
    stage = MAIL_STAGE
    try:
        if pipelining:
            conn.send("".join(c + "\r\n" for c in commands).encode("utf-8"), timeouts.mail)
            send = False
        else:
            send = True

        def exchange(command: str, timeout: float | None) -> Reply:
            if send:
                conn.send(command.encode("utf-8") + b"\r\n", timeout)
            return conn.read_reply(timeout)

        mail_reply = exchange(commands[0], timeouts.mail)
        if not pipelining and mail_reply.code // 100 != 2:
            _fail_all(target, mail_reply, results)
            return None
        stage = RCPT_STAGE
        accepted: list[int] = []
        for i, command in enumerate(commands[1:-1]):
            reply = exchange(command, timeouts.rcpt)
            if reply.code // 100 == 2:
                accepted.append(i)
            else:
                results[i] = _result(target, reply, "RCPT TO command")
        stage = DATA_STAGE
        if mail_reply.code // 100 != 2 or not accepted:
            if pipelining:  # read the reply to the DATA command sent ahead
                _end_unwanted_data(conn, conn.read_reply(timeouts.data_init), timeouts)
            if mail_reply.code // 100 != 2:
                _fail_all(target, mail_reply, results)
            return None
        data_reply = exchange("DATA", timeouts.data_init)
        if data_reply.code != 354:
            for i in accepted:
                results[i] = _result(target, data_reply, "DATA command")
            return None
        return accepted
    except ClientError as e:
        raise _StageError(e, stage) from None


def _end_unwanted_data(conn: ClientConnection, reply: Reply, timeouts: Timeouts) -> None:
    """A server that said 354 to a DATA without recipients gets an empty message."""
    if reply.code == 354:
        conn.send(b".\r\n", timeouts.data_xfer)
        conn.read_reply(timeouts.data_done)


def _fail_all(target: Target, reply: Reply, results: list[DeliveryResult | None]) -> None:
    result = _result(target, reply, "MAIL FROM command")
    for i in range(len(results)):
        results[i] = result
