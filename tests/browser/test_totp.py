"""An admin turns on the TOTP second factor in the browser (the QR code shows under the
CSP), and the next login asks for a code after the password."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.browsing import ConsoleLog, log_in, log_out, shot
from tests.browser.conftest import add_admin
from tests.e2e.harness import PASSWORD, ServerProcess

TOTP_ADMIN = "totp@example.com"  # only this test logs in as this superadmin


@pytest.fixture
def totp_admin(mail_server: ServerProcess) -> str:
    add_admin(mail_server, TOTP_ADMIN, "--superadmin")
    return TOTP_ADMIN


def test_second_factor_enrolment_and_login(
    login: Callable[[str], Page], totp_admin: str, console: ConsoleLog
) -> None:
    console.allow("status of 401")  # the wrong code's answer
    page = login(totp_admin)
    page.goto("/account/totp")
    page.get_by_role("button", name="Set up a second factor").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("form input[name=secret]").get_attribute("value")
    assert secret
    totp = pyotp.TOTP(secret)
    shot(page, "totp-enrolment")
    page.get_by_label("Code the app shows now").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("main")).to_contain_text("is on.")

    log_out(page)
    log_in(page, totp_admin, PASSWORD)
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    shot(page, "login-totp")
    page.get_by_label("Code").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    # The next step's code: the one used to turn it on is not accepted again.
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
