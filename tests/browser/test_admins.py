"""Admins and alias domains made through the forms: a domain admin created by the
superadmin logs in (in a browser of their own) to their domain only; mail to an alias
domain reaches the mailbox of the target domain."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.browsing import CSP_REPORTER, ConsoleLog, log_in, shot
from tests.browser.forms import create_domain, create_mailbox, send
from tests.e2e.harness import PASSWORD, ServerProcess

DOMAIN = "team.test"
BOSS = f"boss@{DOMAIN}"
TARGET = "target.test"
ALIAS_DOMAIN = "alias-of-target.test"
MAILBOX = f"zed@{TARGET}"


def test_domain_admin_made_in_the_browser(
    admin_page: Page, browser: Browser, base_url: str
) -> None:
    page = admin_page
    create_domain(page, DOMAIN)
    page.goto("/admins")
    page.get_by_test_id("new-admin").click()
    page.get_by_label("Username (a mail address)").fill(BOSS)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_test_id("field-domains").select_option([DOMAIN])
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("notice")).to_contain_text(BOSS)
    shot(page, "admins")

    other = browser.new_context(base_url=base_url, ignore_https_errors=True)
    try:
        other.add_init_script(CSP_REPORTER)
        boss = other.new_page()
        console = ConsoleLog()
        console.attach(boss)
        log_in(boss, BOSS, PASSWORD)
        expect(boss.get_by_text(f"Domain admin of {DOMAIN}.")).to_be_visible()
        boss.goto("/domains")
        expect(boss.get_by_test_id("domain-row")).to_have_count(1)
        expect(boss.get_by_test_id("domain-row")).to_have_attribute("data-domain", DOMAIN)
        menu = boss.get_by_role("navigation", name="Main")
        expect(menu.get_by_role("link", name="Admins")).to_have_count(0)
        assert not console.unexpected()
    finally:
        other.close()


def test_alias_domain_delivers_to_the_target(admin_page: Page, mail_server: ServerProcess) -> None:
    page = admin_page
    create_domain(page, TARGET)
    create_domain(page, ALIAS_DOMAIN)
    create_mailbox(page, MAILBOX)
    page.goto("/alias-domains")
    page.get_by_test_id("new-alias-domain").click()
    page.get_by_test_id("field-alias_domain").select_option(ALIAS_DOMAIN)
    page.get_by_test_id("field-target_domain").select_option(TARGET)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("notice")).to_contain_text(ALIAS_DOMAIN)
    row = page.locator("tr", has_text=ALIAS_DOMAIN)
    expect(row).to_contain_text(TARGET)
    shot(page, "alias-domains")
    send(mail_server, f"zed@{ALIAS_DOMAIN}", "to the alias domain")
    (message,) = mail_server.wait_for(MAILBOX)
    assert b"Subject: to the alias domain" in message
