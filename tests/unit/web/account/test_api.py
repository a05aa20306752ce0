"""/api/v1/account: a mailbox user's vacation and password over their session."""

from __future__ import annotations

from tests.unit.web.conftest import PASSWORD, SUPERADMIN, USER, USER_LOCKOUT, RunningWeb

NEW_PASSWORD = "battery staple 42"
VACATION = "/api/v1/account/vacation"
PASSWORD_PATH = "/api/v1/account/password"


def test_vacation_read_and_replace(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    headers = {"X-CSRF-Token": account_web.token(client)}
    empty = client.get(VACATION)
    assert empty.status_code == 200
    assert empty.json()["email"] == USER
    assert empty.json()["active"] is False
    body = {
        "subject": "Away",
        "body": "Back soon",
        "activefrom": "2030-07-01T00:00:00",
        "activeuntil": "2030-07-14T23:59:59",
        "interval_time": 604800,
    }
    put = client.put(VACATION, json=body, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["active"] is True
    assert put.json()["activeuntil"] == "2030-07-14T23:59:59"
    assert client.get(VACATION).json() == put.json()


def test_bad_vacation_input_is_4xx(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    headers = {"X-CSRF-Token": account_web.token(client)}
    cases = [
        ({"body": "x", "unknown": 1}, 422),
        ({"body": "x", "interval_time": -1}, 422),
        ({"body": "nul\u0000"}, 422),
        ({"body": "x", "activefrom": "not a date"}, 422),
        ({"body": ""}, 400),  # active needs a body
        ({"body": "x", "activefrom": "2030-02-01T00:00", "activeuntil": "2030-01-01T00:00"}, 400),
    ]
    for body, status in cases:
        response = client.put(VACATION, json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]


def test_password_change(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    headers = {"X-CSRF-Token": account_web.token(client)}
    wrong = {"old_password": "nope", "new_password": NEW_PASSWORD}
    response = client.put(PASSWORD_PATH, json=wrong, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "wrong current password"}
    weak = {"old_password": PASSWORD, "new_password": "short"}
    assert client.put(PASSWORD_PATH, json=weak, headers=headers).status_code == 422
    right = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.put(PASSWORD_PATH, json=right, headers=headers).status_code == 204
    account_web.login(USER, NEW_PASSWORD)


def test_password_guessing_is_throttled(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    headers = {"X-CSRF-Token": account_web.token(client)}
    wrong = {"old_password": "nope", "new_password": NEW_PASSWORD}
    for _ in range(USER_LOCKOUT):
        assert client.put(PASSWORD_PATH, json=wrong, headers=headers).status_code == 401
    right = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    locked = client.put(PASSWORD_PATH, json=right, headers=headers)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.json()["error"]


def test_csrf_and_who_may_use_it(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    body = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.put(PASSWORD_PATH, json=body).status_code == 403
    assert client.put(VACATION, json={"body": "x"}).status_code == 403
    assert account_web.client().get(VACATION).status_code == 401
    admin = account_web.login(SUPERADMIN)
    assert admin.get(VACATION).status_code == 403
    account_web.login(USER)  # the password is unchanged
