"""``smtpd_upstream_proxy_protocol = haproxy``: the client a load balancer in front reports.

With ``haproxy`` set for a listener (usually ``-o`` on its master.cf line), each connection
must start with a PROXY protocol header, version 1 (``PROXY TCP4|TCP6 client server cport
sport\\r\\n``) or version 2 (binary), as Postfix 3.5+ reads it: one read of at most
:data:`HEADER_MAX` bytes within ``smtpd_upstream_proxy_timeout``; :func:`parse` takes the
header off that read and the bytes after it are put back as the client's first SMTP input.
The addresses in the header replace the socket's for everything (restrictions, logs,
Received:, limits, milters); a v2 ``LOCAL`` header keeps the socket's. Only the families
of ``inet_protocols`` are taken; ``::ffff:a.b.c.d`` becomes ``a.b.c.d`` when IPv4 is one.
``PROXY UNKNOWN`` is refused, as Postfix refuses it (it would sidestep address-based
access control).

Every failure is Postfix's: a warning ``haproxy read: REASON: HEADER`` (the bytes read, as
Postfix escapes them), ``haproxy read: EOF`` or ``haproxy read: timeout error``; then the
connection is logged from the socket's client, answered ``421 4.3.0 HOST Server local
error`` without a greeting and closed, and is not counted against the client limits.
:func:`parse` is sans-IO; :func:`receive` is the asyncio reader.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from dataclasses import dataclass

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.core.reply import Reply
from vmail.policy.dnsaccess import ip_versions
from vmail.servers.smtpd.logtext import escape

log = logging.getLogger("vmail.smtpd")

PROTOCOL = "haproxy"  # the one smtpd_upstream_proxy_protocol value Postfix knows
HEADER_MAX = 536  # Postfix's HAPROXY_HEADER_MAX_LEN: the default IPv4 TCP MSS
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_HEADER_LEN = 16  # signature, version/command, family, length
V2_ADDRESS_LEN = {0x11: 12, 0x21: 36}  # TCP over IPv4, TCP over IPv6: addresses, ports
HOSTADDR_MAX = 45  # longest address text Postfix takes (INET6_ADDRSTRLEN - 1)
_V1_SEPARATORS = re.compile(rb"[ \r]+")
_IPV4 = re.compile(r"[0-9]+(?:\.[0-9]+){3}\Z")
_HEX = re.compile(r"[0-9a-fA-F]*")


class ProxyError(ValueError):
    """The header is not one Postfix takes; the message is Postfix's reason."""


@dataclass(frozen=True)
class Endpoints:
    """Both ends of the client's connection to the proxy, as the header gives them."""

    client_address: str
    client_port: str
    server_address: str
    server_port: str


@dataclass(frozen=True)
class ProxyHeader:
    """A parsed header: its length in bytes, and the endpoints (None for a v2 ``LOCAL``
    header: the connection is the proxy's own, its socket addresses apply)."""

    length: int
    endpoints: Endpoints | None


@dataclass(frozen=True)
class ProxySettings:
    """What a listener with ``smtpd_upstream_proxy_protocol = haproxy`` needs."""

    timeout: float  # smtpd_upstream_proxy_timeout
    versions: frozenset[int]  # the IP versions of inet_protocols


def listener_settings(config: MainConfig) -> ProxySettings | None:
    """The listener's proxy settings (master.cf ``-o`` applied), None without a proxy.

    Raises ConfigError for a protocol other than ``haproxy`` (Postfix: fatal at the first
    connection) and with ``smtpd_tls_wrappermode``, which vmail's listener cannot combine
    with a header read before the TLS handshake.
    """
    name = config.get("smtpd_upstream_proxy_protocol").strip()
    if not name:
        return None
    where = config.locations.get("smtpd_upstream_proxy_protocol")
    if name != PROTOCOL:
        raise ConfigError(f"unsupported smtpd_upstream_proxy_protocol value: {name}", where)
    if config.get_bool("smtpd_tls_wrappermode"):
        raise ConfigError(
            "smtpd_upstream_proxy_protocol = haproxy with smtpd_tls_wrappermode = yes "
            "is not supported",
            where,
        )
    return ProxySettings(
        timeout=float(config.get_time("smtpd_upstream_proxy_timeout")),
        versions=ip_versions(config.get_list("inet_protocols")),
    )


def hangup_reply(myhostname: str) -> Reply:
    """What a client whose header failed gets instead of the greeting."""
    return Reply(421, "4.3.0", f"{myhostname} Server local error")


async def receive(reader: asyncio.StreamReader, settings: ProxySettings) -> ProxyHeader | None:
    """Read and parse the header from the connection's first read (at most
    :data:`HEADER_MAX` bytes, within the timeout); what follows it stays in ``reader``.
    None (a warning logged) when there is no usable header."""
    try:
        async with asyncio.timeout(settings.timeout):
            data = await reader.read(HEADER_MAX)
    except TimeoutError:
        log.warning("haproxy read: timeout error")
        return None
    except OSError:
        data = b""
    if not data:
        log.warning("haproxy read: EOF")
        return None
    try:
        header = parse(data, settings.versions)
    except ProxyError as e:
        log.warning("haproxy read: %s: %s", e, escape(data))
        return None
    _unread(reader, data[header.length :])
    return header


def _unread(reader: asyncio.StreamReader, data: bytes) -> None:
    """Give back the bytes read after the header: they are the client's, for SMTP
    (Postfix peeks, then reads only the header)."""
    if data:
        buffered: bytearray = getattr(reader, "_buffer")  # noqa: B009
        buffered[:0] = data


