"""Doing things through the admin pages' forms the way a person does, for several tests:
creating domains, mailboxes and aliases; and sending mail to the server over SMTP."""

from __future__ import annotations

from email.message import EmailMessage

from playwright.sync_api import Page, expect

from tests.e2e.harness import PASSWORD, ServerProcess

SENDER = "bob@example.com"


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
    """A message from :data:`SENDER` over SMTP (``size`` bytes of body padding)."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content("Hello from the browser tests.\n" + "x" * size)
    with server.smtp() as client:
        client.send_message(message, SENDER, [recipient])


__all__ = ["SENDER", "create_alias", "create_domain", "create_mailbox", "send"]
