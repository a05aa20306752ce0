"""DNS lookups behind a small interface, so tests can inject a fake resolver."""

from __future__ import annotations

from typing import Protocol


class Resolver(Protocol):
    """What policy and delivery code needs from DNS."""

    def domain_exists(self, domain: str) -> bool | None:
        """True if the domain has MX, A or AAAA records; False if not; None if DNS failed."""
