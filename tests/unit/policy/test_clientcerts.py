"""vmail.policy.clientcerts: fingerprints, certificate facts, check_ccert_access's argument."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vmail.core.errors import ConfigError
from vmail.policy.clientcerts import (
    DEFAULT_SEARCH_ORDER,
    access_spec,
    digest_name,
    fingerprint,
    from_der,
)


def _der(subject: x509.Name, issuer: x509.Name) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_fingerprint_is_upper_case_hex_pairs() -> None:
    # as "openssl x509 -noout -fingerprint -sha256" shows it, which Postfix looks up
    assert fingerprint(b"abc", "md5") == "90:01:50:98:3C:D2:4F:B0:D6:96:3F:7D:28:E1:7F:72"


def test_from_der_names_and_fingerprints() -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client.example")])
    issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Only An Org")])
    der = _der(subject, issuer)
    cert = from_der(der, "sha256", verified=True)
    assert cert.subject_cn == "client.example"
    assert cert.issuer_cn == "Only An Org"  # no issuer CN: its organization
    assert cert.fingerprint == fingerprint(der, "sha256")
    assert cert.verified
    assert cert.key("cert_fingerprint") == cert.fingerprint
    assert cert.key("pubkey_fingerprint") == cert.pkey_fingerprint
    spki = x509.load_der_x509_certificate(der).public_key()
    spki_der = spki.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert cert.pkey_fingerprint == fingerprint(spki_der, "sha256")
    assert len(hashlib.sha256().digest()) * 3 - 1 == len(cert.fingerprint)


def test_access_spec_default_and_explicit_search_order() -> None:
    assert access_spec("hash:/etc/postfix/ccert") == (
        "hash:/etc/postfix/ccert",
        DEFAULT_SEARCH_ORDER,
    )
    assert access_spec("hash:/x, { search_order = pubkey_fingerprint, cert_fingerprint }") == (
        "hash:/x",
        ("pubkey_fingerprint", "cert_fingerprint"),
    )


@pytest.mark.parametrize(
    "argument", ["hash:/x, { search_order = subject }", "hash:/x, { colour = red }", ""]
)
def test_access_spec_errors(argument: str) -> None:
    with pytest.raises(ConfigError, match="check_ccert_access"):
        access_spec(argument)


def test_digest_name() -> None:
    assert digest_name(" SHA256 ") == "sha256"
    with pytest.raises(ConfigError, match="smtpd_tls_fingerprint_digest"):
        digest_name("rot13")
