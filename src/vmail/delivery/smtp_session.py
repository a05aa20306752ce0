"""Opening an SMTP/LMTP session with one server: connect, greeting, EHLO, STARTTLS.

What smtp(8)'s smtp_connect_addr() and smtp_helo() do: connect (``connect to
HOST[ADDR]:PORT: Connection refused``, 4.4.1), read the greeting (non-2xx: ``host
HOST[ADDR] refused to talk to me: ...``; a 5xx counts as 4xx with
``smtp_skip_5xx_greeting``), say EHLO (HELO when EHLO is refused, LHLO for LMTP), detect
a server that answers with our own host name (``mail for NEXTHOP loops back to
myself``), and STARTTLS per the destination's TLS policy (:mod:`.tls_policy`). Failures raise
:class:`SiteFailure`; ``soft`` ones let the caller try the next server.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass

from vmail.delivery.smtp_client import (
    ClientConnection,
    ClientError,
    ConversationTimeoutError,
    LocalDataError,
    Reply,
)
from vmail.delivery.smtp_filters import EhloDiscards, ReplyFilter
from vmail.delivery.tls_policy import (
    HANDSHAKE_FAILURE,
    NOT_VERIFIED,
    TlsPolicy,
    peer_certificate,
)

__all__ = ["TlsPolicy"]  # re-exported: the policy a session is opened with

log = logging.getLogger("vmail.delivery.smtp")


@dataclass(frozen=True)
class Target:
    """One server to try: its name, address (or UNIX socket path) and port."""

    hostname: str
    address: str
    port: int = 0
    unix_path: str = ""  # the path to connect to (relative paths resolved)
    best_mx: bool = True

    @property
    def label(self) -> str:
        """``host[address]``, as Postfix names a server in its messages."""
        return f"{self.hostname}[{self.address}]"

    @property
    def relay(self) -> str:
        """The log's ``relay=`` field: ``host[address]:port``, or ``host[path]``."""
        return self.label if self.unix_path else f"{self.label}:{self.port}"


@dataclass(frozen=True)
class Timeouts:
    """Per-stage time limits in seconds (``None``: no limit)."""

    connect: float | None = 30
    helo: float | None = 300
    mail: float | None = 300
    rcpt: float | None = 300
    data_init: float | None = 120
    data_xfer: float | None = 180
    data_done: float | None = 600
    rset: float | None = 20
    quit: float | None = 300
    starttls: float | None = 300


@dataclass(frozen=True)
class SessionSettings:
    """Everything a session needs from the configuration."""

    lmtp: bool
    helo_name: str
    myhostname: str
    timeouts: Timeouts
    tls: TlsPolicy
    skip_5xx_greeting: bool = True
    always_send_ehlo: bool = True
    never_send_ehlo: bool = False
    line_limit: int = 998
    bind_address: str = ""  # smtp_bind_address: the local IPv4 address to connect from
    bind_address6: str = ""  # smtp_bind_address6: ... IPv6
    ehlo_discards: EhloDiscards | None = None  # smtp_discard_ehlo_keywords (+ _address_maps)
    reply_filter: ReplyFilter | None = None  # smtp_reply_filter


class SiteFailure(Exception):  # noqa: N818 - Postfix's name for it (smtp_site_fail)
    """The server (not one recipient) failed: ``soft`` ones let the next server be tried."""

    def __init__(
        self, dsn: str, text: str, relay: str, *, soft: bool | None = None, warning: str = ""
    ) -> None:
        super().__init__(text)
        self.dsn = dsn
        self.text = text
        self.relay = relay
        self.soft = dsn.startswith("4") if soft is None else soft
        self.warning = warning  # logged with the queue ID (a table lookup error)


class TlsFallback(Exception):  # noqa: N818 - a signal, not an error
    """The opportunistic TLS handshake failed: reconnect to the same server in plaintext."""


def said(target: Target, reply: Reply, request: str) -> str:
    """``host HOST[ADDR] said: 550 ... (in reply to RCPT TO command)``."""
    return f"host {target.label} said: {reply.text} (in reply to {request})"


def stream_failure(target: Target, error: ClientError, stage: str) -> SiteFailure:
    """A lost connection or timeout while ``stage`` (Postfix's smtp_stream_except)."""
    if isinstance(error, LocalDataError):  # a table failed: the connection still works
        text = f"local data error while talking to {target.label}"
        return SiteFailure("4.3.0", text, target.relay, warning=str(error))
    if isinstance(error, ConversationTimeoutError):
        text = f"conversation with {target.label} timed out while {stage}"
    else:
        text = f"lost connection with {target.label} while {stage}"
    return SiteFailure("4.4.2", text, target.relay)


def _refused(target: Target, reply: Reply, dsn: str | None = None) -> SiteFailure:
    text = f"host {target.label} refused to talk to me: {reply.text}"
    return SiteFailure(dsn or reply.dsn, text, target.relay)


def connect(target: Target, settings: SessionSettings) -> ClientConnection:
    """A connected socket; raises a soft :class:`SiteFailure` (4.4.1) on failure."""
    try:
        if target.unix_path:
            return ClientConnection.open_unix(target.unix_path, settings.timeouts.connect)
        source = settings.bind_address6 if ":" in target.address else settings.bind_address
        return ClientConnection.open_tcp(
            target.address, target.port, settings.timeouts.connect, source
        )
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else "Connection timed out"
        where = target.label if target.unix_path else f"{target.label}:{target.port}"
        raise SiteFailure("4.4.1", f"connect to {where}: {reason}", "none") from None


