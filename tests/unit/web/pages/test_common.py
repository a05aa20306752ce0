"""What every admin page shares: the menu per admin kind, no inline code, notices."""

from __future__ import annotations

import pytest

from tests.unit.web.conftest import DOMAIN_ADMIN, SUPERADMIN, RunningWeb

PAGES = ("/domains", "/mailboxes", "/aliases", "/alias-domains", "/log", "/tokens")
FORMS = ("/mailboxes/new", "/aliases/new", "/alias-domains/new", "/tokens/new")


@pytest.mark.parametrize("name", [SUPERADMIN, DOMAIN_ADMIN])
def test_every_page_renders_without_inline_code(web: RunningWeb, name: str) -> None:
    client = web.login(name)
    for path in PAGES + FORMS:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert "<script>" not in page.text
        assert " style=" not in page.text
        assert " on" + "click=" not in page.text
        assert 'href="/tokens"' in page.text


def test_menu_hides_superadmin_pages_from_domain_admins(web: RunningWeb) -> None:
    assert 'href="/admins"' in web.login(SUPERADMIN).get("/mailboxes").text
    assert 'href="/admins"' not in web.login(DOMAIN_ADMIN).get("/mailboxes").text


def test_notice_shows_only_fixed_texts(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    page = client.get("/domains?done=created&what=domain&name=%3Cb%3Ex")
    assert "Domain &lt;b&gt;x was created." in page.text
    assert 'data-testid="notice"' not in client.get("/domains?done=pwned&name=x").text


def test_live_search_answers_a_fragment(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    for path in (*PAGES[:-1], "/admins"):
        fragment = client.get(path + "?q=example", headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        assert fragment.text.startswith('<div id="results">'), path
