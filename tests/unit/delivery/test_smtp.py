"""The smtp agent against a scripted SMTP server on 127.0.0.1 (real sockets)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.delivery.smtp_sink import FakeDns, SmtpSink, free_port
from vmail.config import MainConfig
from vmail.core.errors import TableError
from vmail.delivery.request import DeliveryRequest, DeliveryResult, MessageInfo, Status
from vmail.delivery.smtp import SmtpAgent
from vmail.dns import DnsLookupError, LookupStatus, MxRecord
from vmail.tables import Table
from vmail.tables.registry import register

MESSAGE = b"From: a@client.test\r\nSubject: hi\r\n\r\nhello\r\n"


def make_agent(dns: FakeDns | None = None, **params: str) -> SmtpAgent:
    settings = {"myhostname": "client.test", **params}
    config = MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    return SmtpAgent(config, dns=dns or FakeDns())


def requests(
    nexthop: str,
    *recipients: str,
    message: MessageInfo | None = None,
    notify: tuple[str, ...] = (),
    orcpt: str = "",
) -> list[DeliveryRequest]:
    info = message or MessageInfo("4ABC", "alice@client.test", size=len(MESSAGE))
    return [
        DeliveryRequest(
            "4ABC",
            info.sender,
            r,
            transport="smtp",
            nexthop=nexthop,
            notify=notify,
            orcpt=orcpt,
            message=info,
        )
        for r in recipients
    ]


def content(data: bytes = MESSAGE) -> Iterator[bytes]:
    return iter([data])


def deliver(
    agent: SmtpAgent, reqs: list[DeliveryRequest], data: bytes = MESSAGE
) -> list[DeliveryResult]:
    try:
        return agent.deliver_batch(reqs, lambda: content(data))
    finally:
        agent.close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def hop(sink: SmtpSink) -> str:
    return f"[127.0.0.1]:{sink.port}"


def test_plain_delivery(sink: SmtpSink) -> None:
    [result] = deliver(make_agent(), requests(hop(sink), "bob@remote.test"))
    assert result == DeliveryResult(
        Status.SENT,
        "2.0.0",
        "250 2.0.0 Ok: queued as 4ABC",
        relay=f"127.0.0.1[127.0.0.1]:{sink.port}",
    )
    assert sink.messages == [MESSAGE]
    commands = sink.commands
    assert commands[0] == "EHLO client.test"
    assert commands[1] == f"MAIL FROM:<alice@client.test> SIZE={len(MESSAGE)}"
    assert commands[2:4] == ["RCPT TO:<bob@remote.test>", "DATA"]
    assert commands[-1] == "QUIT"


def test_multi_recipient_and_per_rcpt_rejection(sink: SmtpSink) -> None:
    def rcpt(arg: str) -> str:
        if "nobody" in arg:
            return "550 5.1.1 <nobody@remote.test>: Recipient address rejected: User unknown"
        if "later" in arg:
            return "450 4.2.0 <later@remote.test>: Recipient address rejected: Greylisted"
        return "250 2.1.5 Ok"

    sink.replies["RCPT"] = rcpt
    reqs = requests(
        hop(sink), "bob@remote.test", "nobody@remote.test", "later@remote.test", "carol@remote.test"
    )
    results = deliver(make_agent(), reqs)
    label = "127.0.0.1[127.0.0.1]"
    assert [r.status for r in results] == [
        Status.SENT,
        Status.BOUNCED,
        Status.DEFERRED,
        Status.SENT,
    ]
    assert results[1].dsn == "5.1.1"
    assert results[1].text == (
        f"host {label} said: 550 5.1.1 <nobody@remote.test>: Recipient address rejected: "
        "User unknown (in reply to RCPT TO command)"
    )
    assert results[2].dsn == "4.2.0"
    assert len(sink.messages) == 1
    assert sum(c.startswith("RCPT") for c in sink.commands) == 4


def test_all_recipients_rejected_sends_no_data(sink: SmtpSink) -> None:
    sink.keywords = ["SIZE"]  # no PIPELINING: the client must not say DATA
    sink.replies["RCPT"] = "550 5.1.1 User unknown"
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test", "b@remote.test"))
    assert [r.status for r in results] == [Status.BOUNCED, Status.BOUNCED]
    assert "DATA" not in sink.commands
    assert sink.messages == []


def test_all_rejected_with_pipelining_reads_data_reply(sink: SmtpSink) -> None:
    sink.replies["RCPT"] = "550 5.1.1 User unknown"
    sink.replies["DATA"] = "554 5.5.1 Error: no valid recipients"
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert results[0].status == Status.BOUNCED
    assert results[0].text.endswith("(in reply to RCPT TO command)")
    assert sink.messages == []


def test_mail_from_rejected(sink: SmtpSink) -> None:
    sink.replies["MAIL"] = "553 5.7.1 <alice@client.test>: Sender address rejected: Access denied"
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test", "b@remote.test"))
    assert all(r.status == Status.BOUNCED and r.dsn == "5.7.1" for r in results)
    assert results[0].text.endswith("Access denied (in reply to MAIL FROM command)")


@pytest.mark.parametrize("pipelining", [True, False])
def test_data_rejected(sink: SmtpSink, pipelining: bool) -> None:
    if not pipelining:
        sink.keywords = ["8BITMIME"]
    sink.replies["DATA"] = "451 4.3.0 Try again later"
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert results[0].status == Status.DEFERRED
    assert (
        results[0].text
        == "host 127.0.0.1[127.0.0.1] said: 451 4.3.0 Try again later (in reply to DATA command)"
    )


def test_end_of_data_5xx_bounces_all(sink: SmtpSink) -> None:
    sink.data_reply = "554 5.7.1 Rejected: spam"
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test", "b@remote.test"))
    assert [r.status for r in results] == [Status.BOUNCED, Status.BOUNCED]
    assert results[0].text.endswith("554 5.7.1 Rejected: spam (in reply to end of DATA command)")


def test_reply_without_enhanced_code_gets_derived_dsn(sink: SmtpSink) -> None:
    sink.replies["RCPT"] = "550 No such user"
    sink.data_reply = "250 Ok"
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert results[0].dsn == "5.0.0"
    sink.replies.clear()
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert (results[0].dsn, results[0].text) == ("2.0.0", "250 Ok")


def test_multiline_reply_text_joined(sink: SmtpSink) -> None:
    sink.replies["RCPT"] = "550-5.7.1 first line\r\n550 5.7.1 second line"
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert "said: 550-5.7.1 first line 550 5.7.1 second line (in reply" in results[0].text


@pytest.mark.parametrize("pipelining", [True, False])
def test_pipelining_on_and_off(sink: SmtpSink, pipelining: bool) -> None:
    if not pipelining:
        sink.keywords = ["SIZE 1000000"]
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test", "b@remote.test"))
    assert all(r.status == Status.SENT for r in results)
    assert sink.commands[1:5] == [
        f"MAIL FROM:<alice@client.test> SIZE={len(MESSAGE)}",
        "RCPT TO:<a@remote.test>",
        "RCPT TO:<b@remote.test>",
        "DATA",
    ]


def test_dot_stuffing_and_final_crlf(sink: SmtpSink) -> None:
    data = (
        b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nmiddle . dot\r\n.\r\nlast line without end"
    )
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test"), data)
    assert results[0].status == Status.SENT
    [raw] = sink.sessions[0].raw_messages
    assert b"\r\n..leading dot\r\n...two\r\nmiddle . dot\r\n..\r\n" in raw
    assert raw.endswith(b"last line without end\r\n")
    assert sink.messages == [data + b"\r\n"]


def test_dsn_parameters_only_when_advertised(sink: SmtpSink) -> None:
    info = MessageInfo("4ABC", "alice@client.test", size=10, envid="id+1=x", ret="hdrs")
    reqs = requests(
        hop(sink),
        "a@remote.test",
        message=info,
        notify=("success", "failure"),
        orcpt="rfc822;A@remote.test",
    )
    deliver(make_agent(), reqs)
    assert sink.commands[1:3] == [
        "MAIL FROM:<alice@client.test> SIZE=10",
        "RCPT TO:<a@remote.test>",
    ]
    sink.sessions.clear()
    sink.keywords = ["PIPELINING", "DSN", "8BITMIME"]
    deliver(make_agent(), reqs)
    assert sink.commands[1:3] == [
        "MAIL FROM:<alice@client.test> RET=HDRS ENVID=id+2B1+3Dx",
        "RCPT TO:<a@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;A@remote.test",
    ]


def test_body_8bitmime_and_smtputf8(sink: SmtpSink) -> None:
    info = MessageInfo("4ABC", "", attributes={"body": "8BITMIME", "smtputf8": "yes"})
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test", message=info))
    assert results[0].dsn == "5.6.7"
    assert (
        results[0].text == "SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1]"
    )
    assert not any(c.startswith("MAIL") for c in sink.commands)
    sink.keywords = ["8BITMIME", "SMTPUTF8"]
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test", message=info))
    assert results[0].status == Status.SENT
    assert "MAIL FROM:<> BODY=8BITMIME SMTPUTF8" in sink.commands


def test_message_larger_than_server_limit_bounces(sink: SmtpSink) -> None:
    sink.keywords = ["SIZE 10"]
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert results[0].dsn == "5.3.4"
    assert results[0].text == (
        f"message size {len(MESSAGE)} exceeds size limit 10 of server 127.0.0.1[127.0.0.1]"
    )


def test_4xx_greeting_defers_5xx_greeting_too_by_default(sink: SmtpSink) -> None:
    sink.greeting = "421 4.3.2 Service not available"
    [result] = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.3.2")
    assert (
        result.text
        == "host 127.0.0.1[127.0.0.1] refused to talk to me: 421 4.3.2 Service not available"
    )
    sink.greeting = "554 5.7.1 Go away"
    [result] = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.7.1")
    [result] = deliver(
        make_agent(smtp_skip_5xx_greeting="no"), requests(hop(sink), "a@remote.test")
    )
    assert (result.status, result.dsn) == (Status.BOUNCED, "5.7.1")


def test_ehlo_refused_falls_back_to_helo(sink: SmtpSink) -> None:
    sink.replies["EHLO"] = "502 5.5.2 Error: command not recognized"
    results = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert results[0].status == Status.SENT
    assert sink.commands[:2] == ["EHLO client.test", "HELO client.test"]
    assert sink.commands[2] == "MAIL FROM:<alice@client.test>"  # no SIZE without EHLO


def test_helo_name_setting(sink: SmtpSink) -> None:
    deliver(make_agent(smtp_helo_name="out.client.test"), requests(hop(sink), "a@remote.test"))
    assert sink.commands[0] == "EHLO out.client.test"


def test_mail_loop_bounces(sink: SmtpSink) -> None:
    sink.name = "CLIENT.test"
    [result] = deliver(make_agent(), requests(hop(sink), "a@remote.test"))
    assert (result.status, result.dsn) == (Status.BOUNCED, "5.4.6")
    assert result.text == f"mail for {hop(sink)} loops back to myself"


def test_connection_refused_defers() -> None:
    port = free_port()
    [result] = deliver(make_agent(), requests(f"[127.0.0.1]:{port}", "a@remote.test"))
    assert result == DeliveryResult(
        Status.DEFERRED,
        "4.4.1",
        f"connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused",
        relay="none",
    )


def test_mx_fallback_to_second_mx(sink: SmtpSink) -> None:
    dns = FakeDns(
        mx={"remote.test": [MxRecord(20, "mx2.remote.test"), MxRecord(10, "mx1.remote.test")]},
        hosts={"mx1.remote.test": ["127.0.0.2"], "mx2.remote.test": ["127.0.0.1"]},
    )
    [result] = deliver(make_agent(dns), requests(f"remote.test:{sink.port}", "a@remote.test"))
    assert result.status == Status.SENT
    assert result.relay == f"mx2.remote.test[127.0.0.1]:{sink.port}"
    assert dns.queries[:2] == [("MX", "remote.test"), ("A", "mx1.remote.test")]


def test_all_mx_fail_last_error_wins() -> None:
    port = free_port()
    dns = FakeDns(
        mx={"remote.test": [MxRecord(10, "mx1.remote.test"), MxRecord(20, "mx2.remote.test")]},
        hosts={"mx1.remote.test": ["127.0.0.2"], "mx2.remote.test": ["127.0.0.3"]},
    )
    [result] = deliver(make_agent(dns), requests(f"remote.test:{port}", "a@remote.test"))
    assert result.status == Status.DEFERRED
    assert result.text == f"connect to mx2.remote.test[127.0.0.3]:{port}: Connection refused"


def test_no_mx_uses_domain_address(sink: SmtpSink) -> None:
    dns = FakeDns(hosts={"remote.test": ["127.0.0.1"]})
    [result] = deliver(make_agent(dns), requests(f"remote.test:{sink.port}", "a@remote.test"))
    assert result.relay == f"remote.test[127.0.0.1]:{sink.port}"


def test_bracketed_host_skips_mx(sink: SmtpSink) -> None:
    dns = FakeDns(hosts={"relay.test": ["127.0.0.1"]})
    [result] = deliver(make_agent(dns), requests(f"[relay.test]:{sink.port}", "a@remote.test"))
    assert result.status == Status.SENT
    assert dns.queries == [("A", "relay.test")]


def test_dns_failures() -> None:
    dns = FakeDns(mx={"temp.test": DnsLookupError("temp.test", "MX", LookupStatus.TRY_AGAIN)})
    [result] = deliver(make_agent(dns), requests("example.invalid", "a@example.invalid"))
    assert (result.status, result.dsn, result.relay) == (Status.BOUNCED, "5.4.4", "none")
    assert result.text == (
        "Host or domain name not found. Name service error for name=example.invalid type=MX: Host not found"
    )
    [result] = deliver(make_agent(dns), requests("temp.test", "a@temp.test"))
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.4.3")
    assert result.text.endswith("name=temp.test type=MX: Host not found, try again")


def test_null_mx_bounces() -> None:
    dns = FakeDns(mx={"nomail.test": [MxRecord(0, "")]})
    [result] = deliver(make_agent(dns), requests("nomail.test", "a@nomail.test"))
    assert (result.status, result.dsn) == (Status.BOUNCED, "5.1.0")
    assert result.text == "Domain nomail.test does not accept mail (nullMX)"


def test_bad_nexthop_defers() -> None:
    [result] = deliver(make_agent(), requests("[unclosed", "a@remote.test"))
    assert result.status == Status.DEFERRED
    assert "missing ']'" in result.text


def test_connection_reuse(sink: SmtpSink) -> None:
    agent = make_agent()
    try:
        first = agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
        second = agent.deliver_batch(requests(hop(sink), "b@remote.test"), content)
    finally:
        agent.close()
    assert [first[0].status, second[0].status] == [Status.SENT, Status.SENT]
    assert len(sink.sessions) == 1
    assert [c.split(":")[0] for c in sink.commands] == [
        "EHLO client.test",
        "MAIL FROM",
        "RCPT TO",
        "DATA",
        "RSET",
        "MAIL FROM",
        "RCPT TO",
        "DATA",
        "QUIT",
    ]
    assert len(sink.messages) == 2


def test_reuse_reconnects_when_rset_fails(sink: SmtpSink) -> None:
    sink.replies["RSET"] = "421 4.4.2 Timeout"
    agent = make_agent()
    try:
        agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
        [second] = agent.deliver_batch(requests(hop(sink), "b@remote.test"), content)
    finally:
        agent.close()
    assert second.status == Status.SENT
    assert len(sink.sessions) == 2


def test_no_reuse_when_cache_time_limit_is_zero(sink: SmtpSink) -> None:
    agent = make_agent(smtp_connection_cache_time_limit="0s")
    agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
    agent.deliver_batch(requests(hop(sink), "b@remote.test"), content)
    assert len(sink.sessions) == 2
    assert all(s.commands[-1] == "QUIT" for s in sink.sessions)


def test_concurrent_batches(sink: SmtpSink) -> None:
    from concurrent.futures import ThreadPoolExecutor

    agent = make_agent()
    try:
        with ThreadPoolExecutor(4) as pool:
            batches = [requests(hop(sink), f"u{i}@remote.test") for i in range(12)]
            results = list(pool.map(lambda b: agent.deliver_batch(b, content), batches))
    finally:
        agent.close()
    assert all(r[0].status == Status.SENT for r in results)
    assert len(sink.messages) == 12
    assert len(sink.sessions) <= 12


def test_mx_session_and_address_limits() -> None:
    with SmtpSink(replies={"MAIL": "451 4.3.0 busy"}) as busy:
        dns = FakeDns(
            mx={"remote.test": [MxRecord(i, f"mx{i}.remote.test") for i in range(1, 8)]},
            hosts={f"mx{i}.remote.test": ["127.0.0.1"] for i in range(1, 8)},
        )
        [result] = deliver(make_agent(dns), requests(f"remote.test:{busy.port}", "a@remote.test"))
        assert len(busy.sessions) == 2  # smtp_mx_session_limit
        assert (
            result.text
            == "host mx2.remote.test[127.0.0.1] said: 451 4.3.0 busy (in reply to MAIL FROM command)"
        )
        busy.sessions.clear()
        dns.queries.clear()
        deliver(
            make_agent(dns, smtp_mx_session_limit="0", smtp_mx_address_limit="3"),
            requests(f"remote.test:{busy.port}", "a@remote.test"),
        )
        assert len(busy.sessions) == 3  # smtp_mx_address_limit
    with SmtpSink(greeting="421 4.3.2 busy") as refusing:
        deliver(make_agent(dns), requests(f"remote.test:{refusing.port}", "a@remote.test"))
        assert len(refusing.sessions) == 5  # failed handshakes are no sessions


def test_long_lines_are_folded(sink: SmtpSink) -> None:
    data = b"Subject: long\r\n\r\n" + b"x" * 1500 + b"\r\n"
    deliver(make_agent(), requests(hop(sink), "a@remote.test"), data)
    [raw] = sink.sessions[0].raw_messages
    assert raw == b"Subject: long\r\n\r\n" + b"x" * 998 + b"\r\n " + b"x" * 502 + b"\r\n"


def test_soft_rcpt_failure_tries_next_mx() -> None:
    dns = FakeDns(
        mx={"remote.test": [MxRecord(10, "mx1.remote.test"), MxRecord(20, "mx2.remote.test")]},
        hosts={"mx1.remote.test": ["127.0.0.1"], "mx2.remote.test": ["127.0.0.2"]},
    )
    rcpt = lambda arg: "450 4.2.0 greylisted" if "grey" in arg else "250 2.1.5 Ok"  # noqa: E731
    with SmtpSink(replies={"RCPT": rcpt}) as first:
        with SmtpSink(address="127.0.0.2", port=first.port) as second:
            results = deliver(
                make_agent(dns),
                requests(f"remote.test:{first.port}", "a@remote.test", "grey@remote.test"),
            )
            assert [r.relay for r in results] == [
                f"mx1.remote.test[127.0.0.1]:{first.port}",
                f"mx2.remote.test[127.0.0.2]:{first.port}",
            ]
            assert [r.status for r in results] == [Status.SENT, Status.SENT]
            assert len(first.messages) == 1
            assert len(second.messages) == 1
            assert "RCPT TO:<a@remote.test>" not in second.commands
        # without a second server the greylisting reply is the result
        [soft] = deliver(make_agent(dns), requests(f"remote.test:{first.port}", "grey@remote.test"))
        assert (
            soft.text == f"connect to mx2.remote.test[127.0.0.2]:{first.port}: Connection refused"
        )


def test_idle_connection_is_closed_after_cache_time_limit(sink: SmtpSink) -> None:
    import time

    agent = make_agent(smtp_connection_cache_time_limit="1s")
    agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
    assert sink.commands[-1] != "QUIT"  # parked
    deadline = time.monotonic() + 5
    while sink.commands[-1] != "QUIT" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink.commands[-1] == "QUIT"
    agent.close()


def test_unreadable_queue_file_never_ends_data(sink: SmtpSink) -> None:
    def broken() -> Iterator[bytes]:
        yield b"Subject: x\r\n\r\nfirst part\r\n"
        raise OSError(5, "Input/output error")

    agent = make_agent()
    [result] = agent.deliver_batch(requests(hop(sink), "a@remote.test"), broken)
    agent.close()
    assert (result.status, result.dsn, result.text) == (
        Status.DEFERRED,
        "4.3.0",
        "unreadable mail queue entry",
    )
    assert sink.messages == []


def test_fallback_relay_when_destination_unreachable(sink: SmtpSink) -> None:
    port = free_port()
    dns = FakeDns(
        mx={"remote.test": DnsLookupError("remote.test", "MX", LookupStatus.TRY_AGAIN)},
        hosts={"unreach.test": ["127.0.0.1"]},
    )
    agent = make_agent(dns, smtp_fallback_relay=f"[127.0.0.1]:{port}, [127.0.0.1]:{sink.port}")
    [temp] = deliver(agent, requests("remote.test", "a@remote.test"))
    assert temp.relay == f"127.0.0.1[127.0.0.1]:{sink.port}"
    assert temp.status == Status.SENT
    [gone] = deliver(agent, requests("example.invalid", "a@example.invalid"))
    assert gone.status == Status.BOUNCED  # a domain that does not exist is not relayed


def test_smtp_bind_address_is_the_source_of_the_connection(sink: SmtpSink) -> None:
    [result] = deliver(
        make_agent(smtp_bind_address="127.0.0.2"), requests(hop(sink), "bob@remote.test")
    )
    assert result.status is Status.SENT
    assert [s.peer for s in sink.sessions] == ["127.0.0.2"]
    # an address this host does not have: the attempt fails and the mail waits
    [result] = deliver(
        make_agent(smtp_bind_address="192.0.2.1"), requests(hop(sink), "bob@remote.test")
    )
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.4.1")
    assert "Cannot assign requested address" in result.text


def test_smtp_generic_maps_rewrite_envelope_and_headers(sink: SmtpSink) -> None:
    agent = make_agent(
        smtp_generic_maps="inline:{alice@client.test=alice.smith@public.example,"
        "@client.test=@public.example}"
    )
    data = b"From: Alice <alice@client.test>\r\nCc: b@client.test, c@other.test\r\n\r\nbody\r\n"
    [result] = deliver(agent, requests(hop(sink), "bob@remote.test"), data)
    assert result.status is Status.SENT
    assert "MAIL FROM:<alice.smith@public.example> SIZE=" in " ".join(sink.commands)
    assert "RCPT TO:<bob@remote.test>" in sink.commands  # no entry: as it was
    assert sink.messages == [
        b"From: Alice <alice.smith@public.example>\r\n"
        b"Cc: b@public.example, c@other.test\r\n\r\nbody\r\n"
    ]


def test_a_generic_table_that_fails_defers(sink: SmtpSink) -> None:
    register("gendown", lambda spec, name, context: _Down(spec))
    agent = make_agent(smtp_generic_maps="gendown:x")
    [result] = deliver(agent, requests(hop(sink), "bob@remote.test"))
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.3.0")
    assert result.text == "table gendown:x lookup failure"
    assert sink.messages == []


class _Down(Table):
    def lookup(self, key: str) -> str | None:
        raise TableError(self.spec, "server down")
