"""The bounce service: delivery status notifications (bounces, delay warnings, success).

:mod:`.templates` holds Postfix's notice texts, :mod:`.dsn` builds RFC 3464 reports in
Postfix's layout, and :mod:`.service` decides after each delivery pass which notices a
message is owed and queues them through cleanup.
"""

from vmail.bounce.service import BounceService, NoticeDeferredError

__all__ = ["BounceService", "NoticeDeferredError"]
