"""Where master.cf's ``inet`` services listen: ``[host:]port`` and ``inet_interfaces``.

A service name is ``port`` (a number or a services(5) name such as ``smtp`` or
``submission``) or ``host:port`` (``[::1]:2525`` for IPv6). Without a host, the service
listens on every address of ``inet_interfaces``: ``all`` (the wildcard address),
``loopback-only`` (127.0.0.1 and ::1 when the host has IPv6) or a list of addresses and
names. Port ``0`` asks the kernel for a free port (tests); the bound port is reported.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from vmail.config import MainConfig
from vmail.config.master import Service
from vmail.core.errors import ConfigError

# services(5) names Debian's /etc/services may lack (``submissions`` arrived late)
WELL_KNOWN_PORTS = {"smtp": 25, "submission": 587, "submissions": 465, "smtps": 465, "lmtp": 24}


@dataclass(frozen=True)
class Endpoint:
    """One address to bind."""

    host: str | None  # None: every address (the wildcard)
    port: int


def service_port(text: str, service: Service) -> int:
    """The port number for a master.cf port field."""
    if text.isdigit():
        port = int(text)
        if port > 65535:
            raise ConfigError(f"{service.name}: port out of range: {text}", service.location)
        return port
    try:
        return socket.getservbyname(text, "tcp")
    except OSError:
        if text in WELL_KNOWN_PORTS:
            return WELL_KNOWN_PORTS[text]
        raise ConfigError(
            f"{service.name}: unknown service port: {text}", service.location
        ) from None


def endpoints(service: Service, config: MainConfig) -> list[Endpoint]:
    """The addresses an ``inet`` service binds."""
    name = service.name
    if name.startswith("["):
        host, _, port_text = name[1:].partition("]:")
        return [Endpoint(host, service_port(port_text, service))]
    host, sep, port_text = name.rpartition(":")
    if sep:
        return [Endpoint(host or None, service_port(port_text, service))]
    port = service_port(name, service)
    interfaces = [i.lower() for i in config.get_list("inet_interfaces")]
    if not interfaces or "all" in interfaces:
        return [Endpoint(None, port)]
    if interfaces == ["loopback-only"]:
        return [Endpoint("127.0.0.1", port)]
    return [Endpoint(interface, port) for interface in interfaces]


__all__ = ["Endpoint", "endpoints", "service_port"]
