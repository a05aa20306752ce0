"""Opened tables and domain lists for one configuration snapshot.

Parameters name tables (``virtual_alias_maps = hash:/etc/postfix/virtual``) and domain
lists (``virtual_mailbox_domains = example.com, hash:/etc/postfix/domains``). This object
opens each once, on first use, and shares tables that several parameters name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.rewrite.domains import DomainList
from vmail.tables import Maps, Table, TableContext, open_table
from vmail.tables.memo import may_block


class RoutingContext:
    """Configuration plus the tables it names, opened lazily and cached."""

    def __init__(self, config: MainConfig) -> None:
        self.config = config
        self.table_context = TableContext(base_dir=config.config_dir)
        self.alias_table_context = TableContext(base_dir=config.config_dir, alias_syntax=True)
        self._alias_specs = set(config.get_list("alias_maps"))
        self._tables: dict[str, Table] = {}
        self._maps: dict[str, Maps] = {}
        self._domain_lists: dict[str, DomainList] = {}

    def table(self, spec: str) -> Table:
        """The table named ``spec``, opened once.

        A table named in ``alias_maps`` is an aliases(5) file (``name: value``, compiled
        by postalias in Postfix) wherever it is named — ``local_recipient_maps`` names it
        through ``$alias_maps`` — so it is always read with alias syntax.
        """
        table = self._tables.get(spec)
        if table is None:
            may_block()  # opening reads files (or connects): not inline on an event loop
            context = self.alias_table_context if spec in self._alias_specs else self.table_context
            table = self._tables[spec] = open_table(spec, context)
        return table

    def maps(self, parameter: str) -> Maps:
        """The tables named by a ``*_maps`` parameter, in order."""
        maps = self._maps.get(parameter)
        if maps is None:
            with self._blame(parameter):
                tables = [self.table(s) for s in self.config.get_list(parameter)]
            maps = self._maps[parameter] = Maps(parameter, tables)
        return maps

    @contextmanager
    def _blame(self, parameter: str) -> Iterator[None]:
        """Name the parameter (and where it is set) in errors about the tables it names."""
        try:
            yield
        except ConfigError as e:
            if e.location is not None:
                raise
            location = self.config.locations.get(parameter)
            raise ConfigError(f"{parameter}: {e.message}", location) from None

    def domain_list(self, parameter: str) -> DomainList:
        """The domain list named by a parameter such as ``mydestination``."""
        domains = self._domain_lists.get(parameter)
        if domains is None:
            parent_style = parameter in self.config.get_list("parent_domain_matches_subdomains")
            with self._blame(parameter):
                domains = DomainList(
                    parameter,
                    self.config.get_list(parameter),
                    self.table,
                    parent_style=parent_style,
                )
            self._domain_lists[parameter] = domains
        return domains

    def close(self) -> None:
        for table in self._tables.values():
            table.close()
        self._tables.clear()
        self._maps.clear()
        self._domain_lists.clear()
