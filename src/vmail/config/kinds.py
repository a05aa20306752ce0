"""The vocabulary of the parameter schema: value kinds and the ``Parameter`` record."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """How a parameter's expanded value is interpreted."""

    STRING = "string"
    BOOL = "bool"
    INT = "int"
    TIME = "time"
    SIZE = "size"
    LIST = "list"


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: its kind, Postfix default (unexpanded) and a short doc.

    ``time_unit`` is the unit of a bare number for TIME parameters. ``hidden`` parameters
    are known (they may be set and asked for by name) but not listed by ``postconf``
    without arguments, as Postfix does with legacy names such as ``virtual_maps``. ``raw``
    parameters are never ``$``-expanded when read (their ``$`` is for a later, per-use
    expansion, as in ``default_rbl_reply``).
    """

    name: str
    kind: Kind
    default: str
    doc: str
    time_unit: str = "s"
    hidden: bool = False
    raw: bool = False


def declare(
    name: str,
    kind: Kind,
    default: str,
    doc: str,
    unit: str = "s",
    *,
    hidden: bool = False,
    raw: bool = False,
) -> Parameter:
    """Shorthand used by the declaration tables."""
    return Parameter(name, kind, default, doc, unit, hidden, raw)


S, B, I, T, Z, L = Kind.STRING, Kind.BOOL, Kind.INT, Kind.TIME, Kind.SIZE, Kind.LIST  # noqa: E741
