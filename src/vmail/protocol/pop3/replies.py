"""The POP3 reply lines, worded as Dovecot 2.3 words them (clients and scripts match them)."""

from __future__ import annotations

from typing import Final

CRLF: Final = b"\r\n"
END: Final = b".\r\n"

OK: Final = b"+OK\r\n"
LOGGED_IN: Final = b"+OK Logged in.\r\n"
LOGGING_OUT_LOGIN: Final = b"+OK Logging out\r\n"
LOGGING_OUT: Final = b"+OK Logging out.\r\n"
LOGGING_OUT_DELETED: Final = b"+OK Logging out, messages deleted.\r\n"
MARKED_DELETED: Final = b"+OK Marked to be deleted.\r\n"
BEGIN_TLS: Final = b"+OK Begin TLS negotiation now.\r\n"

UNKNOWN_LOGIN: Final = b"-ERR Unknown command.\r\n"
APOP_DISABLED: Final = b"-ERR APOP not enabled.\r\n"  # Dovecot's text (no plain secrets here)
TOO_MANY_BAD_LOGIN: Final = b"-ERR Too many invalid bad commands.\r\n"
TOO_MANY_BAD: Final = b"-ERR Too many bad commands.\r\n"
LINE_TOO_LONG: Final = b"-ERR Input line too long.\r\n"
INACTIVITY: Final = b"-ERR Disconnected for inactivity.\r\n"
NO_USERNAME: Final = b"-ERR No username given.\r\n"
AUTH_FAILED: Final = b"-ERR [AUTH] Authentication failed.\r\n"
AUTH_TEMPFAIL: Final = b"-ERR [SYS/TEMP] Temporary authentication failure.\r\n"
PLAINTEXT_DISALLOWED: Final = (
    b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"
)
UNSUPPORTED_MECHANISM: Final = b"-ERR Unsupported authentication mechanism.\r\n"
AUTH_ABORTED: Final = b"-ERR Authentication aborted by client.\r\n"
TLS_ACTIVE: Final = b"-ERR TLS is already active.\r\n"
TLS_DISABLED: Final = b"-ERR TLS support isn't enabled.\r\n"
IN_USE: Final = b"-ERR [IN-USE] Mailbox is locked by another POP3 session.\r\n"
LOCK_FAILED: Final = b"-ERR [SYS/TEMP] Failed to create POP3 session lock.\r\n"
INTERNAL: Final = (
    b"-ERR [SYS/TEMP] Internal error occurred. Refer to server log for more information.\r\n"
)
MESSAGE_DELETED: Final = b"-ERR Message is deleted.\r\n"


def line(text: str) -> bytes:
    """One reply line: ``text`` plus CRLF (callers pass printable ASCII)."""
    return text.encode("ascii", "replace") + CRLF


def err(text: str) -> bytes:
    """``-ERR text``; client-supplied text is cut and made printable first."""
    return line("-ERR " + printable(text))


def printable(text: str, limit: int = 100) -> str:
    """``text`` safe to echo: at most ``limit`` characters, no control or non-ASCII bytes."""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text[:limit])
