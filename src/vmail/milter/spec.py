"""``smtpd_milters`` and ``non_smtpd_milters`` read from main.cf, as Postfix reads them.

Each item is an endpoint (``inet:host:port``, ``unix:/path``) or, since Postfix 3.0, a
``{ endpoint, name = value, ... }`` group whose settings override the ``milter_*``
parameter of that name for this application: ``command_timeout``, ``connect_timeout``,
``content_timeout``, ``default_action``, ``protocol``. The macro lists
(``milter_*_macros``) and ``milter_macro_defaults`` apply to all.
"""

from __future__ import annotations

import re

from vmail.config import MainConfig
from vmail.config.values import split_list
from vmail.core.errors import ConfigError
from vmail.milter import protocol as p
from vmail.milter.client import MilterSpec, macro_key

_MACRO_SEPARATORS = re.compile(r"[\s,]+")
# milter_macro_defaults items: {name}=value, name=value, or { name = value }
_DEFAULTS = re.compile(r"\{[^{}]*\}=[^\s,]*|\{(?:[^{}]|\{[^{}]*\})*\}|[^\s,]+")
SETTINGS = ("command_timeout", "connect_timeout", "content_timeout", "default_action", "protocol")
MACRO_LISTS = (
    (p.STAGE_CONNECT, "milter_connect_macros"),
    (p.STAGE_HELO, "milter_helo_macros"),
    (p.STAGE_MAIL, "milter_mail_macros"),
    (p.STAGE_RCPT, "milter_rcpt_macros"),
    (p.STAGE_DATA, "milter_data_macros"),
    (p.STAGE_EOH, "milter_end_of_header_macros"),
    (p.STAGE_EOM, "milter_end_of_data_macros"),
    (p.STAGE_UNKNOWN, "milter_unknown_command_macros"),
)


def milter_specs(config: MainConfig, parameter: str) -> tuple[MilterSpec, ...]:
    """The applications ``parameter`` names, in order (ConfigError for a bad setting)."""
    items = config.get_list(parameter)
    if not items:
        return ()
    # names are sent as written: "{daemon_name}" keeps its braces (not a list group)
    macro_lists = tuple(
        (
            stage,
            tuple(_MACRO_SEPARATORS.split(config.get(name).strip()))
            if config.get(name).strip()
            else (),
        )
        for stage, name in MACRO_LISTS
    )
    defaults = []
    for pair in _DEFAULTS.findall(config.get("milter_macro_defaults")):
        if pair.startswith("{") and pair.endswith("}") and "=" in pair:
            pair = pair[1:-1]  # "{ name = value }": spaces kept
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise ConfigError(
                f"milter_macro_defaults: bad name=value pair {pair!r}",
                config.locations.get("milter_macro_defaults"),
            )
        defaults.append((macro_key(name.strip()), value.strip()))
    specs = []
    for item in items:
        endpoint, *settings = split_list(item)  # "{ name = value }" may hold spaces
        overrides = {}
        for setting in settings:
            name, equals, value = (part.strip() for part in setting.partition("="))
            if not equals or name not in SETTINGS:
                raise ConfigError(
                    f"{parameter}: {endpoint}: unknown milter setting {setting!r}",
                    config.locations.get(parameter),
                )
            overrides[f"milter_{name}"] = value
        own = config.with_overrides(overrides) if overrides else config
        specs.append(
            MilterSpec(
                endpoint=endpoint,
                connect_timeout=float(own.get_time("milter_connect_timeout")),
                command_timeout=float(own.get_time("milter_command_timeout")),
                content_timeout=float(own.get_time("milter_content_timeout")),
                default_action=own.get("milter_default_action").strip(),
                protocol=own.get("milter_protocol"),
                macro_lists=macro_lists,
                macro_defaults=tuple(defaults),
            )
        )
    return tuple(specs)
