"""A domain admin in the browser sees only their own domain, and editing a URL to reach
another domain's objects gets 403 or 404, never the object."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.browsing import ConsoleLog, shot
from tests.browser.conftest import USER, add_admin
from tests.e2e.harness import ServerProcess

DOMAIN_ADMIN = "dadmin@example.com"  # admin of example.com only
FOREIGN = "eve@foreign.test"
FORBIDDEN_URLS = [
    "/domains/new",
    "/domains/foreign.test/edit",
    "/domains/foreign.test/delete",
    f"/mailboxes/{FOREIGN}/edit",
    f"/mailboxes/{FOREIGN}/delete",
    f"/aliases/{FOREIGN}/edit",
    f"/route?address={FOREIGN}",
    "/queue",
    "/admins",
]


@pytest.fixture(scope="module")
def domain_admin(mail_server: ServerProcess) -> str:
    mail_server.add_mailbox(FOREIGN)
    add_admin(mail_server, DOMAIN_ADMIN, "--domain", "example.com")
    return DOMAIN_ADMIN


@pytest.fixture
def admin_of_one_domain(login: Callable[[str], Page], domain_admin: str) -> Page:
    return login(domain_admin)


def test_sees_only_their_domain(admin_of_one_domain: Page) -> None:
    page = admin_of_one_domain
    expect(page.get_by_text("Domain admin of example.com.")).to_be_visible()
    shot(page, "dashboard-domain-admin")
    page.goto("/domains")
    rows = page.get_by_test_id("domain-row")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-domain", "example.com")
    expect(page.get_by_test_id("new-domain")).to_have_count(0)
    page.goto("/mailboxes")
    expect(page.locator(f'[data-testid="mailbox-row"][data-address="{USER}"]')).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("foreign.test")
    page.goto("/aliases")
    expect(page.locator("main")).not_to_contain_text("foreign.test")
    page.goto("/mailboxes?q=eve")
    expect(page.get_by_test_id("mailbox-row")).to_have_count(0)
    shot(page, "mailboxes-domain-admin")


def test_cannot_reach_another_domain_by_url(admin_of_one_domain: Page, console: ConsoleLog) -> None:
    console.allow("Failed to load resource: the server responded with a status of 40")
    page = admin_of_one_domain
    reached = {}
    for url in FORBIDDEN_URLS:
        response = page.goto(url)
        assert response is not None
        if response.status not in (403, 404) or FOREIGN in page.locator("main").inner_text():
            reached[url] = response.status
    assert not reached, f"a domain admin of example.com reached: {reached}"


def test_another_domains_mailbox_list_is_refused(
    admin_of_one_domain: Page, console: ConsoleLog
) -> None:
    console.allow("Failed to load resource: the server responded with a status of 40")
    page = admin_of_one_domain
    response = page.goto("/mailboxes?domain=foreign.test")
    assert response is not None
    if response.status == 200:  # an empty list is as good as a refusal
        expect(page.get_by_test_id("mailbox-row")).to_have_count(0)
    else:
        assert response.status in (403, 404)
    expect(page.locator("main")).not_to_contain_text(FOREIGN)
