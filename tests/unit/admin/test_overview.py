"""Dashboard figures, scoped to what the actor sees."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import Actor, AdminService
from vmail.admin.rules import MB


def test_overview_counts_and_quota(engine: Engine, tmp_path: Path, cli: Actor) -> None:
    svc = AdminService(engine, mail_root=tmp_path)
    for domain in ("a.example", "b.example", "c.example"):
        svc.add_domain(cli, domain)
    svc.add_mailbox(cli, "x@a.example", PASSWORD, quota=10 * MB)
    svc.add_mailbox(cli, "y@b.example", PASSWORD, quota=5 * MB)
    svc.add_alias(cli, "info@a.example", "x@a.example")
    svc.add_alias(cli, "@b.example", "y@b.example")
    svc.add_alias_domain(cli, "c.example", "a.example")
    (tmp_path / "a.example" / "x").mkdir(parents=True)
    (tmp_path / "a.example" / "x" / "maildirsize").write_text("0S\n700 3\n")
    assert svc.overview(cli) == {
        "domains": 3,
        "mailboxes": 2,
        "aliases": 2,
        "alias_domains": 1,
        "quota_allocated": 15 * MB,
        "quota_used": 700,
        "messages": 3,
    }
    da = Actor.domain_admin("da@a.example", {"a.example"})
    assert svc.overview(da) == {
        "domains": 1,
        "mailboxes": 1,
        "aliases": 1,
        "alias_domains": 0,
        "quota_allocated": 10 * MB,
        "quota_used": 700,
        "messages": 3,
    }


def test_used_quota_unknown_without_mail_root(svc: AdminService, cli: Actor) -> None:
    figures = svc.overview(cli)
    assert figures["quota_used"] is None
    assert figures["domains"] == 0
