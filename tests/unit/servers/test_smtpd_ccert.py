"""smtpd TLS client certificates over real loopback sockets, checked against Postfix 3.7.11.

The expected replies, Received: comments and log lines were recorded from a private
Postfix 3.7.11 (OpenSSL 3.0) with the same main.cf lines, a CA, a client certificate it
signed ("client"), a self-signed one ("self") and no certificate:

  smtpd_tls_ask_ccert = yes, smtpd_tls_CAfile = ca.pem
  relay_clientcerts = (client's sha256 fingerprint)
  tc_class = permit_tls_clientcerts, reject
  all_class = permit_tls_all_clientcerts, reject
  cc_class = check_ccert_access texthash:ccert, reject   (self's pkey: REJECT pkey says no)

  client: tc 250, all 250, cc 554 5.7.1 <cc@...>: Recipient address rejected: Access denied
          (ccert table empty) / 250 (client's fingerprint OK)
  self:   tc 554, all 554, cc 554 5.7.1 <self.example.test>: Client certificate rejected:
          pkey says no; with self's fingerprint in relay_clientcerts tc 250 and all 250
  none:   554 for all three
  log:    "Trusted TLS connection established from ...", "certificate verification failed
          for unknown[127.0.0.1]: self-signed certificate" then "Untrusted TLS ...",
          "Anonymous TLS ..."
  Received: (Client CN "client.example.test", Issuer "Test CA" (verified OK))
            (Client CN "self.example.test", Issuer "self.example.test" (not verified))
            (Client did not present a certificate)
  smtpd_tls_req_ccert = yes at level encrypt: after the handshake
            421 4.7.1 mail.example.test Error: Client certificate not trusted
            421 4.7.1 mail.example.test Error: No client certificate presented
            (logged "NOQUEUE: abort: TLS from unknown[127.0.0.1]: ..."), then disconnect;
            at level may: "warning: Can't require client certs unless TLS is required"
  smtpd_tls_ask_ccert = no: 'warning: permit_tls_clientcerts is requested, but
            "smtpd_tls_ask_ccert = no"' (likewise for the other two), no certificate.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.unit.servers.helpers import MESSAGE, certificate, client_context, queued, serve, setup
from vmail.core.errors import ConfigError
from vmail.policy.clientcerts import fingerprint

CLASSES = """\
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtpd_restriction_classes = tc_class, all_class, cc_class
tc_class = permit_tls_clientcerts, reject
all_class = permit_tls_all_clientcerts, reject
cc_class = check_ccert_access texthash:{d}/ccert, reject
smtpd_relay_restrictions = check_recipient_access texthash:{d}/rcpt_access, \
reject_unauth_destination
relay_clientcerts = texthash:{d}/relay_certs
smtpd_tls_CAfile = {d}/ca.pem
"""
RCPTS = ["tc@remote.example", "all@remote.example", "cc@remote.example"]
DENIED = "5.7.1 <{}>: Recipient address rejected: Access denied"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    cn: str, issuer: x509.Name | None, signer: ec.EllipticCurvePrivateKey | None, ca: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer or _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer or key, hashes.SHA256())
    )
    return cert, key


def _write(directory: Path, name: str, cert: x509.Certificate, key: object) -> None:
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem, client.pem/.key (signed by the CA), self.pem/.key, the server's cert."""
    d = tmp_path_factory.mktemp("ccert")
    certificate(d)
    ca, ca_key = _issue("Test CA", None, None, ca=True)
    _write(d, "ca", ca, ca_key)
    client, client_key = _issue("client.example.test", ca.subject, ca_key, ca=False)
    _write(d, "client", client, client_key)
    own, own_key = _issue("self.example.test", None, None, ca=False)
    _write(d, "self", own, own_key)
    return d


