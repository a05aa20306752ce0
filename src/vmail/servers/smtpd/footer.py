"""``smtpd_reject_footer``: text Postfix's smtpd appends to each of its 4xx and 5xx replies.

The footer follows the reply on lines of their own, each with the reply's code and
enhanced status code (``\\n`` in the setting starts another line); a footer that starts
with ``\\c`` continues the reply's last line instead. ``$client_address``,
``$client_name``, ``$client_port``, ``$reverse_client_name``, ``$helo_name``,
``$server_name``, ``$localtime`` and the ``$sasl_*`` names are expanded for each reply;
other names are empty, as in Postfix.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from vmail.config.expand import expand
from vmail.core.reply import Reply


def with_footer(reply: Reply, footer: str, macros: Mapping[str, str]) -> Reply:
    """``reply`` with the expanded ``footer`` after it."""
    values = {"localtime": time.strftime("%b %d %H:%M:%S"), **macros}
    text = expand(footer, lambda name: values.get(name, "").replace("$", "$$"))
    text = text.replace("\\n", "\n")
    if text.startswith("\\c"):
        return Reply(reply.code, reply.enhanced, reply.text + text[2:])
    return Reply(reply.code, reply.enhanced, f"{reply.text}\n{text}")


__all__ = ["with_footer"]
