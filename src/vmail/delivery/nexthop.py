"""Parsing of smtp(8)/lmtp(8) next-hop destinations into where to connect.

smtp: ``domain`` and ``domain:port`` are looked up as MX records; ``[host]``,
``[host]:port`` and ``[address]`` are not. lmtp: ``unix:/path``, ``inet:host``,
``inet:host:port``, ``inet:[address]:port`` or the same without ``inet:``; LMTP never
looks up MX records. IPv6 addresses are written ``[ipv6:2001:db8::1]`` as in Postfix
(``[2001:db8::1]`` is accepted too). A port is a number or a service name.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from vmail.protocol.smtp.hostnames import is_ip_address


class NexthopError(ValueError):
    """A next hop that cannot be parsed."""


@dataclass(frozen=True)
class Nexthop:
    """Where to deliver: a host (MX lookup when ``mx``), an address, or a UNIX socket."""

    host: str = ""
    port: int = 0
    mx: bool = False
    unix_path: str = ""

    @property
    def is_unix(self) -> bool:
        return bool(self.unix_path)

    @property
    def is_address(self) -> bool:
        """Whether ``host`` is an IP address (no lookup needed)."""
        return is_ip_address(self.host)


def parse_port(text: str, proto: str = "tcp") -> int:
    """A port number or service name (``smtp``, ``submission``)."""
    if text.isdigit():
        port = int(text)
        if 0 < port < 65536:
            return port
        raise NexthopError(f"bad port number: {text}")
    try:
        return socket.getservbyname(text, proto)
    except OSError:
        raise NexthopError(f"unknown service: {text}") from None


def _split_host_port(text: str) -> tuple[str, bool, str]:
    """``(host, bracketed, port text)`` from ``host``, ``host:port``, ``[host]:port``."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise NexthopError(f"missing ']' in next hop: {text}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise NexthopError(f"garbage after ']' in next hop: {text}")
        if host.lower().startswith("ipv6:"):
            host = host[5:]
        return host, True, rest[1:]
    if text.count(":") > 1 and is_ip_address(text):
        return text, True, ""  # bare IPv6 address
    host, _, port = text.partition(":")
    return host, False, port


def parse_nexthop(text: str, *, lmtp: bool = False, default_port: int) -> Nexthop:
    """Parse a next hop; raises :class:`NexthopError` for malformed ones."""
    text = text.strip()
    if lmtp:
        kind, colon, rest = text.partition(":")
        if colon and kind.lower() == "unix":
            if not rest:
                raise NexthopError("empty UNIX socket path in next hop")
            return Nexthop(unix_path=rest)
        if colon and kind.lower() == "inet":
            text = rest
    host, bracketed, port_text = _split_host_port(text)
    if not host:
        raise NexthopError(f"empty host name in next hop: {text or '(empty)'}")
    port = parse_port(port_text) if port_text else default_port
    mx = not lmtp and not bracketed and not is_ip_address(host)
    if not is_ip_address(host):
        host = host.rstrip(".")
    return Nexthop(host=host, port=port, mx=mx)
