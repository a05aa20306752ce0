"""Per-client connection and rate limits: what Postfix's anvil(8) does for smtpd.

One :class:`ClientLimits` per listener counts, per client IP address, the open
connections (``smtpd_client_connection_count_limit``) and, per ``anvil_rate_time_unit``,
connections, messages, recipients and AUTH commands (``smtpd_client_*_rate_limit``; 0 =
no limit).
Clients in ``smtpd_client_event_limit_exceptions`` are never limited. The replies and
warnings are Postfix's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from vmail.config import MainConfig
from vmail.core.reply import Reply
from vmail.policy.networks import NetworkList
from vmail.tables import Table

log = logging.getLogger("vmail.smtpd")
DEFAULT_RATE_UNIT = 60


@dataclass
class _Window:
    start: float
    count: int = 0


class ClientLimits:
    """Counters for one listener (not thread-safe: used from the event loop only)."""

    def __init__(
        self,
        config: MainConfig,
        open_table: Callable[[str], Table],
        service: str = "smtp",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.clock = clock
        self.open: dict[str, int] = {}
        self._rates: dict[tuple[str, str], _Window] = {}
        self.configure(config, open_table)

    def configure(self, config: MainConfig, open_table: Callable[[str], Table]) -> None:
        """Take the limits from ``config``; the counters carry on."""
        self.myhostname = config.get("myhostname")
        self.count_limit = config.get_int("smtpd_client_connection_count_limit")
        self.conn_rate = config.get_int("smtpd_client_connection_rate_limit")
        self.msg_rate = config.get_int("smtpd_client_message_rate_limit")
        self.rcpt_rate = config.get_int("smtpd_client_recipient_rate_limit")
        self.auth_rate = config.get_int("smtpd_client_auth_rate_limit")
        known = config.is_known("anvil_rate_time_unit")
        self.unit = float(config.get_time("anvil_rate_time_unit")) if known else DEFAULT_RATE_UNIT
        self.exceptions = NetworkList(
            "smtpd_client_event_limit_exceptions",
            config.get_list("smtpd_client_event_limit_exceptions"),
            open_table,
        )

    def exempt(self, address: str, name: str = "unknown") -> bool:
        return self.exceptions.match(address, name)

    def connect(self, address: str, name: str) -> Reply | None:
        """Count a new connection; a ``421`` if it is over a limit (then call disconnect too)."""
        count = self.open.get(address, 0) + 1
        self.open[address] = count
        if self.exempt(address, name):
            return None
        namaddr = f"{name}[{address}]"
        too_many = Reply(
            421, "4.7.0", f"{self.myhostname} Error: too many connections from {address}"
        )
        if self.count_limit > 0 and count > self.count_limit:
            log.warning(
                "Connection concurrency limit exceeded: %d from %s for service %s",
                count, namaddr, self.service,
            )  # fmt: skip
            return too_many
        rate = self._event("conn", address)
        if self.conn_rate > 0 and rate > self.conn_rate:
            log.warning(
                "Connection rate limit exceeded: %d from %s for service %s",
                rate, namaddr, self.service,
            )  # fmt: skip
            return too_many
        return None

    def disconnect(self, address: str) -> None:
        count = self.open.get(address, 0) - 1
        if count > 0:
            self.open[address] = count
        else:
            self.open.pop(address, None)

    def message(self, address: str, name: str) -> Reply | None:
        """MAIL FROM: ``450 4.7.1 Error: too much mail from IP`` over the message rate."""
        if self.msg_rate <= 0 or self.exempt(address, name):
            return None
        rate = self._event("mail", address)
        if rate <= self.msg_rate:
            return None
        log.warning(
            "Message delivery request rate limit exceeded: %d from %s[%s] for service %s",
            rate, name, address, self.service,
        )  # fmt: skip
        return Reply(450, "4.7.1", f"Error: too much mail from {address}")

    def recipient(self, address: str, name: str) -> Reply | None:
        """RCPT TO: ``450 4.7.1 Error: too many recipients from IP`` over the rate."""
        if self.rcpt_rate <= 0 or self.exempt(address, name):
            return None
        rate = self._event("rcpt", address)
        if rate <= self.rcpt_rate:
            return None
        log.warning(
            "Recipient address rate limit exceeded: %d from %s[%s] for service %s",
            rate, name, address, self.service,
        )  # fmt: skip
        return Reply(450, "4.7.1", f"Error: too many recipients from {address}")

    def auth(self, address: str, name: str) -> Reply | None:
        """AUTH: ``450 4.7.1 Error: too many AUTH commands from IP`` over the rate (every
        AUTH counts, accepted or not)."""
        if self.auth_rate <= 0 or self.exempt(address, name):
            return None
        rate = self._event("auth", address)
        if rate <= self.auth_rate:
            return None
        log.warning(
            "AUTH command rate limit exceeded: %d from %s[%s] for service %s",
            rate, name, address, self.service,
        )  # fmt: skip
        return Reply(450, "4.7.1", f"Error: too many AUTH commands from {address}")

    def _event(self, kind: str, address: str) -> int:
        now = self.clock()
        key = (kind, address)
        window = self._rates.get(key)
        if window is None or now - window.start >= self.unit:
            window = _Window(now)
            self._rates[key] = window
            self._expire(now)
        window.count += 1
        return window.count

    def _expire(self, now: float) -> None:
        if len(self._rates) > 10000:
            for key in [k for k, w in self._rates.items() if now - w.start >= self.unit]:
                del self._rates[key]
