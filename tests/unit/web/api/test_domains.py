"""/api/v1/domains: list, create, show with usage, change, delete, and their refusals."""

from __future__ import annotations

from tests.unit.web.api.conftest import Api
from tests.unit.web.conftest import DOMAIN_ADMIN


def test_domain_lifecycle(api: Api) -> None:
    client = api.superadmin()
    answer = client.post(
        "/api/v1/domains",
        json={"domain": "New.Example", "description": "new", "mailboxes": 5, "maxquota": 10},
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == "/api/v1/domains/new.example"
    assert answer.json()["domain"] == "new.example"
    shown = client.get("/api/v1/domains/new.example").json()
    assert shown["mailboxes"] == 5
    assert shown["usage"] == {"mailbox_count": 0, "alias_count": 0, "quota_allocated": 0}
    changed = client.patch("/api/v1/domains/new.example", json={"description": "changed"})
    assert changed.status_code == 200
    assert changed.json()["description"] == "changed"
    assert changed.json()["mailboxes"] == 5  # untouched
    assert client.delete("/api/v1/domains/new.example").status_code == 204
    assert client.get("/api/v1/domains/new.example").status_code == 404


def test_domain_list_pages_sorts_and_searches(api: Api) -> None:
    client = api.superadmin()
    page = client.get("/api/v1/domains", params={"limit": 1, "sort": "domain", "desc": True})
    assert page.json()["total"] == 2
    assert [d["domain"] for d in page.json()["items"]] == ["other.test"]
    assert page.json()["limit"] == 1
    found = client.get("/api/v1/domains", params={"q": "xample"}).json()
    assert [d["domain"] for d in found["items"]] == ["example.org"]


def test_domain_refusals(api: Api) -> None:
    client = api.superadmin()
    exists = client.post("/api/v1/domains", json={"domain": "example.org"})
    assert exists.status_code == 409
    assert "already exists" in exists.json()["error"]
    assert client.post("/api/v1/domains", json={"domain": "no_tld"}).status_code == 400
    assert client.post("/api/v1/domains", json={"domain": "a.b", "x": 1}).status_code == 422
    assert client.post("/api/v1/domains", json={"domain": "a.b", "aliases": -2}).status_code == 422
    assert client.get("/api/v1/domains/bad..name").status_code == 400
    surrogate = client.post(
        "/api/v1/domains",
        content=b'{"domain": "a.test", "description": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422
    assert "unicode" in surrogate.json()["error"].lower()
    assert client.get("/api/v1/domains/missing.test").status_code == 404
    assert client.get("/api/v1/domains", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/domains", params={"limit": 501}).status_code == 422
    assert client.get("/api/v1/domains", params={"offset": -1}).status_code == 422
    bad_sort = client.get("/api/v1/domains", params={"sort": "password"})
    assert bad_sort.status_code == 422  # an enum of the sortable columns
    assert bad_sort.json()["error"].startswith("query.sort: ")
    quotas = client.patch("/api/v1/domains/example.org", json={"maxquota": 20, "quota": 10})
    assert quotas.status_code == 400


def test_domain_admin_reads_own_domains_only(api: Api) -> None:
    client = api.session(DOMAIN_ADMIN)
    listed = client.get("/api/v1/domains").json()
    assert [d["domain"] for d in listed["items"]] == ["example.org"]
    assert listed["total"] == 1
    assert client.get("/api/v1/domains/example.org").status_code == 200
    assert client.get("/api/v1/domains/other.test").status_code == 403
    assert client.post("/api/v1/domains", json={"domain": "x.test"}).status_code == 403
    assert client.patch("/api/v1/domains/example.org", json={"active": False}).status_code == 403
