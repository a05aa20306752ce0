"""SMTP AUTH by the client (``smtp_sasl_auth_enable``), as smtp(8) does with a relay host.

When the server advertises AUTH and ``smtp_sasl_password_maps`` has ``user:password``
for the next hop as given (``[mail.isp.example]:587``) or for the server's host name,
the client authenticates with PLAIN or LOGIN. Those send the password in the clear, so
they are used only when the security options allow it: ``smtp_sasl_security_options``
(``smtp_sasl_tls_security_options`` over TLS) must not contain ``noplaintext``.
Without a password entry the session goes on unauthenticated, as in Postfix.
Failures defer: ``SASL authentication failed; server HOST[ADDR] said: 535 ...``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vmail.delivery.smtp_client import ClientConnection, ClientError, Reply
from vmail.delivery.smtp_session import SiteFailure, Target, stream_failure

PasswordLookup = Callable[[Sequence[str]], str | None]
"""Finds ``user:password`` for the first key that has one; raises on table failure."""

MECHANISMS = ("PLAIN", "LOGIN")


@dataclass(frozen=True)
class SaslPolicy:
    """What smtp_sasl_* say; ``lookup`` is None when SASL is off."""

    lookup: PasswordLookup | None = None
    options: frozenset[str] = frozenset({"noplaintext", "noanonymous"})
    tls_options: frozenset[str] = frozenset({"noplaintext", "noanonymous"})
    mechanism_filter: tuple[str, ...] = field(default_factory=tuple)

    def allowed(self, tls: bool) -> list[str]:
        """Mechanisms this client may use, best first."""
        options = self.tls_options if tls else self.options
        if "noplaintext" in options:
            return []
        wanted = [m.upper() for m in self.mechanism_filter]
        return [m for m in MECHANISMS if not wanted or m in wanted]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _failed(target: Target, reply: Reply) -> SiteFailure:
    text = f"SASL authentication failed; server {target.label} said: {reply.text}"
    return SiteFailure("4" + reply.dsn[1:], text, target.relay)


def authenticate(
    conn: ClientConnection,
    target: Target,
    policy: SaslPolicy,
    nexthop: str,
    timeout: float | None,
) -> None:
    """Log in if the server offers AUTH and a password is known; raises SiteFailure."""
    if policy.lookup is None or not conn.extensions.has("AUTH"):
        return
    try:
        entry = policy.lookup([nexthop, target.hostname])
    except Exception as e:  # a table failure must defer, whatever the table type raises
        raise SiteFailure("4.3.0", f"SASL password lookup failed: {e}", target.relay) from None
    if entry is None:
        return
    user, _, password = entry.partition(":")
    offered = conn.extensions.keywords.get("AUTH", "").upper().split()
    usable = [m for m in policy.allowed(conn.tls) if m in offered]
    if not usable:
        text = (
            f"SASL authentication failed; cannot authenticate to server {target.label}: "
            "no mechanism available"
        )
        raise SiteFailure("4.7.0", text, target.relay)
    try:
        if usable[0] == "PLAIN":
            token = _b64("\0" + user + "\0" + password)
            reply = conn.command(f"AUTH PLAIN {token}", timeout)
        else:
            reply = conn.command("AUTH LOGIN", timeout)
            if reply.code == 334:
                reply = conn.command(_b64(user), timeout)
            if reply.code == 334:
                reply = conn.command(_b64(password), timeout)
    except ClientError as e:
        raise stream_failure(target, e, "performing the SASL authentication") from None
    if reply.code // 100 != 2:
        raise _failed(target, reply)
