"""Domain pages: list with usage, create/edit/delete through the forms, scope, errors."""

from __future__ import annotations

from tests.unit.web.conftest import DOMAIN_ADMIN, SUPERADMIN, USER, RunningWeb


def test_superadmin_sees_every_domain_with_usage(web: RunningWeb) -> None:
    page = web.login(SUPERADMIN).get("/domains")
    assert page.status_code == 200
    assert 'data-domain="example.org"' in page.text
    assert 'data-domain="other.test"' in page.text
    assert 'href="/domains/new"' in page.text


def test_domain_admin_sees_only_theirs_and_cannot_manage(web: RunningWeb) -> None:
    client = web.login(DOMAIN_ADMIN)
    page = client.get("/domains")
    assert page.status_code == 200
    assert 'data-domain="example.org"' in page.text
    assert "other.test" not in page.text
    assert "/domains/new" not in page.text
    assert client.get("/domains/new").status_code == 403
    assert client.get("/domains/other.test/edit").status_code == 403
    assert client.get("/domains/other.test/delete").status_code == 403
    assert web.post(client, "/domains/other.test/delete").status_code == 403


def test_create_edit_delete_flow(fresh_web: RunningWeb) -> None:
    client = fresh_web.login(SUPERADMIN)
    form = {
        "domain": "New.Example",
        "description": "<b>x</b>",
        "aliases": "10",
        "mailboxes": "5",
        "maxquota": "100",
        "quota": "1000",
        "active": "1",
    }
    created = fresh_web.post(client, "/domains/new", data=form)
    assert created.status_code == 303
    listing = client.get(created.headers["location"])
    assert "Domain new.example was created." in listing.text
    assert "&lt;b&gt;x&lt;/b&gt;" in listing.text
    assert (
        fresh_web.admin.get_domain(fresh_web.admin.actor_for(SUPERADMIN), "new.example")[
            "mailboxes"
        ]
        == 5
    )
    edit = client.get("/domains/new.example/edit")
    assert 'value="100"' in edit.text
    saved = fresh_web.post(
        client, "/domains/new.example/edit", data={**form, "description": "changed", "active": ""}
    )
    assert saved.status_code == 303
    row = fresh_web.admin.get_domain(fresh_web.admin.actor_for(SUPERADMIN), "new.example")
    assert row["description"] == "changed"
    assert not row["active"]
    confirm = client.get("/domains/new.example/delete")
    assert 'data-testid="confirm-delete"' in confirm.text
    deleted = fresh_web.post(client, "/domains/new.example/delete")
    assert deleted.status_code == 303
    assert "new.example" not in client.get("/domains").text.replace("was deleted", "")


def test_validation_errors_redisplay_the_form(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    bad = web.post(client, "/domains/new", data={"domain": "no-dot", "description": "kept"})
    assert bad.status_code == 400
    assert "invalid domain name" in bad.text
    assert 'value="kept"' in bad.text
    nan = web.post(client, "/domains/new", data={"domain": "a.test", "aliases": "many"})
    assert nan.status_code == 400
    assert "aliases: &#39;many&#39; is not a whole number" in nan.text
    huge = web.post(client, "/domains/new", data={"domain": "a.test", "quota": "9" * 30})
    assert huge.status_code == 400
    assert "is too large" in huge.text
    dup = web.post(client, "/domains/new", data={"domain": "example.org"})
    assert dup.status_code == 409


def test_user_session_forbidden_and_anonymous_redirected(web: RunningWeb) -> None:
    assert web.login(USER).get("/domains").status_code == 403
    response = web.client().get("/domains")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
