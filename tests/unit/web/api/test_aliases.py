"""/api/v1/aliases and /api/v1/alias-domains: lifecycles, forwarding, catch-alls, refusals."""

from __future__ import annotations

from tests.unit.web.api.conftest import Api


def test_alias_lifecycle(api: Api) -> None:
    client = api.superadmin()
    answer = client.post(
        "/api/v1/aliases", json={"address": "info@example.org", "goto": ["a@x.test", "b@x.test"]}
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == "/api/v1/aliases/info@example.org"
    assert answer.json()["goto"] == ["a@x.test", "b@x.test"]
    catchall = client.post(
        "/api/v1/aliases", json={"address": "@example.org", "goto": ["c@x.test"]}
    )
    assert catchall.status_code == 201
    assert catchall.headers["location"] == "/api/v1/aliases/@example.org"
    assert client.get("/api/v1/aliases/@example.org").json()["goto"] == ["c@x.test"]
    changed = client.patch("/api/v1/aliases/info@example.org", json={"goto": ["z@x.test"]})
    assert changed.json()["goto"] == ["z@x.test"]
    listed = client.get("/api/v1/aliases", params={"domain": "example.org"}).json()
    assert listed["total"] == 2
    assert client.delete("/api/v1/aliases/info@example.org").status_code == 204
    assert client.get("/api/v1/aliases/info@example.org").status_code == 404


def test_mailbox_forwarding_through_its_alias(api: Api) -> None:
    client = api.superadmin()
    mine = client.get("/api/v1/aliases", params={"include_mailboxes": True}).json()
    assert "user@example.org" in [a["address"] for a in mine["items"]]
    assert client.get("/api/v1/aliases").json()["total"] == 0
    forward = client.patch(
        "/api/v1/aliases/user@example.org", json={"goto": ["user@example.org", "far@x.test"]}
    )
    assert forward.status_code == 200
    assert client.delete("/api/v1/aliases/user@example.org").status_code == 400


def test_alias_refusals(api: Api) -> None:
    client = api.superadmin()
    assert (
        client.post("/api/v1/aliases", json={"address": "a@example.org", "goto": []}).status_code
        == 422
    )
    loop = client.post(
        "/api/v1/aliases", json={"address": "a@example.org", "goto": ["a@example.org"]}
    )
    assert loop.status_code == 400
    mailbox = client.post(
        "/api/v1/aliases", json={"address": "user@example.org", "goto": ["a@x.test"]}
    )
    assert mailbox.status_code == 409
    bad = client.post("/api/v1/aliases", json={"address": "a@example.org", "goto": ["nope"]})
    assert bad.status_code == 400


def test_alias_domain_lifecycle(api: Api) -> None:
    client = api.superadmin()
    answer = client.post(
        "/api/v1/alias-domains", json={"alias_domain": "other.test", "target_domain": "example.org"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == "/api/v1/alias-domains/other.test"
    assert client.get("/api/v1/alias-domains/other.test").json()["target_domain"] == "example.org"
    changed = client.patch("/api/v1/alias-domains/other.test", json={"active": False})
    assert changed.json()["active"] is False
    listed = client.get("/api/v1/alias-domains", params={"domain": "example.org"}).json()
    assert listed["total"] == 1
    again = client.post(
        "/api/v1/alias-domains", json={"alias_domain": "other.test", "target_domain": "example.org"}
    )
    assert again.status_code == 409
    assert client.delete("/api/v1/alias-domains/other.test").status_code == 204
    assert client.get("/api/v1/alias-domains/other.test").status_code == 404
    missing = client.post(
        "/api/v1/alias-domains",
        json={"alias_domain": "nowhere.test", "target_domain": "example.org"},
    )
    assert missing.status_code == 404
