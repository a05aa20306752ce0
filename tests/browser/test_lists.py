"""The admin lists in the browser: htmx live search (the fragment swapped in, the URL
kept), sorting by a column, the audit log's filters, and a form's error shown again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.browsing import ConsoleLog, shot
from tests.e2e.harness import ServerProcess

DOMAIN = "lists.test"
MAILBOXES = [f"ann@{DOMAIN}", f"ben@{DOMAIN}", f"cat@{DOMAIN}"]


@pytest.fixture(scope="module")
def filled(mail_server: ServerProcess) -> list[str]:
    for address in MAILBOXES:
        mail_server.add_mailbox(address)
    return MAILBOXES


def addresses(page: Page) -> list[str]:
    rows = page.get_by_test_id("mailbox-row")
    return [row.get_attribute("data-address") or "" for row in rows.all()]


def test_live_search_swaps_the_results(admin_page: Page, filled: list[str]) -> None:
    page = admin_page
    page.goto(f"/mailboxes?domain={DOMAIN}")
    expect(page.get_by_test_id("mailbox-row")).to_have_count(len(filled))
    with page.expect_request(re.compile(r"/mailboxes\?.*q=ben")) as searched:
        page.get_by_test_id("search").press_sequentially("ben")
    assert searched.value.headers.get("hx-request") == "true"
    expect(page.get_by_test_id("mailbox-row")).to_have_count(1)
    assert addresses(page) == [f"ben@{DOMAIN}"]
    expect(page).to_have_url(re.compile(r"q=ben"))
    shot(page, "mailboxes-search")


def test_sorting_by_a_column(admin_page: Page, filled: list[str]) -> None:
    page = admin_page
    page.goto(f"/mailboxes?domain={DOMAIN}")
    assert addresses(page) == sorted(filled)
    page.get_by_test_id("sort-username").click()
    expect(page.get_by_test_id("sort-username")).to_contain_text("▼")
    assert addresses(page) == sorted(filled, reverse=True)


def test_log_filters(admin_page: Page, filled: list[str]) -> None:
    page = admin_page
    page.goto("/log")
    page.get_by_test_id("filter-domain").select_option(DOMAIN)
    expect(page).to_have_url(re.compile(rf"domain={re.escape(DOMAIN)}"))
    rows = page.get_by_test_id("log-row")
    expect(rows.first).to_contain_text(DOMAIN)
    for address in filled:
        expect(page.locator("#results")).to_contain_text(address)
    shot(page, "log-filtered")


def test_form_error_is_shown_with_the_input(admin_page: Page, console: ConsoleLog) -> None:
    console.allow("the server responded with a status of 4")
    page = admin_page
    page.goto("/domains/new")
    page.get_by_label("Domain name").fill("not a domain!")
    page.get_by_label("Description").fill("kept")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("form-error")).to_be_visible()
    expect(page.get_by_label("Description")).to_have_value("kept")
    shot(page, "form-error")
