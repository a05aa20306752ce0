"""Fixtures for browser tests: one ``vmail serve`` and one headless Chromium per session,
a fresh browser context (cookies, storage) and page per test.

The server is the e2e harness's (``vmail init`` config, every listener on 127.0.0.1:0,
the web UI over HTTPS with the self-signed certificate ``vmail init`` made). Its
directory holds the superadmin :data:`ADMIN` and the mailbox :data:`USER`, both with the
password :data:`PASSWORD`; tests that add objects use names of their own, since the
server is shared. Every test in this directory gets the ``browser`` marker and is
skipped when ``/usr/bin/chromium`` is missing (``apt-get install chromium``). A test fails
if its page logged an unexpected console error (CSP violations included); a failed test
leaves a screenshot ``FAILED-<test>.png`` next to the others.

Run them alone with ``pytest -m browser`` (or leave them out with ``-m "not browser"``);
screenshots go to ``$VMAIL_TEST_ARTIFACTS`` (default ``test-artifacts/screenshots/``).
A new test takes ``admin_page`` (the superadmin on the dashboard), ``login(username)``,
or ``page`` (not logged in); ``forms.py`` fills the admin forms, ``browsing.shot(page,
name)`` keeps a screenshot, and ``console.allow(text)`` accepts an expected console
error (a 403 the test provokes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.browser.browsing import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CSP_REPORTER,
    TIMEOUT_MS,
    ConsoleLog,
    log_in,
    shot,
    shot_path,
)
from tests.e2e.harness import PASSWORD, ServerProcess, make_config, running, vmail_here

ADMIN = "admin@example.com"
USER = "bob@example.com"
HERE = Path(__file__).parent
# Login failures from 127.0.0.1 (every test's address) are not counted per address, so
# one test's wrong passwords never slow or lock out the next ones.
# Mail for STUCK_DOMAIN goes to a closed port, so it stays deferred (the queue page's test).
STUCK_DOMAIN = "stuck.test"
SERVER_SETTINGS = {
    "web_login_exempt_clients": "127.0.0.1",
    "transport_maps": f"inline:{{ {STUCK_DOMAIN}=smtp:[127.0.0.1]:9 }}",
}
CALL_FAILED = pytest.StashKey[bool]()
# expect() waits as long as actions do (its own default, 5 s, is short on a busy CI box).
expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install chromium")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed


def add_admin(server: ServerProcess, address: str, *options: str) -> None:
    """An admin account (``--superadmin`` or ``--domain D`` options) with :data:`PASSWORD`."""
    secret = server.config_dir.parent / "admin-password"
    secret.write_text(PASSWORD + "\n")
    vmail_here(server.config_dir, "admin", "add", address, *options, "--password-file", str(secret))


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``vmail serve`` with the superadmin :data:`ADMIN` and the mailbox :data:`USER`."""
    config_dir = make_config(tmp_path_factory.mktemp("browser"), main=SERVER_SETTINGS)
    for server in running(config_dir):
        server.add_mailbox(USER)
        add_admin(server, ADMIN, "--superadmin")
        yield server


@pytest.fixture(scope="session")
def base_url(mail_server: ServerProcess) -> str:
    return f"https://127.0.0.1:{mail_server.port('web')}"


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    # package, not session: Playwright's sync API keeps an event loop running in this
    # thread until it stops, and asyncio.run() refuses to start in later tests
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """A new browser profile for the test: no cookies from other tests."""
    profile = browser.new_context(
        base_url=base_url, ignore_https_errors=True, viewport={"width": 1280, "height": 800}
    )
    profile.set_default_timeout(TIMEOUT_MS)
    profile.add_init_script(CSP_REPORTER)
    yield profile
    profile.close()


@pytest.fixture
def console() -> ConsoleLog:
    """The console errors of the test's pages (``console.allow(text)`` for expected ones)."""
    return ConsoleLog()


@pytest.fixture
def page(
    context: BrowserContext, console: ConsoleLog, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A tab in the test's context; fails the test on unexpected console errors."""
    failed_shot = f"FAILED-{request.node.name}"
    shot_path(failed_shot).unlink(missing_ok=True)  # from an earlier run
    tab = context.new_page()
    console.attach(tab)
    yield tab
    if request.node.stash.get(CALL_FAILED, False):
        shot(tab, failed_shot)
        return
    unexpected = console.unexpected()
    assert not unexpected, "console errors:\n" + "\n".join(unexpected)


@pytest.fixture(scope="session")
def saved_logins() -> dict[str, list[tuple[str, str]]]:
    """Session cookies (name, value) by username, from each name's first login through the form."""
    return {}


@pytest.fixture
def login(
    page: Page,
    context: BrowserContext,
    base_url: str,
    saved_logins: dict[str, list[tuple[str, str]]],
) -> Callable[[str], Page]:
    """``login(username)``: the test's page logged in with :data:`PASSWORD`, on its home.

    The first login of a name goes through the form; later tests reuse its session
    cookie (sessions are signed cookies, valid in any browser context), which saves a
    password check per test.
    """

    def _login(username: str) -> Page:
        cookies = saved_logins.get(username)
        if cookies is None:
            log_in(page, username, PASSWORD)
            saved_logins[username] = [(c["name"], c["value"]) for c in context.cookies()]
        else:
            context.add_cookies([{"name": n, "value": v, "url": base_url} for n, v in cookies])
            page.goto("/login")  # redirects to the principal's home page
        return page

    return _login


@pytest.fixture
def admin_page(login: Callable[[str], Page]) -> Page:
    """The test's page, logged in as the superadmin (on the dashboard)."""
    return login(ADMIN)
