"""Admin pages (superadmins only): list with domains, create/edit/delete, errors, scope."""

from __future__ import annotations

import re

from tests.unit.web.conftest import DOMAIN_ADMIN, PASSWORD, SUPERADMIN, USER, RunningWeb
from tests.unit.web.pages.conftest import delete_flow
from vmail.admin import Actor


def test_list_shows_domains_and_is_superadmin_only(web: RunningWeb) -> None:
    page = web.login(SUPERADMIN).get("/admins")
    assert page.status_code == 200
    assert f'data-username="{DOMAIN_ADMIN}"' in page.text
    assert "<td>example.org</td>" in page.text
    domain_admin = web.login(DOMAIN_ADMIN)
    for path in ("/admins", "/admins/new", f"/admins/{SUPERADMIN}/edit"):
        assert domain_admin.get(path).status_code == 403
    assert web.post(domain_admin, f"/admins/{SUPERADMIN}/delete").status_code == 403
    assert web.login(USER).get("/admins").status_code == 403
    assert web.client().get("/admins").status_code == 303


def test_create_edit_delete_flow(fresh_web: RunningWeb) -> None:
    client = fresh_web.login(SUPERADMIN)
    created = fresh_web.post(
        client,
        "/admins/new",
        data={
            "username": "helper@example.org",
            "password": PASSWORD,
            "password2": PASSWORD,
            "domains": ["example.org", "other.test"],
            "active": "1",
        },
    )
    assert created.status_code == 303, created.text
    assert "Admin helper@example.org was created." in client.get(created.headers["location"]).text
    cli = Actor.cli("t")
    assert fresh_web.admin.get_admin(cli, "helper@example.org")["domains"] == [
        "example.org",
        "other.test",
    ]
    edit = client.get("/admins/helper@example.org/edit")
    assert '<option value="other.test" selected>' in edit.text
    generated = fresh_web.post(
        client,
        "/admins/helper@example.org/edit",
        data={"domains": "other.test", "generate": "1", "active": "1"},
    )
    assert generated.status_code == 200
    found = re.search(r'data-testid="password">([^<]+)<', generated.text)
    assert found is not None
    assert fresh_web.admin.authenticate("helper@example.org", found.group(1)).domains == {
        "other.test"
    }
    listing = delete_flow(fresh_web, client, "/admins", "helper@example.org", "admin")
    assert "helper@example.org" not in listing


def test_errors_are_shown_next_to_the_form(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    no_domain = web.post(
        client,
        "/admins/new",
        data={"username": "x@example.org", "password": PASSWORD, "password2": PASSWORD},
    )
    assert no_domain.status_code == 400
    assert "needs at least one domain" in no_domain.text
    assert 'value="x@example.org"' in no_domain.text
    own = web.post(client, f"/admins/{SUPERADMIN}/edit", data={"active": "1"})
    assert own.status_code == 403
    assert 'data-testid="form-error"' in own.text
