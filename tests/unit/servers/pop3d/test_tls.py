"""POP3 over TLS: STLS, pop3d_tls_security_level = encrypt, implicit TLS (port 995)."""

from __future__ import annotations

import poplib
from pathlib import Path

import pytest

from tests.unit.servers.helpers import certificate, client_context
from tests.unit.servers.pop3d.support import PASSWORD, USER, Raw, maildir, main_cf, serve
from vmail.config import MainConfig
from vmail.servers.pop3d.server import Pop3Server


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pop3-tls")
    certificate(directory)
    return directory


def tls_cf(tmp_path: Path, cert_dir: Path, extra: str = "") -> MainConfig:
    return main_cf(
        tmp_path,
        f"pop3d_tls_security_level = may\npop3d_tls_cert_file = {cert_dir}/cert.pem\n"
        f"pop3d_tls_key_file = {cert_dir}/key.pem\n" + extra,
    )


def test_stls_then_login(tmp_path: Path, cert_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    maildir(tmp_path)
    caplog.set_level("INFO", "vmail.pop3d")

    def client(server: Pop3Server) -> tuple[dict[str, list[str]], dict[str, list[str]], int]:
        pop = poplib.POP3("127.0.0.1", server.port, timeout=10)
        before = pop.capa()
        pop.stls(client_context())
        after = pop.capa()
        pop.user(USER)
        pop.pass_(PASSWORD)
        count = pop.stat()[0]
        pop.quit()
        return before, after, count

    before, after, count = serve(tls_cf(tmp_path, cert_dir), client)
    assert "STLS" in before
    assert "STLS" not in after
    assert count == 0
    assert ", TLS" in caplog.text


def test_encrypt_level_refuses_plaintext_before_stls(tmp_path: Path, cert_dir: Path) -> None:
    maildir(tmp_path)
    config = tls_cf(tmp_path, cert_dir, "pop3d_tls_security_level = encrypt\n")

    def client(server: Pop3Server) -> tuple[bytes, list[bytes]]:
        raw = Raw(server.port)
        refused = raw.command(b"USER " + USER.encode())
        raw.command(b"CAPA")
        capa = raw.multiline()
        raw.close()
        return refused, capa

    refused, capa = serve(config, client)
    assert refused == (
        b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"
    )
    assert b"USER\r\n" not in capa
    assert capa[-2:] == [b"STLS\r\n", b"SASL\r\n"]


def test_plaintext_pipelined_after_stls_is_discarded(tmp_path: Path, cert_dir: Path) -> None:
    maildir(tmp_path)

    def client(server: Pop3Server) -> tuple[bytes, bytes]:
        raw = Raw(server.port)
        raw.send(b"STLS\r\nUSER " + USER.encode() + b"\r\n")
        reply = raw.line()
        context = client_context()
        tls = context.wrap_socket(raw.sock, server_hostname="mail.example.net")
        tls.sendall(b"PASS " + PASSWORD.encode() + b"\r\n")
        answer = tls.recv(1000)
        tls.close()
        return reply, answer

    reply, answer = serve(tls_cf(tmp_path, cert_dir), client)
    assert reply == b"+OK Begin TLS negotiation now.\r\n"
    assert answer == b"-ERR No username given.\r\n"


def test_implicit_tls(tmp_path: Path, cert_dir: Path) -> None:
    maildir(tmp_path)
    config = tls_cf(tmp_path, cert_dir, "pop3d_tls_wrappermode = yes\n")

    def client(server: Pop3Server) -> tuple[bytes, dict[str, list[str]], int]:
        pop = poplib.POP3_SSL("127.0.0.1", server.port, context=client_context(), timeout=10)
        welcome = pop.getwelcome()
        capa = pop.capa()
        pop.user(USER)
        pop.pass_(PASSWORD)
        count = pop.stat()[0]
        pop.quit()
        return welcome, capa, count

    welcome, capa, count = serve(config, client)
    assert welcome == b"+OK vmail ready."
    assert "STLS" not in capa
    assert count == 0
