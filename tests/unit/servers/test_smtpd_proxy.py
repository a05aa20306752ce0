"""smtpd_upstream_proxy_protocol = haproxy: the PROXY v1/v2 parser, and the SMTP server
behind a proxy, on loopback.

The expected replies and log lines are those of Postfix 3.7.11, recorded from a private
instance (tests/oracle/postfix.py) with a master.cf service ``-o
smtpd_upstream_proxy_protocol=haproxy -o smtpd_upstream_proxy_timeout=3s``,
``smtpd_client_restrictions = check_client_access inline:{ 192.0.2.1=REJECT }`` and
``smtpd_peername_lookup = no``. Postfix's output is quoted next to each case.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from pathlib import Path

import pytest

from tests.unit.servers.helpers import MESSAGE, queued, serve, setup
from vmail.cleanup import Cleanup
from vmail.core.errors import ConfigError
from vmail.servers.smtpd import SmtpServer
from vmail.servers.smtpd.proxy import (
    HEADER_MAX,
    V2_SIGNATURE,
    Endpoints,
    ProxyError,
    ProxyHeader,
    listener_settings,
    parse,
)

BOTH = frozenset({4, 6})
IPV4 = frozenset({4})
PROXY = "smtpd_upstream_proxy_protocol = haproxy\nsmtpd_upstream_proxy_timeout = 1s\n"
REJECT = "smtpd_client_restrictions = check_client_access inline:{ 198.51.100.1=REJECT }\n"
HANGUP = "421 4.3.0 mail.example.net Server local error"


def v2(command: int, family: int, body: bytes, version: int = 2) -> bytes:
    return (
        V2_SIGNATURE + bytes([version << 4 | command, family]) + struct.pack("!H", len(body)) + body
    )


def v2_tcp4(client: str, server: str, cport: int, sport: int, tlv: bytes = b"") -> bytes:
    ports = struct.pack("!HH", cport, sport)
    return v2(1, 0x11, socket.inet_aton(client) + socket.inet_aton(server) + ports + tlv)


def v2_tcp6(client: str, server: str, cport: int, sport: int) -> bytes:
    raw = socket.inet_pton(socket.AF_INET6, client) + socket.inet_pton(socket.AF_INET6, server)
    return v2(1, 0x21, raw + struct.pack("!HH", cport, sport))


def ends(client: str, cport: str, server: str = "198.51.100.2", sport: str = "25") -> Endpoints:
    return Endpoints(client, cport, server, sport)


# -- the parser ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "versions", "expected"),
    [
        # Postfix: "connect from unknown[192.0.2.7]" for each of these
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 40001 25\r\n", BOTH, ends("192.0.2.7", "40001")),
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 40001 25\n", BOTH, ends("192.0.2.7", "40001")),
        (b"PROXY tcp4 192.0.2.7 198.51.100.2 40001 25\r\n", BOTH, ends("192.0.2.7", "40001")),
        (  # runs of blanks; words after the server port are ignored
            b"PROXY  TCP4   192.0.2.7 198.51.100.2 40001 25 extra\r\n",
            BOTH,
            ends("192.0.2.7", "40001"),
        ),
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 0 25\r\n", BOTH, ends("192.0.2.7", "0")),
        # Postfix: "connect from unknown[8.0.2.7]" (the C library reads 010 as octal)
        (b"PROXY TCP4 010.0.2.7 198.51.100.2 40001 25\r\n", BOTH, ends("8.0.2.7", "40001")),
        (b"PROXY TCP4 0.0.0.0 198.51.100.2 1 25\r\n", BOTH, ends("0.0.0.0", "1")),
        # "connect from unknown[2001:db8::c000:201]"
        (
            b"PROXY TCP6 2001:db8::192.0.2.1 ::1 1 25\r\n",
            BOTH,
            ends("2001:db8::c000:201", "1", "::1"),
        ),
        # inet_protocols = all: "connect from unknown[2001:db8::1]", Received: "[IPv6:...]"
        (
            b"PROXY TCP6 2001:DB8::0:1 2001:db8::2 40002 25\r\n",
            BOTH,
            ends("2001:db8::1", "40002", "2001:db8::2"),
        ),
        # inet_protocols = all: "connect from unknown[192.0.2.1]"
        (
            b"PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 40003 25\r\n",
            BOTH,
            ends("192.0.2.1", "40003"),
        ),
        (
            v2_tcp4("192.0.2.7", "198.51.100.2", 40004, 25),
            IPV4,
            ends("192.0.2.7", "40004"),
        ),
        (  # TLVs are skipped
            v2_tcp4("192.0.2.1", "198.51.100.2", 1, 25, b"\x04\x00\x01X"),
            IPV4,
            ends("192.0.2.1", "1"),
        ),
        (
            v2_tcp6("2001:db8::7", "2001:db8::2", 40005, 25),
            BOTH,
            ends("2001:db8::7", "40005", "2001:db8::2"),
        ),
        (
            v2_tcp6("::ffff:192.0.2.1", "::ffff:198.51.100.2", 40005, 25),
            BOTH,
            ends("192.0.2.1", "40005"),
        ),
        (
            v2_tcp6("::ffff:192.0.2.1", "::1", 1, 2),
            frozenset({6}),
            ends("::ffff:192.0.2.1", "1", "::1", "2"),
        ),
    ],
)
def test_headers_postfix_takes(data: bytes, versions: frozenset[int], expected: Endpoints) -> None:
    assert parse(data + b"EHLO x\r\n", versions) == ProxyHeader(len(data), expected)


def test_v2_local_keeps_the_connection_addresses() -> None:
    # Postfix: "connect from unknown[127.0.0.2]" (the socket's client), with or without
    # an address block after LOCAL
    assert parse(v2(0, 0, b"")) == ProxyHeader(16, None)
    block = socket.inet_aton("192.0.2.1") * 2 + b"\0\1\0\2"
    assert parse(v2(0, 0x11, block) + b"QUIT\r\n") == ProxyHeader(28, None)


@pytest.mark.parametrize(
    ("data", "versions", "reason"),
    [
        # each: Postfix logs "warning: haproxy read: REASON: HEADER" and answers HANGUP
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 40001 25", BOTH, "missing protocol header terminator"),
        (b"PROXY TCP4 192.0.2.7 ", BOTH, "missing protocol header terminator"),  # a split header
        (b"PROXY TCP4 192.0.2.7\0 198.51.100.2 40001 25\r\n", BOTH, "missing protocol header terminator"),
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 40001 25" + b" " * 600 + b"\r\n", BOTH, "missing protocol header terminator"),
        (b"PROXY UNKNOWN\r\n", BOTH, "bad or missing protocol type"),
        (b"PROXY UNKNOWN 192.0.2.7 198.51.100.2 40001 25\r\n", BOTH, "bad or missing protocol type"),
        (b"PROXY \r\n", BOTH, "bad or missing protocol type"),
        # inet_protocols = ipv4
        (b"PROXY TCP6 2001:DB8::0:1 2001:db8::2 40002 25\r\n", IPV4, "bad or missing protocol type"),
        (b"PROXY TCP4 2001:db8::1 198.51.100.2 40003 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP6 192.0.2.1 2001:db8::2 1 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP4 192.0.2.300 198.51.100.2 40001 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP4 0.1.2.3 198.51.100.2 40001 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP4 09.1.2.3 198.51.100.2 40001 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP4 1.2.3 198.51.100.2 40001 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP4 0000000192.0.2.7 198.51.100.2 1 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP4 192.0.2.7\t198.51.100.2 40001 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP6 :1::2 ::1 1 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP6 1::2::3 ::1 1 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP6 12345::1 ::1 1 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 25\r\n", BOTH, "bad or missing client address"),
        (b"PROXY TCP6 ::1 ::1%eth0 1 25\r\n", BOTH, "bad or missing server address"),
        (b"PROXY TCP4 192.0.2.7 x 40001 25\r\n", BOTH, "bad or missing server address"),
        (b"PROXY TCP4 192.0.2.7 198.51.100.2\r\n", BOTH, "bad or missing client port"),
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 65536 25\r\n", BOTH, "bad or missing client port"),
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 040001 25\r\n", BOTH, "bad or missing client port"),
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 -1 25\r\n", BOTH, "bad or missing client port"),
        (b"PROXY TCP4 192.0.2.7 198.51.100.2 40001\r\n", BOTH, "bad or missing server port"),
        # not "PROXY ": tried as version 2
        (b"EHLO x\r\n", BOTH, "short protocol header"),
        (b"PROXY", BOTH, "short protocol header"),
        (V2_SIGNATURE[:10], BOTH, "short protocol header"),
        (b"EHLO client.example.org\r\n", BOTH, "unrecognized protocol header"),
        (b"proxy TCP4 192.0.2.7 198.51.100.2 40001 25\r\n", BOTH, "unrecognized protocol header"),
        (v2(1, 0x11, b"\0" * 12, version=1), BOTH, "unrecognized protocol version"),
        (V2_SIGNATURE + b"\x21\x11\xff\xff" + b"\0" * 12, BOTH, "short version 2 protocol header"),
        (v2(1, 0x11, b"\0" * 12)[:18], BOTH, "short version 2 protocol header"),
        # longer than one read of HEADER_MAX bytes
        (v2(1, 0x11, b"\0" * 532)[:HEADER_MAX], BOTH, "short version 2 protocol header"),
        (v2(2, 0x11, b"\0" * 12), BOTH, "bad command in proxy header"),
        (v2(0xF, 0x11, b"\0" * 12), BOTH, "bad command in proxy header"),
        (v2(1, 0x12, b"\0" * 12), BOTH, "unsupported network protocol"),  # UDP
        (v2(1, 0x31, b"\0" * 216), BOTH, "unsupported network protocol"),  # UNIX
        (v2(1, 0x00, b""), BOTH, "unsupported network protocol"),  # UNSPEC
        (v2(1, 0x11, b"\0" * 11), BOTH, "short address field"),
        (v2(1, 0x21, b"\0" * 35), BOTH, "short address field"),
        # inet_protocols = ipv4 (the family is checked before the length)
        (v2(1, 0x21, b"\0" * 35), IPV4, "Postfix IPv6 support is disabled"),
        (v2_tcp6("2001:db8::7", "2001:db8::2", 1, 25), IPV4, "Postfix IPv6 support is disabled"),
        (v2_tcp4("192.0.2.7", "198.51.100.2", 1, 25), frozenset({6}), "Postfix IPv4 support is disabled"),
    ],
)  # fmt: skip
def test_headers_postfix_refuses(data: bytes, versions: frozenset[int], reason: str) -> None:
    with pytest.raises(ProxyError) as refused:
        parse(data, versions)
    assert str(refused.value) == reason


def test_listener_settings(tmp_path: Path) -> None:
    router, _ = setup(tmp_path, "")
    config = router.config
    assert listener_settings(config) is None
    proxied = listener_settings(
        config.with_overrides(
            {"smtpd_upstream_proxy_protocol": "haproxy", "inet_protocols": "ipv4"}
        )
    )
    assert proxied is not None
    assert (proxied.timeout, proxied.versions) == (5.0, IPV4)
    # Postfix: "fatal: unsupported smtpd_upstream_proxy_protocol value: HAProxy"
    with pytest.raises(ConfigError, match="unsupported smtpd_upstream_proxy_protocol value"):
        listener_settings(config.with_overrides({"smtpd_upstream_proxy_protocol": "HAProxy"}))
    both = {"smtpd_upstream_proxy_protocol": "haproxy", "smtpd_tls_wrappermode": "yes"}
    with pytest.raises(ConfigError, match="smtpd_tls_wrappermode"):
        listener_settings(config.with_overrides(both))


# -- the server behind a proxy -----------------------------------------------------


def talk(
    port: int, parts: list[bytes | float], commands: list[bytes], source: str | None = None
) -> list[str]:
    """Send ``parts`` (a float: pause; empty: end of input), then read the greeting and
    one reply per command (an empty command: a reply to what ``parts`` pipelined), each
    multi-line reply joined; stops at the end of the connection."""
    src = (source, 0) if source else None
    with socket.create_connection(("127.0.0.1", port), source_address=src) as s:
        s.settimeout(10)
        for part in parts:
            if isinstance(part, float):
                time.sleep(part)
            elif part:
                s.sendall(part)
            else:
                s.shutdown(socket.SHUT_WR)
        with s.makefile("rb") as f:

            def reply() -> str | None:
                lines = []
                while True:
                    line = f.readline().decode()
                    if not line:
                        return None
                    lines.append(line.rstrip("\r\n"))
                    if line[3:4] != "-":
                        return " | ".join(lines)

            replies = []
            for command in [b"", *commands]:
                if command:
                    try:
                        s.sendall(command + b"\r\n")
                    except OSError:  # our side ended (EOF case) or the server hung up
                        break
                answer = reply()
                if answer is None:
                    break
                replies.append(answer)
            return replies


def mail(rcpt: str = "alice@example.com") -> list[bytes]:
    return [b"EHLO client.example", b"MAIL FROM:<a@example.org>", f"RCPT TO:<{rcpt}>".encode()]


def test_the_proxied_client_is_the_client(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Postfix (v1 and v2 alike): "connect from unknown[192.0.2.1]", then at RCPT
    # "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"
    caplog.set_level(logging.INFO, logger="vmail")
    router, spool = setup(tmp_path, PROXY + REJECT)
    header = b"PROXY TCP4 198.51.100.1 198.51.100.2 40000 25\r\n"

    def client(port: int) -> tuple[list[str], list[str]]:
        rejected = talk(port, [header], [*mail(), b"QUIT"])
        v2_rejected = talk(port, [v2_tcp4("198.51.100.1", "198.51.100.2", 4, 25)], mail())
        return rejected, v2_rejected

    rejected, v2_rejected = serve(router, spool, client)
    denied = "554 5.7.1 <unknown[198.51.100.1]>: Client host rejected: Access denied"
    assert rejected[0].startswith("220 mail.example.net ESMTP")
    assert rejected[3:] == [denied, "221 2.0.0 Bye"]
    assert v2_rejected[3] == denied
    assert caplog.messages.count("connect from unknown[198.51.100.1]") == 2
    assert "disconnect from unknown[198.51.100.1] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4" in (
        caplog.messages
    )


def test_received_and_envelope_name_the_proxied_client(tmp_path: Path) -> None:
    # Postfix: "Received: from client.example (unknown [192.0.2.7])" and, for TCP6,
    # "Received: from client.example (unknown [IPv6:2001:db8::7])"
    router, spool = setup(tmp_path, PROXY)
    data = [b"DATA", MESSAGE + b".", b"QUIT"]

    def client(port: int) -> list[list[str]]:
        return [
            talk(port, [b"PROXY TCP4 203.0.113.7 198.51.100.2 40001 2525\r\n"], mail() + data),
            talk(port, [v2_tcp6("2001:db8::7", "2001:db8::2", 40005, 25)], mail() + data),
        ]

    for replies in serve(router, spool, client):
        assert replies[5].startswith("250 2.0.0 Ok: queued as ")
    headers = {qf.read_content().split(b"\r\n")[0] for qf in queued(spool)}
    assert headers == {
        b"Received: from client.example (unknown [203.0.113.7])",
        b"Received: from client.example (unknown [IPv6:2001:db8::7])",
    }
    assert {qf.envelope.client["address"] for qf in queued(spool)} == {
        "203.0.113.7",
        "2001:db8::7",
    }


@pytest.mark.parametrize(
    ("parts", "warning"),
    [
        # Postfix: "warning: haproxy read: unrecognized protocol header: EHLO client..."
        ([b"EHLO client.example.org\r\n"], "unrecognized protocol header: EHLO client.example.org\\r\\n"),
        ([b"PROXY UNKNOWN\r\n"], "bad or missing protocol type: PROXY UNKNOWN\\r\\n"),
        # Postfix: "...missing protocol header terminator: PROXY TCP4 192.0.2.7 " (one read)
        ([b"PROXY TCP4 192.0.2.7 ", 0.3, b"198.51.100.2 40001 25\r\n"], "missing protocol header terminator: PROXY TCP4 192.0.2.7 "),
        ([V2_SIGNATURE + b"\x21\x11\xff\xff" + b"\0" * 12], "short version 2 protocol header: \\r\\n\\r\\n\\000\\r\\nQUIT\\n!\\021\\377\\377" + "\\000" * 12),
        ([b""], "EOF"),  # Postfix: "warning: haproxy read: EOF"
        ([], "timeout error"),  # Postfix: "warning: haproxy read: timeout error"
    ],
)  # fmt: skip
def test_no_usable_header_hangs_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, parts: list[bytes | float], warning: str
) -> None:
    # Postfix: the warning, "connect from unknown[127.0.0.2]" (the socket's client),
    # "421 4.3.0 HOST Server local error" instead of the greeting, then
    # "disconnect from unknown[127.0.0.2] commands=0/0"
    caplog.set_level(logging.INFO, logger="vmail")
    router, spool = setup(tmp_path, PROXY)
    replies = serve(router, spool, lambda port: talk(port, parts, [b"EHLO x"], "127.0.0.2"))
    assert replies == [HANGUP]
    lines = [m for m in caplog.messages if "haproxy" in m or "connect from" in m]
    assert lines == [
        f"haproxy read: {warning}",
        "connect from unknown[127.0.0.2]",
        "disconnect from unknown[127.0.0.2] commands=0/0",
    ]


def test_v2_local_is_the_proxy_itself(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Postfix: "connect from unknown[127.0.0.2]", the mail accepted, Received: [127.0.0.2]
    caplog.set_level(logging.INFO, logger="vmail")
    router, spool = setup(tmp_path, PROXY)
    replies = serve(router, spool, lambda port: talk(port, [v2(0, 0, b"")], mail(), "127.0.0.2"))
    assert replies[3].startswith("250 ")
    assert "connect from unknown[127.0.0.2]" in caplog.messages


def test_bytes_after_the_header_are_smtp(tmp_path: Path) -> None:
    # Postfix answers the EHLO sent with the header after its greeting (and logs
    # "improper command pipelining after CONNECT"); nothing before the header is SMTP
    router, spool = setup(tmp_path, PROXY + REJECT)
    v1 = b"PROXY TCP4 198.51.100.1 198.51.100.2 1 25\r\nEHLO early\r\nMAIL FROM:<a@b.example>\r\n"
    v2_then = v2_tcp4("198.51.100.1", "198.51.100.2", 1, 25) + b"EHLO early\r\n"

    def client(port: int) -> list[list[str]]:
        return [
            talk(port, [v1], [b"", b"", b"RCPT TO:<alice@example.com>"]),
            talk(
                port, [v2_then], [b"", b"MAIL FROM:<a@b.example>", b"RCPT TO:<alice@example.com>"]
            ),
        ]

    for replies in serve(router, spool, client):
        assert replies[0].startswith("220 ")
        assert replies[1].startswith("250-mail.example.net")
        assert replies[2:] == [
            "250 2.1.0 Ok",
            "554 5.7.1 <unknown[198.51.100.1]>: Client host rejected: Access denied",
        ]


def test_limits_count_the_proxied_client(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Postfix, smtpd_client_connection_rate_limit = 2: the third connection proxied for
    # 192.0.2.9 gets "421 4.7.0 HOST Error: too many connections from 192.0.2.9" and
    # "warning: Connection rate limit exceeded: 3 from unknown[192.0.2.9] for service
    # ..."; connections whose header failed are not counted (a v2 LOCAL connection
    # after two of them from 127.0.0.2 is greeted)
    router, spool = setup(
        tmp_path,
        PROXY + "smtpd_client_event_limit_exceptions =\nsmtpd_client_connection_rate_limit = 2\n",
    )
    header = b"PROXY TCP4 203.0.113.9 198.51.100.2 40000 25\r\n"

    def client(port: int) -> list[str]:
        greetings = [talk(port, [header], [b"QUIT"])[0] for _ in range(3)]
        greetings += [
            talk(port, [b"EHLO client.example.org\r\n"], [], "127.0.0.2")[0] for _ in range(2)
        ]
        greetings.append(talk(port, [v2(0, 0, b"")], [b"QUIT"], "127.0.0.2")[0])
        return greetings

    greetings = serve(router, spool, client)
    assert [g[:3] for g in greetings] == ["220", "220", "421", "421", "421", "220"]
    assert greetings[2] == "421 4.7.0 mail.example.net Error: too many connections from 203.0.113.9"
    assert greetings[3] == HANGUP
    assert (
        "Connection rate limit exceeded: 3 from unknown[203.0.113.9] for service smtp"
        in caplog.messages
    )


def test_master_cf_override_enables_the_proxy(tmp_path: Path) -> None:
    # "-o smtpd_upstream_proxy_protocol=haproxy" on one listener: that listener wants the
    # header, the other one does not
    router, spool = setup(tmp_path, "")
    proxied = router.config.with_overrides({"smtpd_upstream_proxy_protocol": "haproxy"})

    async def main() -> tuple[list[str], list[str]]:
        cleanup = Cleanup(router.config, router, spool)
        plain = SmtpServer(router.config, router, cleanup, port=0, peername_lookup=False)
        behind = SmtpServer(proxied, router, cleanup, port=0, peername_lookup=False)
        await plain.start()
        await behind.start()
        try:
            return await asyncio.gather(
                asyncio.to_thread(talk, plain.port, [], [b"QUIT"]),
                asyncio.to_thread(talk, behind.port, [b"EHLO client.example.org\r\n"], []),
            )
        finally:
            await plain.close()
            await behind.close()

    plain_replies, behind_replies = asyncio.run(main())
    assert plain_replies[0].startswith("220 ")
    assert behind_replies == [HANGUP]
