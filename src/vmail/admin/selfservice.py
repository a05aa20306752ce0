"""What a mailbox user does for themselves: change their password, proving the old one.

The old password is checked with :func:`vmail.auth.passwords.verify_password`, the same
verification the authentication service uses for IMAP, POP3 and SMTP AUTH, and only for
an active mailbox of an active domain. The new one obeys :func:`vmail.admin.rules.password`
(as an admin's ``set_password``). The change is logged ``edit_password`` under the user's
own address, as PostfixAdmin's user pages log it. Login throttling is the caller's (the
web layer goes through the authentication service first).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vmail.admin import audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import AuthenticationError, InvalidError
from vmail.auth.passwords import hash_password, verify_password
from vmail.directory.models import Domain, Mailbox

WRONG = "wrong mail address or password"


def change_own_password(
    session: Session, address: str, old_password: str, new_password: str
) -> None:
    try:
        username = rules.address(address)
    except InvalidError:
        raise AuthenticationError(WRONG) from None
    plain = rules.password(new_password)
    mailbox = session.get(Mailbox, username, with_for_update=True)
    domain = None if mailbox is None else session.get(Domain, mailbox.domain)
    if (
        mailbox is None
        or domain is None
        or not mailbox.active
        or not domain.active
        or not verify_password(old_password, mailbox.password)
    ):
        raise AuthenticationError(WRONG)
    mailbox.password = hash_password(plain)
    session.flush()
    audit.record(session, Actor.user(username), mailbox.domain, "edit_password", username)
