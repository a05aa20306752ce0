"""Session-level IMAP commands: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE,
ID, ENABLE, NAMESPACE and COMPRESS.

Logins go through the authentication service (throttling, fail2ban lines, the credential
cache); the client sees only Dovecot's texts: ``NO [AUTHENTICATIONFAILED] Authentication
failed.``, ``NO [UNAVAILABLE] Temporary authentication failure.`` and, for plaintext
logins without TLS when ``imapd_tls_auth_only`` is on, ``NO [PRIVACYREQUIRED] Plaintext
authentication disallowed on non-secure (SSL/TLS) connections.``. After STARTTLS or
COMPRESS the command framer starts afresh, so nothing pipelined before the switch is
read as if it had come after it.
"""

from __future__ import annotations

import logging

from vmail import __version__
from vmail.auth.sasl import Challenge, Credentials, SaslFailure, SaslFailureReason, new_exchange
from vmail.auth.service import AuthStatus
from vmail.protocol.imap import types as t
from vmail.protocol.imap.framing import CommandReader
from vmail.protocol.imap.wire import string
from vmail.servers.imapd.commands import (
    ANY,
    AUTHENTICATED,
    INTERNAL_ERROR,
    NOT_AUTHENTICATED,
    Bad,
    Done,
    No,
    capabilities,
    close_selected,
    handler,
    in_thread,
)
from vmail.servers.imapd.connection import ImapConnection, State
from vmail.servers.mailboxes import MailLocationError, open_store

log = logging.getLogger("vmail.imapd")

ANSWERED = Done("")  # the handler sent the tagged response itself
PRIVACY = "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."


@handler(t.Capability, ANY)
async def capability(conn: ImapConnection, cmd: t.Capability) -> Done:
    conn.stream.write(f"* CAPABILITY {' '.join(capabilities(conn))}\r\n".encode())
    if conn.state == State.NOT_AUTHENTICATED:  # Dovecot's imap-login
        return Done("OK", "Pre-login capabilities listed, post-login capabilities have more.")
    return Done("OK", "Capability completed.")


@handler(t.Noop, ANY)
async def noop(conn: ImapConnection, cmd: t.Noop) -> Done:
    return Done("OK", "NOOP completed.")


@handler(t.Logout, ANY)
async def logout(conn: ImapConnection, cmd: t.Logout) -> Done:
    conn.stream.write(b"* BYE Logging out\r\n")
    if conn.user:
        c = conn.counters
        log.info(
            "imap(%s): Disconnected: Logged out in=%d out=%d deleted=%d expunged=%d",
            conn.user,
            conn.stream.bytes_in,
            conn.stream.bytes_out,
            c.deleted,
            c.expunged,
        )
    close_selected(conn)
    conn.state = State.LOGOUT
    return Done("OK", "Logout completed.")


@handler(t.StartTLS, NOT_AUTHENTICATED)
async def starttls(conn: ImapConnection, cmd: t.StartTLS) -> Done:
    context = conn.settings.tls_context
    if conn.stream.tls:
        raise Bad("TLS is already active.")
    if context is None:
        raise Bad("TLS support isn't enabled.")
    conn.stream.write(f"{cmd.tag} OK Begin TLS negotiation now.\r\n".encode())
    if not await conn.stream.start_tls(context):
        conn.state = State.LOGOUT
        return ANSWERED
    _fresh_reader(conn)
    return ANSWERED


@handler(t.Compress, AUTHENTICATED)
async def compress(conn: ImapConnection, cmd: t.Compress) -> Done:
    if conn.stream.compressed:
        raise No("Compression already enabled.", "COMPRESSIONACTIVE")
    if cmd.mechanism != "DEFLATE":
        raise Bad(f"Unsupported compression mechanism: {cmd.mechanism[:40]}")
    conn.stream.write(f"{cmd.tag} OK Begin compression.\r\n".encode())
    # What the framer holds beyond COMPRESS is already compressed: inflate it, not drop it.
    early = conn.reader.take_unconsumed()
    _fresh_reader(conn)
    conn.stream.start_compress(early)
    return ANSWERED


def _fresh_reader(conn: ImapConnection) -> None:
    old = conn.reader
    conn.reader = CommandReader(
        max_line=old.max_line,
        max_literal=old.max_literal,
        max_literal_total=old.max_literal_total,
    )


# -- login -------------------------------------------------------------------------------


@handler(t.Login, NOT_AUTHENTICATED)
async def login(conn: ImapConnection, cmd: t.Login) -> Done:
    if conn.settings.tls_auth_only and not conn.stream.secure:
        raise No(PRIVACY, "PRIVACYREQUIRED")
    return await _log_in(conn, cmd.username, cmd.password, "LOGIN")


