"""Who performs an operation: the principal every admin-service call is checked against.

Three kinds, as in PostfixAdmin plus the command line:

* ``cli`` — the local administrator running ``vmail``; root-equivalent (whoever can run
  the CLI against the database can write the database anyway);
* ``superadmin`` — an ``admin`` row with ``superadmin = 1`` (or a ``domain_admins`` row
  for PostfixAdmin's pseudo-domain ``ALL``): every domain, and admins;
* ``domain_admin`` — an ``admin`` row with ``domain_admins`` rows: only those domains,
  and no domain or admin management;
* ``user`` — a mailbox user (``username`` is the mail address): manages nothing, may
  only use the self-service operations on their own mailbox (password, vacation).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["cli", "superadmin", "domain_admin", "user"]


@dataclass(frozen=True)
class Actor:
    """An acting principal. ``username`` is what the ``log`` table records."""

    username: str
    kind: Kind
    domains: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def cli(cls, user: str | None = None) -> Actor:
        """The command-line user, logged as ``name (cli)`` like PostfixAdmin's ``name (ip)``."""
        if user is None:
            try:
                user = getpass.getuser()
            except (KeyError, OSError):
                user = "unknown"
        return cls(f"{user} (cli)", "cli")

    @classmethod
    def superadmin(cls, username: str) -> Actor:
        return cls(username, "superadmin")

    @classmethod
    def domain_admin(cls, username: str, domains: frozenset[str] | set[str]) -> Actor:
        return cls(username, "domain_admin", frozenset(domains))

    @classmethod
    def user(cls, address: str) -> Actor:
        """A mailbox user, for self-service on their own mailbox only."""
        return cls(address.strip().lower(), "user")

    @property
    def is_superadmin(self) -> bool:
        """Root-equivalent: the CLI or a superadmin."""
        return self.kind in ("cli", "superadmin")

    def manages(self, domain: str) -> bool:
        """Whether this principal may read and change ``domain``'s mailboxes and aliases."""
        return self.is_superadmin or domain in self.domains
