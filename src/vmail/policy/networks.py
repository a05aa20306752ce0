"""Client network lists such as ``mynetworks``: addresses, CIDR blocks, tables, files."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable

from vmail.core.errors import ConfigError
from vmail.tables import Table
from vmail.tables.memo import may_block

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# What Postfix derives for mynetworks_style = host when it cannot list interfaces.
LOOPBACK_NETWORKS = ("127.0.0.0/8", "[::1]/128")


def parse_network(item: str) -> IPNetwork | None:
    """``1.2.3.0/24``, ``1.2.3.4``, ``[::1]/128`` or ``[2001:db8::]/32``; None if not a network."""
    text = item
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            return None
        text = text[1:close] + text[close + 1 :]
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def _client_address(ip: str) -> IPAddress | None:
    """A client's address, parsed once (smtpd matches it against lists at every RCPT)."""
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


class NetworkList:
    """A compiled list; first matching pattern decides, ``!pattern`` excludes."""

    def __init__(
        self, parameter: str, items: list[str], open_table: Callable[[str], Table]
    ) -> None:
        self.parameter = parameter
        self._items: list[tuple[bool, IPNetwork | Table | str]] = []
        for item in items:
            negate = item.startswith("!")
            bare = item.lstrip("!")
            network = parse_network(bare)
            if network is not None:
                self._items.append((negate, network))
            elif ":" in bare and not bare.startswith("/") and bare.split(":", 1)[0].isidentifier():
                self._items.append((negate, open_table(bare)))
            elif bare.startswith("/"):
                for word in _read_words(parameter, bare):
                    sub = parse_network(word)
                    if sub is None:
                        raise ConfigError(f"{parameter}: {bare}: bad network: {word}")
                    self._items.append((negate, sub))
            else:
                self._items.append((negate, bare.lower()))  # a host name pattern

    def match(self, ip: str, hostname: str = "unknown") -> bool:
        """True if the client (address, and name if known) is on the list."""
        address = _client_address(ip)
        for negate, item in self._items:
            if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
                hit = address is not None and address.version == item.version and address in item
            elif isinstance(item, Table):
                if not item.local:
                    may_block()
                hit = item.lookup(ip) is not None
            else:
                name = hostname.lower()
                hit = name == item or (item.startswith(".") and name.endswith(item))
            if hit:
                return not negate
        return False


def _read_words(parameter: str, path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise ConfigError(f"{parameter}: cannot read {path}: {e.strerror}") from None
    words: list[str] = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            words.extend(line.replace(",", " ").split())
    return words
