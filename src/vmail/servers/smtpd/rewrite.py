"""``local_header_rewrite_clients``: whose mail cleanup treats as locally submitted.

Postfix's smtpd decides per client whether its messages get the "local" rewriting
context; vmail uses it for adding missing ``Message-Id:``/``Date:``/``From:`` headers.
Supported items: ``permit_inet_interfaces`` (the client is on this host: a loopback
address, an address in ``inet_interfaces``, or the very address it connected to),
``permit_mynetworks``, ``permit_sasl_authenticated``, ``check_address_map type:table``
(the client IP is a key of the table) and ``static:all`` (every client).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from vmail.config import MainConfig
from vmail.core.errors import ConfigError, TableError
from vmail.policy.networks import NetworkList
from vmail.tables import Table

log = logging.getLogger("vmail.smtpd")
SIMPLE = frozenset(
    {"permit_inet_interfaces", "permit_mynetworks", "permit_sasl_authenticated", "static:all"}
)


class RewriteClients:
    """The compiled ``local_header_rewrite_clients`` list."""

    def __init__(
        self, config: MainConfig, mynetworks: NetworkList, open_table: Callable[[str], Table]
    ) -> None:
        self.mynetworks = mynetworks
        self.interfaces = {
            item.strip("[]").lower()
            for item in config.get_list("inet_interfaces")
            if item.lower() not in ("all", "loopback-only")
        }
        self.items: list[tuple[str, Table | None]] = []
        words = iter(config.get_list("local_header_rewrite_clients"))
        for word in words:
            low = word.lower()
            if low in SIMPLE:
                self.items.append((low, None))
            elif low == "check_address_map":
                spec = next(words, None)
                if spec is None:
                    raise ConfigError(
                        "local_header_rewrite_clients: check_address_map needs a table"
                    )
                self.items.append((low, open_table(spec)))
            else:
                raise ConfigError(f"local_header_rewrite_clients: unsupported item {word!r}")

    def matches(
        self, address: str, name: str, sasl_username: str | None, local_address: str = ""
    ) -> bool:
        """True if the client's mail is rewritten as local mail (a failing table: no)."""
        for item, table in self.items:
            try:
                if item == "static:all":
                    return True
                if item == "permit_sasl_authenticated" and sasl_username:
                    return True
                if item == "permit_mynetworks" and self.mynetworks.match(address, name):
                    return True
                if item == "permit_inet_interfaces" and self._on_this_host(address, local_address):
                    return True
                if table is not None and table.lookup(address) is not None:
                    return True
            except TableError as e:
                log.warning("local_header_rewrite_clients: %s: %s", item, e)
                return False
        return False

    def _on_this_host(self, address: str, local_address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return ip.is_loopback or address.lower() in self.interfaces or address == local_address
