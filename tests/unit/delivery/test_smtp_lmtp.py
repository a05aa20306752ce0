"""The agent as lmtp(8): LHLO, one reply per recipient after the message, inet and unix."""

from __future__ import annotations

from pathlib import Path

from tests.unit.delivery.smtp_sink import SmtpSink
from tests.unit.delivery.test_smtp import MESSAGE, content, requests
from vmail.config import MainConfig
from vmail.delivery.request import Status
from vmail.delivery.smtp import SmtpAgent


def lmtp_agent(**params: str) -> SmtpAgent:
    settings = {"myhostname": "client.test", **params}
    config = MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    return SmtpAgent(config, lmtp=True, service_name="lmtp")


def per_recipient(rcpt: str) -> str:
    if rcpt.startswith("full"):
        return f"552 5.2.2 <{rcpt}> Quota exceeded (mailbox for user is full)"
    if rcpt.startswith("busy"):
        return f"451 4.2.0 <{rcpt}> Mailbox is locked"
    return f"250 2.0.0 <{rcpt}> nU3xAbc Saved"


def test_lmtp_inet_per_recipient_replies() -> None:
    with SmtpSink(lmtp=True, data_reply=per_recipient) as sink:
        agent = lmtp_agent()
        reqs = requests(f"inet:127.0.0.1:{sink.port}", "bob@x.test", "full@x.test", "busy@x.test")
        results = agent.deliver_batch(reqs, content)
        agent.close()
    assert [r.status for r in results] == [Status.SENT, Status.BOUNCED, Status.DEFERRED]
    assert results[0].text == "250 2.0.0 <bob@x.test> nU3xAbc Saved"
    assert results[0].relay == f"127.0.0.1[127.0.0.1]:{sink.port}"
    assert results[1].dsn == "5.2.2"
    assert results[1].text == (
        "host 127.0.0.1[127.0.0.1] said: 552 5.2.2 <full@x.test> Quota exceeded "
        "(mailbox for user is full) (in reply to end of DATA command)"
    )
    assert results[2].dsn == "4.2.0"
    assert sink.commands[0] == "LHLO client.test"
    assert sink.messages == [MESSAGE]


def test_lmtp_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "lmtp"
    with SmtpSink(lmtp=True, unix_path=path, data_reply=per_recipient) as sink:
        agent = lmtp_agent()
        results = agent.deliver_batch(
            requests(f"unix:{path}", "bob@x.test", "full@x.test"), content
        )
        agent.close()
    assert [r.status for r in results] == [Status.SENT, Status.BOUNCED]
    assert results[0].relay == f"client.test[{path}]"
    assert results[1].text.startswith(f"host client.test[{path}] said: 552 5.2.2")
    assert len(sink.messages) == 1


def test_lmtp_relative_socket_is_under_queue_directory(tmp_path: Path) -> None:
    (tmp_path / "private").mkdir()
    with SmtpSink(lmtp=True, unix_path=tmp_path / "private" / "dovecot-lmtp"):
        agent = lmtp_agent(queue_directory=str(tmp_path))
        [result] = agent.deliver_batch(requests("unix:private/dovecot-lmtp", "bob@x.test"), content)
        agent.close()
    assert result.status == Status.SENT
    assert result.relay == "client.test[private/dovecot-lmtp]"


def test_lmtp_missing_socket_defers(tmp_path: Path) -> None:
    agent = lmtp_agent(queue_directory=str(tmp_path))
    [result] = agent.deliver_batch(requests("unix:private/dovecot-lmtp", "bob@x.test"), content)
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.4.1")
    assert result.text == "connect to client.test[private/dovecot-lmtp]: No such file or directory"


def test_lmtp_lhlo_refused() -> None:
    with SmtpSink(lmtp=True, replies={"LHLO": "500 5.5.1 Unknown command"}) as sink:
        [result] = lmtp_agent().deliver_batch(
            requests(f"inet:127.0.0.1:{sink.port}", "b@x.test"), content
        )
    assert (result.status, result.dsn) == (Status.BOUNCED, "5.5.1")
    assert (
        result.text == "host 127.0.0.1[127.0.0.1] refused to talk to me: 500 5.5.1 Unknown command"
    )


def test_lmtp_no_loop_detection_and_lhlo_name() -> None:
    with SmtpSink(lmtp=True, name="client.test") as sink:
        agent = lmtp_agent(lmtp_lhlo_name="me.test")
        [result] = agent.deliver_batch(requests(f"127.0.0.1:{sink.port}", "b@x.test"), content)
        agent.close()
    assert result.status == Status.SENT
    assert sink.commands[0] == "LHLO me.test"
