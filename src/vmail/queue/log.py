"""Log lines in Postfix's format, so that existing log tools (pflogsumm, fail2ban,
grep habits) read vmail's logs as they read Postfix's.

These only build strings; the caller logs them with its program name (``postfix/qmgr``
style prefixes are the logging configuration's business). Pure; nothing blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmail.queue.ids import QueueId


def format_delay(seconds: float) -> str:
    """A delay as Postfix writes it: two significant digits, no exponent, ``0`` if tiny.

    ``23.4 -> "23"``, ``1.23 -> "1.2"``, ``0.183 -> "0.18"``, ``0.004 -> "0"``.
    """
    if seconds < 0.01:
        return "0"
    if seconds >= 10:
        return str(int(seconds))
    decimals = 1 if seconds >= 1 else 2
    scale = 10**decimals
    text = f"{int(seconds * scale + 1e-9) / scale:.{decimals}f}"
    return text.rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Delays:
    """Where the time went (Postfix's ``delays=a/b/c/d``): before the queue manager, in
    the queue manager, connection setup, and transmission."""

    before_qmgr: float = 0.0
    in_qmgr: float = 0.0
    setup: float = 0.0
    transmission: float = 0.0

    @property
    def total(self) -> float:
        return self.before_qmgr + self.in_qmgr + self.setup + self.transmission

    def __str__(self) -> str:
        parts = (self.before_qmgr, self.in_qmgr, self.setup, self.transmission)
        return "/".join(format_delay(p) for p in parts)


def queue_active(queue_id: QueueId, sender: str, size: int, nrcpt: int) -> str:
    """``ID: from=<sender>, size=N, nrcpt=N (queue active)`` (qmgr picks a message)."""
    return f"{queue_id}: from=<{sender}>, size={size}, nrcpt={nrcpt} (queue active)"


def client(queue_id: QueueId, name: str, address: str) -> str:
    """``ID: client=name[address]`` (smtpd starts a message)."""
    return f"{queue_id}: client={name}[{address}]"


def message_id(queue_id: QueueId, value: str) -> str:
    """``ID: message-id=<...>`` (cleanup): the header's value as the message has it,
    unfolded and trimmed; ``<>`` when it has none (what a private Postfix 3.7 logged)."""
    return f"{queue_id}: message-id={value.strip() or '<>'}"


def delivery(
    queue_id: QueueId,
    recipient: str,
    *,
    original: str = "",
    relay: str,
    delays: Delays,
    dsn: str,
    status: str,
    text: str,
) -> str:
    """``ID: to=<r>, orig_to=<o>, relay=..., delay=..., delays=..., dsn=..., status=s (text)``.

    ``orig_to`` appears only when the original recipient differs from the final one;
    ``status`` is ``sent``, ``deferred``, ``bounced`` or ``expired``.
    """
    orig = f" orig_to=<{original}>," if original and original != recipient else ""
    return (
        f"{queue_id}: to=<{recipient}>,{orig} relay={relay or 'none'},"
        f" delay={format_delay(delays.total)}, delays={delays}, dsn={dsn},"
        f" status={status} ({text})"
    )


def removed(queue_id: QueueId) -> str:
    """``ID: removed`` (the queue file is gone: delivered, bounced or deleted)."""
    return f"{queue_id}: removed"


__all__ = ["Delays", "client", "delivery", "format_delay", "message_id", "queue_active", "removed"]
