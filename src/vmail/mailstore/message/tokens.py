"""``wire.string`` remembered for values that repeat across messages (types, hosts, names)."""

from __future__ import annotations

import functools

from vmail.protocol.imap.wire import string

token = functools.lru_cache(maxsize=8192)(string)

__all__ = ["token"]
