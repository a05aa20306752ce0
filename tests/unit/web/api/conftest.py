"""Fixtures for the REST API tests: a running web server over a directory of its own, and
httpx clients authenticated by API token or by session (with the CSRF header).

Directory (from :mod:`tests.unit.web.conftest`): domains ``example.org`` and
``other.test``, superadmin ``admin@example.org``, domain admin ``dadmin@example.org``
(example.org), mailboxes ``user@example.org`` and ``other@other.test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.web.conftest import RunningWeb, make_web
from tests.unit.web.queue.conftest import ROUTING
from vmail.admin import Actor, AdminService
from vmail.config import MainConfig
from vmail.queue import Spool
from vmail.route import Router

CLI = Actor.cli("tester")


def services(spool_root: Path) -> dict[str, Any]:
    """WebContext fields for the queue and route endpoints: a spool under ``spool_root``
    and a router over the test domains (inline tables), so they answer instead of 503."""
    config = MainConfig(ROUTING)
    return {
        "config": config,
        "spool": Spool(spool_root).create(),
        "router": Router(config),
        "wake": lambda: None,
    }


class Api:
    """The running server and ways to call its API."""

    def __init__(self, web: RunningWeb) -> None:
        self.web = web
        self.admin = web.admin

    def token(self, role: str = "superadmin", domains: tuple[str, ...] = ()) -> str:
        """A new API token's secret (made by the CLI)."""
        return self.admin.create_token(CLI, f"test {role}", role, domains)[1]

    def with_token(self, secret: str) -> httpx.Client:
        return self.web.client(headers={"Authorization": f"Bearer {secret}"})

    def superadmin(self) -> httpx.Client:
        return self.with_token(self.token())

    def session(self, username: str) -> httpx.Client:
        """A client logged in as ``username`` that sends its session's CSRF header."""
        client = self.web.login(username)
        client.headers["X-CSRF-Token"] = self.web.token(client)
        return client


@pytest.fixture
def api(fresh_directory: AdminService) -> Iterator[Api]:
    running = make_web(fresh_directory)
    yield Api(running)
    running.close()
