"""/api/v1/admins (superadmins only), /api/v1/log and /api/v1/overview."""

from __future__ import annotations

from tests.unit.web.api.conftest import Api
from tests.unit.web.conftest import DOMAIN_ADMIN, PASSWORD, SUPERADMIN


def test_admin_lifecycle(api: Api) -> None:
    client = api.session(SUPERADMIN)
    new = {"username": "helper@example.org", "password": PASSWORD, "domains": ["other.test"]}
    answer = client.post("/api/v1/admins", json=new)
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == "/api/v1/admins/helper@example.org"
    assert answer.json()["domains"] == ["other.test"]
    assert "password" not in answer.json()
    listed = client.get("/api/v1/admins").json()
    assert {a["username"]: a["domains"] for a in listed["items"]} == {
        SUPERADMIN: [],
        DOMAIN_ADMIN: ["example.org"],
        "helper@example.org": ["other.test"],
    }
    changed = client.patch(
        "/api/v1/admins/helper@example.org", json={"domains": ["example.org", "other.test"]}
    )
    assert changed.json()["domains"] == ["example.org", "other.test"]
    assert client.get("/api/v1/admins/helper@example.org").json()["superadmin"] is False
    assert client.post("/api/v1/admins", json=new).status_code == 409
    unknown = dict(new, username="x@example.org", domains=["missing.test"])
    assert client.post("/api/v1/admins", json=unknown).status_code == 404
    assert client.delete("/api/v1/admins/helper@example.org").status_code == 204
    assert client.get("/api/v1/admins/helper@example.org").status_code == 404


def test_log_filters(api: Api) -> None:
    client = api.superadmin()
    client.post("/api/v1/aliases", json={"address": "a@other.test", "goto": ["x@y.test"]})
    everything = client.get("/api/v1/log").json()
    assert everything["items"][0]["action"] == "create_alias"  # newest first
    created = client.get("/api/v1/log", params={"action": "create_mailbox"}).json()
    assert {row["domain"] for row in created["items"]} == {"example.org", "other.test"}
    other = client.get("/api/v1/log", params={"domain": "other.test"}).json()
    assert {row["domain"] for row in other["items"]} == {"other.test"}
    first = everything["items"][-1]["timestamp"]
    empty = client.get("/api/v1/log", params={"since": first, "until": first})
    assert empty.status_code == 400
    by_cli = client.get("/api/v1/log", params={"username": "tester (cli)", "limit": 2}).json()
    assert by_cli["limit"] == 2
    assert len(by_cli["items"]) == 2
    assert client.get("/api/v1/log", params={"since": "yesterday"}).status_code == 422
    mine = api.session(DOMAIN_ADMIN).get("/api/v1/log").json()
    assert mine["total"] > 0
    assert {row["domain"] for row in mine["items"]} == {"example.org"}


def test_overview_is_scoped(api: Api) -> None:
    everything = api.superadmin().get("/api/v1/overview").json()
    assert everything["domains"] == 2
    assert everything["mailboxes"] == 2
    mine = api.session(DOMAIN_ADMIN).get("/api/v1/overview").json()
    assert (mine["domains"], mine["mailboxes"], mine["quota_used"]) == (1, 1, None)
