"""A POP3 listener's configuration snapshot, read once from main.cf (``pop3d_*``, ``mail_*``)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.protocol.pop3.uidl import UidlFormat, UidlFormatError
from vmail.servers.tls import access_context


@dataclass(frozen=True)
class Pop3Settings:
    """What new connections use; open ones keep the snapshot they started with."""

    greeting: str
    timeout: float
    tls_context: ssl.SSLContext | None
    wrapper: bool
    tls_required: bool
    plaintext_needs_tls: bool
    uidl_format: UidlFormat
    lock_session: bool
    client_limit: int
    userip_limit: int

    @property
    def offers_stls(self) -> bool:
        return self.tls_context is not None and not self.wrapper

    @classmethod
    def from_config(cls, config: MainConfig) -> Pop3Settings:
        """ConfigError for an unusable TLS setup or ``pop3d_uidl_format``."""
        try:
            uidl = UidlFormat(config.get("pop3d_uidl_format"))
        except UidlFormatError as error:
            raise ConfigError(str(error)) from None
        level = config.get("pop3d_tls_security_level").strip().lower()
        return cls(
            greeting=config.get("pop3d_banner") or f"{config.mail_name} ready.",
            timeout=float(config.get_time("pop3d_timeout")),
            tls_context=access_context(config, "pop3d"),
            wrapper=config.get_bool("pop3d_tls_wrappermode"),
            tls_required=level == "encrypt",
            plaintext_needs_tls=config.get_bool("pop3d_tls_auth_only") or level == "encrypt",
            uidl_format=uidl,
            lock_session=config.get_bool("pop3d_lock_session"),
            client_limit=max(1, config.get_int("pop3d_client_limit")),
            userip_limit=config.get_int("mail_max_userip_connections"),
        )
