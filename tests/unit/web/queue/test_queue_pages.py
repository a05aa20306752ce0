"""The ``/queue`` pages: listing, filters, one message (escaped, capped), the action
buttons (POST + CSRF, delete after confirmation), flush; superadmin only."""

from __future__ import annotations

from tests.unit.queue.helpers import envelope, queue
from tests.unit.web.queue.conftest import QueueWeb
from vmail.queue.spool import DEFERRED, HOLD, INCOMING


def test_listing(qweb: QueueWeb) -> None:
    a = qweb.queue("page-a@remote.example")
    b = qweb.queue("page-b@remote.example", where=DEFERRED)
    page = qweb.superadmin.get("/queue", params={"q": "page-"})
    assert page.status_code == 200
    assert a in page.text
    assert b in page.text
    assert "page-a@remote.example" in page.text
    only = qweb.superadmin.get("/queue", params={"q": "page-", "queue": DEFERRED}).text
    assert b in only
    assert a not in only
    none = qweb.superadmin.get("/queue", params={"q": "no such thing"}).text
    assert "No message matches." in none


def test_bad_filter_is_400(qweb: QueueWeb) -> None:
    response = qweb.superadmin.get("/queue", params={"queue": "../etc"})
    assert response.status_code == 400
    assert "unknown queue" in response.text
    assert qweb.superadmin.get("/queue", params={"page": 0}).status_code == 400


def test_message_view_is_escaped(qweb: QueueWeb) -> None:
    content = b"Subject: <script>alert(1)</script>\r\n\r\n<b>bold</b>\r\n"
    qid = queue(qweb.spool, envelope("view@remote.example"), content)
    page = qweb.superadmin.get(f"/queue/{qid}")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    assert "sender: alice@example.com" in page.text
    assert qweb.superadmin.get("/queue/not-an-id").status_code == 400


def test_large_message_is_capped(qweb: QueueWeb) -> None:
    content = b"Subject: big\r\n\r\n" + b"y" * 200_000 + b"\r\nTHE-END\r\n"
    qid = queue(qweb.spool, envelope("big@remote.example"), content)
    page = qweb.superadmin.get(f"/queue/{qid}").text
    assert "THE-END" not in page
    assert "Only the first 64 KiB are shown." in page


def test_actions(qweb: QueueWeb) -> None:
    qid = qweb.queue("act@remote.example")
    client = qweb.superadmin
    held = qweb.post(client, f"/queue/{qid}/hold")
    assert held.status_code == 303
    assert held.headers["location"] == f"/queue/{qid}?done=hold&id={qid}"
    assert qweb.spool.find(qid) == HOLD
    assert "was put on hold" in client.get(held.headers["location"]).text
    assert qweb.post(client, f"/queue/{qid}/release").status_code == 303
    assert qweb.spool.find(qid) == DEFERRED
    assert qweb.post(client, f"/queue/{qid}/requeue").status_code == 303
    assert qweb.spool.find(qid) == INCOMING
    assert qweb.post(client, f"/queue/{qid}/explode").status_code == 404
    confirm = client.get(f"/queue/{qid}/delete")
    assert confirm.status_code == 200
    assert f'action="/queue/{qid}/delete"' in confirm.text
    assert qweb.spool.find(qid) == INCOMING  # asking is not deleting
    deleted = qweb.post(client, f"/queue/{qid}/delete")
    assert deleted.headers["location"] == f"/queue?done=delete&id={qid}"
    assert qweb.spool.find(qid) is None
    assert qweb.post(client, f"/queue/{qid}/delete").status_code == 404


def test_flush(qweb: QueueWeb) -> None:
    qid = qweb.queue("pflush@remote.example", where=DEFERRED)
    response = qweb.post(qweb.superadmin, "/queue/flush")
    assert response.headers["location"] == "/queue?done=flush"
    assert qweb.spool.find(qid) == INCOMING


def test_csrf(qweb: QueueWeb) -> None:
    qid = qweb.queue("pcsrf@remote.example")
    client = qweb.superadmin
    assert client.post(f"/queue/{qid}/hold").status_code == 403
    assert client.post(f"/queue/{qid}/delete", data={"csrf_token": "bad"}).status_code == 403
    assert qweb.spool.find(qid) == INCOMING


def test_authorization(qweb: QueueWeb) -> None:
    qid = qweb.queue("pauth@remote.example")
    anonymous = qweb.web.client()
    response = anonymous.get("/queue")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/queue")
    for client in (qweb.domain_admin, qweb.user):
        assert client.get("/queue").status_code == 403
        assert client.get(f"/queue/{qid}").status_code == 403
        assert qweb.post(client, f"/queue/{qid}/delete").status_code == 403
    assert qweb.spool.find(qid) == INCOMING
