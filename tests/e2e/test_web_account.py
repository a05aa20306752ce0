"""A mailbox user changes their password on the web UI of a real ``vmail serve``; IMAP
takes the new one at once and refuses the old one, even just after it was used (the
authentication service's credential cache must not keep it alive)."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.harness import PASSWORD, ServerProcess, make_config, running

USER = "carol@example.com"
NEW_PASSWORD = "new staple horse 7"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    for process in running(make_config(tmp_path_factory.mktemp("webaccount"))):
        process.add_mailbox(USER)
        yield process


def _imap_login(server: ServerProcess, password: str) -> bool:
    client = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    try:
        client.login(USER, password)
    except imaplib.IMAP4.error:
        return False
    finally:
        client.shutdown()
    return True


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_password_change_on_the_web_applies_to_imap_at_once(server: ServerProcess) -> None:
    assert _imap_login(server, PASSWORD)  # now cached by the authentication service
    url = f"https://127.0.0.1:{server.port('web')}"
    with httpx.Client(base_url=url, verify=False, timeout=10) as client:
        page = client.get("/login")
        form = {"username": USER, "password": PASSWORD, "csrf_token": _csrf(page.text)}
        assert client.post("/login", data=form).status_code == 303
        account = client.get("/account")
        change = {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": _csrf(account.text),
        }
        response = client.post("/account/password", data=change)
        assert response.status_code == 303, response.text
    assert _imap_login(server, NEW_PASSWORD)
    assert not _imap_login(server, PASSWORD)
    server.wait_log(
        r"authentication failed: user=<carol@example\.com>, rip=127\.0\.0\.1, service=imap"
    )
