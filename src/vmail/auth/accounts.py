"""What the authentication service needs to know about an account, and where it gets it.

:class:`AccountSource` is the interface: ``lookup(username)`` returns an :class:`Account`
or None for "no such user", and raises :class:`~vmail.auth.errors.AccountLookupError` when it
cannot answer (the database is down) — a temporary failure, never a wrong password.
Lookups are synchronous and may block; the service runs them in a worker thread.

:class:`MemoryAccountSource` holds accounts in a dict, for tests and tiny setups;
:class:`vmail.auth.sqlsource.SqlAccountSource` reads the PostfixAdmin directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Account:
    """A mailbox as authentication sees it. ``username`` is the canonical (lower-case) name."""

    username: str
    password_hash: str
    mailbox_active: bool = True
    domain_active: bool = True
    maildir: str = ""
    quota_bytes: int = 0

    def __repr__(self) -> str:  # keep hashes out of logs and tracebacks
        return (
            f"Account({self.username!r}, mailbox_active={self.mailbox_active}, "
            f"domain_active={self.domain_active})"
        )


class AccountSource(Protocol):
    """Finds accounts by (already lower-cased) username."""

    def lookup(self, username: str) -> Account | None:
        """The account, None if there is none; AccountLookupError if the source failed."""
        ...


class MemoryAccountSource:
    """Accounts kept in memory; ``set_password_hash`` mimics a password change."""

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        self._accounts = {account.username.lower(): account for account in accounts}
        self.lookups = 0

    def add(self, account: Account) -> None:
        self._accounts[account.username.lower()] = account

    def set_password_hash(self, username: str, password_hash: str) -> None:
        old = self._accounts[username.lower()]
        self._accounts[username.lower()] = Account(
            old.username,
            password_hash,
            old.mailbox_active,
            old.domain_active,
            old.maildir,
            old.quota_bytes,
        )

    def lookup(self, username: str) -> Account | None:
        self.lookups += 1
        return self._accounts.get(username.lower())
