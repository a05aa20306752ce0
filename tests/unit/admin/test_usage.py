"""Quota usage from ``maildirsize``: known when the file is there, None otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import Actor, AdminService, ForbiddenError, ListQuery
from vmail.admin.usage import maildir_usage


@pytest.fixture
def store(engine: Engine, tmp_path: Path, cli: Actor) -> AdminService:
    svc = AdminService(engine, mail_root=tmp_path / "mail")
    svc.add_domain(cli, "a.example")
    svc.add_domain(cli, "b.example")
    svc.add_mailbox(cli, "full@a.example", PASSWORD)
    svc.add_mailbox(cli, "new@a.example", PASSWORD)
    svc.add_mailbox(cli, "other@b.example", PASSWORD)
    maildir = tmp_path / "mail" / "a.example" / "full"
    maildir.mkdir(parents=True)
    (maildir / "maildirsize").write_text("1048576S\n1000 2\n500 1\n-200 -1\n")
    return svc


def test_usage_read_from_maildirsize(store: AdminService, cli: Actor) -> None:
    assert store.mailbox_usage(cli, "full@a.example") == (1300, 2)
    assert store.mailbox_usage(cli, "new@a.example") is None  # no file yet


def test_usage_on_mailbox_pages_and_in_batches(store: AdminService, cli: Actor) -> None:
    page = store.page_mailboxes(cli, ListQuery(), domain="a.example")
    assert [(m["username"], m["usage_bytes"], m["usage_messages"]) for m in page.items] == [
        ("full@a.example", 1300, 2),
        ("new@a.example", None, None),
    ]
    assert store.mailbox_usages(page.items) == {"full@a.example": (1300, 2), "new@a.example": None}


def test_usage_is_checked_like_the_mailbox(store: AdminService) -> None:
    with pytest.raises(ForbiddenError):
        store.mailbox_usage(Actor.domain_admin("x@b.example", {"b.example"}), "full@a.example")


def test_unknown_without_mail_root_or_with_a_bad_file(tmp_path: Path) -> None:
    assert maildir_usage(None, "a.example/x/") is None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "maildirsize").write_text("garbage")
    assert maildir_usage(tmp_path, "bad/") is None
    assert maildir_usage(tmp_path, "../../etc/") is None  # never outside the mail root
    (tmp_path / "dir" / "maildirsize").mkdir(parents=True)  # unreadable as a file
    assert maildir_usage(tmp_path, "dir/") is None
