"""Fixtures for the queue, route and dashboard tests: one running web server per module
over the shared test directory (:mod:`tests.unit.web.conftest`), a real spool in a temp
directory, a router over inline tables, and a recorder for the server's wake (flush).

Messages are queued the way the queue tests do (:func:`tests.unit.queue.helpers.queue`);
each test queues its own, with recipients of its own, and looks only at those.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.unit.queue.helpers import envelope, queue
from tests.unit.web.conftest import DOMAIN_ADMIN, SUPERADMIN, USER, RunningWeb, make_web
from vmail.admin import AdminService
from vmail.config import MainConfig
from vmail.queue import Spool
from vmail.queue.ids import QueueId
from vmail.queue.spool import INCOMING
from vmail.route import Router

ROUTING = {
    "myhostname": "mail.example.net",
    "mydestination": "$myhostname",
    "alias_maps": "",
    "virtual_mailbox_domains": "example.org, other.test",
    "virtual_mailbox_maps": (
        "inline:{ user@example.org=example.org/user/, other@other.test=other.test/other/ }"
    ),
    "virtual_alias_maps": "inline:{ {team@example.org = user@example.org, ext@else.example} }",
}


class Wakes:
    """Counts the server's wake calls (what ``postqueue -f`` makes it do)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


class QueueWeb:
    """The running server, its spool, and logged-in clients."""

    def __init__(self, web: RunningWeb, spool: Spool, wakes: Wakes) -> None:
        self.web = web
        self.spool = spool
        self.wakes = wakes
        self.superadmin = web.login(SUPERADMIN)
        self.domain_admin = web.login(DOMAIN_ADMIN)
        self.user = web.login(USER)
        self._csrf: dict[int, str] = {}

    def csrf(self, client: httpx.Client) -> dict[str, str]:
        """The X-CSRF-Token header for a session client."""
        key = id(client)
        if key not in self._csrf:
            self._csrf[key] = self.web.token(client)
        return {"X-CSRF-Token": self._csrf[key]}

    def post(self, client: httpx.Client, path: str) -> httpx.Response:
        """A form POST with the CSRF field (as the page's buttons send it)."""
        return client.post(path, data={"csrf_token": self.csrf(client)["X-CSRF-Token"]})

    def queue(
        self, *recipients: str, where: str = INCOMING, sender: str = "a@example.com"
    ) -> QueueId:
        qid = queue(self.spool, envelope(*recipients, sender=sender))
        if where != INCOMING:
            self.spool.move(qid, INCOMING, where)
        return qid


@pytest.fixture(scope="module")
def qweb(directory: AdminService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueWeb]:
    spool = Spool(tmp_path_factory.mktemp("spool")).create()
    wakes = Wakes()
    config = MainConfig(ROUTING)
    running = make_web(directory, config=config, spool=spool, router=Router(config), wake=wakes)
    yield QueueWeb(running, spool, wakes)
    running.close()