def _fingerprints(pki: Path, name: str) -> tuple[str, str]:
    cert = x509.load_pem_x509_certificate((pki / f"{name}.pem").read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return (
        fingerprint(cert.public_bytes(serialization.Encoding.DER), "sha256"),
        fingerprint(spki, "sha256"),
    )


def _main_cf(tmp_path: Path, pki: Path, relay: list[str], ccert: str, extra: str = "") -> str:
    (tmp_path / "relay_certs").write_text("".join(f"{fp} ok\n" for fp in relay))
    (tmp_path / "ccert").write_text(ccert)
    (tmp_path / "rcpt_access").write_text(
        "tc@remote.example tc_class\nall@remote.example all_class\ncc@remote.example cc_class\n"
    )
    server = f"smtpd_tls_cert_file = {pki}/cert.pem\nsmtpd_tls_key_file = {pki}/key.pem\n"
    return (
        CLASSES.format(d=tmp_path).replace(f"{tmp_path}/ca.pem", f"{pki}/ca.pem") + server + extra
    )


def _context(pki: Path, cert: str | None) -> ssl.SSLContext:
    context = client_context()
    if cert:
        context.load_cert_chain(pki / f"{cert}.pem", pki / f"{cert}.key")
    return context


def _rcpt_replies(port: int, pki: Path, cert: str | None) -> list[tuple[int, str]]:
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.ehlo("client.example")
        s.starttls(context=_context(pki, cert))
        s.ehlo("client.example")
        s.mail("s@client.example")
        return [(code, text.decode()) for code, text in (s.rcpt(r) for r in RCPTS)]


def _run(tmp_path: Path, main_cf: str, client: object) -> object:
    router, spool = setup(tmp_path, main_cf)
    return serve(router, spool, client)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cert", "expected"),
    [
        ("client", [(250, "2.1.5 Ok"), (250, "2.1.5 Ok"), (250, "2.1.5 Ok")]),
        (
            "self",
            [
                (554, DENIED.format("tc@remote.example")),
                (554, DENIED.format("all@remote.example")),
                (554, "5.7.1 <self.example.test>: Client certificate rejected: pkey says no"),
            ],
        ),
        (None, [(554, DENIED.format(r)) for r in RCPTS]),
    ],
)
def test_restrictions_by_certificate(
    tmp_path: Path, pki: Path, cert: str | None, expected: list[tuple[int, str]]
) -> None:
    client_fp, _ = _fingerprints(pki, "client")
    _, self_pkey = _fingerprints(pki, "self")
    ccert = f"{self_pkey} REJECT pkey says no\n{client_fp} OK\n"
    main_cf = _main_cf(tmp_path, pki, [client_fp], ccert, "smtpd_tls_ask_ccert = yes\n")
    assert _run(tmp_path, main_cf, lambda port: _rcpt_replies(port, pki, cert)) == expected


def test_listed_self_signed_certificate_is_permitted_unverified(tmp_path: Path, pki: Path) -> None:
    # Postfix: "When directly checking the fingerprint, it is OK if the issuing CA is not
    # trusted" -- and permit_tls_all_clientcerts checks relay_clientcerts too
    _, self_pkey = _fingerprints(pki, "self")
    main_cf = _main_cf(tmp_path, pki, [self_pkey], "", "smtpd_tls_ask_ccert = yes\n")
    replies = _run(tmp_path, main_cf, lambda port: _rcpt_replies(port, pki, "self"))
    assert replies == [
        (250, "2.1.5 Ok"),
        (250, "2.1.5 Ok"),
        (554, DENIED.format("cc@remote.example")),
    ]


@pytest.mark.parametrize(
    ("cert", "comment", "logged"),
    [
        ("client", '(Client CN "client.example.test", Issuer "Test CA" (verified OK))', "Trusted"),
        (
            "self",
            '(Client CN "self.example.test", Issuer "self.example.test" (not verified))',
            "Untrusted",
        ),
        (None, "(Client did not present a certificate)", "Anonymous"),
    ],
)
def test_received_header_and_log(
    tmp_path: Path,
    pki: Path,
    caplog: pytest.LogCaptureFixture,
    cert: str | None,
    comment: str,
    logged: str,
) -> None:
    main_cf = _main_cf(tmp_path, pki, [], "", "smtpd_tls_ask_ccert = yes\n")
    router, spool = setup(tmp_path, main_cf)

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.starttls(context=_context(pki, cert))
            s.ehlo("client.example")
            s.sendmail("s@client.example", ["alice@example.com"], MESSAGE)

    with caplog.at_level(logging.INFO, logger="vmail.smtpd"):
        serve(router, spool, client)
    [qf] = queued(spool)
    lines = qf.read_content().split(b"\r\n")
    assert lines[2] == b"\t" + comment.encode()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"{logged} TLS connection established from ") for m in messages)
    failed = "certificate verification failed for unknown[127.0.0.1]: self-signed certificate"
    assert (failed in messages) == (cert == "self")


