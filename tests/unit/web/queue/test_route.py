"""The route explainer: ``/route`` and ``GET /api/v1/route`` (the ``vmail route --json``
document); domain admins only for their domains; bad input is 400."""

from __future__ import annotations

import pytest
from httpx import QueryParams

from tests.unit.web.queue.conftest import QueueWeb

API = "/api/v1/route"


def test_api_document(qweb: QueueWeb) -> None:
    response = qweb.superadmin.get(
        API,
        params={"address": ["team@example.org", "nobody@example.org"], "client_ip": "192.0.2.7"},
    )
    assert response.status_code == 200
    document = response.json()
    assert document["schema"] == 1
    assert document["client"]["name"] == "unknown"
    team, nobody = document["recipients"]
    assert team["accepted"] is True
    assert team["rcpt"]["reply"] == "250 2.1.5 Ok"
    assert [(d["recipient"], d["transport"]) for d in team["deliveries"]] == [
        ("user@example.org", "virtual"),
        ("ext@else.example", "smtp"),
    ]
    assert any(e["key"] == "team@example.org" for e in team["lookups"])
    assert nobody["accepted"] is False
    assert nobody["rcpt"]["code"] == 550


def test_page_renders_the_verdict(qweb: QueueWeb) -> None:
    form = qweb.superadmin.get("/route")
    assert form.status_code == 200
    assert 'name="address"' in form.text
    page = qweb.superadmin.get("/route", params={"address": "team@example.org", "sender": ""})
    assert page.status_code == 200
    assert "250 2.1.5 Ok" in page.text
    assert "example.org/user/" in page.text  # the mailbox
    assert "virtual_alias_maps" in page.text or "inline:" in page.text  # the lookups
    rejected = qweb.superadmin.get("/route", params={"address": "x@example.org"}).text
    assert "User unknown in virtual mailbox table" in rejected


def test_domain_admin_only_their_domains(qweb: QueueWeb) -> None:
    client = qweb.domain_admin
    assert client.get(API, params={"address": "team@example.org"}).status_code == 200
    assert client.get(API, params={"address": "other@other.test"}).status_code == 403
    assert client.get("/route", params={"address": "other@other.test"}).status_code == 403
    mixed = {"address": ["team@example.org", "other@other.test"]}
    assert client.get(API, params=mixed).status_code == 403


def test_authorization(qweb: QueueWeb) -> None:
    assert qweb.web.client().get(API, params={"address": "a@example.org"}).status_code == 401
    assert qweb.web.client().get("/route").status_code == 303
    assert qweb.user.get(API, params={"address": "user@example.org"}).status_code == 403


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 422),
        ({"address": ""}, 400),
        ({"address": "no-at-sign"}, 400),
        ({"address": "a b@example.org"}, 400),
        ({"address": "a@example.org", "client_ip": "not-an-ip"}, 400),
        ({"address": "a@example.org", "helo": "bad helo"}, 400),
        ({"address": ["a@example.org"] * 21}, 422),
        ({"address": "x" * 300 + "@example.org"}, 400),
    ],
)
def test_bad_input(qweb: QueueWeb, params: dict[str, str | int | list[str]], status: int) -> None:
    response = qweb.superadmin.get(API, params=QueryParams(params))
    assert response.status_code == status, response.text
    assert response.json()["error"]


def test_bad_input_on_the_page_is_400(qweb: QueueWeb) -> None:
    response = qweb.superadmin.get("/route", params={"address": "nope"})
    assert response.status_code == 400
    assert "not a mail address" in response.text
