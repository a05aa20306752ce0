"""Alias pages: list (catch-alls), multi-target create/edit, delete, scope, errors."""

from __future__ import annotations

import re

from tests.unit.web.conftest import DOMAIN_ADMIN, SUPERADMIN, USER, RunningWeb
from tests.unit.web.pages.conftest import delete_flow
from vmail.admin import Actor


def _addresses(html: str) -> list[str]:
    return re.findall(r'data-address="([^"]+)"', html)


def test_list_renders_for_both_admins(web: RunningWeb) -> None:
    for name in (SUPERADMIN, DOMAIN_ADMIN):
        page = web.login(name).get("/aliases")
        assert page.status_code == 200
        assert 'data-testid="aliases"' in page.text
        assert USER not in _addresses(page.text)  # a mailbox's own alias row is not listed


def test_create_catch_all_and_multi_target_alias_edit_delete(fresh_web: RunningWeb) -> None:
    client = fresh_web.login(DOMAIN_ADMIN)
    catch_all = fresh_web.post(
        client,
        "/aliases/new",
        data={"local_part": "", "domain": "example.org", "goto": USER, "active": "1"},
    )
    assert catch_all.status_code == 303, catch_all.text
    team = fresh_web.post(
        client,
        "/aliases/new",
        data={
            "local_part": "team",
            "domain": "example.org",
            "goto": f"{USER}\r\nfar@away.test\n\n",
            "active": "1",
        },
    )
    assert team.status_code == 303, team.text
    page = client.get(team.headers["location"])
    assert "Alias team@example.org was created." in page.text
    assert _addresses(page.text) == ["@example.org", "team@example.org"]
    assert 'data-testid="catch-all"' in page.text
    assert "<li>far@away.test</li>" in page.text
    edit = client.get("/aliases/team@example.org/edit")
    assert f"{USER}\nfar@away.test</textarea>" in edit.text
    saved = fresh_web.post(
        client, "/aliases/team@example.org/edit", data={"goto": "a@away.test, b@away.test"}
    )
    assert saved.status_code == 303
    row = fresh_web.admin.get_alias(Actor.cli("t"), "team@example.org")
    assert row["goto"] == "a@away.test,b@away.test"
    assert row["active"] is False
    listing = delete_flow(fresh_web, client, "/aliases", "team@example.org", "alias")
    assert _addresses(listing) == ["@example.org"]


def test_validation_errors_redisplay_the_form(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    empty = web.post(
        client, "/aliases/new", data={"local_part": "kept", "domain": "example.org", "goto": ""}
    )
    assert empty.status_code == 400
    assert "at least one target" in empty.text
    assert 'value="kept"' in empty.text
    mailbox = web.post(
        client,
        "/aliases/new",
        data={"local_part": "user", "domain": "example.org", "goto": "x@y.test"},
    )
    assert mailbox.status_code == 409
    assert "is a mailbox" in mailbox.text


def test_domain_admin_cannot_reach_another_domain(fresh_web: RunningWeb) -> None:
    fresh_web.admin.add_alias(Actor.cli("t"), "list@other.test", "other@other.test")
    client = fresh_web.login(DOMAIN_ADMIN)
    assert "list@other.test" not in client.get("/aliases").text
    assert client.get("/aliases?domain=other.test").status_code == 403
    assert client.get("/aliases/list@other.test/edit").status_code == 403
    assert fresh_web.post(client, "/aliases/list@other.test/delete").status_code == 403
    assert (
        fresh_web.post(
            client, "/aliases/new", data={"local_part": "x", "domain": "other.test", "goto": USER}
        ).status_code
        == 403
    )


def test_user_and_anonymous(web: RunningWeb) -> None:
    assert web.login(USER).get("/aliases").status_code == 403
    assert web.client().get("/aliases").status_code == 303
