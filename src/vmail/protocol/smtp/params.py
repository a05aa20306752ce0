"""ESMTP parameters of MAIL FROM (RFC 1870, 6152, 3030, 6531, 3461, 4954) and RCPT TO (3461).

Each parser returns the parsed parameters or the :class:`Reply` Postfix sends for the
first bad one. Keywords are case-insensitive; values are kept (decoded) as sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmail.core.reply import Reply
from vmail.protocol.smtp import replies as rp
from vmail.protocol.smtp import xtext

BODY_TYPES = ("7BIT", "8BITMIME", "BINARYMIME")
NOTIFY_KEYWORDS = frozenset({"SUCCESS", "FAILURE", "DELAY"})


@dataclass(frozen=True)
class MailParams:
    """Parsed MAIL FROM parameters; None means "not given"."""

    size: int | None = None
    body: str | None = None
    smtputf8: bool = False
    ret: str | None = None
    envid: str | None = None
    auth: str | None = None  # decoded AUTH= mailbox; None also for "<>" or unusable xtext


@dataclass(frozen=True)
class RcptParams:
    """Parsed RCPT TO parameters."""

    notify: tuple[str, ...] | None = None  # ("NEVER",) or a subset of SUCCESS/FAILURE/DELAY
    orcpt_type: str | None = None
    orcpt: str | None = None


@dataclass(frozen=True)
class Features:
    """What this session offers, which decides which parameters are known."""

    dsn: bool = True
    smtputf8: bool = True
    binarymime: bool = False
    auth: bool = False


def parse_mail_params(params: tuple[str, ...], features: Features) -> MailParams | Reply:
    """MAIL FROM parameters, or the reply for the first one that is wrong."""
    size: int | None = None
    body: str | None = None
    smtputf8 = False
    ret: str | None = None
    envid: str | None = None
    auth: str | None = None
    seen_auth = False
    for param in params:
        key, eq, value = param.partition("=")
        key = key.upper()
        if key == "SIZE" and eq:
            if not value.isascii() or not value.isdigit():
                return rp.BAD_SIZE
            size = int(value)
        elif key == "BODY" and eq and value.upper() in BODY_TYPES:
            if value.upper() == "BINARYMIME" and not features.binarymime:
                return rp.unsupported_option(param)
            body = value.upper()
        elif key == "SMTPUTF8" and not eq and features.smtputf8:
            smtputf8 = True
        elif key == "RET" and eq:
            if not features.dsn:
                return rp.DSN_DISABLED
            if ret is not None or value.upper() not in ("FULL", "HDRS"):
                return rp.BAD_RET
            ret = value.upper()
        elif key == "ENVID" and eq:
            if not features.dsn:
                return rp.DSN_DISABLED
            decoded = xtext.decode(value) if value else None
            if envid is not None or decoded is None or len(decoded) > 100:
                return rp.BAD_ENVID
            envid = decoded
        elif key == "AUTH" and eq:
            if not features.auth:
                continue  # Postfix ignores AUTH= when it offers no AUTH
            if seen_auth:
                return rp.MULTIPLE_AUTH
            seen_auth = True
            # RFC 4954 section 5: a value we cannot trust or decode is treated as <>.
            auth = None if value == "<>" else xtext.decode(value)
        else:
            return rp.unsupported_option(param)
    return MailParams(size, body, smtputf8, ret, envid, auth)


def parse_rcpt_params(params: tuple[str, ...], features: Features) -> RcptParams | Reply:
    """RCPT TO parameters, or the reply for the first one that is wrong."""
    notify: tuple[str, ...] | None = None
    orcpt_type: str | None = None
    orcpt: str | None = None
    for param in params:
        key, eq, value = param.partition("=")
        key = key.upper()
        if key == "NOTIFY" and eq:
            if not features.dsn:
                return rp.DSN_DISABLED
            words = tuple(w.upper() for w in value.split(","))
            if notify is not None or not _notify_ok(words):
                return rp.BAD_NOTIFY
            notify = words
        elif key == "ORCPT" and eq:
            if not features.dsn:
                return rp.DSN_DISABLED
            atype, semi, encoded = value.partition(";")
            decoded = xtext.decode(encoded) if encoded else None
            if (
                orcpt is not None
                or not semi
                or not _atom(atype)
                or decoded is None
                or len(decoded) > 500
            ):
                return rp.BAD_ORCPT
            orcpt_type, orcpt = atype.lower(), decoded
        else:
            return rp.unsupported_option(param)
    return RcptParams(notify, orcpt_type, orcpt)


def _notify_ok(words: tuple[str, ...]) -> bool:
    if words == ("NEVER",):
        return True
    return bool(words) and len(set(words)) == len(words) and set(words) <= NOTIFY_KEYWORDS


def _atom(text: str) -> bool:
    return bool(text) and text.isascii() and all(c.isalnum() or c == "-" for c in text)
