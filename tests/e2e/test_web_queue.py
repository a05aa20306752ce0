"""``vmail serve``'s web context carries the spool, the router and the wake: the queue
API, the route explainer and the dashboard's recent deliveries (written by the queue
manager) work against a running server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.harness import PASSWORD, ServerProcess, make_config, running, vmail_here

PLAIN_WEB = """\
127.0.0.1:0 inet n - n - - webd
  -o syslog_name=vmail/webplain
"""
ADMIN = "admin@example.com"
BOB = "bob@example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config_dir = make_config(tmp_path_factory.mktemp("webq"), master=PLAIN_WEB)
    for server in running(config_dir):
        server.add_mailbox(BOB)
        secret = config_dir.parent / "admin-password"
        secret.write_text(PASSWORD + "\n")
        vmail_here(
            config_dir, "admin", "add", ADMIN, "--superadmin", "--password-file", str(secret)
        )
        yield server


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    url = f"http://127.0.0.1:{server.port('webplain')}"
    with httpx.Client(base_url=url, timeout=10) as client:
        page = client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found
        form = {"username": ADMIN, "password": PASSWORD, "csrf_token": found.group(1)}
        assert client.post("/login", data=form).status_code == 303
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
        assert found  # the logged-in session's token (the login page's was the old one)
        client.headers["X-CSRF-Token"] = found.group(1)
        yield client


def test_delivery_shows_on_the_dashboard(server: ServerProcess, client: httpx.Client) -> None:
    with server.smtp() as smtp:
        smtp.sendmail("alice@example.net", [BOB], b"Subject: dash\r\n\r\nhello\r\n")
    server.wait_for(BOB)
    deadline = time.monotonic() + 10
    while True:  # the history line follows the delivery
        page = client.get("/").text
        if "status-sent" in page or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "status-sent" in page
    assert 'href="/queue?queue=deferred"' in page


def test_queue_and_route_api(client: httpx.Client) -> None:
    listing = client.get("/api/v1/queue")
    assert listing.status_code == 200
    assert set(listing.json()["sizes"]) == {"incoming", "active", "deferred", "hold"}
    flushed = client.post("/api/v1/queue/flush")
    assert flushed.status_code == 200, flushed.text
    assert flushed.json()["server_notified"] is True
    route = client.get("/api/v1/route", params={"address": BOB}).json()
    assert route["recipients"][0]["accepted"] is True
    assert route["recipients"][0]["deliveries"][0]["transport"] == "virtual"
