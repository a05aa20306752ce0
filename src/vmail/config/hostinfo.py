"""Host-dependent defaults: ``myhostname``, ``mydomain`` and ``mynetworks``.

These follow Postfix: the host name comes from ``gethostname()`` (not DNS); a name
without a dot gets ``.$mydomain`` (when set) or ``.localdomain`` appended. ``mydomain``
is ``myhostname`` without its first label, or ``localdomain``. ``mynetworks`` is derived
from the addresses of the local network interfaces according to ``mynetworks_style``:
``host`` lists each address (``/32``, ``/128``), ``subnet`` each interface's network, and
``class`` the class A/B/C network for IPv4 (IPv6 as ``subnet``).
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from collections.abc import Iterable
from functools import cache

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))

_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B
DEFAULT_DOMAIN = "localdomain"


def default_myhostname(mydomain: str | None) -> str:
    """The host's name, made fully qualified the way Postfix does it."""
    name = socket.gethostname()
    if "." in name:
        return name
    return f"{name}.{mydomain or DEFAULT_DOMAIN}"


def default_mydomain(myhostname: str) -> str:
    """``myhostname`` without its first label, or ``localdomain`` when nothing is left."""
    return myhostname.partition(".")[2] or DEFAULT_DOMAIN


def _ipv4_interfaces() -> list[Interface]:
    found: list[Interface] = []
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return found
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in names:
            request = struct.pack("256s", name.encode()[:15])
            try:
                addr = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)[20:24]
                mask = fcntl.ioctl(sock.fileno(), _SIOCGIFNETMASK, request)[20:24]
            except OSError:
                continue
            found.append(
                ipaddress.IPv4Interface(f"{socket.inet_ntoa(addr)}/{socket.inet_ntoa(mask)}")
            )
    return found


def _ipv6_interfaces() -> list[Interface]:
    found: list[Interface] = []
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        hex_addr, prefix = fields[0], int(fields[2], 16)
        addr = ipaddress.IPv6Address(bytes.fromhex(hex_addr))
        found.append(ipaddress.IPv6Interface(f"{addr}/{prefix}"))
    found.sort(key=lambda i: (not i.ip.is_loopback, i.ip.is_link_local))
    return found


@cache
def local_interfaces() -> tuple[Interface, ...]:
    """Addresses (with their netmasks) of this host's network interfaces; loopback first."""
    v4 = _ipv4_interfaces() or [ipaddress.IPv4Interface("127.0.0.1/8")]
    v6 = _ipv6_interfaces()
    v4.sort(key=lambda i: not i.ip.is_loopback)
    return (*v4, *v6)


def interface_addresses(items: Iterable[str]) -> frozenset[IPAddress]:
    """The addresses an ``inet_interfaces``-style list stands for: ``all`` (every address
    of every interface), ``loopback-only`` (127.0.0.1 and ::1) and addresses (``[::1]``
    too); host names are not resolved."""
    addresses: set[IPAddress] = set()
    for item in items:
        low = item.lower()
        if low == "all":
            addresses.update(interface.ip for interface in local_interfaces())
        elif low == "loopback-only":
            addresses.update(LOOPBACK_ADDRESSES)
        else:
            try:
                addresses.add(ipaddress.ip_address(item.strip("[]")))
            except ValueError:
                continue
    return frozenset(addresses)


def _format(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    if net.version == 6:
        return f"[{net.network_address}]/{net.prefixlen}"
    return str(net)


def _classful(iface: Interface) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if iface.version == 6:
        return iface.network
    first = int(iface.ip) >> 24
    prefix = 8 if first < 128 else 16 if first < 192 else 24 if first < 224 else 32
    return ipaddress.ip_interface(f"{iface.ip}/{prefix}").network


def mynetworks(style: str, interfaces: Iterable[Interface] | None = None) -> str:
    """The default ``mynetworks`` value for ``mynetworks_style`` (host, subnet, class)."""
    ifaces = tuple(local_interfaces() if interfaces is None else interfaces)
    out: list[str] = []
    for iface in ifaces:
        if style == "host":
            net = ipaddress.ip_network(iface.ip)
        elif style == "class":
            net = _classful(iface)
        else:
            net = iface.network
        text = _format(net)
        if text not in out:
            out.append(text)
    return " ".join(out)
