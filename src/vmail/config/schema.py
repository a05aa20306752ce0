"""Every parameter vmail honours, declared once: name, kind, Postfix 3.7 default, doc.

Defaults are Postfix's as of 3.7 with ``compatibility_level = 3.6`` (the declarations live
in :mod:`vmail.config.schema_data`). A default may refer to other parameters with
``$name``; it is expanded lazily like any value. Defaults that depend on the host
(``myhostname``, ``mydomain``, ``mynetworks``) are computed in :mod:`vmail.config.hostinfo`.

Like Postfix, each delivery service in master.cf (command ``smtp``, ``lmtp``, ``local``,
``virtual``, ``error`` or ``pipe``) adds per-transport parameters such as
``NAME_destination_concurrency_limit``; see :func:`service_parameters`.

vmail-only parameters use the prefixes ``imapd_``, ``pop3d_``, ``web_`` and ``vmail_`` (and
``mail_`` for the mail store) and are declared in ``VMAIL_PARAMETERS`` and
:mod:`vmail.config.schema_access` and :mod:`vmail.config.schema_web`.
"""

from __future__ import annotations

import functools

from vmail.config.kinds import I, Kind, Parameter, S, T, declare
from vmail.config.schema_access import ACCESS_PARAMETERS
from vmail.config.schema_data import POSTFIX_PARAMETERS
from vmail.config.schema_web import WEB_PARAMETERS

__all__ = [
    "DELIVERY_COMMANDS",
    "PARAMETERS",
    "VMAIL_ONLY",
    "VMAIL_PREFIXES",
    "Kind",
    "Parameter",
    "lookup",
    "service_parameters",
]

VMAIL_PREFIXES = ("imapd_", "pop3d_", "web_", "vmail_")

VMAIL_PARAMETERS: tuple[Parameter, ...] = (
    declare(
        "vmail_data_directory",
        S,
        "/var/lib/vmail",
        "Directory of vmail's own state: mail store, spool and the SQLite directory database.",
    ),
    declare(
        "vmail_database",
        S,
        "sqlite:///$vmail_data_directory/vmail.db",
        "SQLAlchemy URL of the directory database (PostfixAdmin's schema): sqlite:///PATH,"
        " postgresql://USER:PASSWORD@HOST/DB or mysql://USER:PASSWORD@HOST/DB.",
    ),
    declare(
        "vmail_vacation_domain",
        S,
        "",
        "Domain of vacation (out-of-office) alias targets, PostfixAdmin's $CONF['vacation_domain']:"
        " while a mailbox's vacation is on, its alias also goes to local#domain@THIS."
        " Empty: autoreply.<the mailbox's domain>.",
    ),
)

# Parameters Postfix does not have (vmail's own, whatever their prefix).
VMAIL_ONLY: frozenset[str] = frozenset(
    p.name for p in (*VMAIL_PARAMETERS, *ACCESS_PARAMETERS, *WEB_PARAMETERS)
)

PARAMETERS: dict[str, Parameter] = {
    p.name: p for p in (*POSTFIX_PARAMETERS, *VMAIL_PARAMETERS, *ACCESS_PARAMETERS, *WEB_PARAMETERS)
}

# master.cf commands that make Postfix define per-transport scheduler parameters.
DELIVERY_COMMANDS = frozenset({"smtp", "lmtp", "local", "virtual", "error", "pipe"})

# suffix -> (kind, default, doc, unit); NAME_suffix defaults to the global parameter.
_PER_TRANSPORT: dict[str, tuple[Kind, str, str, str]] = {
    "delivery_slot_cost": (I, "$default_delivery_slot_cost", "scheduler slot cost", "s"),
    "delivery_slot_discount": (I, "$default_delivery_slot_discount", "slot discount", "s"),
    "delivery_slot_loan": (I, "$default_delivery_slot_loan", "slot loan", "s"),
    "destination_concurrency_failed_cohort_limit": (
        I,
        "$default_destination_concurrency_failed_cohort_limit",
        "failed-cohort limit before throttling a destination",
        "s",
    ),
    "destination_concurrency_limit": (
        I,
        "$default_destination_concurrency_limit",
        "parallel deliveries to one destination",
        "s",
    ),
    "destination_concurrency_negative_feedback": (
        S,
        "$default_destination_concurrency_negative_feedback",
        "concurrency decrease after a failure",
        "s",
    ),
    "destination_concurrency_positive_feedback": (
        S,
        "$default_destination_concurrency_positive_feedback",
        "concurrency increase after a success",
        "s",
    ),
    "destination_rate_delay": (
        T,
        "$default_destination_rate_delay",
        "pause between deliveries to one destination",
        "s",
    ),
    "destination_recipient_limit": (
        I,
        "$default_destination_recipient_limit",
        "recipients per delivery",
        "s",
    ),
    "extra_recipient_limit": (I, "$default_extra_recipient_limit", "extra recipients", "s"),
    "initial_destination_concurrency": (
        I,
        "$initial_destination_concurrency",
        "parallel deliveries when starting",
        "s",
    ),
    "minimum_delivery_slots": (I, "$default_minimum_delivery_slots", "minimum slots", "s"),
    "recipient_limit": (I, "$default_recipient_limit", "recipients in memory", "s"),
    "recipient_refill_delay": (T, "$default_recipient_refill_delay", "refill delay", "s"),
    "recipient_refill_limit": (I, "$default_recipient_refill_limit", "refill size", "s"),
    "transport_rate_delay": (T, "$default_transport_rate_delay", "pause between deliveries", "s"),
}
_PIPE_ONLY: dict[str, tuple[Kind, str, str, str]] = {
    "time_limit": (T, "$command_time_limit", "time limit of one command delivery", "s"),
}


def service_parameters(service: str, command: str) -> list[Parameter]:
    """Per-transport parameters that master.cf service ``service`` running ``command`` adds."""
    if command not in DELIVERY_COMMANDS:
        return []
    table = {**_PER_TRANSPORT, **(_PIPE_ONLY if command == "pipe" else {})}
    out = []
    for suffix, (kind, default, doc, unit) in table.items():
        name = f"{service}_{suffix}"
        declared = PARAMETERS.get(name)
        if declared is not None:
            out.append(declared)
        else:
            out.append(declare(name, kind, default, f"The {service} transport's {doc}.", unit))
    return out


def lookup(name: str) -> Parameter | None:
    """The declaration of ``name``: static, or per-transport by suffix (any transport name).

    Per-transport names are recognised here whatever master.cf says, so that a delivery
    agent can always read its own limits; ``postconf`` restricts them to master.cf services.
    """
    param = PARAMETERS.get(name)
    if param is not None:
        return param
    return _per_transport(name)


@functools.lru_cache(maxsize=1024)
def _per_transport(name: str) -> Parameter | None:
    """:func:`lookup` of a name no static declaration has (asked per message by the
    queue manager, hence remembered)."""
    for suffix in (*_PER_TRANSPORT, *_PIPE_ONLY):
        if name.endswith("_" + suffix) and len(name) > len(suffix) + 1:
            service = name[: -len(suffix) - 1]
            kind, default, doc, unit = {**_PER_TRANSPORT, **_PIPE_ONLY}[suffix]
            return declare(name, kind, default, f"The {service} transport's {doc}.", unit)
    return None
