"""Fixtures: the web app served by uvicorn on 127.0.0.1 (port 0) over a real SQLite
directory, and httpx clients that log in the way a browser does.

Reuse them for pages and API tests::

    def test_something(web: RunningWeb) -> None:
        client = web.login(SUPERADMIN)            # httpx.Client with the session cookie
        response = client.get("/domains")
        web.post(client, "/domains", data={...})  # adds the CSRF token

Directory contents: the domain ``example.org`` (and ``other.test``), the superadmin
``admin@example.org``, the domain admin ``dadmin@example.org`` (example.org only), the
mailbox ``user@example.org``; every password is :data:`PASSWORD`. ``web.clock`` is the
sessions' clock (``web.clock.now += 3600`` expires them); login failures are counted
without delays and lock a username out after :data:`USER_LOCKOUT` failures.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from vmail.admin import Actor, AdminService
from vmail.auth.service import Authenticator
from vmail.auth.sqlsource import SqlAccountSource
from vmail.auth.throttle import Throttle, ThrottlePolicy
from vmail.config import MainConfig
from vmail.directory.database import open_database
from vmail.directory.schema import upgrade_database
from vmail.web.context import WebContext
from vmail.web.server import WebServer

PASSWORD = "correct horse"
SUPERADMIN = "admin@example.org"
DOMAIN_ADMIN = "dadmin@example.org"
USER = "user@example.org"
USER_LOCKOUT = 3
TIMEOUT = 3600.0
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
T = TypeVar("T")


class FakeClock:
    """Wall-clock seconds that only move when a test moves them."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def _no_sleep(seconds: float) -> None:
    return None


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: a test may run after one that left an event
    loop running in this thread (Playwright's), where ``asyncio.run`` refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def csrf_token(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = CSRF_FIELD.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


class RunningWeb:
    """A :class:`WebServer` running in its own thread and event loop."""

    def __init__(self, server: WebServer, context: WebContext, clock: FakeClock) -> None:
        self.server = server
        self.context = context
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(server.start(), self.loop).result(10)
        scheme = "https" if server.ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{server.port}"
        self._clients: list[httpx.Client] = []

    @property
    def admin(self) -> AdminService:
        assert self.context.admin is not None
        return self.context.admin

    def client(self, **options: Any) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=10, **options)
        self._clients.append(client)
        return client

    def login_response(self, client: httpx.Client, username: str, password: str) -> httpx.Response:
        """GET /login (for the session and its token), then POST the form."""
        page = client.get("/login")
        form = {"username": username, "password": password, "csrf_token": csrf_token(page.text)}
        return client.post("/login", data=form)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Client:
        """A new client logged in as ``username``."""
        client = self.client()
        response = self.login_response(client, username, password)
        assert response.status_code == 303, response.text
        return client

    def token(self, client: httpx.Client) -> str:
        """The client's session CSRF token (from the page every logged-in user can see)."""
        page = client.get("/login", follow_redirects=True)
        return csrf_token(page.text)

    def post(self, client: httpx.Client, path: str, **kwargs: Any) -> httpx.Response:
        """POST a form with the session's CSRF token added."""
        data = dict(kwargs.pop("data", {}))
        data["csrf_token"] = self.token(client)
        return client.post(path, data=data, **kwargs)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def _fill(admin: AdminService) -> None:
    cli = Actor.cli("tester")
    admin.add_domain(cli, "example.org")
    admin.add_domain(cli, "other.test")
    admin.add_admin(cli, SUPERADMIN, PASSWORD, superadmin=True)
    admin.add_admin(cli, DOMAIN_ADMIN, PASSWORD, domains=["example.org"])
    admin.add_mailbox(cli, USER, PASSWORD)
    admin.add_mailbox(cli, "other@other.test", PASSWORD)


def no_delay(lockout_failures: int) -> ThrottlePolicy:
    return ThrottlePolicy(base_delay=0, lockout_failures=lockout_failures, lockout_time=300)


def open_directory(path: Path) -> AdminService:
    """A new SQLite directory at ``path`` with the module's admins, domains, mailboxes."""
    engine = open_database(f"sqlite:///{path}")
    upgrade_database(engine)
    admin = AdminService(engine)
    _fill(admin)
    return admin


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminService]:
    """One filled directory per test module (read-only use: tests that change it take
    :func:`fresh_directory`)."""
    admin = open_directory(tmp_path_factory.mktemp("web") / "vmail.db")
    yield admin
    admin.engine.dispose()


@pytest.fixture
def fresh_directory(tmp_path: Path) -> Iterator[AdminService]:
    """A filled directory of this test's own, to change."""
    admin = open_directory(tmp_path / "vmail.db")
    yield admin
    admin.engine.dispose()


def make_web(admin: AdminService | None, **context: Any) -> RunningWeb:
    """A running web server over ``admin``'s database (``context``: WebContext fields)."""
    clock = FakeClock()
    throttle = Throttle(user_policy=no_delay(USER_LOCKOUT), ip_policy=no_delay(1000))
    authenticator = None
    if admin is not None:
        authenticator = Authenticator(
            SqlAccountSource(admin.engine),
            throttle=Throttle(user_policy=no_delay(1000), ip_policy=no_delay(1000)),
            sleep=_no_sleep,
            clock=clock,
        )
    settings: dict[str, Any] = {
        "config": MainConfig({}),
        "admin": admin,
        "authenticator": authenticator,
        "secret": b"0123456789abcdef0123456789abcdef",
        "session_timeout": TIMEOUT,
        "throttle": throttle,
        "clock": clock,
    }
    settings.update(context)
    ssl_context = settings.pop("ssl_context", None)
    web_context = WebContext(**settings)
    server = WebServer(
        web_context.config, web_context, host="127.0.0.1", port=0, ssl_context=ssl_context
    )
    return RunningWeb(server, web_context, clock)


@pytest.fixture
def web(directory: AdminService) -> Iterator[RunningWeb]:
    running = make_web(directory)
    yield running
    running.close()
