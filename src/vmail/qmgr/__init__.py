"""The queue manager: takes committed messages from the spool and delivers them.

* :mod:`vmail.qmgr.backoff` — when a deferred message is tried again, and when it expires.
* :mod:`vmail.qmgr.transports` — the built-in ``discard``/``error`` transports and the
  :class:`Agent` interface delivery agents implement.
* :mod:`vmail.qmgr.manager` — :class:`QueueManager`: scan, resolve, dispatch, record, log.
"""

from vmail.qmgr.manager import QueueManager, default_agents
from vmail.qmgr.transports import Agent, Outcome

__all__ = ["Agent", "Outcome", "QueueManager", "default_agents"]
