"""Bounce message templates: Postfix's built-in texts and ``bounce_template_file``.

A :class:`Template` is what bounce(5) describes: optional headers (``Charset``, ``From``,
``Subject``, ``Postmaster-Subject``) and a message text with ``$name`` references. The
defaults are Postfix 3.7's (``postconf -b`` prints them expanded). A template file holds
``failure_template = <<EOF`` ... ``EOF`` blocks; those it names replace the built-in ones.

:func:`expand_text` expands the text the way the bounce service does: main.cf parameters,
``$delay_warning_time_<unit>`` and ``$maximal_queue_lifetime_<unit>`` (the value in that
unit, rounded down: ``seconds``, ``minutes``, ``hours``, ``days``, ``weeks``) and ``$$``.
Pure apart from reading the template file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from vmail.config import MainConfig
from vmail.config.expand import MacroError, expand
from vmail.core.errors import ConfigError

FAILURE = "failure"
DELAY = "delay"
SUCCESS = "success"

_FROM = "MAILER-DAEMON (Mail Delivery System)"
_HELP = """
For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system
"""


@dataclass(frozen=True)
class Template:
    """One notice's headers and (unexpanded) text."""

    subject: str
    text: str
    sender: str = _FROM  # the From: header, before @$myhostname is appended
    postmaster_subject: str = ""
    charset: str = "us-ascii"


DEFAULTS: dict[str, Template] = {
    FAILURE: Template(
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host $myhostname.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n" + _HELP,
        postmaster_subject="Postmaster Copy: Undelivered Mail",
    ),
    DELAY: Template(
        "Delayed Mail (still being retried)",
        "This is the mail system at host $myhostname.\n\n"
        "####################################################################\n"
        "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
        "####################################################################\n\n"
        "Your message could not be delivered for more than $delay_warning_time_hours hour(s)."
        "\nIt will be retried until it is $maximal_queue_lifetime_days day(s) old.\n" + _HELP,
        postmaster_subject="Postmaster Warning: Delayed Mail",
    ),
    SUCCESS: Template(
        "Successful Mail Delivery Report",
        "This is the mail system at host $myhostname.\n\n"
        "Your message was successfully delivered to the destination(s)\n"
        "listed below. If the message was delivered to mailbox you will\n"
        "receive no further notifications. Otherwise you may still receive\n"
        "notifications of mail delivery errors from other systems.\n\n"
        "                   The mail system\n",
    ),
}

_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
_TIMED = ("delay_warning_time", "maximal_queue_lifetime")
_START = re.compile(r"^\s*([a-z]+)_template\s*=\s*<<\s*(\S+)\s*$")
_HEADERS = {"charset": "charset", "from": "sender", "subject": "subject"}


def load_templates(config: MainConfig) -> dict[str, Template]:
    """The templates in effect: the defaults, overridden by ``bounce_template_file``."""
    path = config.get("bounce_template_file")
    if not path:
        return dict(DEFAULTS)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"bounce_template_file {path}: {e}") from None
    return {**DEFAULTS, **parse_template_file(text, path)}


def parse_template_file(text: str, name: str = "bounce template") -> dict[str, Template]:
    """The templates a bounce(5) template file defines (ConfigError when malformed)."""
    out: dict[str, Template] = {}
    lines = iter(enumerate(text.splitlines(), 1))
    for number, line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _START.match(line)
        if match is None or match.group(1) not in (FAILURE, DELAY, SUCCESS, "verify"):
            raise ConfigError(f"{name}, line {number}: expected 'NAME_template = <<EOF'")
        kind, end = match.groups()
        body = []
        for _, inner in lines:
            if inner.strip() == end:
                break
            body.append(inner)
        else:
            raise ConfigError(f"{name}: {kind}_template: missing '{end}' line")
        if kind != "verify":
            out[kind] = _parse_template(body, DEFAULTS[kind], f"{name}: {kind}_template")
    return out


def _parse_template(body: list[str], default: Template, where: str) -> Template:
    template = default
    for i, line in enumerate(body):
        if not line.strip():
            return replace(template, text="\n".join(body[i + 1 :]) + "\n")
        label, sep, value = line.partition(":")
        key = label.strip().lower()
        if not sep or not value.strip():
            break  # no header block: the whole body is text
        if key == "postmaster-subject":
            template = replace(template, postmaster_subject=value.strip())
        elif key in _HEADERS:
            if not value.isascii():
                raise ConfigError(f"{where}: header {label} must be ASCII")
            template = replace(template, **{_HEADERS[key]: value.strip()})
        else:
            raise ConfigError(f"{where}: unknown header {label!r}")
    else:
        return replace(template, text="")
    return replace(template, text="\n".join(body) + "\n")


def expand_text(text: str, config: MainConfig) -> str:
    """``text`` with main.cf parameters and the time-unit forms expanded."""

    def lookup(name: str) -> str | None:
        for timed in _TIMED:
            unit = name[len(timed) + 1 :] if name.startswith(timed + "_") else ""
            if unit in _UNITS:
                return str(config.get_time(timed) // _UNITS[unit])
        if config.is_known(name) or config.is_set(name):
            return config.get(name).replace("$", "$$")
        return None

    def undefined(name: str) -> None:
        raise ConfigError(f"bounce template: unknown parameter ${name}")

    try:
        return expand(text, lookup, on_undefined=undefined)
    except MacroError as e:
        raise ConfigError(f"bounce template: {e.message}") from None


__all__ = [
    "DEFAULTS",
    "DELAY",
    "FAILURE",
    "SUCCESS",
    "Template",
    "expand_text",
    "load_templates",
    "parse_template_file",
]
