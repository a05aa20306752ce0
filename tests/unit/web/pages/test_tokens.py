"""API token pages: list, create (secret shown once), revoke, roles by admin kind."""

from __future__ import annotations

import re

from tests.unit.web.conftest import DOMAIN_ADMIN, SUPERADMIN, USER, RunningWeb


def test_create_use_and_revoke(fresh_web: RunningWeb) -> None:
    client = fresh_web.login(DOMAIN_ADMIN)
    assert client.get("/tokens").status_code == 200
    form = client.get("/tokens/new")
    assert 'value="superadmin"' not in form.text
    created = fresh_web.post(
        client,
        "/tokens/new",
        data={
            "name": "<i>backup</i>",
            "role": "domain_admin",
            "domains": "example.org",
            "expires": "2999-01-01",
        },
    )
    assert created.status_code == 200, created.text
    found = re.search(r'data-testid="token-secret">(vmail_[^<]+)<', created.text)
    assert found is not None
    assert "&lt;i&gt;backup&lt;/i&gt;" in created.text
    actor = fresh_web.admin.actor_for_token(found.group(1))
    assert actor.domains == {"example.org"}
    listing = client.get("/tokens")
    assert found.group(1) not in listing.text
    token_id = re.search(r'data-testid="token-row" data-id="(\d+)"', listing.text)
    assert token_id is not None
    confirm = client.get(f"/tokens/{token_id.group(1)}/revoke")
    assert 'data-testid="confirm-revoke"' in confirm.text
    revoked = fresh_web.post(client, f"/tokens/{token_id.group(1)}/revoke")
    assert revoked.status_code == 303
    assert "was revoked" in client.get(revoked.headers["location"]).text
    superadmin = fresh_web.login(SUPERADMIN)
    assert 'data-testid="token-row"' in superadmin.get("/tokens").text


def test_errors_and_scope(fresh_web: RunningWeb) -> None:
    client = fresh_web.login(DOMAIN_ADMIN)
    for data, status in (
        ({"name": "x", "role": "superadmin"}, 403),
        ({"name": "x", "role": "domain_admin", "domains": "other.test"}, 403),
        ({"name": "kept", "role": "domain_admin"}, 400),
        ({"name": "x", "role": "domain_admin", "domains": "example.org", "expires": "soon"}, 400),
        (
            {
                "name": "x",
                "role": "domain_admin",
                "domains": "example.org",
                "expires": "2000-01-01",
            },
            400,
        ),
    ):
        response = fresh_web.post(client, "/tokens/new", data=data)
        assert response.status_code == status, (data, response.text)
    kept = fresh_web.post(client, "/tokens/new", data={"name": "kept", "role": "domain_admin"})
    assert 'value="kept"' in kept.text
    superadmin = fresh_web.login(SUPERADMIN)
    made = fresh_web.post(superadmin, "/tokens/new", data={"name": "root", "role": "superadmin"})
    assert made.status_code == 200
    listing = superadmin.get("/tokens")
    token_id = re.search(r'data-testid="token-row" data-id="(\d+)"', listing.text)
    assert token_id is not None
    assert client.get(f"/tokens/{token_id.group(1)}/revoke").status_code == 404
    assert fresh_web.post(client, f"/tokens/{token_id.group(1)}/revoke").status_code == 404
    assert client.get("/tokens/nope/revoke").status_code == 400
    assert fresh_web.login(USER).get("/tokens").status_code == 403
    assert fresh_web.client().get("/tokens").status_code == 303
