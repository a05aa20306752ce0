"""A mailbox user's /account: password change and vacation message, with their errors."""

from __future__ import annotations

from datetime import datetime

from tests.unit.web.conftest import PASSWORD, SUPERADMIN, USER, USER_LOCKOUT, RunningWeb
from vmail.admin import Actor

NEW_PASSWORD = "battery staple 42"


def test_account_page_has_both_forms_for_users_only(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    page = client.get("/account")
    assert page.status_code == 200
    assert USER in page.text
    assert 'action="/account/password"' in page.text
    assert 'action="/account/vacation"' in page.text
    assert account_web.login(SUPERADMIN).get("/account").status_code == 403
    anonymous = account_web.client().get("/account")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")


def test_password_change_then_only_the_new_password_logs_in(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    data = {
        "old_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    response = account_web.post(client, "/account/password", data=data)
    assert response.status_code == 303
    assert response.headers["location"] == "/account?done=password"
    assert "password has been changed" in client.get("/account?done=password").text
    old = account_web.login_response(account_web.client(), USER, PASSWORD)
    assert old.status_code == 401
    account_web.login(USER, NEW_PASSWORD)


def test_password_errors_are_shown_next_to_the_form(account_web: RunningWeb) -> None:
    client = account_web.login(USER)

    def change(old: str, new: str, confirm: str) -> tuple[int, str]:
        data = {"old_password": old, "new_password": new, "confirm_password": confirm}
        response = account_web.post(client, "/account/password", data=data)
        return response.status_code, response.text

    status, text = change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert status == 400
    assert 'id="password-error">The new password and its confirmation differ.' in text
    status, text = change(PASSWORD, "short", "short")
    assert status == 400
    assert 'id="password-error">' in text
    status, text = change("not my password", NEW_PASSWORD, NEW_PASSWORD)
    assert status == 401
    assert 'id="password-error">Wrong current password.' in text
    account_web.login(USER)  # nothing changed


def test_wrong_current_passwords_count_as_failed_logins(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    data = {"old_password": "guess", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    for _ in range(USER_LOCKOUT):
        assert account_web.post(client, "/account/password", data=data).status_code == 401
    data["old_password"] = PASSWORD  # even the right one waits out the lockout
    response = account_web.post(client, "/account/password", data=data)
    assert response.status_code == 429
    assert "Too many failed logins" in response.text
    assert account_web.login_response(account_web.client(), USER, PASSWORD).status_code == 429


def test_password_change_needs_the_csrf_token(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    data = {
        "old_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    assert client.post("/account/password", data=data).status_code == 403
    data["csrf_token"] = "forged"
    assert client.post("/account/password", data=data).status_code == 403
    account_web.login(USER)  # unchanged


def test_vacation_is_stored_as_postfixadmin_does(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    data = {
        "active": "1",
        "subject": "Away",
        "body": "Back on Monday.\r\nRegards",
        "active_from": "2030-07-01",
        "active_until": "2030-07-14",
        "interval_time": "86400",
    }
    response = account_web.post(client, "/account/vacation", data=data)
    assert response.status_code == 303
    assert response.headers["location"] == "/account?done=vacation"
    stored = account_web.admin.get_vacation(Actor.user(USER), USER)
    assert (stored["subject"], stored["body"], stored["interval_time"]) == (
        "Away",
        "Back on Monday.\nRegards",
        86400,
    )
    assert stored["activefrom"] == datetime(2030, 7, 1)
    assert stored["activeuntil"] == datetime(2030, 7, 14, 23, 59, 59)
    assert stored["active"]
    goto = account_web.admin.get_alias(Actor.cli("t"), USER)["goto"]
    assert "user#example.org@autoreply.example.org" in goto
    page = client.get("/account").text
    assert 'value="2030-07-01"' in page
    assert 'value="2030-07-14"' in page
    assert '<option value="86400" selected>' in page
    assert 'name="active" value="1" checked' in page

    off = {"subject": "Away", "body": "Back on Monday.", "interval_time": "0"}
    assert account_web.post(client, "/account/vacation", data=off).status_code == 303
    assert not account_web.admin.get_vacation(Actor.user(USER), USER)["active"]
    assert "autoreply" not in account_web.admin.get_alias(Actor.cli("t"), USER)["goto"]


def test_vacation_errors_are_shown_next_to_the_form(account_web: RunningWeb) -> None:
    client = account_web.login(USER)
    cases = [
        ({"active": "1", "subject": "Away", "body": " "}, "needs a message body"),
        ({"active": "1", "body": "x", "active_from": "July 1st"}, "is not a date"),
        (
            {"active": "1", "body": "x", "active_from": "2030-07-02", "active_until": "2030-07-01"},
            "must end after it starts",
        ),
    ]
    for data, message in cases:
        response = account_web.post(client, "/account/vacation", data=data)
        assert response.status_code == 400, data
        assert 'id="vacation-error">' in response.text
        assert message in response.text
        assert f'value="{data.get("active_from", "")}"' in response.text  # input kept
    bad_interval = {"body": "x", "interval_time": "-5"}
    assert account_web.post(client, "/account/vacation", data=bad_interval).status_code == 400
    assert not account_web.admin.get_vacation(Actor.user(USER), USER)["active"]
