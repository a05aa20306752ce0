"""Mail addresses: RFC 5321 paths, quoting, and address extensions.

Postfix keeps two forms of an address apart, and so does vmail:

* the *internal* form, ``a b@example.com``: the local part with quotes removed — what
  rewriting and delivery work with;
* the *external* form, ``"a b"@example.com``: quoted where RFC 5321 requires it — what
  table lookups (by default), SMTP and logs use.

:class:`Address` holds the internal form and renders the external one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmail.core.errors import VmailError

# RFC 5321 Dot-string: atoms of atext joined by single dots. Anything else must be quoted.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\x80-\U0010ffff]"
_DOT_STRING = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")
_SPECIAL_POSTMASTER = {"postmaster", "mailer-daemon"}


class AddressError(VmailError):
    """An address that cannot be parsed."""


@dataclass(frozen=True)
class Address:
    """A mail address in internal form. ``domain`` is '' for an address without ``@``."""

    local: str
    domain: str = ""
    has_at: bool = True

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse an address in external form (``"a b"@d``, ``user@d``, ``user``).

        The last unquoted ``@`` separates local part and domain. A quoted local part is
        unquoted. A source route (``@a,@b:user@d``) is removed, as RFC 5321 allows.
        """
        text = text.strip()
        if text.startswith("<") and text.endswith(">"):
            text = text[1:-1]
        if text.startswith("@") and ":" in text:
            text = text.split(":", 1)[1]  # strip source route
        if '"' not in text:  # fast path: nothing to unquote
            local, sep, domain = text.rpartition("@")
            return cls(local, domain) if sep else cls(text, "", has_at=False)
        local_chars: list[str] = []
        at = -1
        i, n, quoted = 0, len(text), False
        while i < n:
            c = text[i]
            if c == "\\" and quoted and i + 1 < n:
                local_chars.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                quoted = not quoted
                i += 1
                continue
            if c == "@" and not quoted:
                at = len(local_chars)
            local_chars.append(c)
            i += 1
        if quoted:
            raise AddressError(f"unbalanced quote in address: {text}")
        joined = "".join(local_chars)
        if at < 0:
            return cls(joined, "", has_at=False)
        return cls(joined[:at], joined[at + 1 :])

    @classmethod
    def from_internal(cls, text: str) -> Address:
        """Split an internal-form address at its last ``@``."""
        local, sep, domain = text.rpartition("@")
        if not sep:
            return cls(text, "", has_at=False)
        return cls(local, domain)

    @property
    def internal(self) -> str:
        return f"{self.local}@{self.domain}" if self.has_at else self.local

    @property
    def external(self) -> str:
        local = quote_local(self.local)
        return f"{local}@{self.domain}" if self.has_at else local

    def __str__(self) -> str:
        return self.external

    def with_domain(self, domain: str) -> Address:
        return Address(self.local, domain)

    def with_local(self, local: str) -> Address:
        return Address(local, self.domain, self.has_at)


def quote_local(local: str) -> str:
    """Quote a local part when RFC 5321 requires it (``a b`` → ``"a b"``).

    As Postfix's quote_822_local, an empty local part stays empty (``<>`` is valid).
    """
    if not local or _DOT_STRING.match(local):
        return local
    escaped = local.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def split_extension(
    local: str, delimiters: str, double_bounce: str = "double-bounce"
) -> tuple[str, str | None]:
    """Split ``user+foo`` into ``("user", "+foo")`` at the first delimiter character.

    As Postfix's split_addr: ``postmaster``, ``mailer-daemon`` and the double-bounce
    sender are never split; with ``-`` among the delimiters, ``owner-*`` and ``*-request``
    are not split either; and a split that would leave an empty user is not made.
    The extension keeps its delimiter.
    """
    if not delimiters:
        return local, None
    low = local.lower()
    if low in _SPECIAL_POSTMASTER or low == double_bounce.lower():
        return local, None
    if "-" in delimiters and (
        low.startswith("owner-") or (len(low) > 8 and low.endswith("-request"))
    ):
        return local, None
    for i, c in enumerate(local):
        if c in delimiters:
            if i == 0:
                return local, None
            return local[:i], local[i:]
    return local, None


def parent_domains(domain: str, *, dotted: bool) -> list[str]:
    """Parent domains of ``a.b.c``: ``[".b.c", ".c"]`` (dotted) or ``["b.c", "c"]``.

    Postfix looks up ``.parent`` keys to match subdomains, or plain ``parent`` keys for
    features listed in ``parent_domain_matches_subdomains``.
    """
    labels = domain.split(".")
    prefix = "." if dotted else ""
    return [prefix + ".".join(labels[i:]) for i in range(1, len(labels)) if labels[i]]
