"""Delivery agents (L3): the ``virtual`` agent and the mailbox writers it uses.

* :mod:`.content` — streaming copy of a message: CRLF to LF, ``>From`` quoting, the
  headers virtual(8) prepends, size limits.
* :mod:`.paths` — mailbox paths under ``virtual_mailbox_base`` that cannot escape it.
* :mod:`.maildir` — one message into a Maildir (tmp/, fsync, link into new/).
* :mod:`.mbox` — one message appended to a UNIX mbox file under a lock.
* :mod:`.status` — errno to Postfix DSN codes, and the failure type the writers raise.
* :mod:`.virtual` — virtual(8): table lookups, ownership, bounce or defer decisions.
"""
