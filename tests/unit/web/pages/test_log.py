"""Log page: rows of the admin's domains, filters, date range, sort, bad input."""

from __future__ import annotations

import re

from tests.unit.web.conftest import DOMAIN_ADMIN, SUPERADMIN, USER, RunningWeb


def _actions(html: str) -> list[str]:
    return re.findall(
        r'<tr data-testid="log-row">\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*'
        r"<td>[^<]*</td>\s*<td>([^<]*)</td>",
        html,
    )


def test_superadmin_sees_all_newest_first(web: RunningWeb) -> None:
    page = web.login(SUPERADMIN).get("/log")
    assert page.status_code == 200
    actions = _actions(page.text)
    assert actions[0] == "create_mailbox"  # other@other.test, the last change
    assert "create_domain" in actions
    oldest = web.login(SUPERADMIN).get("/log?sort=timestamp")
    assert _actions(oldest.text)[0] == "create_domain"


def test_filters(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    by_action = client.get("/log?action=create_domain")
    assert set(_actions(by_action.text)) == {"create_domain"}
    by_domain = client.get("/log?domain=other.test")
    assert "<td>example.org</td>" not in by_domain.text
    assert _actions(client.get("/log?q=other%40other.test").text) == ["create_mailbox"]
    assert _actions(client.get("/log?since=2000-01-01&until=2000-01-02").text) == []
    assert _actions(client.get("/log?until=2999-12-31").text)
    bad = client.get("/log?since=yesterday")
    assert bad.status_code == 400
    assert "is not a date" in bad.text
    empty = client.get("/log?since=2020-01-02&until=2020-01-01")
    assert empty.status_code == 400


def test_domain_admin_sees_only_their_domain(web: RunningWeb) -> None:
    client = web.login(DOMAIN_ADMIN)
    page = client.get("/log")
    assert page.status_code == 200
    assert "other.test" not in page.text.split('<div id="results">')[1]
    assert client.get("/log?domain=other.test").status_code == 403
    assert web.login(USER).get("/log").status_code == 403
    assert web.client().get("/log").status_code == 303
