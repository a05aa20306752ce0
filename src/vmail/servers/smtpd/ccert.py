"""TLS client certificates on an SMTP listener, as Postfix 3.7's smtpd handles them.

``smtpd_tls_ask_ccert = yes`` asks every TLS client for a certificate, verified against
``smtpd_tls_CAfile`` and ``smtpd_tls_CApath`` (no system CAs: Postfix's
``tls_append_default_CA = no``) at most ``smtpd_tls_ccert_verifydepth`` CAs deep; a
certificate that does not verify (self-signed, unknown issuer, expired) does not end the
handshake, it only makes the session "Untrusted" (see :mod:`.peerverify`).
``smtpd_tls_req_ccert = yes`` implies asking, and at ``smtpd_tls_security_level =
encrypt`` a client without a verified certificate gets ``421 4.7.1 HOST Error: Client
certificate not trusted`` (or ``No client certificate presented``) right after the
handshake and is disconnected; at any other level it is ignored with Postfix's warning.

The session's :class:`~vmail.policy.clientcerts.Certificate` (fingerprints with
``smtpd_tls_fingerprint_digest``) goes to the restrictions, the ``Received:`` comment and
the milter macros ``{cert_subject}`` and ``{cert_issuer}`` (verified certificates only).
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.policy.clientcerts import Certificate, digest_name, from_der
from vmail.servers.smtpd.peerverify import PeerVerifyError, accept_any_certificate, verify_error

log = logging.getLogger("vmail.smtpd")


@dataclass(frozen=True)
class CcertSettings:
    """Whether a listener asks for (``ask``) or requires (``require``) a client
    certificate, and the fingerprint digest."""

    ask: bool = False
    require: bool = False
    digest: str = "sha256"


def ccert_settings(config: MainConfig, level: str) -> CcertSettings:
    """The listener's settings (``level``: its ``smtpd_tls_security_level``)."""
    require = config.get_bool("smtpd_tls_req_ccert")
    if require and level != "encrypt":
        log.warning("Can't require client certs unless TLS is required")
        require = False
    try:
        digest = digest_name(config.get("smtpd_tls_fingerprint_digest"))
    except ConfigError as e:
        raise ConfigError(str(e), config.locations.get("smtpd_tls_fingerprint_digest")) from e
    return CcertSettings(config.get_bool("smtpd_tls_ask_ccert") or require, require, digest)


def ask_for_certificates(context: ssl.SSLContext, config: MainConfig) -> None:
    """Make ``context`` ask clients for a certificate and verify it with the configured
    CAs (ConfigError naming the parameter when they cannot be loaded)."""
    ca_file = config.get("smtpd_tls_CAfile").strip()
    ca_path = config.get("smtpd_tls_CApath").strip()
    for parameter, value in (("smtpd_tls_CAfile", ca_file), ("smtpd_tls_CApath", ca_path)):
        if not value:
            continue
        try:
            if parameter == "smtpd_tls_CAfile":
                context.load_verify_locations(cafile=value)
            else:
                context.load_verify_locations(capath=value)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(
                f"{parameter}: cannot load CA certificates from {value}: {e}",
                config.locations.get(parameter),
            ) from e
    depth = config.get_int("smtpd_tls_ccert_verifydepth")
    try:
        accept_any_certificate(context, max(depth, 0), ca_file or None)
    except PeerVerifyError as e:
        raise ConfigError(
            f"smtpd_tls_ask_ccert: {e}", config.locations.get("smtpd_tls_ask_ccert")
        ) from e


def session_certificate(
    ssl_object: ssl.SSLObject | ssl.SSLSocket | None, digest: str
) -> tuple[Certificate | None, str | None]:
    """The client's certificate after the handshake (None: it sent none) and, when it
    did not verify, OpenSSL's reason (``self-signed certificate``)."""
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return None, None
    error = verify_error(ssl_object) if ssl_object is not None else None
    return from_der(der, digest, verified=error is None), error


def trust(cert: Certificate | None) -> str:
    """The first word of Postfix's ``... TLS connection established from`` line."""
    if cert is None:
        return "Anonymous"
    return "Trusted" if cert.verified else "Untrusted"


def received_comment(settings: CcertSettings, cert: Certificate | None) -> str:
    """The ``Received:`` line after the cipher (``smtpd_tls_received_header = yes``)."""
    if cert is not None:
        status = "verified OK" if cert.verified else "not verified"
        return f'(Client CN "{cert.subject_cn}", Issuer "{cert.issuer_cn}" ({status}))'
    if settings.ask:
        return "(Client did not present a certificate)"
    return "(No client certificate requested)"


def refusal(settings: CcertSettings, cert: Certificate | None) -> str | None:
    """Why ``smtpd_tls_req_ccert`` turns the client away, None when it does not."""
    if not settings.require or (cert is not None and cert.verified):
        return None
    return "No client certificate presented" if cert is None else "Client certificate not trusted"


def milter_macro(key: str, cert: Certificate | None) -> str | None:
    """``{cert_subject}`` and ``{cert_issuer}``: for a verified certificate only."""
    if cert is None or not cert.verified:
        return None
    if key == "{cert_subject}":
        return cert.subject_cn
    if key == "{cert_issuer}":
        return cert.issuer_cn
    return None


__all__ = [
    "CcertSettings",
    "ask_for_certificates",
    "ccert_settings",
    "milter_macro",
    "received_comment",
    "refusal",
    "session_certificate",
    "trust",
]
