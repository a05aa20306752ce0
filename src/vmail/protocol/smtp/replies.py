"""The replies the SMTP core sends itself, with Postfix 3.7 smtpd's codes and texts.

Texts were taken from a running Postfix 3.7 smtpd (``tests/oracle/postfix.py``) and its
documentation; the ones that name the server take ``myhostname`` as an argument, as
Postfix does. Replies without an enhanced status code are that way in Postfix too.
"""

from __future__ import annotations

from vmail.core.reply import Reply

OK = Reply(250, "2.0.0", "Ok")
MAIL_OK = Reply(250, "2.1.0", "Ok")
RCPT_OK = Reply(250, "2.1.5", "Ok")
BYE = Reply(221, "2.0.0", "Bye")
START_DATA = Reply(354, "", "End data with <CR><LF>.<CR><LF>")
READY_TLS = Reply(220, "2.0.0", "Ready to start TLS")
AUTH_OK = Reply(235, "2.7.0", "Authentication successful")

# syntax
NOT_RECOGNIZED = Reply(500, "5.5.2", "Error: command not recognized")
BAD_SYNTAX = Reply(500, "5.5.2", "Error: bad syntax")
BAD_UTF8 = Reply(500, "5.5.2", "Error: bad UTF-8 syntax")
SYNTAX_EHLO = Reply(501, "", "Syntax: EHLO hostname")
SYNTAX_HELO = Reply(501, "", "Syntax: HELO hostname")
SYNTAX_LHLO = Reply(501, "", "Syntax: LHLO hostname")
SYNTAX_MAIL = Reply(501, "5.5.4", "Syntax: MAIL FROM:<address>")
SYNTAX_RCPT = Reply(501, "5.5.4", "Syntax: RCPT TO:<address>")
SYNTAX_DATA = Reply(501, "5.5.4", "Syntax: DATA")
SYNTAX_RSET = Reply(501, "5.5.4", "Syntax: RSET")
SYNTAX_VRFY = Reply(501, "5.5.4", "Syntax: VRFY address [SMTPUTF8]")
SYNTAX_STARTTLS = Reply(501, "5.5.4", "Syntax: STARTTLS")
SYNTAX_AUTH = Reply(501, "5.5.4", "Syntax: AUTH mechanism")
SYNTAX_ETRN = Reply(500, "", "Syntax: ETRN domain")
ETRN_BAD_SITE = Reply(501, "", "Error: invalid parameter syntax")
ETRN_STARTED = Reply(250, "", "Queuing started")
ETRN_FAILED = Reply(458, "", "Unable to queue messages")
SYNTAX_BDAT = Reply(521, "5.5.4", "Syntax: BDAT count [LAST]")
BAD_SENDER = Reply(501, "5.1.7", "Bad sender address syntax")
BAD_RECIPIENT = Reply(501, "5.1.3", "Bad recipient address syntax")
BAD_SIZE = Reply(501, "5.5.4", "Bad message size syntax")
BAD_RET = Reply(501, "5.5.4", "Bad RET parameter syntax")
BAD_ENVID = Reply(501, "5.5.4", "Bad ENVID parameter syntax")
BAD_NOTIFY = Reply(501, "5.5.4", "Error: Bad NOTIFY parameter syntax")
BAD_ORCPT = Reply(501, "5.5.4", "Error: Bad ORCPT parameter syntax")
DSN_DISABLED = Reply(501, "5.7.1", "DSN support is disabled")
MULTIPLE_AUTH = Reply(503, "5.5.4", "Error: multiple AUTH= options")
ATTR_EXPECTED = Reply(501, "5.5.4", "Error: attribute=value expected")

# sequence
NEED_MAIL = Reply(503, "5.5.1", "Error: need MAIL command")
NEED_RCPT = Reply(503, "5.5.1", "Error: need RCPT command")
NESTED_MAIL = Reply(503, "5.5.1", "Error: nested MAIL command")
NO_VALID_RCPTS = Reply(554, "5.5.1", "Error: no valid recipients")
SEND_HELO_FIRST = Reply(503, "5.5.1", "Error: send HELO/EHLO first")
MAIL_AFTER_BDAT = Reply(503, "5.5.1", "Error: MAIL after BDAT")
RCPT_AFTER_BDAT = Reply(503, "5.5.1", "Error: RCPT after BDAT")
DATA_AFTER_BDAT = Reply(503, "5.5.1", "Error: DATA after BDAT")
IN_TRANSACTION = Reply(503, "", "Error: MAIL transaction in progress")
AUTH_IN_TRANSACTION = Reply(503, "5.5.1", "Error: MAIL transaction in progress")

