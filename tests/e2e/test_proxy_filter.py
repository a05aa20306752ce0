"""A before-queue content filter as SMTPD_PROXY_README sets it up, through ``vmail serve``.

The ``proxied`` listener has ``-o smtpd_proxy_filter=127.0.0.1:PORT``: each transaction
goes, as it happens, to a Python filter (tests/smtp_filter_peer.py) that reinjects the
message into the ``reinject`` listener and gives that listener's reply back as its own, which the
client then gets: the message lands in the mailbox with both Received: headers, and
nothing went through the queue for the proxied listener (Postfix 3.7.11 behaves the same
way; the dialogues it was compared with are in tests/unit/servers/test_smtpd_proxyfilter.py).
"""

from __future__ import annotations

import re
import smtplib
from pathlib import Path

import pytest

from tests.e2e.harness import make_config, running
from tests.smtp_filter_peer import FilterPeer

MESSAGE = b"From: alice@example.org\r\nSubject: proxied\r\n\r\nhello\r\n.dot\r\n"


def _master(port: int) -> str:
    return (
        "127.0.0.1:0 inet n      -       n       -       -       smtpd\n"
        "    -o syslog_name=postfix/proxied\n"
        f"    -o smtpd_proxy_filter=127.0.0.1:{port}\n"
        "    -o smtpd_proxy_timeout=10s\n"
        "127.0.0.1:0 inet n      -       n       -       -       smtpd\n"
        "    -o syslog_name=postfix/reinject\n"
        "    -o smtpd_recipient_restrictions=permit_mynetworks,reject\n"
    )


def test_proxy_filter_and_reinjection(tmp_path: Path) -> None:
    with FilterPeer() as peer:
        config_dir = make_config(tmp_path, {}, _master(peer.port))
        for server in running(config_dir):
            server.add_mailbox("bob@example.com")
            peer.reinject = server.port("reinject")
            with server.smtp("proxied") as client:
                client.ehlo("client.test")
                client.mail("alice@example.org")
                assert client.rcpt("nobody@example.com")[0] == 550  # smtpd's own check
                assert client.rcpt("bob@example.com") == (250, b"2.1.5 Ok")
                code, text = client.data(MESSAGE)
            assert code == 250
            queue_id = re.fullmatch(rb"2\.0\.0 Ok: queued as (\w+)", text)
            assert queue_id is not None  # the reinjection listener's queue ID
            (delivered,) = server.wait_for("bob@example.com")
            received = re.findall(
                rb"^Received: from (\S+) \(.*\n\tby \S+ \(\w+\) with (.*)$", delivered, re.M
            )
            # the reinjection listener's (the filter as client), then the proxied
            # listener's own, without a queue ID
            assert received[0][0] == b"filter.test"
            assert b" id " in received[0][1]
            assert received[1] == (b"client.test", b"ESMTP")
            assert b"\nhello\n.dot\n" in delivered
            lines = peer.wait("[closed]")
            assert "RCPT TO:<nobody@example.com>" not in lines
            server.wait_log(
                r"postfix/proxied/smtpd\[\d+\]: proxy-accept: END-OF-MESSAGE: 250 2\.0\.0 Ok: "
                r"queued as \w+; from=<alice@example\.org> to=<bob@example\.com>"
            )
            # nothing was queued by the proxied listener: every queue ID is reinject's
            proxied = re.findall(r"postfix/proxied/smtpd\[\d+\]: (\w+): client=", server.log)
            assert proxied == ["NOQUEUE"]


def test_filter_refusal_reaches_the_client(tmp_path: Path) -> None:
    with FilterPeer({".": "554 5.7.1 Filter says no"}) as peer:
        for server in running(make_config(tmp_path, {}, _master(peer.port))):
            server.add_mailbox("bob@example.com")
            with server.smtp("proxied") as client, pytest.raises(smtplib.SMTPDataError) as e:
                client.sendmail("alice@example.org", ["bob@example.com"], MESSAGE)
            assert (e.value.smtp_code, e.value.smtp_error) == (554, b"5.7.1 Filter says no")
            server.wait_log(r"proxy-reject: END-OF-MESSAGE: 554 5\.7\.1 Filter says no;")
            assert server.messages("bob@example.com") == []
