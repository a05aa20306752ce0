"""What one configuration snapshot decides for an SMTP/LMTP listener.

:class:`Settings` is built once per snapshot (``vmail serve`` builds a new one on reload):
TLS (:mod:`~vmail.servers.smtpd.tls`; STARTTLS offered at level ``may``/``encrypt``,
SMTPS with ``smtpd_tls_wrappermode``), whether AUTH is offered (``smtpd_sasl_auth_enable``
and an :class:`~vmail.auth.service.Authenticator`), who may use XCLIENT/XFORWARD, whose
mail gets missing headers (``local_header_rewrite_clients``), and the RCPT policy — for
LMTP one that accepts only local recipients. A connection keeps the snapshot it started
with. Configuration errors raise ConfigError here, before any client is served.
"""

from __future__ import annotations

import dataclasses

from vmail.auth.service import Authenticator
from vmail.cleanup import Cleanup
from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.milter.client import MilterSpec
from vmail.milter.spec import milter_specs
from vmail.policy.networks import NetworkList
from vmail.policy.restrictions import RecipientPolicy
from vmail.protocol.smtp import SessionConfig
from vmail.protocol.smtp.config import BareNewline
from vmail.protocol.smtp.ehlomask import ehlo_keywords
from vmail.rewrite.context import RoutingContext
from vmail.route import Router
from vmail.servers.smtpd.ccert import ask_for_certificates, ccert_settings
from vmail.servers.smtpd.proxy import listener_settings
from vmail.servers.smtpd.proxyfilter import proxy_settings
from vmail.servers.smtpd.rewrite import RewriteClients
from vmail.servers.smtpd.tls import security_level, server_context
from vmail.tables.maps import Maps

# LMTP takes mail another MTA already accepted: no client/sender checks, no relaying,
# only recipients that exist here.
LMTP_POLICY = {
    "smtpd_client_restrictions": "",
    "smtpd_helo_restrictions": "",
    "smtpd_sender_restrictions": "",
    "smtpd_relay_restrictions": "",
    "smtpd_recipient_restrictions": "",
    "smtpd_reject_unlisted_recipient": "yes",
}


def session_config(config: MainConfig) -> SessionConfig:
    """The session settings from main.cf (the banner says ``vmail`` unless mail_name is set)."""
    if not config.is_set("smtpd_banner"):
        mail_name = config.mail_name
        banner = f"$myhostname ESMTP {mail_name}"
    else:
        banner = config.get("smtpd_banner")
    return SessionConfig(
        myhostname=config.get("myhostname"),
        smtpd_banner=banner or "$myhostname ESMTP",
        message_size_limit=config.get_int("message_size_limit"),
        smtpd_recipient_limit=config.get_int("smtpd_recipient_limit"),
        smtpd_hard_error_limit=config.get_int("smtpd_hard_error_limit"),
        smtpd_soft_error_limit=config.get_int("smtpd_soft_error_limit"),
        smtpd_error_sleep_time=float(config.get_time("smtpd_error_sleep_time")),
        smtpd_junk_command_limit=config.get_int("smtpd_junk_command_limit"),
        smtpd_helo_required=config.get_bool("smtpd_helo_required"),
        smtpd_tls_auth_only=config.get_bool("smtpd_tls_auth_only"),
        smtpd_sasl_auth_enable=config.get_bool("smtpd_sasl_auth_enable"),
        smtpd_forbid_bare_newline=bare_newline_mode(config),
        smtpd_forbid_bare_newline_reject_code=config.get_int(
            "smtpd_forbid_bare_newline_reject_code"
        ),
        disable_vrfy_command=config.get_bool("disable_vrfy_command"),
        etrn_allowed=True,  # as Postfix (answered from fast_flush_domains)
        smtputf8_enable=config.get_bool("smtputf8_enable"),
        line_length_limit=max(config.get_int("line_length_limit"), 512),
        smtpd_discard_ehlo_keywords=ehlo_keywords(config.get_list("smtpd_discard_ehlo_keywords")),
    )


BARE_NEWLINE_VALUES: dict[str, BareNewline] = {
    "normalize": "normalize",
    "yes": "normalize",  # Postfix 3.9: "yes" is an alias of "normalize"
    "reject": "reject",
    "no": "no",
}


def bare_newline_mode(config: MainConfig) -> BareNewline:
    """``smtpd_forbid_bare_newline`` (ConfigError naming main.cf:line for a bad value)."""
    value = config.get("smtpd_forbid_bare_newline").strip().lower()
    mode = BARE_NEWLINE_VALUES.get(value)
    if mode is None:
        raise ConfigError(
            f"invalid smtpd_forbid_bare_newline value: {value!r} "
            "(expected normalize, reject or no)",
            config.locations.get("smtpd_forbid_bare_newline"),
        )
    return mode


RECEIVE_OPTIONS = frozenset(  # receive_override_options values (no_milters: no milters here)
    {"no_unknown_recipient_checks", "no_address_mappings", "no_header_body_checks", "no_milters"}
)


