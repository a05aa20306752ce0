"""Authorization, CSRF, security headers and error answers on every kind of response."""

from __future__ import annotations

import logging
import re
import ssl
import time
from pathlib import Path

import httpx
import pytest

from tests.unit.web.conftest import DOMAIN_ADMIN, PASSWORD, SUPERADMIN, USER, RunningWeb, make_web
from vmail.admin import Actor, AdminService
from vmail.cli.init_tls import self_signed
from vmail.web.context import WebContext
from vmail.web.middleware import CSP

CLI = Actor.cli("tester")


def assert_secure_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in headers  # plain HTTP


def test_security_headers_on_every_kind_of_response(web: RunningWeb) -> None:
    anonymous = web.client()
    admin = web.login(SUPERADMIN)
    responses = [
        anonymous.get("/login"),
        anonymous.get("/"),  # redirect
        anonymous.get("/static/vmail.css"),
        anonymous.get("/static/htmx.min.js"),
        anonymous.get("/no/such/page"),
        anonymous.get("/api/v1/me"),  # 401 JSON
        anonymous.post("/login", data={"username": "a", "password": "b"}),  # 403
        admin.get("/"),
        admin.get("/api/v1/openapi.json"),
        admin.put("/"),  # 405
    ]
    for response in responses:
        assert_secure_headers(response)


def test_no_inline_scripts_or_styles(web: RunningWeb) -> None:
    for client, path in [(web.client(), "/login"), (web.login(SUPERADMIN), "/")]:
        html = client.get(path).text
        assert "<script>" not in html
        assert "<script " not in html.replace('<script src="/static/htmx.min.js" defer>', "")
        assert "<style" not in html
        assert "style=" not in html
        assert " on" not in html.split("<body", 1)[1].split(">", 1)[0]


def test_form_post_without_token_is_403(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    response = client.post("/logout")
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert client.get("/").status_code == 200  # still logged in


def test_forged_token_is_403(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    token = web.token(client)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.post("/logout", data={"csrf_token": forged}).status_code == 403
    assert client.post("/logout", headers={"X-CSRF-Token": forged}).status_code == 403
    other = web.login(SUPERADMIN)  # another session's token is no good either
    assert client.post("/logout", data={"csrf_token": web.token(other)}).status_code == 403


def test_token_in_header_is_accepted(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    response = client.post("/logout", headers={"X-CSRF-Token": web.token(client)})
    assert response.status_code == 303


def test_login_post_without_session_is_403(web: RunningWeb) -> None:
    response = web.client().post("/login", data={"username": SUPERADMIN, "password": PASSWORD})
    assert response.status_code == 403
    assert "reload" in response.text


def test_login_post_with_a_session_but_no_token_is_403(web: RunningWeb) -> None:
    client = web.client()
    client.get("/login")
    response = client.post("/login", data={"username": SUPERADMIN, "password": PASSWORD})
    assert response.status_code == 403


def test_api_without_session_is_401_json(web: RunningWeb) -> None:
    response = web.client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}


def test_api_me(web: RunningWeb) -> None:
    assert web.login(USER).get("/api/v1/me").json() == {"kind": "user", "username": USER}
    response = web.login(SUPERADMIN).get("/api/v1/me")
    assert response.json() == {"kind": "admin", "username": SUPERADMIN}


def test_api_errors_are_json(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found"}
    assert client.delete("/api/v1/me").json() == {"error": "Method Not Allowed"}


def test_error_pages_are_in_the_layout(web: RunningWeb) -> None:
    client = web.login(SUPERADMIN)
    page = client.get("/domains/<script>")
    assert page.status_code == 404
    assert "404 Not found" in page.text
    assert 'href="/mailboxes"' in page.text  # the admin menu
    assert "<script>" not in page.text


def test_mailbox_user_cannot_open_admin_pages(web: RunningWeb) -> None:
    client = web.login(USER)
    page = client.get("/")
    assert page.status_code == 403
    assert "for administrators" in page.text
    assert 'href="/mailboxes"' not in page.text  # a user's menu has no admin links


def test_admin_cannot_open_user_pages(web: RunningWeb) -> None:
    assert web.login(SUPERADMIN).get("/account").status_code == 403


def test_deactivated_admin_loses_the_session_at_once(fresh_directory: AdminService) -> None:
    web = make_web(fresh_directory)
    try:
        client = web.login(SUPERADMIN)
        assert client.get("/").status_code == 200
        fresh_directory.edit_admin(CLI, SUPERADMIN, active=False)
        response = client.get("/")
        assert response.status_code == 303
        assert "Max-Age=0" in response.headers["set-cookie"]
        assert client.get("/api/v1/me").status_code == 401  # the cookie is gone
    finally:
        web.close()


def test_deleted_admin_is_logged_out(fresh_directory: AdminService) -> None:
    web = make_web(fresh_directory)
    try:
        client = web.login(SUPERADMIN)
        other = web.login(DOMAIN_ADMIN)
        fresh_directory.delete_admin(CLI, SUPERADMIN)
        assert client.get("/").status_code == 303
        assert other.get("/").status_code == 200
    finally:
        web.close()


def test_no_database_means_nobody_logs_in() -> None:
    web = make_web(None)
    try:
        client = web.client()
        assert web.login_response(client, SUPERADMIN, PASSWORD).status_code == 401
    finally:
        web.close()


def test_an_unexpected_error_is_a_logged_500(web: RunningWeb) -> None:
    def boom() -> None:
        raise RuntimeError("secret detail")

    web.server.app.add_api_route("/boom", boom)
    web.server.app.add_api_route("/api/v1/boom", boom)
    client = web.login(SUPERADMIN)
    page = client.get("/boom")
    assert page.status_code == 500
    assert "secret detail" not in page.text
    assert "Internal error" in page.text
    assert_secure_headers(page)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.json() == {"error": "internal error; the details are logged"}


def test_https_cookies_are_secure_and_hsts_is_sent(
    fresh_directory: AdminService, tmp_path: Path
) -> None:
    cert, key = self_signed("mail.example.net", 2048)
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    web = make_web(fresh_directory, ssl_context=context)
    try:
        assert web.url.startswith("https://")
        client = web.client(verify=False)
        response = web.login_response(client, SUPERADMIN, PASSWORD)
        assert response.status_code == 303
        assert "; Secure" in response.headers["set-cookie"]
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        assert client.get("/").status_code == 200  # the Secure cookie comes back over TLS
    finally:
        web.close()


def test_context_type_is_what_handlers_get(web: RunningWeb) -> None:
    assert isinstance(web.server.app.state.context, WebContext)


def test_each_request_is_logged_without_query(
    web: RunningWeb, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="vmail.web"):
        web.client().get("/login?next=/secret-token-here")
        deadline = time.monotonic() + 5  # the line is written after the response is sent
        while "GET /login" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert re.search(r'127\.0\.0\.1 "GET /login" 200 [0-9.]+ms', caplog.text)
    assert "secret-token-here" not in caplog.text
