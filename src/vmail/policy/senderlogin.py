"""Who may use which envelope sender: Postfix's ``reject_*_sender_login_mismatch`` checks.

``smtpd_sender_login_maps`` maps a MAIL FROM address (looked up in virtual(5) order: the
full address, without its extension, then ``@domain``) to the SASL login names that own
it, separated by commas or spaces. :class:`SenderLogins` answers the two questions
Postfix's smtpd asks:

* :meth:`SenderLogins.owners` — the logins that own a sender (None: the address is not
  listed);
* :func:`login_mismatch` — the reply text for one of the four restrictions, or None when
  the restriction does not reject.
"""

from __future__ import annotations

from collections.abc import Callable

from vmail.core.address import Address
from vmail.rewrite.addrfind import find_address
from vmail.tables import Maps
from vmail.tables.base import Trace

RESTRICTIONS = frozenset(
    {
        "reject_sender_login_mismatch",
        "reject_authenticated_sender_login_mismatch",
        "reject_known_sender_login_mismatch",
        "reject_unauthenticated_sender_login_mismatch",
    }
)


class SenderLogins:
    """Lookups in ``smtpd_sender_login_maps``; TableError when a table fails."""

    def __init__(
        self, maps: Callable[[], Maps], delimiters: str, is_local: Callable[[str], bool]
    ) -> None:
        self._maps = maps  # opened on first use, like every other table of the policy
        self.delimiters = delimiters
        self.is_local = is_local

    def owners(self, sender: Address, trace: Trace | None = None) -> list[str] | None:
        """The login names that own ``sender`` (canonical form), or None if it is unlisted."""
        maps = self._maps()
        if not maps:
            return None
        found = find_address(
            maps,
            sender,
            delimiters=self.delimiters,
            is_local=self.is_local,
            trace=trace,
            localpart=False,
        )
        if found is None:
            return None
        return [name for name in found.value.replace(",", " ").split() if name]

    def mismatch(
        self,
        restriction: str,
        sender: Address,
        login: str | None,
        trace: Trace | None = None,
    ) -> str | None:
        """Why ``restriction`` rejects ``sender`` from ``login`` (None: it does not).

        The texts follow Postfix: ``not owned by user NAME`` for an authenticated client
        whose login is not among the owners, ``not logged in`` for an unauthenticated client
        using a listed address. An empty sender is never checked (the caller skips it).
        """
        if not self._maps():
            return None
        check_auth = restriction in (
            "reject_sender_login_mismatch",
            "reject_authenticated_sender_login_mismatch",
            "reject_known_sender_login_mismatch",
        )
        check_unauth = restriction in (
            "reject_sender_login_mismatch",
            "reject_unauthenticated_sender_login_mismatch",
            "reject_known_sender_login_mismatch",
        )
        owners = self.owners(sender, trace)
        if login:
            if not check_auth:
                return None
            if owners is None:
                if restriction == "reject_known_sender_login_mismatch":
                    return None
                return f"not owned by user {login}"
            if any(login.casefold() == name.casefold() for name in owners):
                return None
            return f"not owned by user {login}"
        if check_unauth and owners is not None:
            return "not logged in"
        return None
