"""Fixtures of the admin page tests: a web server over a directory of the test's own."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from tests.unit.web.conftest import RunningWeb, make_web
from vmail.admin import AdminService
from vmail.directory.models import Mailbox


@pytest.fixture
def fresh_web(fresh_directory: AdminService) -> Iterator[RunningWeb]:
    """A running web server over :func:`fresh_directory` (tests that change data)."""
    running = make_web(fresh_directory)
    yield running
    running.close()


def bulk_mailboxes(admin: AdminService, domain: str, count: int) -> list[str]:
    """``count`` mailboxes ``mNN@domain`` (name ``N<count-1-n>``) inserted directly: the
    admin service would hash a password for each, which takes seconds."""
    names = [f"m{n:02d}@{domain}" for n in range(count)]
    rows = [
        Mailbox(
            username=f"m{n:02d}@{domain}",
            password="{PLAIN}x",
            name=f"N{count - 1 - n}",
            maildir=f"{domain}/m{n:02d}/",
            local_part=f"m{n:02d}",
            domain=domain,
        )
        for n in range(count)
    ]
    with Session(admin.engine) as session, session.begin():
        session.add_all(rows)
    return names


def delete_flow(web: RunningWeb, client: httpx.Client, path: str, name: str, what: str) -> str:
    """Delete ``name`` from the ``path`` list pages: the confirmation names ``what``, the
    POST redirects; the list page's text afterwards."""
    assert f"Delete {what}" in client.get(f"{path}/{name}/delete").text
    assert web.post(client, f"{path}/{name}/delete").status_code == 303
    return client.get(path).text
