"""The SMTP server's TLS settings: policy level, server context, and Received: details.

``smtpd_tls_security_level`` is ``none``, ``may`` (offer STARTTLS) or ``encrypt`` (offer
it and require it before MAIL; implies ``smtpd_tls_auth_only``); when it is empty the
obsolete ``smtpd_use_tls``/``smtpd_enforce_tls`` decide, as in Postfix.
``smtpd_tls_wrappermode = yes`` (SMTPS, port 465) needs a certificate whatever the level.

The certificate comes from ``smtpd_tls_chain_files`` when set (each file holds a key and
its chain, or a key file is followed by its certificate file), else from
``smtpd_tls_cert_file`` and ``smtpd_tls_key_file``; the protocol versions from
``smtpd_tls_protocols`` (``smtpd_tls_mandatory_protocols`` at level ``encrypt``), as
:mod:`vmail.servers.tls` reads them. The IMAP, POP3 and web listeners' contexts are there.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.servers.tls import LEVELS, load_pair, new_context


def security_level(config: MainConfig) -> str:
    """``none``, ``may`` or ``encrypt``; ConfigError for anything else."""
    level = config.get("smtpd_tls_security_level").strip().lower()
    if not level:
        if config.get_bool("smtpd_enforce_tls"):
            return "encrypt"
        return "may" if config.get_bool("smtpd_use_tls") else "none"
    if level not in LEVELS:
        raise ConfigError(f"smtpd_tls_security_level: unsupported level {level!r}")
    return level


def server_context(config: MainConfig) -> ssl.SSLContext | None:
    """The TLS context for this listener, None when it offers no TLS.

    Raises ConfigError when TLS is required (level ``may``/``encrypt`` or wrapper mode) but
    no certificate is configured or the files cannot be loaded.
    """
    level = security_level(config)
    if level == "none" and not config.get_bool("smtpd_tls_wrappermode"):
        return None
    protocols = "smtpd_tls_mandatory_protocols" if level == "encrypt" else "smtpd_tls_protocols"
    context = new_context(config.get_list(protocols))
    _load_certificates(context, config)
    return context


def _load_certificates(context: ssl.SSLContext, config: MainConfig) -> None:
    chain = config.get_list("smtpd_tls_chain_files")
    pairs: list[tuple[str, str | None]] = []
    if chain:
        pending_key: str | None = None
        for name in chain:
            text = _read(name)
            has_key = "PRIVATE KEY-----" in text
            has_cert = "CERTIFICATE-----" in text
            if has_key and has_cert:
                pairs.append((name, None))
            elif has_key:
                pending_key = name
            elif has_cert and pending_key is not None:
                pairs.append((name, pending_key))
                pending_key = None
            else:
                raise ConfigError(f"smtpd_tls_chain_files: {name}: expected a key, then its chain")
    else:
        cert = config.get("smtpd_tls_cert_file")
        if not cert:
            raise ConfigError("TLS is enabled but smtpd_tls_cert_file is not set")
        pairs.append((cert, config.get("smtpd_tls_key_file") or None))
    for cert, key in pairs:
        load_pair(context, cert, key)


def _read(name: str) -> str:
    try:
        return Path(name).read_text(errors="replace")
    except OSError as e:
        raise ConfigError(f"smtpd_tls_chain_files: {name}: {e.strerror}") from e


def received_details(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str:
    """Postfix's ``(using TLSv1.3 with cipher NAME (256/256 bits))`` for ``Received:``.

    Python's ssl module does not tell the key-exchange group or the signature algorithm,
    so the ``key-exchange ... server-signature ...`` continuation that OpenSSL-linked
    Postfix adds is left out (Postfix leaves it out too when it does not know them).
    """
    if ssl_object is None:
        return ""
    cipher = ssl_object.cipher()
    version = ssl_object.version() or "unknown"
    if cipher is None:
        return ""
    name, _, bits = cipher
    return f"(using {version} with cipher {name} ({bits}/{bits} bits))"
