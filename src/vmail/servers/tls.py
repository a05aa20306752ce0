"""TLS server contexts shared by every listener (SMTP, IMAP, POP3, HTTPS).

vmail never offers less than TLS 1.2; a protocol list in Postfix's syntax
(``smtpd_tls_protocols``) can raise the floor (``>=TLSv1.3``, ``!TLSv1.2``) or cap it
(``<=TLSv1.2``, ``!TLSv1.3``). The IMAP, POP3 and web listeners take their certificate
from ``<prefix>_tls_cert_file`` and ``<prefix>_tls_key_file`` (which default to the SMTP
server's) and their protocol versions from ``smtpd_tls_protocols``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.core.fileio import write_all
from vmail.core.privread import read_privileged

LEVELS = ("none", "may", "encrypt")
CIPHERS = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!DSS:!PSK:!SRP:!CAMELLIA"


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
    context = new_context(config.get_list("smtpd_tls_protocols"))
    load_pair(context, cert, config.get(f"{prefix}_tls_key_file") or None)
    return context


def new_context(protocols: list[str]) -> ssl.SSLContext:
    """A server context at TLS 1.2 or later, narrowed by ``protocols`` (Postfix syntax)."""
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


TLS_FILE_PARAMETERS = (
    *(
        f"{prefix}_tls_{kind}"
        for prefix in ("smtpd", "imapd", "pop3d", "web")
        for kind in ("cert_file", "key_file")
    ),
    "smtpd_tls_chain_files",
)


def tls_files(configs: Iterable[MainConfig]) -> frozenset[str]:
    """The certificate and key files the listeners of ``configs`` (main.cf and each
    service's ``-o`` view) load: what root's helper may read for a reload."""
    files: set[str] = set()
    for config in configs:
        for parameter in TLS_FILE_PARAMETERS:
            if config.is_known(parameter) or config.is_set(parameter):
                files.update(name for name in config.get_list(parameter) if name.startswith("/"))
    return frozenset(files)


def load_pair(context: ssl.SSLContext, cert: str, key: str | None) -> None:
    """Load a certificate (chain) and its key (``None``: in the same file); ConfigError
    naming the files when that fails. Files only root may read are read through the
    privileged helper (a reload after vmail dropped root, see :mod:`vmail.core.privread`)."""
    try:
        try:
            context.load_cert_chain(cert, key)
        except PermissionError:
            if not _load_as_root(context, cert, key):
                raise
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"cannot load TLS certificate {cert} (key {key or cert}): {e}") from e


def _load_as_root(context: ssl.SSLContext, cert: str, key: str | None) -> bool:
    """Load the pair from what root's helper read (False: there is no helper). The bytes
    go to anonymous memory files that OpenSSL opens by their /proc/self/fd name."""
    contents = [read_privileged(name) for name in (cert, key) if name]
    if any(data is None for data in contents):
        return False
    fds = [os.memfd_create("vmail-tls", os.MFD_CLOEXEC) for _ in contents]
    try:
        for fd, data in zip(fds, contents, strict=True):
            assert data is not None
            write_all(fd, data)
        names = [f"/proc/self/fd/{fd}" for fd in fds]
        context.load_cert_chain(names[0], names[1] if len(names) > 1 else None)
    finally:
        for fd in fds:
            os.close(fd)
    return True


__all__ = [
    "CIPHERS",
    "LEVELS",
    "access_context",
    "load_pair",
    "new_context",
    "tls_files",
    "wrapper_context",
]
