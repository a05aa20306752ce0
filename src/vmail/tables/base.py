"""The lookup-table interface every table type implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TableContext:
    """What a table needs from its surroundings to open itself.

    ``base_dir`` resolves relative file names (vmail resolves them against the config
    directory; Postfix against its working directory, so relative names are rare there).
    ``alias_syntax``: file sources are in aliases(5) format (``name: value``, as
    postalias(1) reads them) instead of postmap's ``key value``; set for ``alias_maps``.
    """

    base_dir: Path | None = None
    alias_syntax: bool = False

    def resolve(self, name: str) -> Path:
        path = Path(name)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path


class Table(ABC):
    """One lookup table. Implementations are cheap to query and safe to share.

    Class attributes describe the table to :class:`~vmail.tables.maps.Maps`:

    * ``pattern`` — a pattern table (regexp, pcre, cidr): Postfix queries it only with the
      full key, never with the partial keys (``user``, ``@domain``) of address lookups.
    * ``fold_case`` — keys are lower-cased before the lookup (Postfix's default for
      fixed-string tables; pattern tables decide case sensitivity themselves).
    * ``local`` — answers come from memory or a local file, never over the network or
      from a name service: cheap enough to ask on an event loop (see
      :meth:`vmail.tables.memo.LookupMemo.run_inline`). False unless a type says so.
    """

    pattern: bool = False
    fold_case: bool = True
    local: bool = False

    def __init__(self, spec: str) -> None:
        self.spec = spec

    @abstractmethod
    def lookup(self, key: str) -> str | None:
        """The value for ``key``; None if not found; raise TableError if the lookup failed."""

    def close(self) -> None:
        """Release files or connections. The default has nothing to release."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"


@dataclass(frozen=True)
class LookupEvent:
    """One table query, recorded for ``vmail route``'s trace."""

    table: str
    key: str
    result: str | None
    error: str | None = None


@dataclass
class Trace:
    """Collects lookup events when a caller wants to explain a decision."""

    events: list[LookupEvent] = field(default_factory=list)

    def add(self, event: LookupEvent) -> None:
        self.events.append(event)
