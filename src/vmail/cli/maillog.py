"""The mail log: Postfix's line layout, each line written with one ``write(2)``.

:class:`PostfixFormatter` makes ``Nov 27 09:30:00 HOST vmail/SERVICE[PID]: text``.
:class:`LineHandler` writes each formatted record to a file descriptor as a single
``write``, without the handler lock that :class:`logging.StreamHandler` takes around a
buffered write and flush. A line written whole is not mixed with the lines of other
threads or processes: writes to an ``O_APPEND`` file are serialized by the kernel, and
writes of up to ``PIPE_BUF`` bytes to a pipe are atomic (a longer line, such as a
traceback, may be split on a pipe). With the delivery process's worker threads logging
three lines per message, the lock was the largest item of that process's Python time
(15% inclusive, waits for the lock included).
"""

from __future__ import annotations

import logging
import os
import time

from vmail.core.fileio import write_all
from vmail.core.logname import SERVICE_LOG_NAME


class LineHandler(logging.Handler):
    """Each record as one line on ``fd`` (see the module doc); the caller owns ``fd``."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit, without taking the handler lock."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.format(record) + "\n").encode("utf-8", "backslashreplace")
            write_all(self.fd, line)
        except Exception:
            self.handleError(record)


class PostfixFormatter(logging.Formatter):
    """``Nov 27 09:30:00 HOST vmail/SERVICE[PID]: message`` (SERVICE from the logger).

    The PID is kept (and renewed in a forked delivery process) and the time stamp made
    once per second: the mail log is written several times per message.
    """

    def __init__(self, hostname: str, syslog_name: str) -> None:
        super().__init__(datefmt="%b %d %H:%M:%S")
        self.hostname = hostname
        self.syslog_name = syslog_name
        self.pid = os.getpid()
        os.register_at_fork(after_in_child=self._new_pid)
        self._second, self._stamp = -1, ""

    def _new_pid(self) -> None:
        self.pid = os.getpid()

    def format(self, record: logging.LogRecord) -> str:
        service = record.name.split(".")[1] if record.name.count(".") else "master"
        level = {logging.WARNING: "warning: ", logging.ERROR: "error: "}.get(record.levelno, "")
        if record.levelno >= logging.CRITICAL:
            level = "fatal: "
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime(self.datefmt or "", time.localtime(second))
        override = SERVICE_LOG_NAME.get()  # a master.cf -o syslog_name, for its program
        name = override[1] if override is not None and override[0] == service else self.syslog_name
        program = f"{name}/{service}[{self.pid}]"
        return f"{self._stamp} {self.hostname} {program}: {level}{text}"


__all__ = ["LineHandler", "PostfixFormatter"]
