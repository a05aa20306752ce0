"""Every parameter vmail honours, declared once: name, type, Postfix 3.7 default, doc.

Defaults are Postfix's as of 3.7 with ``compatibility_level = 3.6``. A default may refer to
other parameters with ``$name``; it is expanded lazily like any value. Defaults that
depend on the host (``myhostname``) are computed in :mod:`vmail.config.main`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    STRING = "string"
    BOOL = "bool"
    INT = "int"
    TIME = "time"
    SIZE = "size"
    LIST = "list"


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: Kind
    default: str
    doc: str
    time_unit: str = "s"


def _p(name: str, kind: Kind, default: str, doc: str, time_unit: str = "s") -> Parameter:
    return Parameter(name, kind, default, doc, time_unit)


S, B, I, T, Z, L = Kind.STRING, Kind.BOOL, Kind.INT, Kind.TIME, Kind.SIZE, Kind.LIST

_DECLARED = [
    _p("compatibility_level", S, "3.6", "Backwards-compatibility level (vmail uses 3.6 defaults)."),
    _p("config_directory", S, "/etc/vmail", "Directory holding main.cf and master.cf."),
    _p("myhostname", S, "", "Internet hostname of this mail system (default: the host's FQDN)."),
    _p(
        "mydomain",
        S,
        "",
        "Internet domain name of this mail system (default: $myhostname less its first label).",
    ),
    _p("myorigin", S, "$myhostname", "Domain appended to unqualified addresses."),
    _p(
        "mydestination",
        L,
        "$myhostname, localhost.$mydomain, localhost",
        "Domains delivered by $local_transport.",
    ),
    _p(
        "inet_interfaces",
        L,
        "all",
        "Network interface addresses this mail system receives mail on.",
    ),
    _p(
        "proxy_interfaces",
        L,
        "",
        "Addresses of proxies or NAT devices that forward mail to this system.",
    ),
    _p(
        "mynetworks_style",
        S,
        "host",
        "How to derive $mynetworks when it is not set: host, subnet or class.",
    ),
    _p("mynetworks", L, "", "Trusted client networks (default: derived from $mynetworks_style)."),
    _p("relay_domains", L, "", "Destinations this system relays mail to."),
    _p("relay_recipient_maps", L, "", "Valid recipients in $relay_domains."),
    _p("relayhost", S, "", "Next-hop destination of non-local mail."),
    _p("transport_maps", L, "", "Tables mapping recipient or domain to transport:nexthop."),
    _p("default_transport", S, "smtp", "Transport for the default domain class."),
    _p("relay_transport", S, "relay", "Transport for the relay domain class."),
    _p("local_transport", S, "local:$myhostname", "Transport for the local domain class."),
    _p("virtual_transport", S, "virtual", "Transport for the virtual mailbox domain class."),
    _p("virtual_alias_domains", L, "$virtual_alias_maps", "Virtual alias domains."),
    _p("virtual_alias_maps", L, "$virtual_maps", "Virtual alias tables (virtual(5))."),
    _p("virtual_maps", L, "", "Obsolete name of $virtual_alias_maps."),
    _p("virtual_mailbox_domains", L, "$virtual_mailbox_maps", "Virtual mailbox domains."),
    _p("virtual_mailbox_maps", L, "", "Valid virtual mailbox recipients and their mailbox paths."),
    _p("virtual_mailbox_base", S, "", "Prefix of every virtual mailbox path."),
    _p(
        "virtual_alias_recursion_limit",
        I,
        "1000",
        "Maximal nesting depth of virtual alias expansion.",
    ),
    _p(
        "virtual_alias_expansion_limit",
        I,
        "1000",
        "Maximal number of addresses one virtual alias expansion may produce.",
    ),
    _p(
        "virtual_alias_address_length_limit",
        I,
        "1000",
        "Maximal length of an address produced by virtual alias expansion.",
    ),
    _p(
        "recipient_delimiter",
        S,
        "",
        "Characters that separate a user name from an address extension.",
    ),
    _p(
        "propagate_unmatched_extensions",
        L,
        "canonical, virtual",
        "Address mappings that keep an unmatched extension.",
    ),
    _p(
        "local_recipient_maps", L, "proxy:unix:passwd.byname $alias_maps", "Valid local recipients."
    ),
    _p("alias_maps", L, "hash:/etc/aliases", "Local aliases(5) tables."),
    _p("swap_bangpath", B, "yes", "Rewrite site!user into user@site."),
    _p("allow_percent_hack", B, "yes", "Rewrite user%domain into user@domain."),
    _p("append_at_myorigin", B, "yes", "Append @$myorigin to addresses without a domain."),
    _p("append_dot_mydomain", B, "no", "Append .$mydomain to domains without a dot."),
    _p("resolve_dequoted_address", B, "yes", "Resolve the address after removing quotes."),
    _p("resolve_null_domain", B, "no", "Resolve user@ as a local address instead of rejecting it."),
    _p(
        "resolve_numeric_domain",
        B,
        "no",
        "Resolve user@ipaddress as local when the address is one of ours.",
    ),
    _p("empty_address_recipient", S, "MAILER-DAEMON", "Recipient of mail for the empty address."),
    _p(
        "smtpd_relay_restrictions",
        L,
        "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
        "Relay control at RCPT TO, before smtpd_recipient_restrictions.",
    ),
    _p("smtpd_recipient_restrictions", L, "", "Restrictions at RCPT TO."),
    _p(
        "smtpd_reject_unlisted_recipient",
        B,
        "yes",
        "Reject recipients unknown in their address class.",
    ),
    _p("show_user_unknown_table_name", B, "yes", "Name the table in 'User unknown' replies."),
    _p("unknown_local_recipient_reject_code", I, "550", "Reply code for unknown local recipients."),
    _p(
        "unknown_virtual_alias_reject_code",
        I,
        "550",
        "Reply code for unknown virtual alias recipients.",
    ),
    _p(
        "unknown_virtual_mailbox_reject_code",
        I,
        "550",
        "Reply code for unknown virtual mailbox recipients.",
    ),
    _p("unknown_relay_recipient_reject_code", I, "550", "Reply code for unknown relay recipients."),
    _p("relay_domains_reject_code", I, "554", "Reply code for relay access denied."),
    _p("access_map_reject_code", I, "554", "Reply code for REJECT in an access table."),
    _p("access_map_defer_code", I, "450", "Reply code for DEFER in an access table."),
    _p("defer_code", I, "450", "Reply code for defer_* restrictions."),
    _p("reject_code", I, "554", "Reply code for reject."),
    _p("non_fqdn_reject_code", I, "504", "Reply code for reject_non_fqdn_*."),
    _p("unknown_address_reject_code", I, "450", "Reply code for reject_unknown_*_domain."),
    _p(
        "unknown_address_tempfail_action",
        S,
        "$reject_tempfail_action",
        "Action when a domain lookup fails temporarily.",
    ),
    _p(
        "reject_tempfail_action",
        S,
        "defer_if_permit",
        "Action for temporary failures in restrictions.",
    ),
    _p(
        "parent_domain_matches_subdomains",
        L,
        "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps",
        "Features where a parent domain also matches its subdomains.",
    ),
]

PARAMETERS: dict[str, Parameter] = {p.name: p for p in _DECLARED}
