"""Per-listener settings of an SMTP/LMTP session, with Postfix's parameter names.

The server builds one from ``vmail.config.MainConfig`` (``protocol`` is L1 and cannot read
configuration itself); the defaults are Postfix 3.7's, except where vmail's are safer:
VRFY is off and bare newlines are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BareNewline = Literal["reject", "normalize", "no"]


@dataclass(frozen=True)
class SessionConfig:
    """Everything the session core decides by itself."""

    myhostname: str = "localhost"
    smtpd_banner: str = "$myhostname ESMTP"  # "$myhostname" is replaced
    lmtp: bool = False
    message_size_limit: int = 10240000  # 0: no limit
    smtpd_recipient_limit: int = 1000
    smtpd_recipient_overshoot_limit: int = 1000
    smtpd_hard_error_limit: int = 20
    smtpd_soft_error_limit: int = 10
    smtpd_error_sleep_time: float = 0.0  # seconds; Postfix's default is 1s (see Settings)
    smtpd_junk_command_limit: int = 100
    line_length_limit: int = 2048
    smtpd_sasl_response_limit: int = 12288
    smtpd_forbid_bare_newline: BareNewline = "reject"
    smtpd_forbid_bare_newline_reject_code: int = 550
    smtpd_helo_required: bool = False
    disable_vrfy_command: bool = True
    tls_available: bool = False  # a certificate is configured (STARTTLS offered)
    tls_active: bool = False  # implicit TLS (port 465) or after STARTTLS
    smtpd_sasl_auth_enable: bool = False
    smtpd_tls_auth_only: bool = False
    sasl_exception: bool = False  # smtpd_sasl_exceptions_networks: EHLO does not show AUTH
    sasl_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    smtputf8_enable: bool = True
    dsn_enable: bool = True
    binarymime: bool = False  # Postfix 3.7 has none; off answers 555 like Postfix
    etrn_allowed: bool = False
    xclient_allowed: bool = False
    xforward_allowed: bool = False
    # EHLO keywords (upper case, see vmail.protocol.smtp.ehlomask) this client is not
    # offered; as in Postfix, AUTH, DSN, SMTPUTF8, CHUNKING and STARTTLS are then off too
    smtpd_discard_ehlo_keywords: frozenset[str] = frozenset()
    max_pipelined_input: int = 1 << 20  # bytes held while a decision is pending

    @property
    def banner(self) -> str:
        return self.smtpd_banner.replace("$myhostname", self.myhostname)
