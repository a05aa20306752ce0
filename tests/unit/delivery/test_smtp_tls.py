"""STARTTLS per smtp_tls_security_level, with a certificate made in the test."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.unit.delivery.smtp_sink import SmtpSink
from tests.unit.delivery.test_smtp import MESSAGE, content, make_agent, requests
from vmail.delivery.request import Status


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sink.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("sink.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(cert_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert_files)
    return context


def hop(sink: SmtpSink) -> str:
    return f"[127.0.0.1]:{sink.port}"


def test_opportunistic_tls(cert_files: tuple[Path, Path]) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        agent = make_agent(smtp_tls_security_level="may")
        [result] = agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
        agent.close()
    assert result.status == Status.SENT
    session = sink.sessions[0]
    assert session.tls
    assert session.commands[:3] == ["EHLO client.test", "STARTTLS", "EHLO client.test"]
    assert session.messages == [MESSAGE]


def test_level_none_ignores_starttls(cert_files: tuple[Path, Path]) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        [result] = make_agent().deliver_batch(requests(hop(sink), "a@remote.test"), content)
    assert result.status == Status.SENT
    assert "STARTTLS" not in sink.commands


def test_may_falls_back_to_plaintext_when_handshake_fails() -> None:
    broken = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no certificate: every handshake fails
    with SmtpSink(tls_context=broken) as sink:
        agent = make_agent(smtp_tls_security_level="may")
        [result] = agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
        agent.close()
    assert result.status == Status.SENT
    assert len(sink.sessions) == 2
    assert "STARTTLS" in sink.sessions[0].commands
    assert "STARTTLS" not in sink.sessions[1].commands
    assert sink.sessions[1].messages == [MESSAGE]


def test_may_continues_in_plaintext_when_starttls_refused(cert_files: tuple[Path, Path]) -> None:
    sink = SmtpSink(tls_context=server_context(cert_files))
    sink.replies["STARTTLS"] = "454 4.7.0 TLS not available due to local problem"
    with sink:
        [result] = make_agent(smtp_tls_security_level="may").deliver_batch(
            requests(hop(sink), "a@remote.test"), content
        )
    assert result.status == Status.SENT
    assert len(sink.sessions) == 1


def test_encrypt_without_starttls_defers() -> None:
    with SmtpSink() as sink:
        [result] = make_agent(smtp_tls_security_level="encrypt").deliver_batch(
            requests(hop(sink), "a@remote.test"), content
        )
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.7.4")
    assert result.text == "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]"
    assert sink.messages == []


def test_encrypt_handshake_failure_defers() -> None:
    with SmtpSink(tls_context=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)) as sink:
        [result] = make_agent(smtp_tls_security_level="encrypt").deliver_batch(
            requests(hop(sink), "a@remote.test"), content
        )
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.7.5")
    assert result.text == "Cannot start TLS: handshake failure"
    assert len(sink.sessions) == 1


def test_encrypt_refused_starttls_defers(cert_files: tuple[Path, Path]) -> None:
    sink = SmtpSink(tls_context=server_context(cert_files))
    sink.replies["STARTTLS"] = "454 4.7.0 TLS not available"
    with sink:
        [result] = make_agent(smtp_tls_security_level="encrypt").deliver_batch(
            requests(hop(sink), "a@remote.test"), content
        )
    assert result.status == Status.DEFERRED
    assert result.text == (
        "TLS is required, but host 127.0.0.1[127.0.0.1] refused to start TLS: 454 4.7.0 TLS not available"
    )


def test_obsolete_smtp_use_tls_means_may(cert_files: tuple[Path, Path]) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        make_agent(smtp_use_tls="yes").deliver_batch(requests(hop(sink), "a@remote.test"), content)
    assert sink.sessions[0].tls


def test_verify_with_cafile(cert_files: tuple[Path, Path]) -> None:
    dns_hop = "[sink.test]"
    from tests.unit.delivery.smtp_sink import FakeDns

    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        dns = FakeDns(hosts={"sink.test": ["127.0.0.1"]})
        agent = make_agent(
            dns, smtp_tls_security_level="verify", smtp_tls_CAfile=str(cert_files[0])
        )
        [ok] = agent.deliver_batch(requests(f"{dns_hop}:{sink.port}", "a@remote.test"), content)
        agent.close()
        untrusting = make_agent(
            dns,
            smtp_tls_security_level="verify",
            smtp_tls_CAfile="/etc/ssl/certs/ca-certificates.crt",
        )
        [bad] = untrusting.deliver_batch(
            requests(f"{dns_hop}:{sink.port}", "a@remote.test"), content
        )
    assert ok.status == Status.SENT
    assert (bad.status, bad.dsn, bad.text) == (
        Status.DEFERRED,
        "4.7.5",
        "Server certificate not verified",
    )


def test_bad_client_certificate_file_defers(tmp_path: Path) -> None:
    agent = make_agent(
        smtp_tls_security_level="may", smtp_tls_cert_file=str(tmp_path / "missing.pem")
    )
    [result] = agent.deliver_batch(requests("[127.0.0.1]:1", "a@remote.test"), content)
    assert (result.status, result.dsn, result.text) == (
        Status.DEFERRED,
        "4.7.0",
        "client TLS configuration problem",
    )