class Settings:
    """One snapshot's decisions for one listener (see the module docstring)."""

    def __init__(
        self,
        config: MainConfig,
        router: Router,
        cleanup: Cleanup,
        *,
        authenticator: Authenticator | None = None,
        lmtp: bool = False,
    ) -> None:
        self.config = config
        self.router = router
        self.cleanup = cleanup
        self.authenticator = authenticator
        self.lmtp = lmtp
        self.timeout = float(config.get_time("smtpd_timeout"))
        self.tls_timeout = float(config.get_time("smtpd_starttls_timeout"))
        self.tls_level = security_level(config)
        self.tls_context = server_context(config)
        # smtpd_tls_ask_ccert, smtpd_tls_req_ccert: client certificates (see .ccert)
        self.ccert = ccert_settings(config, self.tls_level)
        if self.tls_context is not None and self.ccert.ask:
            ask_for_certificates(self.tls_context, config)
        self.wrappermode = config.get_bool("smtpd_tls_wrappermode")
        # smtpd_upstream_proxy_protocol: the PROXY header read before anything else
        self.upstream_proxy = listener_settings(config)
        # smtpd_proxy_filter: the before-queue content filter each transaction goes to
        self.proxy_filter = None if lmtp else proxy_settings(config)
        self.tls_received_header = config.get_bool("smtpd_tls_received_header")
        self.sasl_auth_header = config.get_bool("smtpd_sasl_authenticated_header")
        self.reject_footer = config.get("smtpd_reject_footer")  # raw: expanded per reply
        self.sasl_service = config.get("smtpd_sasl_service") or "smtp"
        # master.cf "-o syslog_name=postfix/submission": this listener's smtpd lines
        own_name = config.get("syslog_name")
        self.log_name = own_name if own_name != router.config.get("syslog_name") else None
        # what this listener's mail carries into cleanup (master.cf "-o content_filter=")
        self.content_filter = config.get("content_filter")
        self.receive_options = frozenset(config.get_list("receive_override_options"))
        unknown = self.receive_options - RECEIVE_OPTIONS
        if unknown:
            raise ConfigError(f"receive_override_options: unknown value {sorted(unknown)[0]!r}")
        # smtpd_milters (receive_override_options = no_milters: none on this listener)
        self.milters: tuple[MilterSpec, ...] = ()
        self.milter_maps: Maps | None = None  # smtpd_milter_maps: per-client milters
        if not lmtp and "no_milters" not in self.receive_options:
            self.milters = milter_specs(config, "smtpd_milters")
        self.milter_daemon_name = config.get("milter_macro_daemon_name")
        self.milter_v = config.get("milter_macro_v")
        base = session_config(config)
        self.session_config = dataclasses.replace(
            base,
            lmtp=lmtp,
            etrn_allowed=base.etrn_allowed and not lmtp,  # an SMTP command only
            tls_available=self.tls_context is not None and not self.wrappermode,
            tls_active=False,
            smtpd_sasl_auth_enable=base.smtpd_sasl_auth_enable and authenticator is not None,
            smtpd_tls_auth_only=base.smtpd_tls_auth_only or self.tls_level == "encrypt",
        )
        table = router.context.table
        self.xclient_hosts = NetworkList(
            "smtpd_authorized_xclient_hosts",
            config.get_list("smtpd_authorized_xclient_hosts"),
            table,
        )
        self.bare_newline_exclusions = NetworkList(
            "smtpd_forbid_bare_newline_exclusions",
            config.get_list("smtpd_forbid_bare_newline_exclusions"),
            table,
        )
        self.sasl_exceptions = NetworkList(
            "smtpd_sasl_exceptions_networks",
            config.get_list("smtpd_sasl_exceptions_networks"),
            table,
        )
        self.xforward_hosts = NetworkList(
            "smtpd_authorized_xforward_hosts",
            config.get_list("smtpd_authorized_xforward_hosts"),
            table,
        )
        self.rewrite_clients = RewriteClients(config, router.policy.mynetworks, table)
        self.policy = router.policy
        if lmtp or config.settings != router.config.settings:
            # master.cf "-o smtpd_client_restrictions=..." and the like apply to this
            # listener only (submission's permit_sasl_authenticated,reject): the policy
            # reads its own settings, with its own table handles
            policy_config = config.with_overrides(LMTP_POLICY) if lmtp else config
            self.policy = RecipientPolicy(
                RoutingContext(policy_config), router.resolver, router.canonical, router.policy.dns
            )
        if not lmtp and "no_milters" not in self.receive_options:
            # with the listener's own table handles when it has -o overrides
            self.milter_maps = self.policy.context.maps("smtpd_milter_maps") or None
        # per-client EHLO keywords, reply footers and command rewriting (Postfix's tables)
        context = self.policy.context
        self.ehlo_discard_maps = context.maps("smtpd_discard_ehlo_keyword_address_maps") or None
        self.reject_footer_maps = context.maps("smtpd_reject_footer_maps") or None
        self.command_filter = context.maps("smtpd_command_filter") or None
