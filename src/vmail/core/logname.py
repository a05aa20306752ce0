"""The ``syslog_name`` a master.cf service gives its own log lines (``-o syslog_name=``).

Postfix's default master.cf gives the submission service ``-o
syslog_name=postfix/submission``, so its smtpd logs ``postfix/submission/smtpd[PID]``
while the other processes keep main.cf's name; log tools (fail2ban, pflogsumm) tell the
ports apart by it. A session sets :data:`SERVICE_LOG_NAME` in its own task (asyncio
gives each task its own context) to ``(program, name)``; the mail log's formatter uses
``name`` for that program's records only, so cleanup's lines, logged from the same
session, keep main.cf's name as in Postfix.
"""

from __future__ import annotations

from contextvars import ContextVar

SERVICE_LOG_NAME: ContextVar[tuple[str, str] | None] = ContextVar("SERVICE_LOG_NAME", default=None)

__all__ = ["SERVICE_LOG_NAME"]
