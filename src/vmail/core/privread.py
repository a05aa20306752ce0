"""Reading a file that only root may read, after vmail dropped root.

TLS keys are often readable by root alone (certbot writes them 0600). ``vmail serve``
loads them as root at start, but a reload (SIGHUP, after a certificate was renewed) runs
as the mail owner. Postfix's smtpd and Dovecot read them as root in each new process;
vmail asks its privileged helper (:mod:`vmail.delivery.spawn`), which reads only the
files named in the configuration when vmail started. ``vmail serve`` installs the reader;
without one (tests, ``vmail`` not started as root) :func:`read_privileged` returns None.
"""

from __future__ import annotations

from collections.abc import Callable

_reader: Callable[[str], bytes] | None = None


def install_privileged_reader(reader: Callable[[str], bytes] | None) -> None:
    """Read unreadable files through ``reader`` from now on (None: no such reading)."""
    global _reader
    _reader = reader


def read_privileged(path: str) -> bytes | None:
    """``path``'s contents as root reads them; None without a reader. OSError on failure."""
    reader = _reader
    return reader(path) if reader is not None else None


__all__ = ["install_privileged_reader", "read_privileged"]
