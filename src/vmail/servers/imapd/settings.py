"""One snapshot of the IMAP server's settings, read once from the effective configuration."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from vmail.auth.service import Authenticator
from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.servers.tls import access_context


@dataclass(frozen=True)
class ImapSettings:
    """What a new IMAP connection needs to know (immutable: reload builds a new one)."""

    config: MainConfig
    authenticator: Authenticator | None
    service_name: str
    banner: str
    tls_context: ssl.SSLContext | None
    tls_level: str
    wrappermode: bool
    tls_auth_only: bool
    timeout: float
    login_timeout: float
    idle_notify_interval: float
    max_line: int
    max_unauthenticated_literal: int
    append_limit: int
    client_limit: int
    max_userip_connections: int
    hidden_capabilities: frozenset[str]
    write_timeout: float

    @classmethod
    def from_config(
        cls, config: MainConfig, authenticator: Authenticator | None, service_name: str
    ) -> ImapSettings:
        """Read and check; ConfigError for an unusable value (e.g. TLS without certificate)."""
        level = config.get("imapd_tls_security_level").strip().lower()
        wrappermode = config.get_bool("imapd_tls_wrappermode")
        context = access_context(config, "imapd")
        separator = config.get("mail_hierarchy_separator")
        if separator not in (".", "/"):
            raise ConfigError(f"mail_hierarchy_separator: must be . or /, not {separator!r}")
        return cls(
            config=config,
            authenticator=authenticator,
            service_name=service_name,
            banner=config.get("imapd_banner") or f"{config.mail_name} ready.",
            tls_context=context,
            tls_level=level,
            wrappermode=wrappermode,
            tls_auth_only=config.get_bool("imapd_tls_auth_only") or level == "encrypt",
            timeout=float(config.get_time("imapd_timeout")),
            login_timeout=float(config.get_time("imapd_login_timeout")),
            idle_notify_interval=float(max(config.get_time("imapd_idle_notify_interval"), 1)),
            max_line=config.get_size("imapd_max_line_length"),
            max_unauthenticated_literal=config.get_size("imapd_max_unauthenticated_literal"),
            append_limit=config.get_size("imapd_append_limit"),
            client_limit=config.get_int("imapd_client_limit"),
            max_userip_connections=config.get_int("mail_max_userip_connections"),
            write_timeout=float(config.get_time("imapd_write_timeout")),
            hidden_capabilities=frozenset(
                item.upper() for item in config.get_list("imapd_capabilities_hidden")
            ),
        )


__all__ = ["ImapSettings"]
