"""IMAP STARTTLS (a self-signed certificate made in the test) and COMPRESS=DEFLATE (the client
side done with zlib, also with data pipelined right behind the command), and the byte
counts of the logout log line."""

from __future__ import annotations

import logging
import re
import socket
import zlib
from pathlib import Path

import pytest

from tests.unit.servers.helpers import certificate, client_context
from tests.unit.servers.imapd.session_support import (
    PASSWORD,
    USER,
    Raw,
    deliver,
    maildir,
    main_cf,
    serve,
)
from vmail.servers.imapd.server import ImapServer


def _tls_config(tmp_path: Path) -> str:
    return certificate(tmp_path) + "imapd_tls_security_level = may\n"


def test_starttls_changes_capabilities_and_drops_pipelined_plaintext(tmp_path: Path) -> None:
    maildir(tmp_path)
    config = main_cf(tmp_path, _tls_config(tmp_path))

    def client(server: ImapServer) -> tuple[list[bytes], list[bytes], list[bytes], list[bytes]]:
        raw = Raw(server.port)
        before = raw.command(b"a", b"CAPABILITY")
        # "b NOOP" is injected in plaintext behind STARTTLS: it must never be answered.
        raw.send(b"s STARTTLS\r\nb NOOP\r\n")
        ok = [raw.line()]
        tls = client_context().wrap_socket(raw.sock, server_hostname="mail.example.net")
        file = tls.makefile("rb")
        tls.sendall(b"c CAPABILITY\r\n")
        after = [file.readline(), file.readline()]
        tls.sendall(b"d STARTTLS\r\n")
        again = [file.readline()]
        tls.sendall(f'e LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        again.append(file.readline())
        return before, ok, after, again

    before, ok, after, again = serve(config, client)
    assert b" STARTTLS" in before[0]
    assert ok == [b"s OK Begin TLS negotiation now.\r\n"]
    assert b"STARTTLS" not in after[0]
    assert b"AUTH=PLAIN" in after[0]
    # tagged c, not b: the pipelined injection was dropped
    assert after[1] == b"c OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
    assert again[0] == b"d BAD TLS is already active.\r\n"
    assert again[1].startswith(b"e OK [CAPABILITY ")


def test_tls_wrappermode(tmp_path: Path) -> None:
    maildir(tmp_path)
    config = main_cf(tmp_path, _tls_config(tmp_path) + "imapd_tls_wrappermode = yes\n")

    def client(server: ImapServer) -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            tls = client_context().wrap_socket(sock, server_hostname="mail.example.net")
            greeting = tls.makefile("rb").readline()
            tls.close()
            return greeting

    greeting = serve(config, client)
    assert greeting.startswith(b"* OK [CAPABILITY ")
    assert b"STARTTLS" not in greeting


class Deflated:
    """The client half of RFC 4978 over a raw socket."""

    def __init__(self, raw: Raw) -> None:
        self.sock = raw.sock
        self.file = raw.file  # may already hold compressed bytes read behind a plain line
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.buffer = b""

    def pack(self, data: bytes) -> bytes:
        return self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    def send(self, data: bytes) -> None:
        self.sock.sendall(self.pack(data))

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.file.read1(65536)
            if not chunk:
                return b""
            self.buffer += self.inflate.decompress(chunk)
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            literal = re.search(rb"\{(\d+)\}\r\n$", line)
            while literal and len(self.buffer) < int(literal.group(1)):
                self.buffer += self.inflate.decompress(self.file.read1(65536))
            if literal:
                size = int(literal.group(1))
                line += self.buffer[:size]
                self.buffer = self.buffer[size:]
                line += self.line()
            lines.append(line)
            if line.startswith(tag + b" ") or not line:
                return lines


def test_compress_deflate_both_ways(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 3)

    def client(server: ImapServer) -> tuple[list[bytes], list[bytes], list[bytes]]:
        raw = Raw(server.port)
        raw.login()
        ok = raw.command(b"z", b"COMPRESS DEFLATE")
        z = Deflated(raw)
        z.send(b"a SELECT INBOX\r\n")
        select = z.until(b"a")
        z.send(b"b FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nc COMPRESS DEFLATE\r\n")
        fetch = z.until(b"b") + z.until(b"c")
        z.send(b"d CAPABILITY\r\n")
        return ok, select, fetch + z.until(b"d")

    ok, select, rest = serve(main_cf(tmp_path), client)
    assert ok == [b"z OK Begin compression.\r\n"]
    assert select[2] == b"* 3 EXISTS\r\n"
    assert select[-1].startswith(b"a OK [READ-WRITE]")
    assert sum(1 for line in rest if b"Subject: message" in line) == 3
    assert b"c NO [COMPRESSIONACTIVE] Compression already enabled.\r\n" in rest
    assert b"COMPRESS=DEFLATE" not in rest[-2]


def test_compress_with_data_pipelined_behind_the_command(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 1)

    def client(server: ImapServer) -> tuple[bytes, list[bytes]]:
        raw = Raw(server.port)
        raw.login()
        z = Deflated(raw)
        # The compressed command follows COMPRESS in the same packet (RFC 4978 allows it
        # once the client has the OK; a client that does not wait must still be served).
        raw.send(b"z COMPRESS DEFLATE\r\n" + z.pack(b"a NOOP\r\nb LOGOUT\r\n"))
        ok = raw.file.readline()
        return ok, z.until(b"b")

    ok, lines = serve(main_cf(tmp_path), client)
    assert ok == b"z OK Begin compression.\r\n"
    assert lines[0] == b"a OK NOOP completed.\r\n"
    assert lines[-1] == b"b OK Logout completed.\r\n"


def test_logout_log_line_counts_bytes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    deliver(maildir(tmp_path), 1)

    def client(server: ImapServer) -> None:
        raw = Raw(server.port)
        raw.login()
        raw.command(b"a", b"SELECT INBOX")
        raw.command(b"b", b"FETCH 1 BODY.PEEK[]")
        raw.command(b"c", b"LOGOUT")

    with caplog.at_level(logging.INFO, logger="vmail.imapd"):
        serve(main_cf(tmp_path), client)
    [line] = [r.getMessage() for r in caplog.records if "Logged out" in r.getMessage()]
    match = re.search(r"in=(\d+) out=(\d+)", line)
    assert match, line
    assert int(match.group(1)) > 50
    assert int(match.group(2)) > 500


def test_logindisabled_until_starttls_for_a_remote_client(tmp_path: Path) -> None:
    maildir(tmp_path)
    config = main_cf(tmp_path, _tls_config(tmp_path) + "imapd_tls_auth_only = yes\n")

    def client(server: ImapServer) -> tuple[bytes, list[bytes]]:
        raw = Raw(server.port)
        [conn] = server.connections
        conn.stream.address = "192.0.2.1"  # not loopback: plaintext is not secure
        before = raw.command(b"a", b"CAPABILITY")[0]
        raw.send(b"s STARTTLS\r\n")
        raw.line()
        tls = client_context().wrap_socket(raw.sock, server_hostname="mail.example.net")
        file = tls.makefile("rb")
        tls.sendall(f'c CAPABILITY\r\nd LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        return before, [file.readline(), file.readline(), file.readline()]

    before, after = serve(config, client)
    assert b" STARTTLS" in before
    assert b" LOGINDISABLED" in before
    assert b"AUTH=" not in before
    assert b"LOGINDISABLED" not in after[0]
    assert b"AUTH=PLAIN AUTH=LOGIN" in after[0]
    assert after[2].startswith(b"d OK [CAPABILITY ")
