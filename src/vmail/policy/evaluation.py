"""What every restriction check shares: the client, the state of one evaluation, the
replies' wording, and the base of the check classes (:class:`RestrictionChecks`).

:class:`vmail.policy.restrictions.RecipientPolicy` is built from the check classes in
:mod:`.accesschecks` and :mod:`.dnslists`; their methods raise :class:`RejectedError`
with Postfix's reply (or record a deferral) through the helpers here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from vmail.config import MainConfig
from vmail.core.reply import Reply
from vmail.dns import Resolver as DNSResolver
from vmail.policy.access import Action
from vmail.policy.clientcerts import Certificate
from vmail.policy.dnsaccess import ServerKeys
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.resolve import Resolution
from vmail.tables.base import Trace

ACCEPTED = Reply(250, "2.1.5", "Ok")
RECIPIENT = "Recipient address"
SENDER = "Sender address"
CLIENT = "Client host"
REVERSE_CLIENT = "Unverified Client host"
SASL_LOGIN = "SASL login name"
CLIENT_CERT = "Client certificate"
HELO = "Helo command"
ETRN = "Etrn command"
DATA, DATA_CLASS = "DATA", "Data command"
END_OF_DATA, END_OF_DATA_CLASS = "END-OF-MESSAGE", "End-of-data"

OK, DUNNO = "OK", "DUNNO"


@dataclass(frozen=True)
class Client:
    """The SMTP client as the policy sees it."""

    address: str = "127.0.0.1"
    name: str = "localhost"
    helo: str | None = None
    sasl_username: str | None = None
    improper_pipelining: bool = False  # for reject_unauth_pipelining
    reverse_name: str | None = None  # the PTR name even if not confirmed (None: as name)
    instance: str = ""  # names the transaction to policy services (Postfix's instance=)
    encrypted: bool = False  # the session runs over TLS (reject_plaintext_session)
    certificate: Certificate | None = None  # the TLS client certificate, when one was sent


@dataclass(frozen=True)
class MessageAction:
    """An access table action that does not decide the command: ``verb`` is ``hold``,
    ``discard``, ``redirect``, ``bcc``, ``prepend``, ``warn`` or ``info``; ``text`` what
    Postfix logs for it (``<a@b>: Sender address triggers HOLD action``); ``argument``
    the address (REDIRECT, BCC) or header (PREPEND)."""

    verb: str
    text: str
    argument: str = ""


class RejectedError(Exception):
    """Stops evaluation: the request gets ``reply``."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        super().__init__(str(reply))


def fix_dsn(code: int, dsn: str) -> str:
    """Make the enhanced code's class agree with the reply code (4xx ↔ 4.x.x)."""
    first = str(code)[0]
    return dsn if dsn.startswith(first) else first + dsn[1:]


def namaddr(client: Client) -> str:
    """``name[address]``: how Postfix names the client in replies."""
    return f"{client.name}[{client.address}]"


@dataclass
class State:
    """Per-request evaluation state: who is asking, and pending defer_if_* decisions."""

    client: Client
    sender: str | None
    recipient: str | None
    trace: Trace | None
    reply_name: str = ""  # whom the current stage's generic restrictions name
    recipient_count: int = 0  # recipients accepted so far (reject_multi_recipient_bounce)
    at_rcpt: bool = True  # RCPT stage, not DATA or end of data
    command: str = ""  # the SMTP command of an early stage (policy services' protocol_state)
    defer_if_permit: Reply | None = None
    defer_if_reject: Reply | None = None
    warn_if_reject: bool = False
    notes: list[str] = field(default_factory=list)
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    warnings: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    actions: list[MessageAction] = field(default_factory=list)


class RestrictionChecks:
    """The base of the restriction check classes: the settings they read (set by
    :class:`~vmail.policy.restrictions.RecipientPolicy`) and the ways a check ends."""

    config: MainConfig
    context: RoutingContext
    canonical: Canonicalizer
    dns: DNSResolver | None
    server_keys: ServerKeys | None
    code: dict[str, int]
    soft_bounce: bool
    access_parent_style: bool
    delimiters: str
    null_sender_key: str
    sasl_enabled: bool
    ask_ccert: bool

    def _apply(self, state: State, action: Action, name: str, reply_class: str) -> str:
        """Apply an access table's action (see RecipientPolicy)."""
        raise NotImplementedError

    def _auth_destination(self, state: State, recipient: str) -> bool:
        """Whether the recipient is one this host delivers or relays for."""
        raise NotImplementedError

    def _warn(self, state: State, message: str, *args: object) -> None:
        state.warnings.append((message, args))

    def _reject(self, state: State, code: int, dsn: str, text: str) -> str:
        if state.warn_if_reject:
            self._warn(state, "reject_warning: %d %s %s", code, dsn, text)
            return DUNNO
        if state.defer_if_reject is not None and code >= 500:
            # Postfix replaces the whole reply with the one defer_if_reject recorded.
            raise RejectedError(state.defer_if_reject)
        if self.soft_bounce and code >= 500:
            code -= 100  # soft_bounce keeps the rest of the code: 554 -> 454, 550 -> 450
        raise RejectedError(Reply(code, fix_dsn(code, dsn), text))

    def _defer_if_reject(self, state: State, text: str, dsn: str = "4.7.1") -> None:
        """Remember the reply that a later 5xx rejection is turned into (first one wins)."""
        if state.defer_if_reject is None:
            code = self.code["defer_code"]
            state.defer_if_reject = Reply(code, fix_dsn(code, dsn), text)

    def _defer_if_permit(self, state: State, text: str, dsn: str = "4.7.1") -> None:
        if state.defer_if_permit is None:
            code = self.code["defer_code"]
            state.defer_if_permit = Reply(code, fix_dsn(code, dsn), text)

    def _tempfail(self, state: State, name: str, reply_class: str) -> NoReturn:
        raise RejectedError(Reply(451, "4.3.0", f"<{name}>: Temporary lookup failure"))

    def _config_error(self, state: State) -> NoReturn:
        raise RejectedError(Reply(451, "4.3.5", "Server configuration error"))


__all__ = [
    "ACCEPTED",
    "CLIENT",
    "CLIENT_CERT",
    "DUNNO",
    "ETRN",
    "HELO",
    "OK",
    "RECIPIENT",
    "REVERSE_CLIENT",
    "SASL_LOGIN",
    "SENDER",
    "Client",
    "MessageAction",
    "RejectedError",
    "RestrictionChecks",
    "State",
    "fix_dsn",
    "namaddr",
]
