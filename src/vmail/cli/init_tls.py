"""A self-signed certificate and key for ``vmail init``, as the how-to makes with openssl.

The how-to runs ``openssl req -new -x509 -nodes -newkey rsa:4096 -days 1460`` and then
``chmod 400`` the key and ``chmod 444`` the certificate; this does the same with
``cryptography``: RSA 4096, valid 1460 days, CN and subjectAltName = ``myhostname``.
"""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

KEY_BITS = 4096
VALID_DAYS = 1460
KEY_MODE = 0o400
CERT_MODE = 0o444


def self_signed(hostname: str, key_bits: int | None = None) -> tuple[bytes, bytes]:
    """``(certificate_pem, private_key_pem)`` for ``hostname``; the key is unencrypted."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits or KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _general_name(hostname: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return x509.DNSName(hostname)
