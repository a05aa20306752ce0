"""The SMTP server's TLS settings: policy level, server context, and Received: details.

``smtpd_tls_security_level`` is ``none``, ``may`` (offer STARTTLS) or ``encrypt`` (offer
it and require it before MAIL; implies ``smtpd_tls_auth_only``); when it is empty the
obsolete ``smtpd_use_tls``/``smtpd_enforce_tls`` decide, as in Postfix.
``smtpd_tls_wrappermode = yes`` (SMTPS, port 465) needs a certificate whatever the level.

The certificate comes from ``smtpd_tls_chain_files`` when set (each file holds a key and
its chain, or a key file is followed by its certificate file), else from
``smtpd_tls_cert_file`` and ``smtpd_tls_key_file``. vmail never offers less than TLS 1.2;
``smtpd_tls_protocols`` (``smtpd_tls_mandatory_protocols`` at level ``encrypt``) can
raise the floor (``>=TLSv1.3``, ``!TLSv1.2``) or cap it (``<=TLSv1.2``, ``!TLSv1.3``).
"""

from __future__ import annotations

import ssl
from pathlib import Path

from vmail.config import MainConfig
from vmail.core.errors import ConfigError

LEVELS = ("none", "may", "encrypt")
CIPHERS = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!DSS:!PSK:!SRP:!CAMELLIA"


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
    context = _new_context(config.get_list(protocols))
    _load_certificates(context, config)
    return context


def access_context(config: MainConfig, prefix: str) -> ssl.SSLContext | None:
    """The TLS context of an IMAP (``prefix="imapd"``) or POP3 (``"pop3d"``) listener.

    Same rules as the SMTP server's with that prefix's ``_tls_security_level``,
    ``_tls_wrappermode``, ``_tls_cert_file`` and ``_tls_key_file`` (which default to the
    SMTP server's certificate); protocol versions follow ``smtpd_tls_protocols``. At level
    ``may`` without a certificate no TLS is offered (Postfix's smtpd does the same).
    """
    level = config.get(f"{prefix}_tls_security_level").strip().lower()
    if level not in LEVELS:
        raise ConfigError(f"{prefix}_tls_security_level: unsupported level {level!r}")
    if level == "none" and not config.get_bool(f"{prefix}_tls_wrappermode"):
        return None
    cert = config.get(f"{prefix}_tls_cert_file")
    if not cert:
        if level == "may" and not config.get_bool(f"{prefix}_tls_wrappermode"):
            return None  # as Postfix at level may: no certificate, no STARTTLS offered
        raise ConfigError(f"TLS is enabled but {prefix}_tls_cert_file is not set")
    return _prefix_context(config, prefix, cert)


def wrapper_context(config: MainConfig, prefix: str) -> ssl.SSLContext | None:
    """The TLS context of an implicit-TLS-only listener (``prefix="web"``): None unless
    ``{prefix}_tls_wrappermode``; the certificate from ``{prefix}_tls_cert_file`` and
    ``{prefix}_tls_key_file``; protocol versions from ``smtpd_tls_protocols``.

    Raises ConfigError when wrapper mode is on but no certificate is set or it cannot be
    loaded.
    """
    if not config.get_bool(f"{prefix}_tls_wrappermode"):
        return None
    cert = config.get(f"{prefix}_tls_cert_file")
    if not cert:
        raise ConfigError(f"{prefix}_tls_wrappermode is set but {prefix}_tls_cert_file is not")
    return _prefix_context(config, prefix, cert)


def _prefix_context(config: MainConfig, prefix: str, cert: str) -> ssl.SSLContext:
    context = _new_context(config.get_list("smtpd_tls_protocols"))
    _load_pair(context, cert, config.get(f"{prefix}_tls_key_file") or None)
    return context


def _new_context(protocols: list[str]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_ciphers(CIPHERS)
    context.minimum_version, context.maximum_version = _versions(protocols)
    return context


def _versions(items: list[str]) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    words = {item.replace(" ", "").lower() for item in items}
    low, high = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
    if ">=tlsv1.3" in words or "!tlsv1.2" in words or words == {"tlsv1.3"}:
        low = ssl.TLSVersion.TLSv1_3
    if "<=tlsv1.2" in words or "!tlsv1.3" in words:
        high = ssl.TLSVersion.TLSv1_2
    if low > high:
        raise ConfigError(f"TLS protocols {', '.join(items)}: no version left at TLS 1.2 or later")
    return low, high


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
        _load_pair(context, cert, key)


def _load_pair(context: ssl.SSLContext, cert: str, key: str | None) -> None:
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"cannot load TLS certificate {cert} (key {key or cert}): {e}") from e


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
