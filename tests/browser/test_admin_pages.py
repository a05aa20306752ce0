"""The superadmin's work in the browser: create a domain, a mailbox and an alias through
the forms, and see the mailbox receive mail sent over SMTP (its quota usage appears)."""

from __future__ import annotations

import re
from email.message import EmailMessage

from playwright.sync_api import Page, expect

from tests.browser.browsing import shot
from tests.e2e.harness import PASSWORD, ServerProcess

DOMAIN = "flow.test"
MAILBOX = f"alice@{DOMAIN}"
ALIAS = f"team@{DOMAIN}"
OUTSIDER = "bob@example.com"
BODY_BYTES = 300_000  # big enough to show as 0.3 MB


def create_domain(page: Page, domain: str, description: str = "", transport: str = "") -> None:
    page.goto("/domains")
    page.get_by_test_id("new-domain").click()
    page.get_by_label("Domain name").fill(domain)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Transport").fill(transport)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("notice")).to_have_text(f"Domain {domain} was created.")


def create_mailbox(page: Page, address: str, quota: str = "10") -> None:
    local, _, domain = address.partition("@")
    page.goto(f"/mailboxes?domain={domain}")
    page.get_by_test_id("new-mailbox").click()
    page.get_by_label("Local part (before @)").fill(local)
    page.get_by_test_id("field-domain").select_option(domain)
    page.get_by_label("Full name").fill(local.title())
    page.get_by_label("Quota").fill(quota)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("notice")).to_have_text(f"Mailbox {address} was created.")


def create_alias(page: Page, address: str, targets: list[str]) -> None:
    local, _, domain = address.partition("@")
    page.goto("/aliases")
    page.get_by_role("link", name="New alias").click()
    page.get_by_label("Local part (empty = catch-all for the domain)").fill(local)
    page.get_by_test_id("field-domain").select_option(domain)
    page.get_by_label("Targets (one address per line)").fill("\n".join(targets))
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("notice")).to_have_text(f"Alias {address} was created.")


def send(server: ServerProcess, recipient: str, subject: str, size: int = 0) -> None:
    message = EmailMessage()
    message["From"] = OUTSIDER
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content("Hello from the browser tests.\n" + "x" * size)
    with server.smtp() as client:
        client.send_message(message, OUTSIDER, [recipient])


def test_domain_mailbox_alias_and_mail_arriving(
    admin_page: Page, mail_server: ServerProcess
) -> None:
    page = admin_page
    create_domain(page, DOMAIN, "Made in a browser")
    row = page.locator(f'[data-testid="domain-row"][data-domain="{DOMAIN}"]')
    expect(row).to_contain_text("Made in a browser")
    shot(page, "domains")

    create_mailbox(page, MAILBOX)
    mailbox = page.locator(f'[data-testid="mailbox-row"][data-address="{MAILBOX}"]')
    expect(mailbox.locator(".usage")).to_contain_text("? / 10.0 MB")  # nothing delivered yet

    create_alias(page, ALIAS, [MAILBOX, OUTSIDER])
    expect(page.locator("main")).to_contain_text(ALIAS)
    shot(page, "aliases")

    send(mail_server, ALIAS, "through the alias", size=BODY_BYTES)
    mail_server.wait_for(MAILBOX)
    mail_server.wait_for(OUTSIDER)  # the alias's other target
    page.goto(f"/mailboxes?domain={DOMAIN}")
    usage = mailbox.get_by_test_id("usage-bar")
    for _ in range(50):  # maildirsize is written with the delivery; allow it a moment
        if usage.count():
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(usage).to_have_count(1)
    assert int(usage.get_attribute("value") or 0) > BODY_BYTES
    expect(mailbox.locator(".usage")).to_contain_text("0.3 / 10.0 MB")
    shot(page, "mailboxes")
