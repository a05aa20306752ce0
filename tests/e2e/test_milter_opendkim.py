"""DKIM signing by a real OpenDKIM through vmail's milter client, checked by dkimpy.

OpenDKIM signs mail from its internal hosts (127.0.0.1) whose From: domain it has a key
for; the signature must verify on the message as delivered, which exercises what the
milter sees (headers without cleanup's own Received:, the body as CRLF lines) and where
its header lands (above Received:, at index 0).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest

from tests.e2e.harness import ServerProcess, make_config, running

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
GENKEY = shutil.which("opendkim-genkey") or "/usr/sbin/opendkim-genkey"

pytestmark = pytest.mark.skipif(
    not (Path(OPENDKIM).exists() and Path(GENKEY).exists()),
    reason="needs opendkim and opendkim-tools (dev/test installs them)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def opendkim(tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    """A signing OpenDKIM on a free port; its port and the selector's DNS TXT record."""
    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(
        [GENKEY, "-D", str(keys), "-d", "example.com", "-s", "test"], check=True, timeout=60
    )
    port = _free_port()
    conf = tmp_path / "opendkim.conf"
    conf.write_text(
        "Mode sv\nDomain example.com\nSelector test\n"
        f"KeyFile {keys / 'test.private'}\nSocket inet:{port}@127.0.0.1\n"
        "Background no\nCanonicalization relaxed/simple\nRequireSafeKeys false\nSyslog no\n"
    )
    proc = subprocess.Popen([OPENDKIM, "-f", "-x", str(conf)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("opendkim did not start") from None
                time.sleep(0.05)
        record = (keys / "test.txt").read_text()
        txt = "".join(re.findall(r'"([^"]*)"', record)).encode()
        yield port, txt
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def server(tmp_path: Path, opendkim: tuple[int, bytes]) -> Iterator[ServerProcess]:
    config_dir = make_config(
        tmp_path / "vmail",
        {"smtpd_milters": f"inet:127.0.0.1:{opendkim[0]}", "milter_default_action": "tempfail"},
    )
    for started in running(config_dir):
        started.add_mailbox("bob@example.com")
        yield started


def test_opendkim_signs_and_the_signature_verifies(
    server: ServerProcess, opendkim: tuple[int, bytes]
) -> None:
    message = (
        b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: signed\r\n"
        b"Message-ID: <dkim-1@example.com>\r\n\r\nHello,\r\n\r\n.leading dot\r\nbye\r\n"
    )
    with server.smtp() as client:
        client.sendmail("alice@example.com", ["bob@example.com"], message)
    (delivered,) = server.wait_for("bob@example.com")
    head = delivered.split(b"\n\n")[0].split(b"\n")
    signature = next(i for i, line in enumerate(head) if line.startswith(b"DKIM-Signature:"))
    received = next(i for i, line in enumerate(head) if line.startswith(b"Received:"))
    assert signature < received  # inserted at the top, as with Postfix
    txt = opendkim[1]

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"test._domainkey.example.com."
        return txt

    assert dkim.verify(delivered.replace(b"\n", b"\r\n"), dnsfunc=dns)
