"""A user changes their own password, proving the old one."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import Actor, AdminService, AuthenticationError, InvalidError
from vmail.auth.passwords import verify_password
from vmail.directory.models import Log, Mailbox


@pytest.fixture
def user(svc: AdminService, cli: Actor) -> AdminService:
    svc.add_domain(cli, "a.example")
    svc.add_mailbox(cli, "u@a.example", PASSWORD)
    return svc


def _hash(engine: Engine) -> str:
    with Session(engine) as s:
        return s.scalars(select(Mailbox.password)).one()


def test_change_own_password(user: AdminService, engine: Engine) -> None:
    user.change_own_password("U@A.example", PASSWORD, "new secret!")
    assert verify_password("new secret!", _hash(engine))
    with Session(engine) as s:
        last = s.scalars(select(Log).order_by(Log.id.desc())).first()
    assert last is not None
    assert (last.username, last.domain, last.action, last.data) == (
        "u@a.example",
        "a.example",
        "edit_password",
        "u@a.example",
    )


@pytest.mark.parametrize(
    ("address", "old"),
    [("u@a.example", "wrong password"), ("nobody@a.example", PASSWORD), ("not an address", "x")],
)
def test_wrong_old_password_or_address(user: AdminService, address: str, old: str) -> None:
    with pytest.raises(AuthenticationError, match="wrong mail address or password"):
        user.change_own_password(address, old, "new secret!")


def test_new_password_rules_and_inactive_mailbox(user: AdminService, engine: Engine) -> None:
    before = _hash(engine)
    with pytest.raises(InvalidError, match="too short"):
        user.change_own_password("u@a.example", PASSWORD, "short")
    user.edit_mailbox(Actor.cli("t"), "u@a.example", active=False)
    with pytest.raises(AuthenticationError):
        user.change_own_password("u@a.example", PASSWORD, "new secret!")
    assert _hash(engine) == before
