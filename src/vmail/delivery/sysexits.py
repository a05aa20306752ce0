"""Postfix's ``sys_exits`` table: a command's ``<sysexits.h>`` exit status → DSN and text.

pipe(8) and local(8) report a command that exits with one of these codes with the
code's status and text (``67`` → ``5.1.1 user unknown``); the first digit of the status
decides between bouncing and deferring (only ``EX_OSERR`` and ``EX_TEMPFAIL`` defer).
Any other code is "unknown": ``5.3.0 unknown mail system error N``.
"""

from __future__ import annotations

from dataclasses import dataclass

EX_USAGE = 64
EX_SOFTWARE = 70
EX_OSERR = 71
EX_TEMPFAIL = 75
EX_CONFIG = 78


@dataclass(frozen=True)
class ExitDetail:
    """What an exit status means to the mail system."""

    code: int
    dsn: str
    text: str

    @property
    def soft(self) -> bool:
        """Whether the failure is temporary (the message is deferred)."""
        return self.dsn.startswith("4")


_TABLE: dict[int, tuple[str, str]] = {
    64: ("5.3.0", "command line usage error"),
    65: ("5.6.0", "data format error"),
    66: ("5.3.0", "cannot open input"),
    67: ("5.1.1", "user unknown"),
    68: ("5.1.2", "host name unknown"),
    69: ("5.3.0", "service unavailable"),
    70: ("5.3.0", "internal software error"),
    71: ("4.3.0", "system resource problem"),
    72: ("5.3.0", "critical OS file missing"),
    73: ("5.2.0", "can't create user output file"),
    74: ("5.3.0", "input/output error"),
    75: ("4.3.0", "temporary failure"),
    76: ("5.5.0", "remote error in protocol"),
    77: ("5.7.0", "permission denied"),
    78: ("5.3.5", "local configuration error"),
}


def is_sysexits_code(code: int) -> bool:
    """Whether ``code`` is one of ``<sysexits.h>``'s codes (64 to 78)."""
    return code in _TABLE


def exit_detail(code: int) -> ExitDetail:
    """The status and text for exit status ``code`` (unknown codes: ``5.3.0``)."""
    known = _TABLE.get(code)
    if known is None:
        return ExitDetail(code, "5.3.0", f"unknown mail system error {code}")
    return ExitDetail(code, *known)


__all__ = [
    "EX_CONFIG",
    "EX_OSERR",
    "EX_SOFTWARE",
    "EX_TEMPFAIL",
    "EX_USAGE",
    "ExitDetail",
    "exit_detail",
    "is_sysexits_code",
]
