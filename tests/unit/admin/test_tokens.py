"""API tokens: created once with their secret, hashed, scoped, revoked, expiring."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import (
    Actor,
    AdminService,
    AuthenticationError,
    ForbiddenError,
    InvalidError,
    ListQuery,
    NotFoundError,
)
from vmail.directory.models import ApiToken, Log

DA = Actor.domain_admin("da@a.example", {"a.example"})


@pytest.fixture
def tok(svc: AdminService, cli: Actor) -> AdminService:
    svc.add_domain(cli, "a.example")
    svc.add_domain(cli, "b.example")
    svc.add_admin(cli, "da@a.example", PASSWORD, domains=["a.example"])
    svc.add_admin(cli, "root@a.example", PASSWORD, superadmin=True)
    return svc


def test_secret_shown_once_and_stored_hashed(tok: AdminService, cli: Actor, engine: Engine) -> None:
    row, secret = tok.create_token(cli, "backup script", "superadmin")
    assert secret.startswith("vmail_")
    assert len(secret) == len("vmail_") + 32
    assert "secret_hash" not in row
    assert (row["name"], row["role"], row["domains"]) == ("backup script", "superadmin", [])
    with Session(engine) as s:
        stored = s.scalars(select(ApiToken)).one()
        logs = " ".join(s.scalars(select(Log.data)))
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in logs
    actor = tok.actor_for_token(secret)
    assert actor.is_superadmin
    assert actor.username == f"tester (cli) (token {row['id']})"


def test_domain_admin_token_rules(tok: AdminService, engine: Engine) -> None:
    with pytest.raises(ForbiddenError, match="superadmin token"):
        tok.create_token(DA, "x", "superadmin")
    with pytest.raises(ForbiddenError, match=r"b\.example"):
        tok.create_token(DA, "x", "domain_admin", ["b.example"])
    with pytest.raises(InvalidError, match="at least one domain"):
        tok.create_token(DA, "x", "domain_admin", [])
    with pytest.raises(InvalidError, match="invalid token role"):
        tok.create_token(DA, "x", "root", ["a.example"])
    with pytest.raises(InvalidError, match="needs a name"):
        tok.create_token(DA, " ", "domain_admin", ["a.example"])
    with pytest.raises(ForbiddenError):
        tok.create_token(Actor.user("u@a.example"), "x", "domain_admin", ["a.example"])
    row, secret = tok.create_token(DA, "ci", "domain_admin", ["A.example"])
    actor = tok.actor_for_token(secret)
    assert (actor.kind, actor.domains) == ("domain_admin", frozenset({"a.example"}))
    assert tok.page_mailboxes(actor, ListQuery()).total == 0
    with pytest.raises(ForbiddenError):
        tok.page_mailboxes(actor, ListQuery(), domain="b.example")
    # the token follows its admin: fewer domains, deactivation, deletion
    cli = Actor.cli("t")
    tok.edit_admin(cli, "da@a.example", domains=["b.example"])
    assert tok.actor_for_token(secret).domains == frozenset()
    tok.edit_admin(cli, "da@a.example", active=False)
    with pytest.raises(AuthenticationError):
        tok.actor_for_token(secret)
    tok.edit_admin(cli, "da@a.example", active=True)
    tok.delete_admin(cli, "da@a.example")
    with pytest.raises(AuthenticationError):
        tok.actor_for_token(secret)
    assert row["created_by"] == "da@a.example"


def test_list_and_revoke(tok: AdminService, cli: Actor, engine: Engine) -> None:
    mine, secret = tok.create_token(DA, "mine", "domain_admin", ["a.example"])
    other, _ = tok.create_token(cli, "other", "domain_admin", ["a.example"])
    assert [t["name"] for t in tok.list_tokens(DA)] == ["mine"]
    assert [t["name"] for t in tok.list_tokens(cli)] == ["mine", "other"]
    with pytest.raises(NotFoundError):
        tok.revoke_token(DA, other["id"])
    with pytest.raises(NotFoundError):
        tok.revoke_token(cli, 999)
    assert tok.revoke_token(DA, mine["id"])["revoked"] is not None
    with pytest.raises(AuthenticationError, match="unknown, revoked or expired"):
        tok.actor_for_token(secret)
    with Session(engine) as s:
        actions = list(s.scalars(select(Log.action).where(Log.action.like("%token"))))
    assert actions == ["create_token", "create_token", "revoke_token"]


def test_expiry_unknown_and_last_used(tok: AdminService, cli: Actor, engine: Engine) -> None:
    with pytest.raises(InvalidError, match="in the past"):
        tok.create_token(cli, "x", "superadmin", expires=datetime.now(UTC) - timedelta(1))
    row, secret = tok.create_token(
        cli, "x", "superadmin", expires=datetime.now(UTC) + timedelta(hours=1)
    )
    for bad in ("", "vmail_nope", secret + "x", "x" * 1000):
        with pytest.raises(AuthenticationError):
            tok.actor_for_token(bad)
    tok.actor_for_token(secret)
    with Session(engine) as s:
        first = s.get(ApiToken, row["id"])
        assert first is not None
        used = first.last_used
    assert used is not None
    tok.actor_for_token(secret)  # within a minute: not written again
    with Session(engine) as s, s.begin():
        again = s.get(ApiToken, row["id"])
        assert again is not None
        assert again.last_used == used
        s.execute(
            update(ApiToken).values(expires=datetime.now(UTC).replace(tzinfo=None) - timedelta(1))
        )
    with pytest.raises(AuthenticationError):
        tok.actor_for_token(secret)


def test_concurrent_requests_with_one_token_never_fail_on_last_used(
    tok: AdminService, engine: Engine
) -> None:
    _, secret = tok.create_token(Actor.cli("tester"), "busy", "superadmin")
    with Session(engine) as s:
        s.execute(update(ApiToken).values(last_used=None))
        s.commit()
    with ThreadPoolExecutor(8) as pool:
        actors = list(pool.map(lambda _: tok.actor_for_token(secret), range(64)))
    assert all(a.is_superadmin for a in actors)
    with Session(engine) as s:
        assert s.scalars(select(ApiToken.last_used)).one() is not None


def test_get_token_only_when_visible(tok: AdminService, cli: Actor) -> None:
    root = Actor("root@a.example", "superadmin")
    own, _ = tok.create_token(DA, "mine", "domain_admin", ["a.example"])
    other, _ = tok.create_token(root, "root's", "superadmin")
    assert tok.get_token(DA, own["id"])["name"] == "mine"
    assert tok.get_token(cli, other["id"])["name"] == "root's"
    for token_id in (other["id"], 999):
        with pytest.raises(NotFoundError, match=rf"API token not found: {token_id}"):
            tok.get_token(DA, token_id)


def test_page_tokens_pages_searches_and_scopes(tok: AdminService, cli: Actor) -> None:
    for n in range(5):
        tok.create_token(DA, f"script {n}", "domain_admin", ["a.example"])
    tok.create_token(cli, "backup", "superadmin")
    page = tok.page_tokens(cli, ListQuery(limit=2, offset=2))
    assert (page.total, [r["name"] for r in page.items]) == (6, ["script 2", "script 3"])
    newest = tok.page_tokens(cli, ListQuery(q="SCRIPT", sort="name", descending=True, limit=1))
    assert (newest.total, newest.items[0]["name"]) == (5, "script 4")
    assert tok.page_tokens(DA, ListQuery(q="backup")).total == 0
    assert tok.page_tokens(DA, ListQuery()).total == 5
    with pytest.raises(InvalidError, match=r"cannot sort API tokens by 'secret_hash'"):
        tok.page_tokens(cli, ListQuery(sort="secret_hash"))
    with pytest.raises(ForbiddenError):
        tok.page_tokens(Actor.user("u@a.example"), ListQuery())
