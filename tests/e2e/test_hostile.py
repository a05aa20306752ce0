"""Hostile clients against a real ``vmail serve``: each is refused or handled as Postfix
would, and the server keeps serving everybody else."""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import time
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess

SMUGGLED = (
    b"MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
    b"Subject: smuggled\r\n\r\nevil\r\n"
)
END_VARIANTS = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r\n\x00.\r\n"]


class Raw:
    """A raw SMTP connection that reads whole replies."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buffer = b""
        self.greeting = self.reply()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> bytes:
        """One complete (possibly multi-line) reply."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {lines!r}")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line)
            if line[3:4] != b"-":
                return b"\r\n".join(lines)

    def command(self, line: bytes) -> bytes:
        self.send(line + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.sock.close()


def _still_serving(server: ServerProcess) -> None:
    with server.smtp() as client:
        assert client.noop()[0] == 250


@pytest.mark.parametrize("end", END_VARIANTS, ids=repr)
def test_smuggling_variants_never_make_a_second_message(
    shared_server: ServerProcess, end: bytes
) -> None:
    server = shared_server
    subject = f"first-{END_VARIANTS.index(end)}".encode()
    raw = Raw(server.port())
    raw.command(b"EHLO client.test")
    raw.command(b"MAIL FROM:<alice@example.org>")
    raw.command(b"RCPT TO:<bob@example.com>")
    assert raw.command(b"DATA").startswith(b"354")
    raw.send(b"Subject: " + subject + b"\r\n\r\nbody" + end + SMUGGLED + b"\r\n.\r\n")
    final = raw.reply()
    assert final[:1] in (b"2", b"5"), final  # queued as one message, or refused whole
    assert raw.command(b"QUIT").startswith(b"221")
    raw.close()
    if final.startswith(b"2"):
        server.wait_log(final.decode().rpartition(" ")[2] + r": removed")
    time.sleep(0.3)
    mine = [m for m in server.messages("bob@example.com") if b"Subject: " + subject in m]
    assert len(mine) == (1 if final.startswith(b"2") else 0)
    for message in mine:
        assert b"\nSubject: smuggled" in message  # inside the first message's body
    smuggled = [
        m
        for m in server.messages("bob@example.com")
        if m.find(b"Subject: smuggled") >= 0 and b"Subject: first" not in m
    ]
    assert smuggled == []
    assert "evil@attacker.example" not in server.log  # never a second transaction


def test_pipelined_plaintext_after_starttls_is_discarded(shared_server: ServerProcess) -> None:
    raw = Raw(shared_server.port())
    raw.command(b"EHLO client.test")
    raw.send(b"STARTTLS\r\nMAIL FROM:<injected@attacker.example>\r\n")
    assert raw.reply().startswith(b"220")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    tls = context.wrap_socket(raw.sock)
    tls.sendall(b"EHLO client.test\r\n")
    data = b""
    while not data.endswith(b"\r\n") or b"250 " not in data:
        data += tls.recv(65536)
    tls.sendall(b"RCPT TO:<bob@example.com>\r\n")
    answer = tls.recv(65536)
    assert answer.startswith(b"503 5.5.1 Error: need MAIL command")  # MAIL was discarded
    tls.close()


def test_overlong_line_and_garbage_then_others_still_served(shared_server: ServerProcess) -> None:
    raw = Raw(shared_server.port())
    raw.send(b"EHLO " + b"x" * 100_000 + b"\r\n")
    raw.send(os.urandom(200_000).replace(b"\n", b"") + b"\r\n")
    _still_serving(shared_server)
    raw.close()


def test_ten_thousand_recipients_are_limited(shared_server: ServerProcess) -> None:
    raw = Raw(shared_server.port())
    raw.command(b"EHLO client.test")
    raw.command(b"MAIL FROM:<alice@example.org>")
    raw.send(b"".join(b"RCPT TO:<bob@example.com>\r\n" for _ in range(10_000)))
    replies = [raw.reply() for _ in range(1001)]
    assert replies[0].startswith(b"250")
    assert replies[1000] == b"452 4.5.3 Error: too many recipients"
    raw.close()
    _still_serving(shared_server)


def test_huge_size_announcement(shared_server: ServerProcess) -> None:
    raw = Raw(shared_server.port())
    raw.command(b"EHLO client.test")
    reply = raw.command(b"MAIL FROM:<alice@example.org> SIZE=1000000000")
    assert reply == b"552 5.3.4 Message size exceeds fixed limit"
    raw.close()


@pytest.mark.parametrize(
    "line",
    [
        b"MAIL FROM:<alice@example.org> AUTH=<>\x00",
        b"MAIL FROM:<alice@example.org> ENVID=a\rb",
        b"HELO a\x00b",
        b"RCPT TO:<bob@example.com> ORCPT=rfc822;bob+0Aevil@example.com\x00",
    ],
    ids=repr,
)
def test_control_characters_in_parameters(shared_server: ServerProcess, line: bytes) -> None:
    raw = Raw(shared_server.port())
    raw.command(b"EHLO client.test")
    if line.startswith(b"RCPT"):
        raw.command(b"MAIL FROM:<alice@example.org>")
    reply = raw.command(line)
    assert reply[:1] in (b"5",), reply
    raw.close()
    _still_serving(shared_server)


def test_xclient_from_an_unauthorised_client(shared_server: ServerProcess) -> None:
    raw = Raw(shared_server.port())
    raw.command(b"EHLO client.test")
    reply = raw.command(b"XCLIENT ADDR=192.0.2.1")
    assert reply == b"550 5.7.0 Error: insufficient authorization"
    raw.close()


@pytest.mark.parametrize(
    "local",
    ["../../etc/passwd", "a/b", "|id", "x;id", "$(id)", "`id`", "..", "bob/../carol"],
)
def test_dangerous_local_parts_never_touch_the_file_system(
    shared_server: ServerProcess, local: str
) -> None:
    address = (
        f'"{local}"@example.com' if any(c in local for c in "();|`$") else f"{local}@example.com"
    )
    with shared_server.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        client.sendmail("alice@example.org", [address], b"Subject: x\r\n\r\nx\r\n")
    ((code, _text),) = e.value.recipients.values()
    assert code == 550
    base = shared_server.data_dir / "mail"
    assert sorted(p.name for p in base.iterdir()) in ([], ["example.com"])
    assert not Path("/etc/passwd/new").exists()


def test_slow_client_does_not_block_others(shared_server: ServerProcess) -> None:
    idle = [Raw(shared_server.port()) for _ in range(5)]
    idle[0].send(b"EHLO cl")  # half a command, never finished
    started = time.monotonic()
    with shared_server.smtp() as client:
        client.sendmail("alice@example.org", ["bob@example.com"], b"Subject: ok\r\n\r\nok\r\n")
    assert time.monotonic() - started < 5
    shared_server.wait_for("bob@example.com")
    for raw in idle:
        raw.close()
