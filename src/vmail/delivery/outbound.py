"""What smtp(8) and lmtp(8) do to a message's content on its way out.

``smtp_header_checks``, ``smtp_mime_header_checks``, ``smtp_nested_header_checks`` and
``smtp_body_checks`` (``lmtp_`` for the lmtp agent) inspect the content as cleanup's
checks do, with the actions Postfix's smtp client supports: IGNORE, STRIP, REPLACE,
PREPEND, WARN and INFO; the others are logged as unsupported and change nothing. Then
``smtp_generic_maps`` maps the header addresses (:mod:`vmail.rewrite.generic`; the
envelope is mapped by the agent). Lines are logged as Postfix's smtp logs them:
``ID: replace: header X-Mailer: x: X-Mailer: hidden``.
"""

from __future__ import annotations

import errno
import logging
import re
from collections.abc import Iterable, Iterator

from vmail.config import MainConfig
from vmail.core.errors import TableError
from vmail.core.headersection import HeaderSection, stream_stages
from vmail.delivery.content import MessageReadError
from vmail.policy.contentchecks import ContentFilter, ContentTables
from vmail.policy.headerchecks import HeaderAction, HeaderChecks
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.generic import GenericMaps, header_mapping

log = logging.getLogger("vmail.delivery.smtp")

SMTP_ACTIONS = frozenset({"IGNORE", "STRIP", "REPLACE", "PREPEND", "WARN", "INFO"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Outbound:
    """One agent's outbound content processing (lookups block on tables)."""

    def __init__(self, config: MainConfig, prefix: str) -> None:
        self.prefix = prefix
        self.limit = config.get_size("header_size_limit") or 102400
        names = [f"{prefix}_{kind}_checks" for kind in ("header", "mime_header", "nested_header")]
        wanted = [*names, f"{prefix}_body_checks", f"{prefix}_generic_maps"]
        self.active = any(config.get_list(name) for name in wanted)
        self.tables: ContentTables | None = None
        self.generic: GenericMaps | None = None
        if not self.active:
            return
        context = RoutingContext(config)
        maps = context.maps
        header, mime, nested = (HeaderChecks(maps(name)) for name in names)
        tables = ContentTables(
            header,
            mime,
            nested,
            HeaderChecks(maps(f"{prefix}_body_checks")),
            config.get_size("body_checks_size_limit"),
            not config.get_bool("disable_mime_input_processing"),
        )
        self.tables = tables if tables else None
        generic = GenericMaps(context, f"{prefix}_generic_maps")
        self.generic = generic if generic else None

    def content(self, chunks: Iterable[bytes], queue_id: str) -> Iterator[bytes]:
        """``chunks`` as they go out; a table that fails on the header section raises
        TableError before anything is returned."""
        stages: list[HeaderSection] = []
        if self.tables is not None:
            report = _Reporter(queue_id, self.prefix)
            stages.append(ContentFilter(self.tables, self.limit, report, SMTP_ACTIONS))
        if self.generic is not None:
            stages.append(header_mapping(self.generic, self.limit))
        if not stages:
            return iter(chunks)
        return _body_errors(stream_stages(chunks, stages))


def _body_errors(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A table failing on the body (while the message is being sent) ends the delivery
    as a queue file read error does: the message is not ended, the delivery deferred."""
    try:
        yield from chunks
    except TableError as e:
        raise MessageReadError(OSError(errno.EIO, f"table {e.table} lookup failure")) from e


class _Reporter:
    """Postfix's smtp log line for a check's action."""

    def __init__(self, queue_id: str, prefix: str) -> None:
        self.queue_id = queue_id
        self.prefix = prefix

    def __call__(self, what: str, line: str, action: HeaderAction) -> None:
        text = f"{action.verb} {action.text}".rstrip()
        if action.verb not in SMTP_ACTIONS:
            log.warning("unsupported command in %s_%s_checks map: %s", self.prefix, what, text)
            return
        if action.verb == "IGNORE":
            return  # not logged by Postfix either
        verb = "warning" if action.verb == "WARN" else action.verb.lower()
        shown = _CONTROL.sub("?", line)
        detail = f": {action.text}" if action.text else ""
        log.info("%s: %s: %s %s%s", self.queue_id, verb, what, shown, detail)


__all__ = ["SMTP_ACTIONS", "Outbound"]
