"""Logging in and out in a real browser: the superadmin's first login, a wrong password,
and logout (a mailbox user's login is in test_account.py)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.browsing import ConsoleLog, log_in, log_out, shot
from tests.browser.conftest import ADMIN
from tests.e2e.harness import PASSWORD


def test_first_login_of_the_superadmin(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$|/login$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shot(page, "login")
    log_in(page, ADMIN, PASSWORD)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("Superadmin: every domain.")).to_be_visible()
    expect(page.locator(".username")).to_have_text(ADMIN)
    shot(page, "dashboard")


def test_wrong_password_shows_the_error(page: Page, console: ConsoleLog) -> None:
    console.allow("status of 401")  # the form comes back with 401 Unauthorized
    log_in(page, ADMIN, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Username or mail address")).to_have_value(ADMIN)
    expect(page.get_by_label("Password")).to_have_value("")
    shot(page, "login-failed")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_logout_ends_the_session(admin_page: Page) -> None:
    log_out(admin_page)
    expect(admin_page.get_by_role("heading", name="Log in")).to_be_visible()
    admin_page.goto("/")
    expect(admin_page).to_have_url(re.compile(r"/login"))
