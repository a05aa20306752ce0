"""The authorization matrix: every API endpoint tried without credentials, as a mailbox
user, as a domain admin (session and scoped token) of another domain, with a forged CSRF
token, and with revoked, expired and unknown API tokens.

:data:`CASES` must list every operation of the OpenAPI document under ``/api/v1``
(:func:`test_every_endpoint_is_in_the_matrix` fails otherwise): a new endpoint gets a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
import pytest
from sqlalchemy import update

from tests.unit.web.api.conftest import services
from tests.unit.web.conftest import DOMAIN_ADMIN, PASSWORD, SUPERADMIN, USER, RunningWeb, make_web
from vmail.admin import Actor, AdminService
from vmail.directory.models import ApiToken

CLI = Actor.cli("tester")
FOREIGN = "other.test"  # a domain the domain admin does not manage
Audience = Literal["any", "user", "admin", "superadmin", "list"]


@dataclass(frozen=True)
class Case:
    """One operation: ``route`` as in the OpenAPI document, ``path`` a concrete URL that
    reaches :data:`FOREIGN`'s objects (for ``list``: the list without a domain filter).

    ``audience``: ``any`` (every logged-in principal), ``user`` (mailbox users only: 403
    for admins and tokens), ``admin`` (a domain admin for their
    own domains: 403/404 on the foreign domain), ``superadmin`` (403 for a domain admin),
    ``list`` (200 for a domain admin, without anything of the foreign domain). ``scoped``:
    the list takes ``?domain=`` (then asking for the foreign domain is 403). ``foreign``:
    False when the foreign-domain case does not apply (not domain data)."""

    method: str
    route: str
    path: str
    body: dict[str, Any] | None = None
    audience: Audience = "admin"
    scoped: bool = False
    foreign: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.route


def _case(method: str, route: str, path: str | None = None, **options: Any) -> Case:
    return Case(method, route, path or route, **options)


NEW_MAILBOX = {"address": f"new@{FOREIGN}", "password": PASSWORD}
CASES = [
    _case("GET", "/api/v1/me", audience="any", foreign=False),
    _case("GET", "/api/v1/overview", audience="list"),
    _case("GET", "/api/v1/domains", audience="list"),
    _case("POST", "/api/v1/domains", body={"domain": "new.test"}, audience="superadmin"),
    _case("GET", "/api/v1/domains/{domain}", f"/api/v1/domains/{FOREIGN}"),
    _case(
        "PATCH", "/api/v1/domains/{domain}", f"/api/v1/domains/{FOREIGN}", body={"active": False}
    ),
    _case("DELETE", "/api/v1/domains/{domain}", f"/api/v1/domains/{FOREIGN}"),
    _case("GET", "/api/v1/mailboxes", audience="list", scoped=True),
    _case("POST", "/api/v1/mailboxes", body=NEW_MAILBOX),
    _case("GET", "/api/v1/mailboxes/{address}", f"/api/v1/mailboxes/other@{FOREIGN}"),
    _case(
        "PATCH",
        "/api/v1/mailboxes/{address}",
        f"/api/v1/mailboxes/other@{FOREIGN}",
        body={"active": False},
    ),
    _case("DELETE", "/api/v1/mailboxes/{address}", f"/api/v1/mailboxes/other@{FOREIGN}"),
    _case(
        "PUT",
        "/api/v1/mailboxes/{address}/password",
        f"/api/v1/mailboxes/other@{FOREIGN}/password",
        body={"password": "stolen password"},
    ),
    _case("GET", "/api/v1/aliases", audience="list", scoped=True),
    _case("POST", "/api/v1/aliases", body={"address": f"new@{FOREIGN}", "goto": ["x@y.test"]}),
    _case("GET", "/api/v1/aliases/{address}", f"/api/v1/aliases/other@{FOREIGN}"),
    _case(
        "PATCH",
        "/api/v1/aliases/{address}",
        f"/api/v1/aliases/other@{FOREIGN}",
        body={"goto": ["thief@y.test"]},
    ),
    _case("DELETE", "/api/v1/aliases/{address}", f"/api/v1/aliases/@{FOREIGN}"),
    _case("GET", "/api/v1/alias-domains", audience="list", scoped=True),
    _case(
        "POST",
        "/api/v1/alias-domains",
        body={"alias_domain": FOREIGN, "target_domain": "example.org"},
    ),
    _case("GET", "/api/v1/alias-domains/{alias_domain}", f"/api/v1/alias-domains/{FOREIGN}"),
    _case(
        "PATCH",
        "/api/v1/alias-domains/{alias_domain}",
        f"/api/v1/alias-domains/{FOREIGN}",
        body={"active": False},
    ),
    _case("DELETE", "/api/v1/alias-domains/{alias_domain}", f"/api/v1/alias-domains/{FOREIGN}"),
    _case("GET", "/api/v1/admins", audience="superadmin"),
    _case(
        "POST",
        "/api/v1/admins",
        body={"username": f"evil@{FOREIGN}", "password": PASSWORD, "superadmin": True},
        audience="superadmin",
    ),
    _case(
        "GET", "/api/v1/admins/{username}", f"/api/v1/admins/{SUPERADMIN}", audience="superadmin"
    ),
    _case(
        "PATCH",
        "/api/v1/admins/{username}",
        f"/api/v1/admins/{DOMAIN_ADMIN}",
        body={"superadmin": True},
        audience="superadmin",
    ),
    _case(
        "DELETE", "/api/v1/admins/{username}", f"/api/v1/admins/{SUPERADMIN}", audience="superadmin"
    ),
    _case("GET", "/api/v1/log", audience="list", scoped=True),
    _case("GET", "/api/v1/tokens", audience="list"),
    _case(
        "POST",
        "/api/v1/tokens",
        body={"name": "steal", "role": "domain_admin", "domains": [FOREIGN]},
    ),
    _case("DELETE", "/api/v1/tokens/{token_id}", "/api/v1/tokens/1"),  # the CLI's FOREIGN token
    # The queue holds every domain's mail: superadmins only.
    *[
        _case(method, route, route.replace("{queue_id}", "ABCDEF123"), audience="superadmin")
        for method, route in [
            ("GET", "/api/v1/queue"),
            ("POST", "/api/v1/queue/flush"),
            ("GET", "/api/v1/queue/{queue_id}"),
            ("DELETE", "/api/v1/queue/{queue_id}"),
            ("GET", "/api/v1/queue/{queue_id}/message"),
            ("POST", "/api/v1/queue/{queue_id}/hold"),
            ("POST", "/api/v1/queue/{queue_id}/release"),
            ("POST", "/api/v1/queue/{queue_id}/requeue"),
        ]
    ],
    _case("GET", "/api/v1/route", f"/api/v1/route?address=other%40{FOREIGN}"),
    # A mailbox user's own account (the mailbox user of the matrix changes nothing).
    _case("GET", "/api/v1/account/vacation", audience="user"),
    _case(
        "PUT",
        "/api/v1/account/vacation",
        body={"subject": "away", "body": "back soon", "active": False},
        audience="user",
    ),
    _case(
        "PUT",
        "/api/v1/account/password",
        body={"old_password": PASSWORD, "new_password": PASSWORD},
        audience="user",
    ),
]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _ids(case: Case) -> str:
    return f"{case.method} {case.route}"


@dataclass
class Matrix:
    """The server, the tokens by name, and clients reused across cases (logins are slow)."""

    web: RunningWeb
    tokens: dict[str, str]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def session(self, username: str) -> httpx.Client:
        """A client logged in as ``username`` that sends its CSRF token as a header."""
        if username not in self.clients:
            client = self.web.login(username)
            client.headers["X-CSRF-Token"] = self.web.token(client)
            self.clients[username] = client
        return self.clients[username]

    def bearer(self, name: str) -> httpx.Client:
        if name not in self.clients:
            headers = {"Authorization": f"Bearer {self.tokens[name]}"}
            self.clients[name] = self.web.client(headers=headers)
        return self.clients[name]


@pytest.fixture(scope="module")
def matrix(directory: AdminService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    directory.create_token(CLI, "foreign", "domain_admin", [FOREIGN])  # id 1
    directory.add_alias(CLI, f"@{FOREIGN}", "catchall@y.test")
    tokens = {
        name: directory.create_token(CLI, name, role, domains)[1]
        for name, role, domains in [
            ("scoped", "domain_admin", ["example.org"]),
            ("revoked", "superadmin", []),
            ("expired", "superadmin", []),
        ]
    }
    records = {row["name"]: row["id"] for row in directory.list_tokens(CLI)}
    directory.revoke_token(CLI, records["revoked"])
    with directory.engine.begin() as connection:
        connection.execute(
            update(ApiToken)
            .where(ApiToken.id == records["expired"])
            .values(expires=datetime(2001, 1, 1))
        )
    tokens["unknown"] = "vmail_" + "A" * 32
    running = make_web(directory, **services(tmp_path_factory.mktemp("spool")))
    yield Matrix(running, tokens)
    running.close()


def send(
    client: httpx.Client, case: Case, path: str | None = None, **headers: str
) -> httpx.Response:
    return client.request(case.method, path or case.path, json=case.body, headers=headers)


def test_every_endpoint_is_in_the_matrix(matrix: Matrix) -> None:
    document = matrix.web.client().get("/api/v1/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
    }
    listed = {case.key for case in CASES}
    assert not operations - listed, "endpoints without a row in CASES"
    assert not listed - operations, "rows in CASES for endpoints that do not exist"
    assert len(listed) == len(CASES), "duplicate rows"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_without_credentials_is_401(matrix: Matrix, case: Case) -> None:
    response = send(matrix.web.client(), case)
    assert response.status_code == 401, response.text
    assert response.json() == {"error": "authentication required"}
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_mailbox_user_is_403_on_admin_endpoints(matrix: Matrix, case: Case) -> None:
    response = send(matrix.session(USER), case)
    if case.audience in ("any", "user"):
        assert response.status_code in (200, 204), response.text
    else:
        assert response.status_code == 403, response.text


@pytest.mark.parametrize("name", ["revoked", "expired", "unknown"])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_bad_token_is_401(matrix: Matrix, case: Case, name: str) -> None:
    response = send(matrix.bearer(name), case)
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("case", [c for c in CASES if c.method in UNSAFE], ids=_ids)
def test_forged_csrf_token_is_403(matrix: Matrix, case: Case) -> None:
    client = matrix.session(SUPERADMIN)
    token = client.headers["X-CSRF-Token"]
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), ""):
        response = send(client, case, **{"X-CSRF-Token": forged})
        assert response.status_code == 403, response.text
        assert "CSRF" in response.json()["error"]


@pytest.mark.parametrize("who", ["session", "token"])
@pytest.mark.parametrize("case", [c for c in CASES if c.foreign], ids=_ids)
def test_domain_admin_never_reaches_another_domain(matrix: Matrix, case: Case, who: str) -> None:
    client = matrix.session(DOMAIN_ADMIN) if who == "session" else matrix.bearer("scoped")
    response = send(client, case)
    if case.audience != "list":
        assert response.status_code in (403, 404), response.text
        return
    assert response.status_code == 200, response.text
    assert FOREIGN not in response.text
    if case.route == "/api/v1/overview":
        assert response.json()["domains"] == 1
    if case.scoped:
        asked = send(client, case, f"{case.path}?domain={FOREIGN}")
        assert asked.status_code == 403, asked.text
