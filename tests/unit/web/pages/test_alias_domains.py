"""Alias domain pages: list, create/edit/delete through the forms, scope, errors."""

from __future__ import annotations

from tests.unit.web.conftest import DOMAIN_ADMIN, SUPERADMIN, USER, RunningWeb
from tests.unit.web.pages.conftest import delete_flow
from vmail.admin import Actor


def test_flow_for_a_superadmin(fresh_web: RunningWeb) -> None:
    cli = Actor.cli("t")
    fresh_web.admin.add_domain(cli, "alias.test")
    client = fresh_web.login(SUPERADMIN)
    assert client.get("/alias-domains").status_code == 200
    form = client.get("/alias-domains/new")
    assert '<option value="alias.test">' in form.text
    created = fresh_web.post(
        client,
        "/alias-domains/new",
        data={"alias_domain": "alias.test", "target_domain": "example.org", "active": "1"},
    )
    assert created.status_code == 303, created.text
    page = client.get(created.headers["location"])
    assert 'data-name="alias.test"' in page.text
    assert "Alias domain alias.test was created." in page.text
    saved = fresh_web.post(
        client, "/alias-domains/alias.test/edit", data={"target_domain": "other.test"}
    )
    assert saved.status_code == 303
    row = fresh_web.admin.get_alias_domain(cli, "alias.test")
    assert row["target_domain"] == "other.test"
    assert row["active"] is False
    listing = delete_flow(fresh_web, client, "/alias-domains", "alias.test", "alias domain")
    assert 'data-name="alias.test"' not in listing


def test_errors_and_scope(fresh_web: RunningWeb) -> None:
    client = fresh_web.login(SUPERADMIN)
    itself = fresh_web.post(
        client,
        "/alias-domains/new",
        data={"alias_domain": "example.org", "target_domain": "example.org"},
    )
    assert itself.status_code == 400
    assert 'data-testid="form-error"' in itself.text
    fresh_web.admin.add_alias_domain(Actor.cli("t"), "other.test", "example.org")
    domain_admin = fresh_web.login(DOMAIN_ADMIN)
    assert 'data-name="other.test"' not in domain_admin.get("/alias-domains").text
    assert domain_admin.get("/alias-domains/other.test/edit").status_code == 403
    assert fresh_web.post(domain_admin, "/alias-domains/other.test/delete").status_code == 403
    assert fresh_web.login(USER).get("/alias-domains").status_code == 403
    assert fresh_web.client().get("/alias-domains").status_code == 303
