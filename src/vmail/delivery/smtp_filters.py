"""smtp(8)'s ``smtp_discard_ehlo_keywords`` and ``smtp_reply_filter`` (``lmtp_`` for lmtp).

:class:`EhloDiscards` is the list of EHLO keywords the client ignores in a server's
EHLO/LHLO reply: ``smtp_discard_ehlo_keyword_address_maps`` looked up by the server's
IP address (a value replaces the list), else ``smtp_discard_ehlo_keywords``. As Postfix,
``discarding EHLO keywords: ...`` is logged at every EHLO unless ``silent-discard`` is
listed, and a failed table lookup defers the delivery (``4.3.0 local data error while
talking to HOST[ADDR]``, after QUIT).

:class:`ReplyFilter` is the ``smtp_reply_filter`` table: each line of every server reply
(greeting included) is looked up as received, without its CRLF, and a found value
replaces the line (logged as ``HOST[ADDR]:PORT: replacing server reply "OLD" with
"NEW"``). A failed lookup defers the delivery as above.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vmail.core.errors import ConfigError, TableError
from vmail.delivery.smtp_client import Extensions, LocalDataError
from vmail.protocol.smtp.ehlomask import ehlo_keywords, ehlo_mask_names
from vmail.tables import Maps, Table
from vmail.tables.maps import query

log = logging.getLogger("vmail.delivery.smtp")


class EhloDiscards:
    """The EHLO keywords to ignore, per server address."""

    def __init__(self, words: str, parameter: str = "", maps: Callable[[], Maps] | None = None):
        self.default = ehlo_keywords(words)
        self.parameter = parameter
        self._maps = maps

    def for_server(self, address: str) -> frozenset[str]:
        """The keywords for the server at ``address``; LocalDataError when a table fails."""
        if self._maps is not None:
            try:
                value = self._maps().find(address)
            except (TableError, ConfigError):
                raise LocalDataError(f"{self.parameter} map lookup error for {address}") from None
            if value is not None:
                return ehlo_keywords(value)
        return self.default

    def apply(self, extensions: Extensions, address: str) -> None:
        """Forget the discarded keywords of ``extensions`` (and log them, as Postfix)."""
        discard = self.for_server(address)
        if discard and "SILENT-DISCARD" not in discard:
            log.info("discarding EHLO keywords: %s", " ".join(ehlo_mask_names(discard)))
        for keyword in discard:
            extensions.keywords.pop(keyword, None)


class ReplyFilter:
    """The ``smtp_reply_filter`` table, applied to one reply line at a time."""

    def __init__(self, spec: str, table: Callable[[], Table]) -> None:
        self.spec = spec
        self._table = table

    def line(self, relay: str, line: str) -> str:
        """The line to use instead of ``line`` (itself when the table has no match)."""
        try:
            new = query(self._table(), line)
        except (TableError, ConfigError):
            raise LocalDataError(f"table {self.spec} lookup error for {line}") from None
        if new is None:
            return line
        log.info('%s: replacing server reply "%s" with "%s"', relay, line, new)
        return new

    def for_relay(self, relay: str) -> Callable[[str], str]:
        """The filter of one connection (``relay``: ``HOST[ADDR]:PORT`` for the log)."""
        return lambda line: self.line(relay, line)


__all__ = ["EhloDiscards", "ReplyFilter"]
