"""``cidr:`` tables (cidr_table(5)): IPv4/IPv6 networks in order, with ``!`` and ``if``.

``network/prefix result`` or ``address result``; the address may be in ``[]``. Checked
against Postfix 3.7:

* a network with host bits set, a prefix longer than the address, or a malformed address
  is reported and the rule skipped; so is a rule without a result;
* a key that is not an IPv4 or IPv6 address (brackets, leading zeros or a ``%zone``
  included) matches nothing, negated rules included;
* a pattern only ever applies to keys of its own address family: ``!1.2.3.4`` does not
  match ``::1``, and neither does ``1.2.3.4``; ``::ffff:1.2.3.4`` is IPv6.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

from vmail.core.errors import ConfigError, Location
from vmail.tables.base import Table, TableContext
from vmail.tables.patternfile import rule_lines
from vmail.tables.registry import register
from vmail.tables.rules import Groups, RuleError, Step, compile_rules, run_rules
from vmail.tables.substitute import Template

Address = tuple[int, int]
"""(IP version, address as an integer)."""

_MATCHED: Groups = ()


def parse_key(key: str) -> Address | None:
    """The address of a lookup key, or None if it is not a plain IPv4/IPv6 address."""
    if "%" in key:
        return None
    try:
        ip = ipaddress.ip_address(key)
    except ValueError:
        return None
    return ip.version, int(ip)


def _parse_pattern(text: str) -> tuple[int, int, int]:
    """``(version, network, mask)`` of ``[addr]/len``; RuleError as Postfix words it."""
    addr, slash, length = text.partition("/")
    if addr.startswith("[") and addr.endswith("]"):
        addr = addr[1:-1]
    try:
        if "%" in addr:
            raise ValueError(addr)
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise RuleError(f'bad address pattern: "{text}": skipping this rule') from None
    bits = ip.max_prefixlen
    if not slash:
        return ip.version, int(ip), (1 << bits) - 1
    if not length.isascii() or not length.isdigit():
        raise RuleError(f'bad mask value in "{text}": skipping this rule')
    if int(length) > bits:
        raise RuleError(f'bad mask length in "{text}": skipping this rule')
    mask = ((1 << bits) - 1) ^ ((1 << (bits - int(length))) - 1)
    if int(ip) & ~mask:
        network = ipaddress.ip_address(int(ip) & mask)
        raise RuleError(
            f'non-null host address bits in "{text}", perhaps you should use '
            f'"{network}/{length}" instead: skipping this rule'
        )
    return ip.version, int(ip), mask


def _matcher(text: str) -> Callable[[Address], Groups | None]:
    negated = text.startswith("!")
    version, network, mask = _parse_pattern(text[1:] if negated else text)

    def match(key: Address) -> Groups | None:
        if key[0] != version:
            return None
        hit = key[1] & mask == network
        return _MATCHED if hit != negated else None

    return match


def _rule(text: str, where: Location) -> tuple[Callable[[Address], Groups | None], Template]:
    pattern, *rest = text.split(None, 1)
    result = rest[0].strip() if rest else ""
    matcher = _matcher(pattern)
    if not result:
        raise RuleError("no lookup result: skipping this rule")
    return matcher, Template((result,))


def _condition(text: str, where: Location) -> Callable[[Address], Groups | None]:
    return _matcher(text)


class CidrTable(Table):
    """Networks tried in order; the first that applies gives the result."""

    pattern = True
    fold_case = False
    local = True

    def __init__(self, spec: str, steps: Sequence[Step[Address]]) -> None:
        super().__init__(spec)
        self.steps = tuple(steps)

    def lookup(self, key: str) -> str | None:
        address = parse_key(key)
        if address is None:
            return None
        return run_rules(self.steps, address)


def _open_cidr(spec: str, name: str, context: TableContext) -> Table:
    if not name:
        raise ConfigError(f'open dictionary: expecting "type:name" form instead of "{spec}"')
    lines = rule_lines("cidr", name, context)
    return CidrTable(spec, compile_rules(lines, _rule, _condition))


register("cidr", _open_cidr)
