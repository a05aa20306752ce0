"""How a failed mailbox write is reported: Postfix's errno to DSN mapping.

Postfix (mbox_open.c's ``mbox_dsn``) maps a few errno values to fixed status codes and
leaves the rest to a default chosen by the caller:

* ``EAGAIN``/``ESTALE`` (lock busy, stale NFS handle) → ``4.2.0``, try again;
* ``ENOSPC`` (file system full) → ``4.3.0``, try again;
* ``EDQUOT``/``EFBIG`` (user quota, ``virtual_mailbox_limit``) → ``5.2.2`` mailbox full,
  which bounces.

The first digit of the status decides between deferring and bouncing.
"""

from __future__ import annotations

import errno

from vmail.core.errors import MailError, PermanentError, TemporaryError
from vmail.core.reply import Reply

# Default statuses Postfix uses: creating a file defers, a failed write bounces.
CREATE_DEFAULT = "4.2.0"
WRITE_DEFAULT = "5.3.0"


def errno_dsn(err: int | None, default: str) -> str:
    """The DSN status for a failed file operation with ``errno`` ``err``."""
    if err in (errno.EAGAIN, errno.ESTALE):
        return "4.2.0"
    if err == errno.ENOSPC:
        return "4.3.0"
    if err in (errno.EDQUOT, errno.EFBIG):
        return "5.2.2"
    return default


def failure(status: str, text: str) -> MailError:
    """A TemporaryError (4.x.x) or PermanentError (5.x.x) with a reply for ``status``."""
    if status.startswith("4"):
        return TemporaryError(Reply(450, status, text))
    return PermanentError(Reply(550, status, text))


def os_failure(e: OSError, default: str, what: str) -> MailError:
    """A failure for an OSError: ``what`` is e.g. ``error writing message``."""
    reason = e.strerror or str(e)
    return failure(errno_dsn(e.errno, default), f"{what}: {reason}")


def file_too_large() -> OSError:
    """The error a write past ``virtual_mailbox_limit`` raises (what setrlimit would)."""
    return OSError(errno.EFBIG, "File too large")
