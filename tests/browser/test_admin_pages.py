"""The superadmin's work in the browser: create a domain, a mailbox and an alias through
the forms, and see the mailbox receive mail sent over SMTP (its quota usage appears, the
dashboard lists the delivery); forward a mailbox's mail and delete the mailbox."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.browsing import shot
from tests.browser.conftest import USER
from tests.browser.forms import create_alias, create_domain, create_mailbox, send
from tests.e2e.harness import ServerProcess

DOMAIN = "flow.test"
MAILBOX = f"alice@{DOMAIN}"
ALIAS = f"team@{DOMAIN}"
BODY_BYTES = 300_000  # big enough to show as 0.3 MB
FORWARD_DOMAIN = "forward.test"
FORWARDER = f"fwd@{FORWARD_DOMAIN}"


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

    create_alias(page, ALIAS, [MAILBOX, USER])
    expect(page.locator("main")).to_contain_text(ALIAS)
    shot(page, "aliases")

    send(mail_server, ALIAS, "through the alias", size=BODY_BYTES)
    mail_server.wait_for(MAILBOX)
    mail_server.wait_for(USER)  # the alias's other target
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

    page.goto("/")
    delivered = page.locator("table.deliveries").first.locator("tr", has_text=MAILBOX)
    expect(delivered.first).to_contain_text(f"(to {ALIAS})")
    expect(delivered.first).to_contain_text("sent")
    shot(page, "dashboard-after-delivery")


def test_forwarding_and_deleting_a_mailbox(admin_page: Page, mail_server: ServerProcess) -> None:
    page = admin_page
    create_domain(page, FORWARD_DOMAIN)
    create_mailbox(page, FORWARDER)
    row = page.locator(f'[data-testid="mailbox-row"][data-address="{FORWARDER}"]')
    row.get_by_test_id("edit").click()
    forward = page.get_by_test_id("field-forward")
    expect(forward).to_have_value(FORWARDER)  # a mailbox's alias points to itself
    forward.fill(f"{FORWARDER}\n{USER}")  # keep a copy and forward one
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("notice")).to_have_text(f"Mailbox {FORWARDER} was saved.")

    before = len(mail_server.messages(USER))
    send(mail_server, FORWARDER, "kept and forwarded")
    mail_server.wait_for(FORWARDER)
    forwarded = mail_server.wait_for(USER, before + 1)
    assert any(b"Subject: kept and forwarded" in m for m in forwarded)

    row.get_by_test_id("delete").click()
    expect(page.get_by_test_id("confirm-delete")).to_contain_text(FORWARDER)
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("notice")).to_have_text(f"Mailbox {FORWARDER} was deleted.")
    expect(row).to_have_count(0)