# refused features
NOT_IMPLEMENTED = Reply(502, "5.5.1", "Error: command not implemented")
CHUNKING_DISCARDED = Reply(521, "5.5.1", "Error: command not implemented")  # then hang up


def local_data_error(myhostname: str) -> Reply:
    """Postfix's answer when a table it needs for the session fails (then it hangs up)."""
    return Reply(421, "4.3.0", f"{myhostname} Server local data error")


VRFY_DISABLED = Reply(502, "5.5.1", "VRFY command is disabled")
TLS_ACTIVE = Reply(554, "5.5.1", "Error: TLS already active")
AUTH_NOT_ENABLED = Reply(503, "5.5.1", "Error: authentication not enabled")
ALREADY_AUTHENTICATED = Reply(503, "5.5.1", "Error: already authenticated")
INSUFFICIENT_AUTHORIZATION = Reply(550, "5.7.0", "Error: insufficient authorization")
UNSUPPORTED_BODY_PREFIX = "Unsupported option: "

# SASL
AUTH_ABORTED = Reply(501, "5.7.0", "Authentication aborted")
AUTH_FAILED = Reply(535, "5.7.8", "Error: authentication failed: authentication failure")
AUTH_NO_MECHANISM = Reply(535, "5.7.8", "Error: authentication failed: no mechanism available")
SASL_RESPONSE_LIMIT = Reply(500, "5.5.6", "SASL response limit exceeded")

# limits and content
TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "Error: too many recipients")
SIZE_EXCEEDS_LIMIT = Reply(552, "5.3.4", "Message size exceeds fixed limit")
MESSAGE_TOO_BIG = Reply(552, "5.3.4", "Error: message file too big")
CHUNK_TOO_BIG = Reply(552, "5.3.4", "Chunk exceeds message size limit")
NULL_BDAT = Reply(551, "5.7.1", "Null BDAT request")
QUEUE_WRITE_ERROR = Reply(451, "4.3.0", "Queue file write error")


def unsupported_option(param: str) -> Reply:
    """``555 5.5.4 Unsupported option: SIZE=x``: the parameter as the client wrote it."""
    return Reply(555, "5.5.4", UNSUPPORTED_BODY_PREFIX + param)


def etrn_unavailable(site: str) -> Reply:
    """ETRN for a site that is not in ``fast_flush_domains`` (Postfix's text, no DSN code)."""
    return Reply(459, "", f"<{site}>: service unavailable")


def bdat_discarded(count: int) -> Reply:
    """A BDAT chunk read and thrown away because an earlier command of the message failed."""
    return Reply(551, "5.0.0", f"Discarded {count} bytes after earlier error")


def bdat_ok(total: int) -> Reply:
    """A non-final BDAT chunk was stored; ``total`` bytes of the message so far."""
    return Reply(250, "2.0.0", f"Ok: {total} bytes")


def vrfy_default(address: str) -> Reply:
    """Postfix's answer to VRFY when nothing rejects the address."""
    return Reply(252, "2.0.0", address)


def bare_lf(hostname: str, code: int = 550) -> Reply:
    """``smtpd_forbid_bare_newline = reject``; code is ``smtpd_forbid_bare_newline_reject_code``."""
    return Reply(code, "5.5.2" if code >= 500 else "4.5.2", f"{hostname} Error: bare <LF> received")


def too_many_errors(hostname: str) -> Reply:
    """Sent instead of the next command once ``smtpd_hard_error_limit`` is reached."""
    return Reply(421, "4.7.0", f"{hostname} Error: too many errors")


def too_much_input(hostname: str) -> Reply:
    """vmail only: the driver fed more pipelined input than the session may buffer."""
    return Reply(421, "4.7.0", f"{hostname} Error: too much pipelined input")


def format_reply(reply: Reply) -> bytes:
    """Wire form of a reply; a text with newlines becomes a multi-line reply."""
    lines = reply.text.split("\n") if reply.text else [""]
    prefix = f"{reply.enhanced} " if reply.enhanced else ""
    out = []
    for i, line in enumerate(lines):
        sep = " " if i == len(lines) - 1 else "-"
        out.append(f"{reply.code}{sep}{prefix}{line}")
    return ("\r\n".join(out) + "\r\n").encode("utf-8")
