"""What local(8) does with a local recipient: aliases(5) expansion, as far as routing goes.

The recipient's local part (lower case; with an extension, first ``user+ext`` then
``user``) is looked up in ``alias_maps``. Each item of the result is a command
(``|cmd``), a file (``/path``), an ``:include:`` file, or an address; local addresses
are expanded again (an alias found in its own expansion is delivered to the user, not
expanded again), other addresses are forwarded. A name that is neither an alias nor a
known user bounces with ``unknown user``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vmail.core.address import Address, split_extension
from vmail.rewrite.addrfind import split_result
from vmail.rewrite.canonical import Canonicalizer
from vmail.tables import Maps
from vmail.tables.base import Trace

MAX_DEPTH = 100


@dataclass(frozen=True)
class LocalTarget:
    """One end point of local delivery.

    ``kind`` is ``mailbox``, ``file``, ``command``, ``include``, ``forward`` (an address
    that is not ours: re-submitted as new mail) or ``unknown``.
    """

    recipient: Address
    kind: str
    target: str = ""


class LocalAliasExpander:
    """Expands local recipients through ``alias_maps``."""

    def __init__(
        self,
        alias_maps: Maps,
        user_exists: Callable[[str, Trace | None], bool],
        canonical: Canonicalizer,
        is_local: Callable[[str], bool],
        delimiters: str,
    ) -> None:
        self.alias_maps = alias_maps
        self.user_exists = user_exists
        self.canonical = canonical
        self.is_local = is_local
        self.delimiters = delimiters

    def expand(self, recipient: Address, trace: Trace | None = None) -> list[LocalTarget]:
        """Local targets for ``recipient``; TableError if a lookup fails."""
        targets: list[LocalTarget] = []
        self._expand(recipient, set(), targets, trace, 0)
        return targets

    def _expand(
        self,
        recipient: Address,
        seen: set[str],
        targets: list[LocalTarget],
        trace: Trace | None,
        depth: int,
    ) -> None:
        name = recipient.local.lower()
        base, _ = split_extension(name, self.delimiters)
        if name in seen or depth > MAX_DEPTH:
            targets.append(self._mailbox(recipient, base, trace))
            return
        seen = seen | {name}
        value = self._lookup(name, base, trace)
        if value is None:
            targets.append(self._mailbox(recipient, base, trace))
            return
        for item in split_result(value):
            if item.startswith("|"):
                targets.append(LocalTarget(recipient, "command", item[1:].strip()))
            elif item.startswith("/"):
                targets.append(LocalTarget(recipient, "file", item))
            elif item.lower().startswith(":include:"):
                targets.append(LocalTarget(recipient, "include", item[len(":include:") :]))
            else:
                address = self.canonical.rewrite(Address.parse(item))
                if address.has_at and self.is_local(address.domain):
                    self._expand(address, seen, targets, trace, depth + 1)
                else:
                    targets.append(LocalTarget(address, "forward"))

    def _lookup(self, name: str, base: str, trace: Trace | None) -> str | None:
        value = self.alias_maps.find(name, trace=trace) if self.alias_maps else None
        if value is None and base != name and self.alias_maps:
            value = self.alias_maps.find(base, partial=True, trace=trace)
        return value

    def _mailbox(self, recipient: Address, base: str, trace: Trace | None) -> LocalTarget:
        exists = self.user_exists(base, trace)
        return LocalTarget(recipient, "mailbox" if exists else "unknown", base)