@pytest.mark.parametrize(
    ("cert", "reason"),
    [
        ("self", "Client certificate not trusted"),
        (None, "No client certificate presented"),
        ("client", None),
    ],
)
def test_req_ccert_at_encrypt(
    tmp_path: Path,
    pki: Path,
    caplog: pytest.LogCaptureFixture,
    cert: str | None,
    reason: str | None,
) -> None:
    extra = "smtpd_tls_req_ccert = yes\nsmtpd_tls_security_level = encrypt\n"
    main_cf = _main_cf(tmp_path, pki, [], "", extra)

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.starttls(context=_context(pki, cert))
            try:
                return s.ehlo("client.example")
            except smtplib.SMTPServerDisconnected:
                return 0, b"disconnected"

    with caplog.at_level(logging.INFO, logger="vmail.smtpd"):
        code, text = _run(tmp_path, main_cf, client)  # type: ignore[misc]
    if reason is None:
        assert code == 250
        return
    assert (code, text) == (421, f"4.7.1 mail.example.net Error: {reason}".encode())
    abort = f"NOQUEUE: abort: TLS from unknown[127.0.0.1]: {reason}"
    assert abort in [r.getMessage() for r in caplog.records]


def test_req_ccert_without_encrypt_is_ignored_with_a_warning(
    tmp_path: Path, pki: Path, caplog: pytest.LogCaptureFixture
) -> None:
    main_cf = _main_cf(tmp_path, pki, [], "", "smtpd_tls_req_ccert = yes\n")
    with caplog.at_level(logging.INFO):
        replies = _run(tmp_path, main_cf, lambda port: _rcpt_replies(port, pki, None))
    assert replies == [(554, DENIED.format(r)) for r in RCPTS]
    messages = [r.getMessage() for r in caplog.records]
    assert "Can't require client certs unless TLS is required" in messages


def test_restrictions_warn_when_no_certificate_was_asked_for(
    tmp_path: Path, pki: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client_fp, _ = _fingerprints(pki, "client")
    main_cf = _main_cf(tmp_path, pki, [client_fp], f"{client_fp} OK\n")
    with caplog.at_level(logging.WARNING):
        replies = _run(tmp_path, main_cf, lambda port: _rcpt_replies(port, pki, "client"))
    assert replies == [(554, DENIED.format(r)) for r in RCPTS]
    messages = [r.getMessage() for r in caplog.records]
    for name in ("permit_tls_clientcerts", "permit_tls_all_clientcerts", "check_ccert_access"):
        assert f'{name} is requested, but "smtpd_tls_ask_ccert = no"' in messages


def test_check_ccert_access_search_order(tmp_path: Path, pki: Path) -> None:
    client_fp, client_pkey = _fingerprints(pki, "client")
    ccert = f"{client_fp} OK\n{client_pkey} REJECT by key\n"
    main_cf = _main_cf(tmp_path, pki, [], ccert, "smtpd_tls_ask_ccert = yes\n").replace(
        f"check_ccert_access texthash:{tmp_path}/ccert",
        f"check_ccert_access {{ texthash:{tmp_path}/ccert, {{ search_order = pubkey_fingerprint }} }}",
    )
    replies = _run(tmp_path, main_cf, lambda port: _rcpt_replies(port, pki, "client"))
    assert isinstance(replies, list)
    assert replies[2] == (554, "5.7.1 <client.example.test>: Client certificate rejected: by key")


def test_unreadable_ca_file_is_a_config_error(tmp_path: Path, pki: Path) -> None:
    main_cf = _main_cf(tmp_path, pki, [], "", "smtpd_tls_ask_ccert = yes\n").replace(
        f"{pki}/ca.pem", f"{tmp_path}/missing.pem"
    )
    with pytest.raises(ConfigError, match="smtpd_tls_CAfile: cannot load CA certificates"):
        _run(tmp_path, main_cf, lambda port: None)
