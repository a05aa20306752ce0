"""/api/v1/mailboxes: lifecycle, quota usage from maildirsize, password, refusals."""

from __future__ import annotations

from pathlib import Path

from tests.unit.web.api.conftest import Api
from tests.unit.web.conftest import DOMAIN_ADMIN, PASSWORD, make_web
from vmail.admin import AdminService


def test_mailbox_lifecycle(api: Api) -> None:
    client = api.session(DOMAIN_ADMIN)  # cookie + X-CSRF-Token
    answer = client.post(
        "/api/v1/mailboxes",
        json={"address": "New@Example.org", "password": PASSWORD, "name": "New", "quota": 1024},
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == "/api/v1/mailboxes/new@example.org"
    body = answer.json()
    assert body["username"] == "new@example.org"
    assert "password" not in body
    assert body["usage_bytes"] is None
    changed = client.patch("/api/v1/mailboxes/new@example.org", json={"active": False})
    assert changed.json()["active"] is False
    assert changed.json()["name"] == "New"
    password = client.put(
        "/api/v1/mailboxes/new@example.org/password", json={"password": "another secret"}
    )
    assert password.status_code == 204
    listed = client.get("/api/v1/mailboxes", params={"domain": "example.org"}).json()
    assert sorted(m["username"] for m in listed["items"]) == [
        "new@example.org",
        "user@example.org",
    ]
    assert client.delete("/api/v1/mailboxes/new@example.org").status_code == 204
    assert client.get("/api/v1/mailboxes/new@example.org").status_code == 404


def test_mailbox_usage_from_maildirsize(fresh_directory: AdminService, tmp_path: Path) -> None:
    fresh_directory.mail_root = tmp_path
    maildir = tmp_path / "example.org" / "user"
    maildir.mkdir(parents=True)
    (maildir / "maildirsize").write_text("0S\n300 2\n200 1\n")
    running = make_web(fresh_directory)
    try:
        client = running.client(
            headers={"Authorization": "Bearer " + Api(running).token("superadmin")}
        )
        one = client.get("/api/v1/mailboxes/user@example.org").json()
        assert (one["usage_bytes"], one["usage_messages"]) == (500, 3)
        page = client.get("/api/v1/mailboxes", params={"q": "user@"}).json()
        assert page["items"][0]["usage_bytes"] == 500
        overview = client.get("/api/v1/overview").json()
        assert overview["quota_used"] == 500
        assert overview["mailboxes"] == 2
    finally:
        running.close()


def test_mailbox_refusals(api: Api) -> None:
    client = api.superadmin()
    new = {"address": "user@example.org", "password": PASSWORD}
    assert client.post("/api/v1/mailboxes", json=new).status_code == 409
    short = client.post("/api/v1/mailboxes", json={"address": "a@example.org", "password": "x"})
    assert short.status_code == 422
    assert "password" in short.json()["error"]
    bad = client.post("/api/v1/mailboxes", json={"address": "no-at", "password": PASSWORD})
    assert bad.status_code == 400
    assert "invalid address" in bad.json()["error"]
    assert client.get("/api/v1/mailboxes/not an address").status_code == 400
    assert client.get("/api/v1/mailboxes/nobody@example.org").status_code == 404
    nul = client.post(
        "/api/v1/mailboxes", json={"address": "a\u0000@example.org", "password": PASSWORD}
    )
    assert nul.status_code == 422
    assert client.get("/api/v1/mailboxes", params={"domain": "missing.test"}).status_code == 404
    assert client.patch("/api/v1/mailboxes/user@example.org", json={"quota": -1}).status_code == 422


def test_no_password_hash_or_token_hash_in_any_answer(api: Api) -> None:
    client = api.superadmin()
    with api.admin.engine.connect() as connection:
        hashes = [
            row[0]
            for table, column in [
                ("mailbox", "password"),
                ("admin", "password"),
                ("vmail_api_token", "secret_hash"),
            ]
            for row in connection.exec_driver_sql(f"SELECT {column} FROM {table}")
        ]
    assert len(hashes) == 5
    paths = [
        "/api/v1/mailboxes",
        "/api/v1/mailboxes/user@example.org",
        "/api/v1/admins",
        f"/api/v1/admins/{DOMAIN_ADMIN}",
        "/api/v1/aliases?include_mailboxes=true",
        "/api/v1/tokens",
        "/api/v1/log?limit=500",
    ]
    for path in paths:
        text = client.get(path).text
        assert all(h not in text for h in hashes), path
        assert '"password"' not in text, path