def parse(data: bytes, versions: frozenset[int] = frozenset({4, 6})) -> ProxyHeader:
    """The header at the start of ``data``, which is one read: only its first
    :data:`HEADER_MAX` bytes count, and what follows the header is not looked at.

    ``versions``: the IP versions taken (``inet_protocols``). Raises ProxyError with
    Postfix's reason.
    """
    data = data[:HEADER_MAX]
    if data.startswith(b"PROXY "):
        return _parse_v1(data, versions)
    return _parse_v2(data, versions)


def _parse_v1(data: bytes, versions: frozenset[int]) -> ProxyHeader:
    text = data.split(b"\0", 1)[0]  # Postfix reads the header as a C string
    end = text.find(b"\n")
    if end < 0:
        raise ProxyError("missing protocol header terminator")
    words = [w.decode("latin-1") for w in _V1_SEPARATORS.split(text[:end]) if w]
    words += [""] * (6 - len(words))
    _, proto, client, server, client_port, server_port = words[:6]
    version = {"TCP4": 4, "TCP6": 6}.get(proto.upper())
    if version is None or version not in versions:
        raise ProxyError("bad or missing protocol type")
    client = _v1_address(client, version, versions)
    if client is None:
        raise ProxyError("bad or missing client address")
    server = _v1_address(server, version, versions)
    if server is None:
        raise ProxyError("bad or missing server address")
    if not _valid_port(client_port):
        raise ProxyError("bad or missing client port")
    if not _valid_port(server_port):
        raise ProxyError("bad or missing server port")
    return ProxyHeader(end + 1, Endpoints(client, client_port, server, server_port))


def _parse_v2(data: bytes, versions: frozenset[int]) -> ProxyHeader:
    if len(data) < V2_HEADER_LEN:
        raise ProxyError("short protocol header")
    if data[:12] != V2_SIGNATURE:
        raise ProxyError("unrecognized protocol header")
    version_command, family = data[12], data[13]
    length = V2_HEADER_LEN + int.from_bytes(data[14:16], "big")
    if version_command & 0xF0 != 0x20:
        raise ProxyError("unrecognized protocol version")
    if len(data) < length:
        raise ProxyError("short version 2 protocol header")
    command = version_command & 0x0F
    if command == 0:  # LOCAL: the proxy's own connection (a health check); TLVs ignored
        return ProxyHeader(length, None)
    if command != 1:
        raise ProxyError("bad command in proxy header")
    if family not in V2_ADDRESS_LEN:
        raise ProxyError("unsupported network protocol")
    ipv6 = family == 0x21
    if (6 if ipv6 else 4) not in versions:
        raise ProxyError(f"Postfix IPv{6 if ipv6 else 4} support is disabled")
    if length - V2_HEADER_LEN < V2_ADDRESS_LEN[family]:
        raise ProxyError("short address field")
    size = 16 if ipv6 else 4
    body = data[V2_HEADER_LEN:]
    addresses = [
        _printable(socket.inet_ntop(socket.AF_INET6 if ipv6 else socket.AF_INET, raw), versions)
        for raw in (body[:size], body[size : 2 * size])
    ]
    ports = [str(int.from_bytes(body[i : i + 2], "big")) for i in (2 * size, 2 * size + 2)]
    return ProxyHeader(length, Endpoints(addresses[0], ports[0], addresses[1], ports[1]))


def _v1_address(text: str, version: int, versions: frozenset[int]) -> str | None:
    """A v1 address in Postfix's printable form (its syntax checks, then the C library's
    conversion: ``010.1.2.3`` is 8.1.2.3), or None."""
    if not text or len(text) > HOSTADDR_MAX:
        return None
    try:
        if version == 4:
            if not _valid_ipv4(text):
                return None
            return socket.inet_ntoa(socket.inet_aton(text))
        if not _valid_ipv6(text):
            return None
        raw = socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        return None
    return _printable(socket.inet_ntop(socket.AF_INET6, raw), versions)


def _printable(address: str, versions: frozenset[int]) -> str:
    """``::ffff:a.b.c.d`` as ``a.b.c.d`` when IPv4 is enabled (Postfix's rule)."""
    if 4 in versions and address[:7].lower() == "::ffff:":
        return address[7:]
    return address


def _valid_port(text: str) -> bool:
    """Postfix's valid_hostport(): decimal, no leading zero, at most 65535."""
    return (
        text.isascii()
        and text.isdigit()
        and len(text) <= 5
        and not (text[0] == "0" and len(text) > 1)
        and int(text) <= 65535
    )


def _valid_ipv4(text: str) -> bool:
    """Postfix's valid_ipv4_hostaddr(): four decimal octets up to 255 (leading zeros
    allowed), and a first octet of 0 only in 0.0.0.0."""
    if not _IPV4.match(text):
        return False
    octets = [int(part) for part in text.split(".")]
    if any(octet > 255 for octet in octets):
        return False
    return octets[0] != 0 or not text.lstrip("0.")


def _valid_ipv6(text: str) -> bool:
    """Postfix's valid_ipv6_hostaddr(): up to eight hex fields of at most four digits,
    one ``::`` at most, an IPv4 tail after two to six colons."""
    null_field = field = length = pos = 0
    while True:
        char = text[pos : pos + 1]
        if not char:
            return field >= 2 and (length > 0 or null_field == field - 1)
        if char == ".":
            return 2 <= field <= 6 and _valid_ipv4(text[pos - length :])
        if char == ":":
            after = text[pos + 1 : pos + 2]
            if field == 0 and length == 0 and after.isascii() and after.isalnum():
                return False
            field += 1
            if field > 7:
                return False
            pos, length = pos + 1, 0
            if after == ":":
                if null_field > 0:
                    return False
                null_field = field
            continue
        match = _HEX.match(text, pos)
        length = match.end() - pos if match else 0
        if not 0 < length <= 4:
            return False
        pos += length
