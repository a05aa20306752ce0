"""Mailbox pages: list (pagination, sort, search, usage), create/edit/delete, scope."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.web.conftest import DOMAIN_ADMIN, PASSWORD, SUPERADMIN, USER, RunningWeb, make_web
from tests.unit.web.pages.conftest import bulk_mailboxes, delete_flow
from vmail.admin import Actor, AdminService


def _addresses(html: str) -> list[str]:
    return re.findall(r'data-address="([^"]+)"', html)


def test_list_renders_for_both_admins(web: RunningWeb) -> None:
    page = web.login(SUPERADMIN).get("/mailboxes")
    assert page.status_code == 200
    assert _addresses(page.text) == ["other@other.test", USER]
    mine = web.login(DOMAIN_ADMIN).get("/mailboxes")
    assert _addresses(mine.text) == [USER]


def test_domain_admin_cannot_reach_another_domain(web: RunningWeb) -> None:
    client = web.login(DOMAIN_ADMIN)
    assert client.get("/mailboxes?domain=other.test").status_code == 403
    assert client.get("/mailboxes/other@other.test/edit").status_code == 403
    assert client.get("/mailboxes/other%40other.test/delete").status_code == 403
    assert web.post(client, "/mailboxes/other@other.test/delete").status_code == 403
    created = web.post(
        client,
        "/mailboxes/new",
        data={
            "local_part": "x",
            "domain": "other.test",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert created.status_code == 403
    assert "other.test" not in client.get("/mailboxes/new").text


def test_pagination_sort_and_search(fresh_web: RunningWeb) -> None:
    bulk_mailboxes(fresh_web.admin, "example.org", 60)
    client = fresh_web.login(SUPERADMIN)
    first = client.get("/mailboxes?domain=example.org")
    assert len(_addresses(first.text)) == 50
    assert "1\N{EN DASH}50 of 61" in first.text
    assert 'rel="next"' in first.text
    second = client.get("/mailboxes?domain=example.org&page=2")
    assert _addresses(second.text)[-1] == USER
    assert len(_addresses(second.text)) == 11
    by_name = client.get("/mailboxes?domain=example.org&sort=name&desc=1")
    assert _addresses(by_name.text)[0] == "m50@example.org"  # "N9" is the largest name
    ascending = client.get("/mailboxes?domain=example.org&sort=name")
    assert _addresses(ascending.text)[0] == USER  # "" sorts first
    assert "sort=name&amp;desc=1" in ascending.text  # the header link flips the order
    found = client.get("/mailboxes?q=m07")
    assert _addresses(found.text) == ["m07@example.org"]
    fragment = client.get("/mailboxes?q=m07", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results">')
    assert "<html" not in fragment.text
    assert client.get("/mailboxes?page=0").status_code == 400
    assert client.get("/mailboxes?sort=password").status_code == 400


def test_create_edit_delete_flow(fresh_web: RunningWeb) -> None:
    client = fresh_web.login(DOMAIN_ADMIN)
    form = {
        "local_part": "new",
        "domain": "example.org",
        "name": "<script>alert(1)</script>",
        "quota": "100",
        "password": PASSWORD,
        "password2": PASSWORD,
        "active": "1",
    }
    created = fresh_web.post(client, "/mailboxes/new", data=form)
    assert created.status_code == 303, created.text
    listing = client.get(created.headers["location"])
    assert "Mailbox new@example.org was created." in listing.text
    assert "<script>alert" not in listing.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing.text
    edit = client.get("/mailboxes/new@example.org/edit")
    assert 'value="100"' in edit.text
    saved = fresh_web.post(
        client,
        "/mailboxes/new@example.org/edit",
        data={
            "name": "New",
            "quota": "2G",
            "forward": "new@example.org\nfar@away.test",
            "active": "1",
        },
    )
    assert saved.status_code == 303, saved.text
    actor = Actor.cli("t")
    row = fresh_web.admin.get_mailbox(actor, "new@example.org")
    assert row["quota"] == 2 * 1024**3
    assert row["name"] == "New"
    assert fresh_web.admin.get_alias(actor, "new@example.org")["goto"] == (
        "new@example.org,far@away.test"
    )
    generated = fresh_web.post(
        client,
        "/mailboxes/new@example.org/edit",
        data={"name": "New", "quota": "2G", "generate": "1", "forward": "new@example.org"},
    )
    assert generated.status_code == 200
    password = re.search(r'data-testid="password">([^<]+)<', generated.text)
    assert password is not None
    assert fresh_web.admin.get_mailbox(actor, "new@example.org")["active"] is False
    remaining = delete_flow(fresh_web, client, "/mailboxes", "new@example.org", "mailbox")
    assert "new@example.org" not in _addresses(remaining)


def test_validation_errors_redisplay_the_form(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    form = {
        "local_part": "bad one",
        "domain": "example.org",
        "name": "Kept",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    bad = web.post(client, "/mailboxes/new", data=form)
    assert bad.status_code == 400
    assert 'data-testid="form-error"' in bad.text
    assert 'value="Kept"' in bad.text
    differ = web.post(
        client, "/mailboxes/new", data={**form, "local_part": "ok", "password2": "other"}
    )
    assert differ.status_code == 400
    assert "the two passwords differ" in differ.text
    quota = web.post(client, f"/mailboxes/{USER}/edit", data={"quota": "lots"})
    assert quota.status_code == 400
    assert "invalid size" in quota.text
    huge = web.post(client, f"/mailboxes/{USER}/edit", data={"quota": "9" * 30})
    assert huge.status_code == 400
    assert "is larger than" in huge.text  # rules.size bounds sizes
    exists = web.post(client, "/mailboxes/new", data={**form, "local_part": "user"})
    assert exists.status_code == 409


def test_user_and_anonymous(web: RunningWeb) -> None:
    assert web.login(USER).get("/mailboxes").status_code == 403
    assert web.client().get("/mailboxes/new").status_code == 303


def test_quota_usage_from_maildirsize(fresh_directory: AdminService, tmp_path: Path) -> None:
    cli = Actor.cli("t")
    fresh_directory.edit_mailbox(cli, USER, quota=10 * 1024 * 1024)
    maildir = tmp_path / "mail" / fresh_directory.get_mailbox(cli, USER)["maildir"]
    maildir.mkdir(parents=True)
    (maildir / "maildirsize").write_text("10485760S\n5242880 3\n")
    running = make_web(AdminService(fresh_directory.engine, mail_root=tmp_path / "mail"))
    try:
        client = running.login(SUPERADMIN)
        page = client.get("/mailboxes?domain=example.org")
        assert 'max="10485760" value="5242880"' in page.text
        assert "5.0 / 10.0 MB" in page.text
        edit = client.get(f"/mailboxes/{USER}/edit")
        assert "In use: 5.0 MB in 3 message(s)." in edit.text
    finally:
        running.close()
