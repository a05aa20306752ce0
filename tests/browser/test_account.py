"""A mailbox user in the browser: login lands on the account page, the password changed
there works over IMAP, and the vacation message is kept."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.browsing import ConsoleLog, log_in, log_out, shot
from tests.browser.conftest import USER
from tests.e2e.harness import PASSWORD, ServerProcess

CHANGER = "dora@example.com"  # changes her password: nobody else logs in as her
NEW_PASSWORD = "a much better passphrase"


def test_mailbox_user_lands_on_the_account_page(login: Callable[[str], Page]) -> None:
    page = login(USER)
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator(".username")).to_have_text(USER)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Account"]
    )
    shot(page, "account")


def test_csp_allows_the_user_pages(login: Callable[[str], Page], console: ConsoleLog) -> None:
    page = login(USER)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof htmx") == "object"
    assert not console.unexpected()


def imap_login(server: ServerProcess, address: str, password: str) -> None:
    """Log in over IMAP (and out); imaplib.IMAP4.error when the server refuses."""
    client = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    try:
        client.login(address, password)
        client.select("INBOX")
    finally:
        client.logout()


def test_password_change_then_imap_login(
    page: Page, console: ConsoleLog, mail_server: ServerProcess
) -> None:
    console.allow("status of 401")  # the wrong current password's answer
    mail_server.add_mailbox(CHANGER)
    log_in(page, CHANGER, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account$"))

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_be_visible()
    imap_login(mail_server, CHANGER, PASSWORD)  # unchanged

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(re.compile(r"/account\?done=password$"))
    expect(page.get_by_role("status")).to_be_visible()
    shot(page, "account-password-changed")

    imap_login(mail_server, CHANGER, NEW_PASSWORD)
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(mail_server, CHANGER, PASSWORD)
    log_out(page)
    log_in(page, CHANGER, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/account$"))


def test_vacation_message(login: Callable[[str], Page]) -> None:
    page = login(USER)
    page.get_by_label("Vacation message on").check()
    page.get_by_label("Subject").fill("Away")
    page.get_by_label("Message", exact=True).fill("Back on Monday.")
    page.get_by_label("Last day (empty: until turned off)").fill("2030-01-31")
    page.get_by_role("button", name="Save vacation").click()
    expect(page.get_by_role("status")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Vacation message on")).to_be_checked()
    expect(page.get_by_label("Subject")).to_have_value("Away")
    expect(page.get_by_label("Message", exact=True)).to_have_value("Back on Monday.")
    expect(page.get_by_label("Last day (empty: until turned off)")).to_have_value("2030-01-31")
    shot(page, "account-vacation")
