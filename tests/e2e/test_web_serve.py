"""``vmail serve`` serves the web UI on its ``webd`` listeners: HTTPS (as ``vmail init``
writes it) and plain HTTP, with logins against the directory the CLI fills."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import PASSWORD, ServerProcess, make_config, running, vmail_here

PLAIN_WEB = """\
127.0.0.1:0 inet n - n - - webd
  -o syslog_name=vmail/webplain
"""
ADMIN = "admin@example.com"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config_dir = make_config(tmp_path_factory.mktemp("web"), master=PLAIN_WEB)
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        secret = config_dir.parent / "admin-password"
        secret.write_text(PASSWORD + "\n")
        vmail_here(
            config_dir, "admin", "add", ADMIN, "--superadmin", "--password-file", str(secret)
        )
        yield server


def login(client: httpx.Client, username: str) -> httpx.Response:
    page = client.get("/login")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    form = {"username": username, "password": PASSWORD, "csrf_token": found.group(1)}
    return client.post("/login", data=form)


def test_https_listener_from_vmail_init(web_server: ServerProcess) -> None:
    url = f"https://127.0.0.1:{web_server.port('web')}"
    with httpx.Client(base_url=url, verify=False, timeout=10) as client:
        response = login(client, ADMIN)
        assert response.status_code == 303, response.text
        assert "; Secure" in response.headers["set-cookie"]
        dashboard = client.get("/")
        assert dashboard.status_code == 200
        assert "Dashboard" in dashboard.text
        assert dashboard.headers["strict-transport-security"]
        assert "frame-ancestors 'none'" in dashboard.headers["content-security-policy"]
        assert client.get("/static/htmx.min.js").status_code == 200


def test_plain_listener_and_a_mailbox_user(web_server: ServerProcess) -> None:
    url = f"http://127.0.0.1:{web_server.port('webplain')}"
    with httpx.Client(base_url=url, timeout=10) as client:
        response = login(client, "bob@example.com")
        assert response.status_code == 303
        assert response.headers["location"] == "/account"
        assert "bob@example.com" in client.get("/account").text
        assert "strict-transport-security" not in client.get("/account").headers
    web_server.wait_log(r"authenticated: user=<bob@example\.com>, rip=127\.0\.0\.1, service=web")


def test_secret_file_is_created_private(web_server: ServerProcess) -> None:
    secret = Path(web_server.config_dir / "web-secret")
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) >= 32


def test_reload_keeps_sessions_and_serving(web_server: ServerProcess) -> None:
    url = f"http://127.0.0.1:{web_server.port('webplain')}"
    with httpx.Client(base_url=url, timeout=10) as client:
        assert login(client, ADMIN).status_code == 303
        web_server.signal(signal.SIGHUP)
        web_server.wait_log(r"reload -- version")
        assert client.get("/").status_code == 200
