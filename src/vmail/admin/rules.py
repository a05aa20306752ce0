"""Pure validation and normalisation of what the admin service is given.

Decisions (see ``docs/cli.md``, "Rules"):

* **Domain names are stored in ASCII (A-label / punycode) form, lower-case.** A name given
  in Unicode (``bücher.example``) is converted with IDNA 2008 + UTS 46
  (``xn--bcher-kva.example``). DNS, SMTP without SMTPUTF8, Dovecot logins and Postfix's
  own lookups all see the ASCII form, and MySQL/PostgreSQL collations never have to
  compare non-ASCII text — so one spelling per domain, whatever the client sends.
* **Local parts are RFC 5321 dot-atoms in ASCII, lower-cased**, at most 64 characters;
  quoted local parts are refused (SQL lookup keys would differ from the envelope form).
* **Sizes**: a bare number is MB; ``K``, ``M``, ``G``, ``T`` (binary multiples) or ``B``
  may follow. One MB is 1 MiB (1 048 576 bytes), the unit Dovecot's quota rules use;
  PostfixAdmin's default ``quota_multiplier`` is 1 024 000.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import idna

from vmail.admin.errors import InvalidError

MB = 1024 * 1024
MIN_PASSWORD_LENGTH = 8
MAX_FIELD = 255
ALL_DOMAINS = "ALL"  # PostfixAdmin's domain_admins pseudo-domain of a superadmin

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")
_TRANSPORT = re.compile(r"[A-Za-z0-9_.-]+(?::[^\s,]*)?\Z")
_SIZE = re.compile(r"(\d+)\s*([bkmgt]?)(?:i?b)?\Z", re.IGNORECASE)
_UNITS = {"b": 1, "k": 1024, "m": MB, "g": 1024 * MB, "t": 1024 * 1024 * MB}


def domain_name(text: str) -> str:
    """The stored form of a domain name (lower-case ASCII); InvalidError if it is not one."""
    raw = text.strip()
    name = raw.lower()
    if not name:
        raise InvalidError("empty domain name")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise InvalidError(f"invalid domain name: {raw} ({e})") from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2:
        raise InvalidError(f"invalid domain name: {raw} (need a name like example.com)")
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidError(f"invalid domain name: {raw} (bad label {label!r})")
    if labels[-1].isdigit():
        raise InvalidError(f"invalid domain name: {raw} (numeric top-level domain)")
    if any(label.startswith("xn--") for label in labels):
        try:
            idna.decode(name)
        except idna.IDNAError as e:
            raise InvalidError(f"invalid domain name: {raw} ({e})") from None
    return name


def local_part(text: str, original: str) -> str:
    """A lower-cased dot-atom local part; ``original`` is the whole input, for messages."""
    if not text:
        raise InvalidError(f"invalid address: {original} (empty local part)")
    if len(text) > 64 or not _DOT_ATOM.match(text):
        raise InvalidError(f"invalid address: {original} (bad local part {text!r})")
    return text.lower()


def address(text: str) -> str:
    """The stored form of a mail address ``local@domain``; InvalidError if it is not one."""
    raw = text.strip()
    local, at, domain = raw.rpartition("@")
    if not at:
        raise InvalidError(f"invalid address: {raw or repr(text)} (no @domain)")
    try:
        stored = f"{local_part(local, raw)}@{domain_name(domain)}"
    except InvalidError as e:
        if str(e).startswith("invalid address"):
            raise
        raise InvalidError(f"invalid address: {raw} ({_reason(e)})") from None
    if len(stored) > 254:
        raise InvalidError(f"invalid address: {raw} (longer than 254 characters)")
    return stored


def alias_address(text: str) -> str:
    """An alias address: a mail address, or ``@domain`` for a catch-all."""
    raw = text.strip()
    if raw.startswith("@"):
        try:
            return "@" + domain_name(raw[1:])
        except InvalidError as e:
            raise InvalidError(f"invalid catch-all address: {raw} ({_reason(e)})") from None
    return address(raw)


def split_address(stored: str) -> tuple[str, str]:
    """(local part, domain) of a stored address (local part '' for a catch-all)."""
    local, _, domain = stored.rpartition("@")
    return local, domain


def goto_list(targets: str | Iterable[str]) -> list[str]:
    """Alias targets: valid addresses (external ones too), duplicates removed, order kept.

    A string is split at commas and white space, as ``alias.goto`` is stored.
    """
    items = re.split(r"[,\s]+", targets) if isinstance(targets, str) else list(targets)
    result: list[str] = []
    for item in items:
        if not item.strip():
            continue
        target = address(item)
        if target not in result:
            result.append(target)
    if not result:
        raise InvalidError("an alias needs at least one target address (goto)")
    return result


MAX_LIMIT = 2**31 - 1  # the domain table's aliases/mailboxes columns are 32-bit integers
MAX_MEGABYTES = 2**33  # quotas in MB (8 EiB in bytes still fits the 64-bit columns)
MAX_BYTES = 2**53  # a size in bytes (exact in a JSON number)


def limit(value: int, what: str) -> int:
    """A domain's aliases/mailboxes limit: 0 = unlimited, -1 = disabled, else a count."""
    if not -1 <= value <= MAX_LIMIT:
        raise InvalidError(
            f"invalid {what} limit: {value} (use -1 = disabled, 0 = unlimited, or N"
            f" up to {MAX_LIMIT})"
        )
    return value


def megabytes(value: int, what: str) -> int:
    """A quota in MB: 0 = unlimited, else positive."""
    if not 0 <= value <= MAX_MEGABYTES:
        raise InvalidError(
            f"invalid {what}: {value} MB (use 0 = unlimited, or a positive size"
            f" up to {MAX_MEGABYTES})"
        )
    return value


def size(text: str) -> int:
    """Bytes for a size argument: ``100`` (MB), ``100M``, ``2G``, ``512K``, ``1048576B``."""
    match = _SIZE.match(text.strip())
    if not match:
        raise InvalidError(f"invalid size: {text!r} (use e.g. 100 for MB, or 512K, 100M, 2G)")
    number, unit = match.groups()
    value = int(number) * _UNITS[unit.lower() or "m"]
    if value > MAX_BYTES:
        raise InvalidError(f"invalid size: {text.strip()[:30]!r} is larger than {MAX_BYTES} bytes")
    return value


def transport(text: str | None) -> str:
    """A domain's transport (``virtual``, ``lmtp:unix:private/dovecot-lmtp``, …) or ''.

    '' (not NULL) means "none": PostfixAdmin's MySQL and SQLite tables declare the column
    NOT NULL.
    """
    if text is None or not text.strip():
        return ""
    value = text.strip()
    if len(value) > MAX_FIELD or not _TRANSPORT.match(value):
        raise InvalidError(f"invalid transport: {text!r} (use name or name:nexthop)")
    return value


def text_field(value: str, what: str) -> str:
    """A free-text column (description, name): one line, at most 255 characters."""
    if len(value) > MAX_FIELD:
        raise InvalidError(f"{what} is longer than {MAX_FIELD} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidError(f"{what} must not contain control characters")
    return value


def password(plain: str) -> str:
    """A new password: at least 8 characters, no line breaks or NUL."""
    if len(plain) < MIN_PASSWORD_LENGTH:
        raise InvalidError(f"password too short (at least {MIN_PASSWORD_LENGTH} characters)")
    if any(c in plain for c in "\r\n\0"):
        raise InvalidError("password must not contain line breaks or NUL")
    return plain


def _reason(error: InvalidError) -> str:
    message = str(error)
    return message[message.find("(") + 1 : -1] if message.endswith(")") else message
