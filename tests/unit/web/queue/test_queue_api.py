"""``/api/v1/queue``: listing, one message, its content, hold/release/requeue/delete,
flush; superadmin only; IDs checked; CSRF for session clients."""

from __future__ import annotations

import pytest
from httpx import QueryParams

from tests.unit.web.queue.conftest import QueueWeb
from vmail.admin import Actor
from vmail.queue.spool import DEFERRED, HOLD, INCOMING

API = "/api/v1/queue"


def test_listing_filters_and_pages(qweb: QueueWeb) -> None:
    a = qweb.queue("list-a@remote.example")
    b = qweb.queue("list-b@remote.example", where=DEFERRED, sender="")
    client = qweb.superadmin
    body = client.get(API, params={"q": "list-"}).json()
    assert [m["queue_id"] for m in body["items"]] == [a, b]
    assert body["total"] == 2
    assert body["items"][1]["sender"] == "MAILER-DAEMON"
    assert body["items"][0]["recipients"] == [
        {"address": "list-a@remote.example", "delay_reason": None}
    ]
    assert body["sizes"][DEFERRED] >= 1
    deferred = client.get(API, params={"queue": DEFERRED, "q": "list-"}).json()
    assert [m["queue_id"] for m in deferred["items"]] == [b]
    page = client.get(API, params={"limit": 1, "offset": 0}).json()
    assert len(page["items"]) == 1
    assert page["total"] >= 2


@pytest.mark.parametrize(
    ("params", "status"),
    [({"queue": "corrupt"}, 400), ({"queue": "../x"}, 400), ({"limit": 0}, 422),
     ({"limit": 501}, 422), ({"offset": -1}, 422), ({"q": "x" * 300}, 422)],
)  # fmt: skip
def test_listing_bad_parameters(
    qweb: QueueWeb, params: dict[str, str | int | list[str]], status: int
) -> None:
    response = qweb.superadmin.get(API, params=QueryParams(params))
    assert response.status_code == status
    assert response.json()["error"]


def test_show_and_message(qweb: QueueWeb) -> None:
    qid = qweb.queue("show@remote.example")
    client = qweb.superadmin
    assert client.get(f"{API}/{qid}").json()["queue_name"] == INCOMING
    content = client.get(f"{API}/{qid}/message").json()
    assert content["content"].startswith("Subject: hello\nFrom: alice@example.com\n\nbody line")
    assert content["truncated"] is False
    assert "sender: a@example.com" in content["envelope"]


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc%2Fpasswd", "nope", "x" * 80, "%00"])
def test_bad_ids_are_400(qweb: QueueWeb, bad: str) -> None:
    for path in (f"{API}/{bad}", f"{API}/{bad}/message"):
        response = qweb.superadmin.get(path)
        assert response.status_code in (400, 404), path
        assert "error" in response.json()
    headers = qweb.csrf(qweb.superadmin)
    assert qweb.superadmin.post(f"{API}/nope/hold", headers=headers).status_code == 400


def test_unknown_id_is_404(qweb: QueueWeb) -> None:
    qid = qweb.queue("gone@remote.example")
    qweb.spool.remove(INCOMING, qid)
    client = qweb.superadmin
    assert client.get(f"{API}/{qid}").status_code == 404
    response = client.delete(f"{API}/{qid}", headers=qweb.csrf(client))
    assert response.status_code == 404


def test_hold_release_requeue_delete(qweb: QueueWeb) -> None:
    qid = qweb.queue("ops@remote.example")
    client = qweb.superadmin
    headers = qweb.csrf(client)
    hold = client.post(f"{API}/{qid}/hold", headers=headers)
    assert hold.json() == {"queue_id": qid, "action": "hold", "queue_name": HOLD}
    again = client.post(f"{API}/{qid}/hold", headers=headers)
    assert again.status_code == 409
    released = client.post(f"{API}/{qid}/release", headers=headers)
    assert released.json()["queue_name"] == DEFERRED
    assert client.post(f"{API}/{qid}/release", headers=headers).status_code == 409
    assert client.post(f"{API}/{qid}/requeue", headers=headers).json()["queue_name"] == INCOMING
    assert client.delete(f"{API}/{qid}", headers=headers).status_code == 204
    assert qweb.spool.find(qid) is None


def test_flush_moves_deferred_and_wakes_the_server(qweb: QueueWeb) -> None:
    qid = qweb.queue("flush@remote.example", where=DEFERRED)
    before = qweb.wakes.count
    client = qweb.superadmin
    body = client.post(f"{API}/flush", headers=qweb.csrf(client)).json()
    assert body["flushed"] >= 1
    assert body["server_notified"] is True
    assert qweb.spool.find(qid) == INCOMING
    assert qweb.wakes.count == before + 1


def test_authorization(qweb: QueueWeb) -> None:
    qid = qweb.queue("auth@remote.example")
    anonymous = qweb.web.client()
    assert anonymous.get(API).status_code == 401
    assert anonymous.post(f"{API}/{qid}/hold").status_code == 401
    for client in (qweb.domain_admin, qweb.user):
        assert client.get(API).status_code == 403
        assert client.get(f"{API}/{qid}/message").status_code == 403
        assert client.post(f"{API}/{qid}/hold", headers=qweb.csrf(client)).status_code == 403
        assert client.post(f"{API}/flush", headers=qweb.csrf(client)).status_code == 403
    assert qweb.spool.find(qid) == INCOMING


def test_csrf_required_for_session_clients(qweb: QueueWeb) -> None:
    qid = qweb.queue("csrf@remote.example")
    client = qweb.superadmin
    assert client.post(f"{API}/{qid}/hold").status_code == 403
    assert client.delete(f"{API}/{qid}", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post(f"{API}/flush").status_code == 403
    assert qweb.spool.find(qid) == INCOMING


def test_api_token(qweb: QueueWeb) -> None:
    admin = qweb.web.admin
    _, secret = admin.create_token(Actor.cli("t"), "queue", "superadmin")
    client = qweb.web.client(headers={"Authorization": f"Bearer {secret}"})
    qid = qweb.queue("token@remote.example")
    assert client.post(f"{API}/{qid}/hold").json()["queue_name"] == HOLD  # no CSRF for tokens
