"""The mail queue page (a deferred message listed, viewed, held, released and deleted)
and the route explainer (an accepted and a rejected address)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.browsing import shot
from tests.browser.conftest import STUCK_DOMAIN, USER
from tests.browser.forms import create_domain, create_mailbox, send
from tests.e2e.harness import ServerProcess

STUCK = f"carol@{STUCK_DOMAIN}"  # the server's transport_maps defers its mail
SUBJECT = "waiting in the queue"


def test_route_explainer(admin_page: Page) -> None:
    page = admin_page
    page.goto("/route")
    page.get_by_label("Address").fill(USER)
    page.get_by_role("button", name="Explain").click()
    expect(page).to_have_url(re.compile(r"/route\?address="))
    result = page.locator(".route-result")
    expect(result.locator(".verdict-accepted")).to_contain_text("RCPT TO")
    expect(result.get_by_role("table").first).to_contain_text(USER)
    expect(result).to_contain_text("Lookups")
    shot(page, "route")

    page.get_by_label("Address").fill("nobody@example.com")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator(".route-result .verdict-rejected")).to_contain_text("550")


def test_queue_page(admin_page: Page, mail_server: ServerProcess) -> None:
    page = admin_page
    create_domain(page, STUCK_DOMAIN)
    create_mailbox(page, STUCK)
    send(mail_server, STUCK, SUBJECT)

    page.goto("/queue?queue=deferred")
    row = page.locator("table.queue tbody tr", has_text=STUCK)
    for _ in range(100):  # the first delivery attempt fails in a moment
        if row.count():
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(row).to_have_count(1)
    expect(row).to_contain_text("deferred")
    shot(page, "queue")
    page.goto("/")
    errors = page.locator("h2:has-text('Recent errors') + table.deliveries")
    expect(errors.locator("tr", has_text=STUCK).first).to_contain_text("deferred")
    page.goto("/queue?queue=deferred")

    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Message "))).to_be_visible()
    expect(page.locator("pre.postcat").last).to_contain_text(f"Subject: {SUBJECT}")
    shot(page, "queue-message")
    queue_id = page.url.rsplit("/", 1)[1]

    page.get_by_role("button", name="Hold").click()
    expect(page.get_by_role("status")).to_have_text(f"Message {queue_id} was put on hold.")
    page.get_by_role("button", name="Release").click()
    expect(page.get_by_role("status")).to_have_text(f"Message {queue_id} was released from hold.")
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/queue\?done=delete"))
    expect(page.get_by_role("status")).to_have_text(f"Message {queue_id} was deleted.")
    expect(page.locator("table.queue", has_text=STUCK)).to_have_count(0)
