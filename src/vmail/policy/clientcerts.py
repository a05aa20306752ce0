"""What a TLS client certificate tells the restrictions, and the keys they look up.

A :class:`Certificate` holds what Postfix's smtpd keeps of the client's certificate: the
subject and issuer common names, whether the chain verified against
``smtpd_tls_CAfile``/``smtpd_tls_CApath``, and the certificate and public-key
fingerprints with ``smtpd_tls_fingerprint_digest`` (upper-case hex pairs joined by
colons, as ``openssl x509 -fingerprint`` shows them).

``permit_tls_clientcerts`` and ``permit_tls_all_clientcerts`` look both fingerprints up
in ``relay_clientcerts`` (the certificate need not verify for that; the second also
permits any verified certificate); ``check_ccert_access type:table`` looks them up in
its table, in the order ``{ type:table, { search_order = cert_fingerprint,
pubkey_fingerprint } }`` gives (that is the default), and names the subject's common
name in its replies (``Client certificate rejected``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from vmail.config.values import split_list
from vmail.core.errors import ConfigError

CERT_FINGERPRINT = "cert_fingerprint"
PUBKEY_FINGERPRINT = "pubkey_fingerprint"
DEFAULT_SEARCH_ORDER = (CERT_FINGERPRINT, PUBKEY_FINGERPRINT)


@dataclass(frozen=True)
class Certificate:
    """The client certificate of a TLS session (see the module docstring)."""

    subject_cn: str
    issuer_cn: str
    fingerprint: str
    pkey_fingerprint: str
    verified: bool = False

    def key(self, search: str) -> str:
        """The fingerprint a search order item names."""
        return self.fingerprint if search == CERT_FINGERPRINT else self.pkey_fingerprint


def digest_name(value: str) -> str:
    """``smtpd_tls_fingerprint_digest``'s algorithm; ConfigError for one hashlib lacks."""
    name = value.strip().lower()
    if name not in hashlib.algorithms_available:
        raise ConfigError(f"smtpd_tls_fingerprint_digest: unsupported digest {value!r}")
    return name


def fingerprint(data: bytes, digest: str) -> str:
    """``AB:CD:...``: Postfix's form of a digest."""
    return ":".join(f"{byte:02X}" for byte in hashlib.new(digest, data).digest())


def from_der(der: bytes, digest: str, verified: bool) -> Certificate:
    """The facts of a DER certificate. The issuer is named by its common name, else its
    organization, as Postfix names it."""
    cert = x509.load_der_x509_certificate(der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    issuer = _name(cert.issuer, NameOID.COMMON_NAME) or _name(
        cert.issuer, NameOID.ORGANIZATION_NAME
    )
    return Certificate(
        subject_cn=_name(cert.subject, NameOID.COMMON_NAME),
        issuer_cn=issuer,
        fingerprint=fingerprint(der, digest),
        pkey_fingerprint=fingerprint(spki, digest),
        verified=verified,
    )


def _name(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    for attribute in name.get_attributes_for_oid(oid):
        value = attribute.value
        return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return ""


def access_spec(argument: str) -> tuple[str, tuple[str, ...]]:
    """check_ccert_access's table and search order from its argument: ``type:table`` or
    ``type:table, { search_order = cert_fingerprint, pubkey_fingerprint }`` (the braces
    around the whole argument already taken off by the list split)."""
    items = split_list(argument)
    if not items:
        raise ConfigError("check_ccert_access: no table given")
    order: tuple[str, ...] = DEFAULT_SEARCH_ORDER
    for item in items[1:]:
        name, equals, value = item.partition("=")
        if name.strip() != "search_order" or not equals:
            raise ConfigError(f"check_ccert_access: unknown attribute {item!r}")
        order = tuple(split_list(value))
        unknown = [word for word in order if word not in DEFAULT_SEARCH_ORDER]
        if unknown or not order:
            raise ConfigError(f"check_ccert_access: bad search_order {value.strip()!r}")
    return items[0], order


__all__ = [
    "CERT_FINGERPRINT",
    "DEFAULT_SEARCH_ORDER",
    "PUBKEY_FINGERPRINT",
    "Certificate",
    "access_spec",
    "digest_name",
    "fingerprint",
    "from_der",
]
