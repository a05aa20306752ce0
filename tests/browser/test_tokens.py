"""API tokens from the browser: create one scoped to a domain (the secret shown once), use
it on the REST API, revoke it, and see the API refuse it."""

from __future__ import annotations

import re

from playwright.sync_api import APIRequestContext, Page, Playwright, expect

from tests.browser.browsing import shot

TOKEN_NAME = "browser-made token"
SCOPE = "example.com"


def api_me(request: APIRequestContext, secret: str) -> int:
    """The status of ``GET /api/v1/me`` with ``secret`` as the Bearer token."""
    response = request.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, fail_on_status_code=False
    )
    return response.status


def test_create_use_and_revoke_a_token(
    admin_page: Page, base_url: str, playwright: Playwright
) -> None:
    page = admin_page
    page.goto("/tokens")
    page.get_by_test_id("new-token").click()
    page.get_by_label("Name (what it is for)").fill(TOKEN_NAME)
    page.get_by_label("Role").select_option("domain_admin")
    page.get_by_test_id("field-domains").select_option([SCOPE])
    page.get_by_test_id("save").click()
    secret = page.get_by_test_id("token-secret").inner_text()
    assert re.fullmatch(r"vmail_\S+", secret), secret
    expect(page.get_by_test_id("token-created")).to_contain_text(f"for {SCOPE}")
    shot(page, "token-created")

    bare = playwright.request.new_context(base_url=base_url, ignore_https_errors=True)
    try:  # a request context of its own: no session cookie, only the token
        assert api_me(bare, secret) == 200
        page.get_by_test_id("back").click()
        row = page.get_by_test_id("token-row").filter(has_text=TOKEN_NAME)
        expect(row).to_contain_text("active")
        row.get_by_test_id("revoke").click()
        page.get_by_test_id("confirm").click()
        expect(row).to_contain_text("revoked")
        assert api_me(bare, secret) == 401
    finally:
        bare.dispose()
