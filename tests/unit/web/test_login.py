"""Logging in and out: admins and mailbox users, failures, throttling, cookies, expiry."""

from __future__ import annotations

import logging

import pytest

from tests.unit.web.conftest import (
    DOMAIN_ADMIN,
    PASSWORD,
    SUPERADMIN,
    TIMEOUT,
    USER,
    USER_LOCKOUT,
    RunningWeb,
    csrf_token,
)
from vmail.web.sessions import COOKIE_NAME


def test_login_page_sets_an_anonymous_session_with_a_token(web: RunningWeb) -> None:
    client = web.client()
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="username"' in page.text
    assert csrf_token(page.text)
    assert COOKIE_NAME in client.cookies


def test_admin_lands_on_the_dashboard_with_counts(web: RunningWeb) -> None:
    client = web.client()
    response = web.login_response(client, SUPERADMIN, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Dashboard" in page.text
    assert SUPERADMIN in page.text
    assert 'class="count">2<' in page.text  # two domains


def test_domain_admin_counts_only_their_domains(web: RunningWeb) -> None:
    page = web.login(DOMAIN_ADMIN).get("/")
    assert page.status_code == 200
    assert "Domain admin of example.org" in page.text
    assert 'class="count">1</span> <span class="label">Domains' in page.text


def test_mailbox_user_lands_on_account(web: RunningWeb) -> None:
    client = web.client()
    response = web.login_response(client, USER.upper(), PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert USER in page.text


def test_next_is_followed_only_to_local_paths(web: RunningWeb) -> None:
    for target, expected in [("/account?x=1", "/account?x=1"), ("//evil.test/", "/account")]:
        client = web.client()
        page = client.get("/login")
        form = {"username": USER, "password": PASSWORD, "csrf_token": csrf_token(page.text)}
        response = client.post("/login", data={**form, "next": target})
        assert response.headers["location"] == expected


def test_pages_redirect_to_login_with_next(web: RunningWeb) -> None:
    response = web.client().get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"


def test_failed_login_is_logged_without_the_password(
    web: RunningWeb, caplog: pytest.LogCaptureFixture
) -> None:
    client = web.client()
    with caplog.at_level(logging.INFO, logger="vmail.auth"):
        response = web.login_response(client, "nobody@example.org", "s3cret-guess")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert 'value="nobody@example.org"' in response.text
    assert "authentication failed: user=<nobody@example.org>, rip=127.0.0.1, service=web" in (
        caplog.text
    )
    assert "s3cret-guess" not in caplog.text


def test_wrong_admin_password_is_refused(web: RunningWeb) -> None:
    client = web.client()
    assert web.login_response(client, SUPERADMIN, "wrong").status_code == 401
    assert client.get("/").status_code == 303


def test_lockout_answers_429_without_checking_the_password(
    web: RunningWeb, caplog: pytest.LogCaptureFixture
) -> None:
    client = web.client()
    for _ in range(USER_LOCKOUT):
        assert web.login_response(client, DOMAIN_ADMIN, "wrong").status_code == 401
    with caplog.at_level(logging.INFO, logger="vmail.auth"):
        locked = web.login_response(client, DOMAIN_ADMIN, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins: try again in 5 minutes." in locked.text
    assert "reason=too many failures" in caplog.text
    # another user from the same address is not locked out
    assert web.login_response(web.client(), SUPERADMIN, PASSWORD).status_code == 303


def test_logout_ends_the_session(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    response = web.post(client, "/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert client.get("/").status_code == 303


def test_cookie_flags(web: RunningWeb) -> None:
    client = web.client()
    response = web.login_response(client, SUPERADMIN, PASSWORD)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back


def test_login_rotates_the_csrf_token(web: RunningWeb) -> None:
    client = web.client()
    before = csrf_token(client.get("/login").text)
    web.login_response(client, SUPERADMIN, PASSWORD)
    assert web.token(client) != before


def test_session_expires_when_idle(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    web.clock.now += TIMEOUT - 10
    assert client.get("/").status_code == 200  # used: the cookie is re-issued
    web.clock.now += TIMEOUT - 10
    assert client.get("/").status_code == 200
    web.clock.now += TIMEOUT + 1
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


def test_forged_cookie_is_no_session(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    value = client.cookies[COOKIE_NAME]
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    response = client.get("/")
    assert response.status_code == 303
    assert "Max-Age=0" in response.headers["set-cookie"]


def test_logged_in_user_visiting_login_goes_home(web: RunningWeb) -> None:
    client = web.login(USER)
    response = client.get("/login")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"


def test_overlong_fields_are_a_400(web: RunningWeb) -> None:
    client = web.client()
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "a" * 5000, "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "username" in response.text