@handler(t.Authenticate, NOT_AUTHENTICATED)
async def authenticate(conn: ImapConnection, cmd: t.Authenticate) -> Done:
    if conn.settings.tls_auth_only and not conn.stream.secure:
        raise No(PRIVACY, "PRIVACYREQUIRED")
    exchange = new_exchange(cmd.mechanism.upper())
    if isinstance(exchange, SaslFailure):
        raise No("Unsupported authentication mechanism.", "ALERT")  # Dovecot's imap-login
    initial = cmd.initial_response
    step = exchange.start(None if initial is None else initial.encode("ascii", "replace"))
    while isinstance(step, Challenge):
        conn.stream.write(b"+ " + step.line + b"\r\n")
        await conn.stream.flush()
        line = await conn.read_line()
        if line is None:
            if conn.state == State.LOGOUT:
                return ANSWERED
            raise Bad("Invalid base64 data in continued response")
        step = exchange.respond(line)
    if isinstance(step, SaslFailure):
        if step.reason is SaslFailureReason.CANCELLED:
            raise Bad("Authentication aborted by client.")
        if step.reason in (SaslFailureReason.BAD_BASE64, SaslFailureReason.TOO_LONG):
            raise Bad("Invalid base64 data in continued response")
        raise No("Authentication failed.", "AUTHENTICATIONFAILED")
    assert isinstance(step, Credentials)
    return await _log_in(conn, step.username, step.password, step.mechanism)


async def _log_in(conn: ImapConnection, username: str, password: str, method: str) -> Done:
    authenticator = conn.settings.authenticator
    if authenticator is None:
        raise No("Temporary authentication failure.", "UNAVAILABLE")
    result = await authenticator.authenticate(
        username, password, client_ip=conn.stream.address, service="imap"
    )
    if result.status is AuthStatus.TEMPFAIL:
        raise No("Temporary authentication failure.", "UNAVAILABLE")
    if not result.ok or result.account is None:
        raise No("Authentication failed.", "AUTHENTICATIONFAILED")
    key = (result.username, conn.stream.address)
    sessions = conn.server.user_sessions
    limit = conn.settings.max_userip_connections
    if limit > 0 and sessions.get(key, 0) >= limit:
        raise No(
            f"Maximum number of connections from user+IP exceeded "
            f"(mail_max_userip_connections={limit})",
            "LIMIT",
        )
    try:
        store = open_store(conn.settings.config, result.account)
        await in_thread(store.ensure)
    except (MailLocationError, OSError) as e:
        log.error("imap(%s): cannot open the mail store: %s", result.username, e)
        raise No(INTERNAL_ERROR, "SERVERBUG") from None
    sessions[key] = sessions.get(key, 0) + 1
    conn.userip_key = key
    conn.logged_in(result.username, store)
    log.info(
        "imap-login: Login: user=<%s>, method=%s, %s%s",
        result.username,
        method,
        conn.ip,
        ", TLS" if conn.stream.tls else "",
    )
    return Done("OK", "Logged in", "CAPABILITY " + " ".join(capabilities(conn)))


# -- ID, ENABLE, NAMESPACE ------------------------------------------------------------


@handler(t.Id, ANY)
async def ident(conn: ImapConnection, cmd: t.Id) -> Done:
    if cmd.params:
        conn.client_id = {k[:64]: (v or "")[:256] for k, v in cmd.params[:30]}
    conn.stream.write(b'* ID ("name" "vmail" "version" ' + string(__version__) + b")\r\n")
    return Done("OK", "ID completed.")


ENABLEABLE = ("CONDSTORE", "QRESYNC")


@handler(t.Enable, AUTHENTICATED)
async def enable(conn: ImapConnection, cmd: t.Enable) -> Done:
    # Dovecot lists every known capability named, already enabled or not, and sends no
    # ENABLED line when none was known (RFC 5161 asks only for the ones it enabled).
    named: list[str] = []
    for name in cmd.capabilities:
        upper = name.upper()
        if upper not in ENABLEABLE:
            continue
        conn.enabled.update(("CONDSTORE", upper))
        named.append(upper)
    if conn.selected is not None:
        conn.selected.view.condstore = "CONDSTORE" in conn.enabled
        conn.selected.view.qresync = "QRESYNC" in conn.enabled
    if named:
        conn.stream.write(("* ENABLED" + "".join(" " + c for c in named) + "\r\n").encode())
    return Done("OK", "Enabled.")


@handler(t.Namespace, AUTHENTICATED)
async def namespace(conn: ImapConnection, cmd: t.Namespace) -> Done:
    assert conn.store is not None
    separator = string(conn.store.separator)
    conn.stream.write(b'* NAMESPACE (("" ' + separator + b")) NIL NIL\r\n")
    return Done("OK", "Namespace completed.")
