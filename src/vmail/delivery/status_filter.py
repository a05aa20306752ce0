"""Delivery status filters: Postfix's ``<agent>_delivery_status_filter`` (Postfix 3.0+).

``default_delivery_status_filter`` names lookup tables that may replace the enhanced
status code and the text of each recipient's delivery outcome; ``smtp_``, ``lmtp_``,
``local_``, ``pipe_`` and ``virtual_delivery_status_filter`` (default
``$default_delivery_status_filter``) set them per delivery agent, and a master.cf
``-o`` override sets them per service. As Postfix's ``dsn_filter.c`` does:

* the tables are queried, first match wins, with ``X.Y.Z text`` (the status code, one
  space, the text);
* the answer must start with a valid code (``[245].D{1,3}.D{1,3}`` followed by
  whitespace or the end) of the same kind: success (``2.X.X``) stays success, a
  failure (``4.X.X``/``5.X.X``) stays a failure, but a failure may turn from soft to
  hard or back (``4.X.X`` defers, ``5.X.X`` bounces). Anything else is ignored with
  ``warning: PARAMETER: bad status code: ANSWER`` and the outcome stays as it was;
* the text of the answer (after the code and whitespace) replaces the text (a code
  alone keeps it, as Postfix 3.7 does in practice), and the
  log line, the queue file's status record and the bounce/delay/success notices all
  show the replacement. Other attributes (relay, mailbox) are kept.

The filter runs on the agent's final outcome for each recipient, before the queue
manager records it: an SMTP client's outcome once per recipient (success, a 5XX, or
the last MX/address tried), as in Postfix. discard(8), error(8) and qmgr's own
outcomes (``mail transport unavailable``...) are not filtered: Postfix's error and
discard agents do not install a filter either.

The tables open on the first delivery (in a worker thread), once per configuration;
a table that cannot be opened fails that delivery before anything is delivered (the
queue manager defers it as for a failed agent), as a Postfix agent that cannot open
its tables exits before it delivers. A lookup error leaves the outcome unfiltered, as
Postfix's ``maps_find`` failure does.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import replace

from vmail.config import MainConfig
from vmail.core.errors import TableError
from vmail.delivery.request import Agent, ContentSource, DeliveryRequest, DeliveryResult, Status
from vmail.rewrite.context import RoutingContext
from vmail.tables import Maps

# Postfix's dsn_valid(): one of 2/4/5, 1-3 digits, 1-3 digits, then whitespace or end
_CODE = re.compile(r"([245]\.[0-9]{1,3}\.[0-9]{1,3})(?=[ \t\n\v\f\r]|\Z)")
_SPACE = " \t\n\v\f\r"
# the agents (master.cf commands) that have a <command>_delivery_status_filter
FILTERED_COMMANDS = ("lmtp", "local", "pipe", "smtp", "virtual")

# the code queried when an outcome carries a code of the wrong kind (bounce.c's and
# defer.c's sanity checks: "ignoring dsn code")
_FALLBACK = {Status.SENT: "2.0.0", Status.DEFERRED: "4.0.0", Status.BOUNCED: "5.0.0"}


def parameter_for(command: str) -> str | None:
    """The filter parameter of a master.cf command (``smtp_delivery_status_filter``)."""
    return f"{command}_delivery_status_filter" if command in FILTERED_COMMANDS else None


def _query_code(result: DeliveryResult) -> str:
    code = result.dsn
    match = _CODE.match(code)
    if match is None or match.end() != len(code) or code[0] != _FALLBACK[result.status][0]:
        return _FALLBACK[result.status]
    return code


def replacement(result: DeliveryResult, answer: str, query: str = "") -> DeliveryResult | None:
    """``result`` with the table's ``answer`` to ``query`` applied; None when the answer
    is invalid (a success mapped to a failure or back, no valid code at the start).

    An answer that is a code alone (``5.7.7``) keeps the text: Postfix 3.7 reads the
    text from its lookup buffer, where it finds the rest of the query (``status=bounced
    (Command died with status 2: "exit 2")``, dsn=5.7.7, no warning, despite
    postconf(5)'s "must be non-empty").
    """
    match = _CODE.match(answer)
    if match is None:
        return None
    code = match.group(1)
    if (result.status == Status.SENT) != (code[0] == "2"):
        return None
    if match.end() == len(answer):  # dsn_split() skips the NUL: what follows is the query's
        text = query[len(answer) + 1 :].lstrip(_SPACE)
    else:
        text = answer[match.end() + 1 :].lstrip(_SPACE)
    if result.status == Status.SENT:
        status = Status.SENT
    else:
        status = Status.DEFERRED if code[0] == "4" else Status.BOUNCED
    return replace(result, status=status, dsn=code, text=text)


class StatusFilter:
    """The tables of one ``*_delivery_status_filter`` parameter, opened on first use."""

    def __init__(
        self,
        config: MainConfig,
        parameter: str,
        *,
        context: RoutingContext | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.parameter = parameter
        self.specs = config.get_list(parameter)
        self._config = config
        self._context = context
        self._maps: Maps | None = None
        self._lock = threading.Lock()
        self.log = logger or logging.getLogger("vmail.qmgr")

    def __bool__(self) -> bool:
        return bool(self.specs)

    def open(self) -> Maps:
        """The tables (opened once; raises ConfigError/TableError when one cannot be)."""
        maps = self._maps
        if maps is None:
            with self._lock:
                maps = self._maps
                if maps is None:
                    context = self._context or RoutingContext(self._config)
                    maps = self._maps = context.maps(self.parameter)
        return maps

    def apply(self, result: DeliveryResult) -> DeliveryResult:
        """The outcome to record: the table's replacement, or ``result`` unchanged."""
        if not self.specs:
            return result
        key = f"{_query_code(result)} {result.text}"
        try:
            answer = self.open().find(key)
        except TableError as e:
            self.log.warning("%s: table lookup failed: %s", self.parameter, e.message)
            return result
        if answer is None:
            return result
        filtered = replacement(result, answer, key)
        if filtered is None:
            self.log.warning("%s: bad status code: %s", self.parameter, answer)
            return result
        return filtered


class FilteringAgent:
    """An :class:`~vmail.delivery.request.Agent` whose outcomes pass a status filter."""

    def __init__(self, agent: Agent, status_filter: StatusFilter) -> None:
        self.agent = agent
        self.status_filter = status_filter

    def deliver_batch(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> list[DeliveryResult]:
        self.status_filter.open()  # a table that does not open fails before delivering
        results = self.agent.deliver_batch(requests, content)
        return [self.status_filter.apply(result) for result in results]

    def close(self) -> None:
        close = getattr(self.agent, "close", None)
        if callable(close):
            close()


def with_status_filter(agent: Agent, config: MainConfig, command: str) -> Agent:
    """``agent`` wrapped in its ``<command>_delivery_status_filter`` when that names
    tables (``config`` is the service's effective configuration); else ``agent``."""
    parameter = parameter_for(command)
    if parameter is None:
        return agent
    status_filter = StatusFilter(config, parameter, logger=logging.getLogger(f"vmail.{command}"))
    return FilteringAgent(agent, status_filter) if status_filter else agent


__all__ = [
    "FILTERED_COMMANDS",
    "FilteringAgent",
    "StatusFilter",
    "parameter_for",
    "replacement",
    "with_status_filter",
]
