"""/api/v1/tokens, and API tokens as credentials: Bearer auth, no CSRF, 401s, scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from tests.unit.web.api.conftest import CLI, Api
from tests.unit.web.conftest import DOMAIN_ADMIN, PASSWORD, SUPERADMIN
from vmail.directory.models import ApiToken


def test_token_lifecycle_secret_shown_once(api: Api) -> None:
    client = api.session(DOMAIN_ADMIN)
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    answer = client.post(
        "/api/v1/tokens",
        json={
            "name": "deploy",
            "role": "domain_admin",
            "domains": ["example.org"],
            "expires": expires,
        },
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["secret"].startswith("vmail_")
    assert answer.headers["location"] == f"/api/v1/tokens/{made['id']}"
    listed = client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["deploy"]
    assert made["secret"] not in client.get("/api/v1/tokens").text
    assert "secret_hash" not in listed[0]
    token = api.with_token(made["secret"])
    assert token.get("/api/v1/me").json() == {
        "kind": "admin",
        "username": f"{DOMAIN_ADMIN} (token {made['id']})",
    }
    assert client.delete(f"/api/v1/tokens/{made['id']}").status_code == 204
    refused = token.get("/api/v1/domains")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert client.delete("/api/v1/tokens/999").status_code == 404


def test_token_creation_refusals(api: Api) -> None:
    client = api.session(DOMAIN_ADMIN)
    superadmin = client.post("/api/v1/tokens", json={"name": "x", "role": "superadmin"})
    assert superadmin.status_code == 403
    foreign = client.post(
        "/api/v1/tokens", json={"name": "x", "role": "domain_admin", "domains": ["other.test"]}
    )
    assert foreign.status_code == 403
    role = client.post("/api/v1/tokens", json={"name": "x", "role": "root"})
    assert role.status_code == 422
    past = client.post(
        "/api/v1/tokens",
        json={
            "name": "x",
            "role": "domain_admin",
            "domains": ["example.org"],
            "expires": "2001-01-01T00:00:00",
        },
    )
    assert past.status_code == 400
    assert client.post("/api/v1/tokens", json={"name": "", "role": "superadmin"}).status_code == 422
    assert client.delete("/api/v1/tokens/0").status_code == 422


def test_token_needs_no_csrf_and_acts_in_its_scope(api: Api) -> None:
    scoped = api.with_token(api.token("domain_admin", ("example.org",)))
    made = scoped.post("/api/v1/aliases", json={"address": "t@example.org", "goto": ["x@y.test"]})
    assert made.status_code == 201  # no cookie, no CSRF token: fine
    foreign = scoped.post("/api/v1/aliases", json={"address": "t@other.test", "goto": ["x@y.test"]})
    assert foreign.status_code == 403
    assert scoped.get("/api/v1/mailboxes/other@other.test").status_code == 403
    assert [d["domain"] for d in scoped.get("/api/v1/domains").json()["items"]] == ["example.org"]
    log = api.superadmin().get("/api/v1/log", params={"action": "create_alias"}).json()
    assert log["items"][0]["username"].endswith("(token 1)")


def test_bad_credentials_are_401(api: Api) -> None:
    secret = api.token()
    expired = api.token()
    with api.admin.engine.begin() as connection:
        connection.execute(
            update(ApiToken).where(ApiToken.id == 2).values(expires=datetime(2001, 1, 1))
        )
    cases = {
        "unknown": {"Authorization": "Bearer vmail_" + "x" * 32},
        "not a vmail token": {"Authorization": "Bearer abc"},
        "empty": {"Authorization": "Bearer"},
        "basic": {"Authorization": "Basic YWRtaW46cGFzcw=="},
        "expired": {"Authorization": f"Bearer {expired}"},
        "tampered": {"Authorization": f"Bearer {secret[:-1]}!"},
    }
    for case, headers in cases.items():
        client = api.web.client(headers=headers)
        for response in (client.get("/api/v1/domains"), client.delete("/api/v1/domains/x.test")):
            assert response.status_code == 401, case
            assert 'error="invalid_token"' in response.headers["www-authenticate"], case
            assert "error" in response.json()
    anonymous = api.web.client().get("/api/v1/domains")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="vmail"'
    assert api.with_token(secret).get("/api/v1/domains").status_code == 200


def test_token_of_a_deactivated_admin_stops(api: Api) -> None:
    client = api.session(SUPERADMIN)
    made = client.post("/api/v1/tokens", json={"name": "mine", "role": "superadmin"}).json()
    token = api.with_token(made["secret"])
    assert token.get("/api/v1/admins").status_code == 200
    api.admin.edit_admin(CLI, SUPERADMIN, active=False)
    assert token.get("/api/v1/admins").status_code == 401


def test_cookie_requests_still_need_csrf(api: Api) -> None:
    client = api.web.login(SUPERADMIN)  # no X-CSRF-Token header
    new = {"address": "c@example.org", "password": PASSWORD}
    assert client.post("/api/v1/mailboxes", json=new).status_code == 403
    client.headers["X-CSRF-Token"] = "forged"
    assert client.post("/api/v1/mailboxes", json=new).status_code == 403
    client.headers["X-CSRF-Token"] = api.web.token(client)
    assert client.post("/api/v1/mailboxes", json=new).status_code == 201


def test_token_with_cookie_uses_the_token(api: Api) -> None:
    client = api.web.login(SUPERADMIN)
    client.headers["Authorization"] = "Bearer " + api.token("domain_admin", ("example.org",))
    assert client.get("/api/v1/admins").status_code == 403  # the token's scope, not the cookie's
    client.headers["Authorization"] = "Bearer vmail_nothing"
    assert client.get("/api/v1/domains").status_code == 401  # never falls back to the cookie
