"""Where an authenticated account's Maildir++ lives, and its :class:`MailStore`.

Shared by the IMAP and POP3 servers. With ``mail_location`` empty the Maildir is
``$virtual_mailbox_base/<maildir column>`` — the path the ``virtual`` agent delivers to,
checked by the same rule (:func:`vmail.delivery.paths.mailbox_path`: no ``..``, no NUL,
never the base itself). Otherwise ``mail_location`` is a Dovecot template such as
``maildir:/home/vmail/%d/%n`` (``%u`` user, ``%n`` local part, ``%d`` domain, ``%%``;
``%{user}``, ``%{username}``, ``%{domain}`` too); ``:INDEX=``, ``:CONTROL=`` and other
Dovecot suffix options are ignored (the index lives in the Maildir), ``:LAYOUT=`` other
than Maildir++ is refused. An expanded value that is empty, ``.``/``..`` or contains
``/`` or NUL is refused, so no username leads outside the template's directory.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from vmail.auth.accounts import Account
from vmail.config import MainConfig
from vmail.core.errors import VmailError
from vmail.delivery.paths import MailboxPathError, mailbox_path
from vmail.mailstore.store import MailStore

_VARIABLE = re.compile(r"%(\{[a-z]+\}|.?)", re.DOTALL)
_LONG = {"{user}": "u", "{username}": "n", "{domain}": "d"}
_LAYOUTS = ("maildir++", "")
_CACHE_SIZE = 32
_LISTS: dict[tuple[str, str], tuple[str, ...]] = {}
_SPECIAL_USE: dict[str, Mapping[str, str]] = {}


class MailLocationError(VmailError):
    """The account's Maildir cannot be located (bad setting or hostile name)."""


def mail_root(config: MainConfig, account: Account) -> Path:
    """The absolute Maildir++ root of ``account``; MailLocationError if there is none."""
    location = config.get("mail_location").strip()
    if not location:
        return _from_base(config.get("virtual_mailbox_base"), account)
    return _from_template(location, account.username)


def open_store(config: MainConfig, account: Account) -> MailStore:
    """The account's mail store, configured from the ``mail_*`` settings."""
    return MailStore(
        mail_root(config, account),
        separator=config.get("mail_hierarchy_separator"),
        special_use=special_use(config),
        autocreate=_listed(config, "mail_autocreate_folders"),
        hostname=config.get("myhostname") or None,
        quota_bytes=account.quota_bytes,
    )


def special_use(config: MainConfig) -> Mapping[str, str]:
    """``mail_special_use_folders`` (``Name=\\Attr`` items) as a mapping (read-only: one
    per setting value, shared by every session instead of a few objects per login)."""
    key = config.get("mail_special_use_folders")
    cached = _SPECIAL_USE.get(key)
    if cached is None:
        if len(_SPECIAL_USE) >= _CACHE_SIZE:
            _SPECIAL_USE.clear()
        cached = _SPECIAL_USE[key] = _special_use(_listed(config, "mail_special_use_folders"))
    return cached


def _special_use(items: tuple[str, ...]) -> Mapping[str, str]:
    result: dict[str, str] = {}
    for item in items:
        name, sep, attribute = item.partition("=")
        if not sep or not name.strip() or not attribute.strip().startswith("\\"):
            raise MailLocationError(f"mail_special_use_folders: {item!r} is not Name=\\Attribute")
        result[sys.intern(name.strip())] = sys.intern(attribute.strip())
    return MappingProxyType(result)


def _listed(config: MainConfig, name: str) -> tuple[str, ...]:
    """A list setting's items, parsed once per value (the strings shared by sessions)."""
    key = (name, config.get(name))
    items = _LISTS.get(key)
    if items is None:
        if len(_LISTS) >= _CACHE_SIZE:
            _LISTS.clear()  # reloads with ever-new values: start over, never grow
        items = _LISTS[key] = tuple(sys.intern(item) for item in config.get_list(name))
    return items


def _from_base(base: str, account: Account) -> Path:
    if not account.maildir:
        raise MailLocationError(f"{account.username}: the mailbox has no maildir")
    try:
        return Path(mailbox_path(base, account.maildir).path)
    except MailboxPathError as error:
        raise MailLocationError(f"{account.username}: {error}") from None


def _from_template(location: str, username: str) -> Path:
    kind, colon, rest = location.partition(":")
    if not colon or kind.lower() != "maildir":
        raise MailLocationError(f"mail_location {location!r}: only maildir:PATH is supported")
    template, *options = rest.split(":")
    for option in options:
        key, _, value = option.partition("=")
        if key.upper() == "LAYOUT" and value.lower() not in _LAYOUTS:
            raise MailLocationError(f"mail_location: LAYOUT={value} is not supported (Maildir++)")
    if not template.startswith("/"):
        raise MailLocationError(f"mail_location {location!r}: the path must be absolute")
    local, _, domain = username.partition("@")
    values = {"u": username, "n": local, "d": domain}

    def expand(match: re.Match[str]) -> str:
        key = _LONG.get(match.group(1), match.group(1))
        if key == "%":
            return "%"
        if key not in values:
            raise MailLocationError(f"mail_location: unsupported variable %{match.group(1)}")
        value = values[key]
        if value in ("", ".", "..") or "/" in value or "\0" in value:
            raise MailLocationError(f"mail_location: unusable %{key} value for {username!r}")
        return value

    fixed = template.split("%", 1)[0]
    path = os.path.normpath(_VARIABLE.sub(expand, template))
    prefix = os.path.normpath(fixed if fixed.endswith("/") else os.path.dirname(fixed) or "/")
    if os.path.commonpath([path, prefix]) != prefix or path == prefix:
        raise MailLocationError(f"mail_location: {username!r} leads outside {prefix}")
    return Path(path)


__all__ = ["MailLocationError", "mail_root", "open_store", "special_use"]
