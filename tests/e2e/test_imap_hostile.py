"""Hostile IMAP clients against a real ``vmail serve`` (one server for the module): huge
literals, numbers beyond 32 bits, deep nesting, hostile folder names (checked on the
filesystem), 10,000 pipelined commands, junk, a megabyte SASL response and a login flood.
The server must answer each as Dovecot would and stay up for everyone else."""

from __future__ import annotations

import base64
import os
import re
import socket
import time
from pathlib import Path

import pytest

from tests.e2e.harness import PASSWORD, ServerProcess

BOB = "bob@example.com"


class Client:
    """A raw socket client: exact bytes out, response lines (literals inline) in."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.sock = socket.create_connection(("127.0.0.1", server.port("imap")), timeout=20)
        self.file = self.sock.makefile("rb")
        self.greeting = self.file.readline()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        return self.file.readline(1 << 22)

    def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            if not line:
                raise EOFError(b"".join(lines))
            literal = re.search(rb"\{(\d+)\}\r\n$", line)
            if literal:
                line += self.file.read(int(literal.group(1))) + self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def command(self, tag: bytes, text: bytes) -> bytes:
        """The tagged response of one command."""
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag)[-1]

    def login(self) -> None:
        answer = self.command(b"L", f'LOGIN {BOB} "{PASSWORD}"'.encode())
        assert answer.startswith(b"L OK"), (answer, self.server.log[-3000:])

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def client(shared_server: ServerProcess) -> Client:
    return Client(shared_server)


def _alive(server: ServerProcess) -> None:
    other = Client(server)
    other.login()
    assert other.command(b"z", b"NOOP") == b"z OK NOOP completed.\r\n"
    other.close()


def test_huge_literals_are_refused_unread(shared_server: ServerProcess, client: Client) -> None:
    assert client.command(b"a", b"LOGIN {4294967295}").startswith(b"a NO [TOOBIG] ")
    assert client.command(b"b", b"LOGIN {99999999999}") == b"b BAD literal size out of range\r\n"
    client.login()
    assert client.command(b"c", b"APPEND INBOX {4294967295}").startswith(b"c NO [TOOBIG] ")
    assert client.command(b"d", b"APPEND INBOX {99999999999}").startswith(b"d BAD ")
    assert client.command(b"e", b"APPEND INBOX {4294967295+}").startswith(b"e NO [TOOBIG] ")
    # the server now skips the announced literal: close rather than send 4 GB
    client.close()
    _alive(shared_server)


def test_numbers_beyond_32_bits_and_deep_nesting(
    shared_server: ServerProcess, client: Client
) -> None:
    client.login()
    client.command(b"s", b"SELECT INBOX")
    assert client.command(b"a", b"FETCH 4294967296 FLAGS").startswith(b"a BAD ")
    assert client.command(b"n", b"NOOP").startswith(b"n OK")
    assert client.command(b"b", b"UID FETCH 1:4294967296 FLAGS").startswith(b"b BAD ")
    assert client.command(b"n", b"NOOP").startswith(b"n OK")
    assert client.command(b"c", b"UID FETCH 1:4294967295 BODY.PEEK[]<0.4294967295>").startswith(
        b"c OK"
    )
    assert client.command(b"d", b"FETCH 1:x FLAGS").startswith(b"d BAD ")
    deep = b"SEARCH " + b"(" * 10000 + b"ALL" + b")" * 10000
    assert client.command(b"e", deep).startswith(b"e BAD ")
    assert client.command(b"f", b"NOOP").startswith(b"f OK")


def test_hostile_folder_names_never_leave_the_maildir(
    shared_server: ServerProcess, client: Client
) -> None:
    mail = shared_server.data_dir / "mail"
    before = {str(p) for p in shared_server.data_dir.parent.rglob("*")}
    client.login()
    client.command(b"c0", b"CREATE Src")  # RENAME's source (INBOX is refused)
    outside = Path(f"/tmp/vmail-hostile-{os.getpid()}")
    names = [b'".."', b'"../../x"', str(outside).encode(), b'"a..b"', b"{3+}\r\na\x00b"]
    names += [b'"&"', b'"&Jjo"']
    names += [b'"&AGE-"', b'"~bob"']
    for n, name in enumerate(names):
        for verb in (b"CREATE", b"RENAME Src", b"DELETE", b"SUBSCRIBE", b"STATUS"):
            suffix = b" (MESSAGES)" if verb == b"STATUS" else b""
            reply = client.command(b"t%d" % n, verb + b" " + name + suffix)
            assert b" OK " not in reply or verb == b"SUBSCRIBE", (verb, name, reply)
            if b" BAD " in reply:
                client.command(b"n", b"NOOP")
    after = {str(p) for p in shared_server.data_dir.parent.rglob("*")}
    new = sorted(p for p in after - before if not p.startswith(str(mail)))
    assert [p for p in new if not p.endswith(("serve.log", "ports.json"))] == []
    assert not outside.exists()


def test_ten_thousand_pipelined_commands(client: Client) -> None:
    client.login()
    client.send(b"".join(b"p%d NOOP\r\n" % n for n in range(10000)) + b"q LOGOUT\r\n")
    tags = [client.line().split(b" ")[0] for _ in range(10000)]
    assert tags == [b"p%d" % n for n in range(10000)]
    assert client.line() == b"* BYE Logging out\r\n"


def test_garbage_bytes(shared_server: ServerProcess, client: Client) -> None:
    client.send(os.urandom(8192).replace(b"\n", b"") + b"\r\n" + b"\x00\xff junk\r\n" * 12)
    lines = []
    while line := client.line():
        lines.append(line)
    assert lines[-1] == b"* BYE Too many invalid IMAP commands.\r\n"
    _alive(shared_server)


def test_authenticate_with_a_megabyte_response(
    shared_server: ServerProcess, client: Client
) -> None:
    client.send(b"a AUTHENTICATE PLAIN\r\n")
    assert client.line() == b"+ \r\n"
    try:
        client.send(base64.b64encode(os.urandom(786432)) + b"\r\n")
        reply = client.until(b"a")[-1]
    except OSError:  # the server may close before we finish sending
        reply = b"a BAD (closed)"
    assert reply.startswith(b"a BAD ")
    _alive(shared_server)


def test_login_flood_is_throttled_not_fatal(shared_server: ServerProcess, client: Client) -> None:
    # carol, and fewer failures than the per-IP lockout, so bob can still log in afterwards;
    # the failures are answered more and more slowly (0, 0.5, 1, 2 s) ...
    carol = b"carol@example.com"
    started = time.monotonic()
    client.send(b"".join(b'l%d LOGIN %s "wrong%d"\r\n' % (n, carol, n) for n in range(4)))
    first = client.line()
    _alive(shared_server)  # ... while everyone else is served at once
    replies = [first] + [client.line() for _ in range(3)]
    assert [r.split(b" ", 1)[0] for r in replies] == [b"l0", b"l1", b"l2", b"l3"]
    assert all(b" NO [AUTHENTICATIONFAILED] " in r for r in replies), replies
    assert time.monotonic() - started >= 3.0