def open_session(
    target: Target, settings: SessionSettings, nexthop: str, *, use_tls: bool = True
) -> ClientConnection:
    """Connect, read the greeting and say hello (with STARTTLS as the policy says).

    Raises :class:`SiteFailure`, or :class:`TlsFallback` when an opportunistic TLS
    handshake failed (the connection is closed; retry with ``use_tls=False``).
    """
    conn = connect(target, settings)
    if settings.reply_filter is not None:
        conn.reply_filter = settings.reply_filter.for_relay(target.relay)
    try:
        _greet(conn, target, settings)
        _hello(conn, target, settings, nexthop)
        if use_tls:
            _negotiate_tls(conn, target, settings, nexthop)
    except LocalDataError as e:
        conn.quit(settings.timeouts.quit)  # as Postfix: the session itself is fine
        raise stream_failure(target, e, _stage(settings)) from None
    except ClientError as e:
        conn.close()
        raise stream_failure(target, e, _stage(settings)) from None
    except (SiteFailure, TlsFallback):
        conn.close()
        raise
    return conn


def _stage(settings: SessionSettings) -> str:
    return "performing the LHLO handshake" if settings.lmtp else "performing the EHLO handshake"


def _greet(conn: ClientConnection, target: Target, settings: SessionSettings) -> None:
    try:
        reply = conn.read_reply(settings.timeouts.helo)
    except LocalDataError:
        raise
    except ClientError as e:
        raise stream_failure(target, e, "receiving the initial server greeting") from None
    if reply.code // 100 == 2:
        return
    dsn = reply.dsn
    if reply.code // 100 == 5 and settings.skip_5xx_greeting:
        dsn = "4" + dsn[1:]
    raise _refused(target, reply, dsn)


def _hello(conn: ClientConnection, target: Target, settings: SessionSettings, nexthop: str) -> None:
    timeout = settings.timeouts.helo
    if settings.lmtp:
        reply = conn.hello("LHLO", settings.helo_name, timeout)
        if reply.code // 100 != 2:
            raise _refused(target, reply)
        _discard(conn, target, settings)
        return
    esmtp = (settings.always_send_ehlo or conn.tls) and not settings.never_send_ehlo
    if esmtp:
        reply = conn.hello("EHLO", settings.helo_name, timeout)
        if reply.code == 421:
            raise _refused(target, reply)
        if reply.code // 100 == 2:
            _discard(conn, target, settings)
            _check_loop(conn, target, settings, nexthop)
            return
    reply = conn.hello("HELO", settings.helo_name, timeout)
    if reply.code // 100 != 2:
        raise _refused(target, reply)


def _discard(conn: ClientConnection, target: Target, settings: SessionSettings) -> None:
    """Ignore the EHLO keywords ``smtp_discard_ehlo_keywords`` lists (raises LocalDataError)."""
    if settings.ehlo_discards is not None:
        settings.ehlo_discards.apply(conn.extensions, target.address)


def _check_loop(
    conn: ClientConnection, target: Target, settings: SessionSettings, nexthop: str
) -> None:
    name = conn.extensions.greeting_name
    if name and settings.myhostname and name.lower() == settings.myhostname.lower():
        dsn = "5.4.6" if target.best_mx else "4.4.6"
        raise SiteFailure(dsn, f"mail for {nexthop} loops back to myself", target.relay)


def _negotiate_tls(
    conn: ClientConnection, target: Target, settings: SessionSettings, nexthop: str
) -> None:
    policy = settings.tls
    if policy.level == "none" or policy.context is None:
        return
    if not conn.extensions.has("STARTTLS"):
        if policy.required:
            text = f"TLS is required, but was not offered by host {target.label}"
            raise SiteFailure("4.7.4", text, target.relay)
        return
    try:
        reply = conn.command("STARTTLS", settings.timeouts.starttls)
    except LocalDataError:
        raise
    except ClientError as e:
        raise stream_failure(target, e, "receiving the STARTTLS response") from None
    if reply.code // 100 != 2:
        if policy.required:
            text = f"TLS is required, but host {target.label} refused to start TLS: {reply.text}"
            raise SiteFailure(reply.dsn, text, target.relay)
        return
    if policy.problem:  # bad ciphers/protocols: no TLS session, no plaintext either
        log.warning("%s: %s", target.relay, policy.problem)
        raise SiteFailure("4.7.5", HANDSHAKE_FAILURE, target.relay)
    try:
        conn.start_tls(policy.context, policy.sni(target.hostname), settings.timeouts.starttls)
    except ssl.SSLCertVerificationError:  # untrusted: Postfix completes the handshake
        raise SiteFailure("4.7.5", NOT_VERIFIED, target.relay) from None  # (then QUIT)
    except (ssl.SSLError, OSError):
        if not policy.required:
            raise TlsFallback() from None
        raise SiteFailure("4.7.5", HANDSHAKE_FAILURE, target.relay) from None
    problem = policy.check_peer(peer_certificate(conn.sock), target.hostname)
    if problem:
        conn.quit(settings.timeouts.quit)  # the TLS session works: say QUIT, as Postfix does
        raise SiteFailure("4.7.5", problem, target.relay)
    _hello(conn, target, settings, nexthop)
