"""Security features as a browser meets them: htmx requests carry the session's CSRF
token (and without it the server refuses them), and the strict Content-Security-Policy
blocks nothing on the pages (every test's page fixture also fails on console errors)."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.browser.browsing import ConsoleLog, shot

# A button wired up by htmx at run time, as a page's own hx-post button would be.
HTMX_BUTTON = """(path) => {
  const button = document.createElement("button");
  button.id = "htmx-post";
  button.textContent = "htmx post";
  button.setAttribute("hx-post", path);
  button.setAttribute("hx-swap", "none");
  document.querySelector("main").append(button);
  htmx.process(button);
}"""
NEW_FORMS = [
    "/domains/new",
    "/mailboxes/new",
    "/aliases/new",
    "/alias-domains/new",
    "/admins/new",
    "/tokens/new",
    "/account/totp",
]
# The header's background comes from vmail.css: white only when the stylesheet applied.
STYLED = "getComputedStyle(document.querySelector('header.top')).backgroundColor"


def add_htmx_button(page: Page, path: str) -> None:
    page.evaluate(HTMX_BUTTON, path)


def test_htmx_sends_the_csrf_header(admin_page: Page, console: ConsoleLog) -> None:
    console.allow("status of 403")
    body_headers = admin_page.locator("body").get_attribute("hx-headers:inherited")
    assert body_headers is not None
    session_token = json.loads(body_headers)["X-CSRF-Token"]
    # Without the token (the <body> attribute removed), the server refuses the POST...
    admin_page.evaluate("document.body.removeAttribute('hx-headers:inherited')")
    add_htmx_button(admin_page, "/logout")
    with admin_page.expect_response(re.compile(r"/logout$")) as refused:
        admin_page.locator("#htmx-post").click()
    assert refused.value.status == 403
    assert "X-CSRF-Token".lower() not in refused.value.request.headers
    admin_page.goto("/")
    expect(admin_page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # ...and with the layout's attribute, htmx sends X-CSRF-Token and the POST succeeds.
    add_htmx_button(admin_page, "/logout")
    with admin_page.expect_request(re.compile(r"/logout$")) as sent:
        admin_page.locator("#htmx-post").click()
    assert sent.value.headers.get("x-csrf-token") == session_token
    response = sent.value.response()
    assert response is not None
    assert response.status == 303  # to /login: logged out
    admin_page.goto("/")
    expect(admin_page).to_have_url(re.compile(r"/login"))


def menu_links(page: Page) -> list[tuple[str, str]]:
    """(label, path) of every entry in the page's main menu."""
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    return [(link.inner_text(), link.get_attribute("href") or "") for link in links.all()]


def test_every_menu_page_loads_within_the_csp(admin_page: Page, console: ConsoleLog) -> None:
    """Each page of the superadmin's menu (and its New form) loads with its script and
    styles, blocks nothing, and is kept as a screenshot."""
    menu = menu_links(admin_page)
    assert len(menu) >= 9, menu
    for label, path in menu:
        response = admin_page.goto(path)
        assert response is not None
        assert response.status == 200, f"{label} ({path}): {response.status}"
        assert admin_page.evaluate("typeof htmx") == "object", path  # the script loaded
        assert admin_page.evaluate(STYLED) == "rgb(255, 255, 255)", path  # the stylesheet too
        shot(admin_page, "page-" + label.lower().replace(" ", "-"))
    for path in NEW_FORMS:
        response = admin_page.goto(path)
        assert response is not None
        assert response.status == 200, f"{path}: {response.status}"
        shot(admin_page, "form-" + path.strip("/").replace("/", "-"))
    assert not console.unexpected()


def test_csp_allows_the_login_page(page: Page, console: ConsoleLog) -> None:
    page.goto("/login")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_label("Username or mail address")).to_be_focused()
    assert not console.unexpected()
