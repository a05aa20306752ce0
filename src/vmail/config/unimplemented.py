"""Postfix features vmail knows by name but does not have, and the warning for setting one.

These parameters are part of the schema (``vmail postconf`` lists them, with Postfix's
defaults), so setting one is no "unused parameter". But Postfix would act on them and
vmail does not: a milter that is not called, a TLS policy that is not enforced. ``vmail
serve`` logs a warning for each one set in ``main.cf`` or in a ``master.cf -o`` override,
so that an administrator moving a Postfix configuration over is told instead of finding
out from the mail.
"""

from __future__ import annotations

from vmail.config.main import MainConfig
from vmail.config.master import MasterConfig

NOT_IMPLEMENTED = frozenset(
    {
        # address verification (reject_unverified_* are noted and skipped at RCPT)
        "address_verify_sender_dependent_default_transport_maps",
        "address_verify_sender_dependent_relayhost_maps",
        "address_verify_transport_maps",
        # rewriting what the delivery agents report, and what SMTP/DNS servers answer
        "lmtp_dns_reply_filter",
        "smtp_dns_reply_filter",
        "smtpd_dns_reply_filter",
        # the client side's per-server workarounds
        "lmtp_pix_workaround_maps",
        "smtp_pix_workaround_maps",
        # local(8) features beyond aliases and .forward
        "local_login_sender_maps",
        "mailbox_command_maps",
        "mailbox_transport_maps",
    }
)


def unimplemented_settings(config: MainConfig, master: MasterConfig) -> list[str]:
    """A warning for each setting, with a value, of a parameter in :data:`NOT_IMPLEMENTED`."""
    warnings = []
    for name in sorted(NOT_IMPLEMENTED & set(config.settings)):
        if config.settings[name].strip():
            location = config.locations.get(name)
            where = f"{location.filename}: " if location else ""
            warnings.append(f"{where}{name} is not implemented by vmail: the setting has no effect")
    for service in master:
        for name in sorted(NOT_IMPLEMENTED & set(service.overrides)):
            if service.overrides[name].strip():
                warnings.append(
                    f"{master.path}: service {service.name}: -o {name} is not implemented by"
                    " vmail: the setting has no effect"
                )
    return warnings


__all__ = ["NOT_IMPLEMENTED", "unimplemented_settings"]
