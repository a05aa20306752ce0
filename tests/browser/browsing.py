"""Helpers for the browser tests: Debian's Chromium, screenshots, console checks, login.

The browser is always the system's ``/usr/bin/chromium`` (Debian's package; Playwright
never downloads one). Screenshots go to the directory named by ``VMAIL_TEST_ARTIFACTS``
(default ``test-artifacts/screenshots/`` at the repository root) so CI can keep them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, expect

CHROMIUM = Path("/usr/bin/chromium")
# --no-sandbox: Chromium's sandbox refuses to run as root (CI runs as root);
# --disable-dev-shm-usage: containers often have a 64 MiB /dev/shm, too small for it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 10_000

# Reports Content-Security-Policy violations on the console (Chromium also logs its
# own "Refused to ..." line; this one names the directive and the blocked resource).
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


def artifacts_dir() -> Path:
    """Where screenshots go (created on first use)."""
    default = REPO / "test-artifacts" / "screenshots"
    path = Path(os.environ.get("VMAIL_TEST_ARTIFACTS") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shot_path(name: str) -> Path:
    """The file of the screenshot ``name`` (made safe as a file name)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    return artifacts_dir() / f"{safe}.png"


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``<name>.png`` in :func:`artifacts_dir`."""
    path = shot_path(name)
    page.screenshot(path=str(path), full_page=True)
    return path


class ConsoleLog:
    """Errors a page wrote on the console (CSP violations, failed loads, script errors).

    A test that provokes an error on purpose (a 403) declares it with :meth:`allow`;
    the ``page`` fixture fails the test on any other one.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._allowed: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            where = message.location.get("url", "")
            self.errors.append(f"{message.type}: {message.text} ({where})")

    def allow(self, text: str) -> None:
        """Console lines containing ``text`` are expected in this test."""
        self._allowed.append(text)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self._allowed)]


def log_in(page: Page, username: str, password: str) -> None:
    """Fill and submit the login form (from wherever the page is)."""
    page.goto("/login")
    page.get_by_label("Username or mail address").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "CSP_REPORTER",
    "TIMEOUT_MS",
    "ConsoleLog",
    "artifacts_dir",
    "log_in",
    "log_out",
    "shot",
    "shot_path",
]
