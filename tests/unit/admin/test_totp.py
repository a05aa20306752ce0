"""TOTP for admins: pending until confirmed, ±1 step, no code accepted twice."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import Actor, AdminService, AuthenticationError, ForbiddenError, InvalidError
from vmail.directory.models import Admin, Log, TotpState

DA = Actor.domain_admin("da@a.example", {"a.example"})


@pytest.fixture
def admins(svc: AdminService, cli: Actor) -> AdminService:
    svc.add_domain(cli, "a.example")
    svc.add_admin(cli, "da@a.example", PASSWORD, domains=["a.example"])
    svc.add_admin(cli, "other@a.example", PASSWORD, domains=["a.example"])
    return svc


def code(secret: str, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def test_enrol_confirm_verify_disable(admins: AdminService, engine: Engine) -> None:
    secret, uri = admins.enable_totp(DA, "da@a.example")
    assert uri.startswith("otpauth://totp/vmail:da%40a.example?secret=")
    assert not admins.totp_enabled("da@a.example")  # pending only
    assert not admins.verify_totp("da@a.example", code(secret))
    with pytest.raises(AuthenticationError, match="wrong TOTP code"):
        admins.confirm_totp(DA, "da@a.example", "000000" if code(secret) != "000000" else "1")
    admins.confirm_totp(DA, "da@a.example", code(secret, -1))
    assert admins.totp_enabled("da@a.example")
    with Session(engine) as s:
        row = s.get(Admin, "da@a.example")
        assert row is not None
        assert row.totp_secret == secret
    assert "totp_secret" not in admins.get_admin(Actor.cli("t"), "da@a.example")
    now = code(secret)
    assert admins.verify_totp("da@a.example", now)
    assert not admins.verify_totp("da@a.example", now)  # not twice
    assert admins.verify_totp("da@a.example", code(secret, 1))
    assert not admins.verify_totp("da@a.example", code(secret, 5))
    assert not admins.verify_totp("da@a.example", "12 34")
    admins.disable_totp(DA, "da@a.example")
    assert not admins.totp_enabled("da@a.example")
    with Session(engine) as s:
        actions = list(s.scalars(select(Log.action).where(Log.action.like("%totp"))))
        assert s.get(TotpState, "da@a.example") is None
    assert actions == ["enable_totp", "disable_totp"]


def test_who_may(admins: AdminService) -> None:
    with pytest.raises(ForbiddenError):
        admins.enable_totp(DA, "other@a.example")
    with pytest.raises(ForbiddenError):
        admins.disable_totp(Actor.user("da@a.example"), "da@a.example")
    secret, _ = admins.enable_totp(Actor.superadmin("root@a.example"), "other@a.example")
    with pytest.raises(InvalidError, match="enable it first"):
        admins.confirm_totp(DA, "da@a.example", "123456")
    admins.confirm_totp(Actor.cli("t"), "other@a.example", code(secret))
    assert not admins.verify_totp("nobody@a.example", "123456")
