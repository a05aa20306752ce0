"""The ``log`` table: one row for every change, as PostfixAdmin writes it.

``username`` is the acting principal, ``domain`` the domain the change belongs to ('' for
admin accounts, which belong to none), ``action`` PostfixAdmin's verb (``create_mailbox``,
``edit_alias``, ``delete_domain``, …) and ``data`` the object changed plus what changed.
Passwords are never logged — only that one was set.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vmail.admin.actor import Actor
from vmail.directory.models import Log


def record(session: Session, actor: Actor, domain: str, action: str, data: str) -> None:
    """Add a log row to the operation's transaction (it commits or rolls back with it)."""
    session.add(Log(username=actor.username, domain=domain, action=action, data=data[:65000]))


def changes(values: dict[str, object]) -> str:
    """``name=value`` pairs for the ``data`` column, in a stable order."""
    return " ".join(f"{k}={_text(v)}" for k, v in values.items())


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)
