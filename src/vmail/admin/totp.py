"""TOTP (RFC 6238) second factor for admin accounts, with pyotp.

The confirmed secret is PostfixAdmin 3.4's ``admin.totp_secret`` (base32). Enrolment is
two steps: :func:`enable_totp` makes a *pending* secret (kept in ``vmail_totp_state``,
returned with its ``otpauth://`` URI for an authenticator app), which only becomes the
account's secret when :func:`confirm_totp` is given a valid code for it — so a half-done
enrolment never locks anyone out. :func:`verify_totp` accepts the codes of the current
30-second step and one step either side, each at most once (the last accepted step is
stored, and only later steps are accepted after it). An admin manages their own TOTP;
superadmins (and the CLI) anyone's. Changes are logged ``enable_totp``/``disable_totp``.
"""

from __future__ import annotations

import hmac
import time

import pyotp
from sqlalchemy import delete
from sqlalchemy.orm import Session

from vmail.admin import audit, rules
from vmail.admin.actor import Actor
from vmail.admin.admins import admin_row
from vmail.admin.errors import AuthenticationError, ForbiddenError, InvalidError
from vmail.directory.models import Admin, TotpState

ISSUER = "vmail"
STEP = 30
WINDOW = 1


def _target(actor: Actor, username: str) -> str:
    name = rules.address(username)
    if not actor.is_superadmin and (actor.kind != "domain_admin" or actor.username != name):
        raise ForbiddenError(f"{actor.username} may not change the second factor of {name}")
    return name


def _state(session: Session, name: str) -> TotpState:
    state = session.get(TotpState, name, with_for_update=True)
    if state is None:
        state = TotpState(username=name, last_step=0)
        session.add(state)
    return state


def _matching_step(secret: str, code: str, after: int) -> int | None:
    """The step (> ``after``) within the window whose code is ``code``, else None."""
    code = code.replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    otp = pyotp.TOTP(secret, interval=STEP)
    now = int(time.time()) // STEP
    for step in range(now - WINDOW, now + WINDOW + 1):
        if step > after and hmac.compare_digest(otp.generate_otp(step), code):
            return step
    return None


def enable_totp(session: Session, actor: Actor, username: str) -> tuple[str, str]:
    """A new pending secret and its ``otpauth://`` URI; active after :func:`confirm_totp`."""
    name = _target(actor, username)
    admin_row(session, name)
    secret = pyotp.random_base32()
    _state(session, name).pending = secret
    uri = pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=name, issuer_name=ISSUER)
    return secret, uri


def confirm_totp(session: Session, actor: Actor, username: str, code: str) -> None:
    """Make the pending secret the account's, if ``code`` is valid for it."""
    name = _target(actor, username)
    row = admin_row(session, name)
    state = _state(session, name)
    if state.pending is None:
        raise InvalidError(f"no second factor is being set up for {name}: enable it first")
    step = _matching_step(state.pending, code, 0)
    if step is None:
        raise AuthenticationError("wrong TOTP code: check the authenticator app's clock")
    row.totp_secret, state.pending, state.last_step = state.pending, None, step
    session.flush()
    audit.record(session, actor, "", "enable_totp", name)


def disable_totp(session: Session, actor: Actor, username: str) -> None:
    name = _target(actor, username)
    row = admin_row(session, name)
    row.totp_secret = None
    session.execute(delete(TotpState).where(TotpState.username == name))
    session.flush()
    audit.record(session, actor, "", "disable_totp", name)


def totp_enabled(session: Session, username: str) -> bool:
    row = session.get(Admin, username.strip().lower())
    return row is not None and bool(row.totp_secret)


def verify_totp(session: Session, username: str, code: str) -> bool:
    """Whether ``code`` is a current, not yet used code of the admin's confirmed secret."""
    name = username.strip().lower()
    row = session.get(Admin, name)
    if row is None or not row.totp_secret:
        return False
    state = _state(session, name)
    step = _matching_step(row.totp_secret, code, state.last_step)
    if step is None:
        return False
    state.last_step = step
    return True
