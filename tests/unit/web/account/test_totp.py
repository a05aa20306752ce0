"""Admins' TOTP second factor: enrolment on /account/totp, the login's code step, turning
it off; wrong codes are throttled like wrong passwords."""

from __future__ import annotations

import re

import httpx

from tests.unit.web.account.conftest import code, secret_of, wrong_code
from tests.unit.web.conftest import (
    DOMAIN_ADMIN,
    PASSWORD,
    USER,
    USER_LOCKOUT,
    RunningWeb,
    csrf_token,
)
from vmail.web.pages.login import TICKET_AGE

TICKET = re.compile(r'name="ticket" value="([^"]+)"')


def _enrol(web: RunningWeb, username: str = DOMAIN_ADMIN) -> str:
    """Turn TOTP on for ``username`` through the pages; its secret (step 0 is used)."""
    client = web.login(username)
    page = web.post(client, "/account/totp/enable")
    secret = secret_of(page.text)
    done = web.post(client, "/account/totp/confirm", data={"code": code(secret)})
    assert done.status_code == 303
    return secret


def _password_step(web: RunningWeb, client: httpx.Client) -> httpx.Response:
    response = web.login_response(client, DOMAIN_ADMIN, PASSWORD)
    assert response.status_code == 200, response.text
    assert 'action="/login/totp"' in response.text
    return response


def _send_code(client: httpx.Client, page: str, value: str) -> httpx.Response:
    found = TICKET.search(page)
    assert found
    data = {"ticket": found.group(1), "code": value, "csrf_token": csrf_token(page)}
    return client.post("/login/totp", data=data)


def test_enrolment_shows_a_qr_code_and_needs_a_valid_code(account_web: RunningWeb) -> None:
    client = account_web.login(DOMAIN_ADMIN)
    page = client.get("/account/totp")
    assert page.status_code == 200
    assert "is <strong>off</strong>" in page.text
    shown = account_web.post(client, "/account/totp/enable")
    assert shown.status_code == 200
    assert "otpauth://totp/vmail:dadmin%40example.org?secret=" in shown.text
    assert '<svg width="' in shown.text
    assert "style=" not in shown.text  # the strict CSP allows no inline style
    assert "<script>" not in shown.text
    secret = secret_of(shown.text)
    data = {"code": wrong_code(secret), "secret": secret, "uri": "otpauth://totp/x"}
    wrong = account_web.post(client, "/account/totp/confirm", data=data)
    assert wrong.status_code == 401
    assert "wrong TOTP code" in wrong.text
    assert secret in wrong.text  # the same secret again, to retry without rescanning
    assert not account_web.admin.totp_enabled(DOMAIN_ADMIN)
    right = account_web.post(client, "/account/totp/confirm", data={"code": code(secret)})
    assert right.status_code == 303
    assert "is <strong>on</strong>" in client.get(right.headers["location"]).text
    assert account_web.admin.totp_enabled(DOMAIN_ADMIN)
    again = account_web.post(client, "/account/totp/confirm", data={"code": code(secret, 1)})
    assert again.status_code == 400  # nothing pending any more


def test_totp_pages_are_for_admins(account_web: RunningWeb) -> None:
    user = account_web.login(USER)
    assert user.get("/account/totp").status_code == 403
    assert account_web.post(user, "/account/totp/enable").status_code == 403


def test_login_asks_for_the_code_before_granting_the_session(account_web: RunningWeb) -> None:
    secret = _enrol(account_web)
    client = account_web.client()
    step = _password_step(account_web, client)
    assert client.get("/").status_code == 303  # not logged in yet
    assert _send_code(client, step.text, wrong_code(secret)).status_code == 401
    done = _send_code(client, step.text, code(secret, 1))
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    assert client.get("/").status_code == 200
    replay = account_web.client()
    again = _password_step(account_web, replay)
    assert _send_code(replay, again.text, code(secret, 1)).status_code == 401  # used once


def test_wrong_codes_count_in_the_login_throttle(account_web: RunningWeb) -> None:
    secret = _enrol(account_web)
    client = account_web.client()
    step = _password_step(account_web, client)
    for _ in range(USER_LOCKOUT):
        assert _send_code(client, step.text, wrong_code(secret)).status_code == 401
    locked = _send_code(client, step.text, code(secret, 1))
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.text
    password = account_web.login_response(account_web.client(), DOMAIN_ADMIN, PASSWORD)
    assert password.status_code == 429


def test_ticket_is_bound_to_its_session_and_expires(account_web: RunningWeb) -> None:
    secret = _enrol(account_web)
    client = account_web.client()
    step = _password_step(account_web, client)
    other = account_web.client()
    other_page = other.get("/login").text
    found = TICKET.search(step.text)
    assert found
    stolen = {"ticket": found.group(1), "code": code(secret, 1)}
    stolen["csrf_token"] = csrf_token(other_page)
    assert other.post("/login/totp", data=stolen).status_code == 400
    forged = _send_code(client, step.text.replace(found.group(1), found.group(1) + "x"), "1")
    assert forged.status_code == 400
    account_web.clock.now += TICKET_AGE + 1
    expired = _send_code(client, step.text, code(secret, 1))
    assert expired.status_code == 400
    assert "The login has expired" in expired.text


def test_turning_it_off_takes_a_code_or_the_password(account_web: RunningWeb) -> None:
    secret = _enrol(account_web)
    client = account_web.client()
    step = _password_step(account_web, client)
    assert _send_code(client, step.text, code(secret, 1)).status_code == 303
    empty = account_web.post(client, "/account/totp/disable")
    assert empty.status_code == 400
    wrong = account_web.post(client, "/account/totp/disable", data={"password": "nope"})
    assert wrong.status_code == 401
    assert account_web.admin.totp_enabled(DOMAIN_ADMIN)
    off = account_web.post(client, "/account/totp/disable", data={"password": PASSWORD})
    assert off.status_code == 303
    assert not account_web.admin.totp_enabled(DOMAIN_ADMIN)
    assert account_web.login_response(account_web.client(), DOMAIN_ADMIN, PASSWORD).status_code == (
        303
    )
