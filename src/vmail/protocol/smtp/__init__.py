"""SMTP/LMTP server protocol core, sans-IO.

:class:`ServerSession` turns client bytes into :mod:`events <vmail.protocol.smtp.events>`
and the driver's decisions into reply bytes; :mod:`~vmail.protocol.smtp.replies` is the
catalogue of the replies it sends itself (Postfix's codes and texts).
"""

from vmail.protocol.smtp.config import SessionConfig
from vmail.protocol.smtp.events import (
    AuthCredentials,
    Close,
    DataChunk,
    DataCommand,
    DataComplete,
    Decision,
    Event,
    Extension,
    Helo,
    MailFrom,
    MessageAborted,
    RcptTo,
    Send,
    StartTls,
    UnknownCommand,
    Vrfy,
)
from vmail.protocol.smtp.session import Mode, ServerSession

__all__ = [
    "AuthCredentials",
    "Close",
    "DataChunk",
    "DataCommand",
    "DataComplete",
    "Decision",
    "Event",
    "Extension",
    "Helo",
    "MailFrom",
    "MessageAborted",
    "Mode",
    "RcptTo",
    "Send",
    "ServerSession",
    "SessionConfig",
    "StartTls",
    "UnknownCommand",
    "Vrfy",
]
