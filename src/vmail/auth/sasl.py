"""SASL server mechanisms PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login), sans-IO.

The SMTP, IMAP and POP3 servers drive one :class:`SaslExchange` per ``AUTH``/``AUTHENTICATE``
command: :meth:`SaslExchange.start` with the initial response if the client sent one
(``AUTH PLAIN <base64>``, SASL-IR; ``=`` means an empty one), then :meth:`SaslExchange.respond`
with each line the client sends back. Each call returns a :class:`Challenge` to send
(``334 <b64>`` / ``+ <b64>``), the final :class:`Credentials`, or a :class:`SaslFailure`
saying why the exchange ended. Lines are the base64 text as received, without CRLF.

Nothing here raises on client input; the exchange is finished after credentials or a
failure, and any further call returns a ``PROTOCOL`` failure.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass
from typing import Final

MECHANISMS: Final = ("PLAIN", "LOGIN")
# Longest client line accepted (base64 text): room for a 255-byte authzid and authcid and
# a long password, small enough that a client cannot make the server buffer much.
MAX_LINE: Final = 4096
LOGIN_USERNAME: Final = b"Username:"
LOGIN_PASSWORD: Final = b"Password:"


class SaslFailureReason(enum.Enum):
    """Why an exchange ended without credentials."""

    CANCELLED = "cancelled by client"
    BAD_BASE64 = "invalid base64"
    TOO_LONG = "response too long"
    MALFORMED = "malformed response"
    AUTHZID_MISMATCH = "authorization identity differs from authentication identity"
    UNSUPPORTED = "unsupported mechanism"
    PROTOCOL = "exchange already finished"


@dataclass(frozen=True)
class Challenge:
    """Server data to send; :attr:`line` is it base64-encoded (empty for an empty challenge)."""

    data: bytes

    @property
    def line(self) -> bytes:
        return base64.b64encode(self.data)


@dataclass(frozen=True)
class Credentials:
    """What the client claimed: check them with the authentication service."""

    mechanism: str
    username: str
    password: str
    authzid: str = ""

    def __repr__(self) -> str:  # never show a password in logs or tracebacks
        return f"Credentials({self.mechanism}, username={self.username!r}, password=***)"


@dataclass(frozen=True)
class SaslFailure:
    """The exchange is over without credentials; answer 501/535 (SMTP), BAD/NO (IMAP)."""

    reason: SaslFailureReason
    detail: str = ""

    @property
    def cancelled(self) -> bool:
        return self.reason is SaslFailureReason.CANCELLED


Step = Challenge | Credentials | SaslFailure


class SaslExchange:
    """One server-side SASL exchange: a small state machine."""

    mechanism: str = ""

    def __init__(self) -> None:
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def start(self, initial_response: bytes | None = None) -> Step:
        """Begin, with the client's initial response line if it sent one (``b"="`` = empty)."""
        if self._done:
            return self._finish(SaslFailure(SaslFailureReason.PROTOCOL))
        if initial_response is None:
            return self._first_challenge()
        if initial_response.strip() == b"=":
            return self._finish_if_final(self._receive(b""))
        return self._finish_if_final(self._line(initial_response))

    def respond(self, line: bytes) -> Step:
        """Feed one client line (base64, or ``*`` to cancel)."""
        if self._done:
            return self._finish(SaslFailure(SaslFailureReason.PROTOCOL))
        return self._finish_if_final(self._line(line))

    def _line(self, line: bytes) -> Step:
        line = line.rstrip(b"\r\n")
        if len(line) > MAX_LINE:
            return SaslFailure(SaslFailureReason.TOO_LONG, f"more than {MAX_LINE} bytes")
        if line == b"*":
            return SaslFailure(SaslFailureReason.CANCELLED)
        try:
            data = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            return SaslFailure(SaslFailureReason.BAD_BASE64)
        return self._receive(data)

    def _finish_if_final(self, step: Step) -> Step:
        return step if isinstance(step, Challenge) else self._finish(step)

    def _finish(self, step: Step) -> Step:
        self._done = True
        return step

    def _first_challenge(self) -> Step:
        raise NotImplementedError

    def _receive(self, data: bytes) -> Step:
        raise NotImplementedError


def _text(data: bytes, what: str) -> str | SaslFailure:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return SaslFailure(SaslFailureReason.MALFORMED, f"{what} is not UTF-8")
    if not text:
        return SaslFailure(SaslFailureReason.MALFORMED, f"empty {what}")
    if "\x00" in text:
        return SaslFailure(SaslFailureReason.MALFORMED, f"NUL in {what}")
    return text


class PlainExchange(SaslExchange):
    """PLAIN: one message ``[authzid] NUL authcid NUL passwd``."""

    mechanism = "PLAIN"

    def _first_challenge(self) -> Step:
        return Challenge(b"")

    def _receive(self, data: bytes) -> Step:
        parts = data.split(b"\x00")
        if len(parts) != 3:
            return SaslFailure(
                SaslFailureReason.MALFORMED, "expected authzid NUL authcid NUL passwd"
            )
        authzid_raw, authcid_raw, password_raw = parts
        authcid = _text(authcid_raw, "authentication identity")
        if isinstance(authcid, SaslFailure):
            return authcid
        password = _text(password_raw, "password")
        if isinstance(password, SaslFailure):
            return password
        authzid = _text(authzid_raw, "authorization identity") if authzid_raw else ""
        if isinstance(authzid, SaslFailure):
            return authzid
        if authzid and authzid.lower() != authcid.lower():
            return SaslFailure(SaslFailureReason.AUTHZID_MISMATCH)
        return Credentials(self.mechanism, authcid, password, authzid)


class LoginExchange(SaslExchange):
    """LOGIN: ``Username:`` then ``Password:`` challenges; an initial response is the username."""

    mechanism = "LOGIN"

    def __init__(self) -> None:
        super().__init__()
        self._username: str | None = None

    def _first_challenge(self) -> Step:
        return Challenge(LOGIN_USERNAME)

    def _receive(self, data: bytes) -> Step:
        if self._username is None:
            username = _text(data, "username")
            if isinstance(username, SaslFailure):
                return username
            self._username = username
            return Challenge(LOGIN_PASSWORD)
        password = _text(data, "password")
        if isinstance(password, SaslFailure):
            return password
        return Credentials(self.mechanism, self._username, password)


def new_exchange(mechanism: str) -> SaslExchange | SaslFailure:
    """An exchange for ``mechanism`` (case-insensitive), or an ``UNSUPPORTED`` failure."""
    name = mechanism.upper()
    if name == "PLAIN":
        return PlainExchange()
    if name == "LOGIN":
        return LoginExchange()
    return SaslFailure(SaslFailureReason.UNSUPPORTED, mechanism[:40])
