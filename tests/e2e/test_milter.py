"""Milters through a real ``vmail serve`` and a real libmilter application.

The application is :mod:`tests.e2e.milter_peer` (pymilter, run by the system Python); it
reads what to answer from a JSON file at each connection, so one server and one
application serve every test here. The replies and log lines expected are the ones a
private Postfix 3.7.11 gave with the same application and the same dialogues.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ServerProcess, make_config, running

PEER = Path(__file__).with_name("milter_peer.py")
SYSTEM_PYTHON = "/usr/bin/python3"
MESSAGE = (
    b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: hello\r\n"
    b"Message-ID: <m1@example.org>\r\nX-Folded: one\r\n\ttwo\r\n\r\nline one\r\nline two\r\n"
)
DOWN = "127.0.0.1:1"  # nothing listens there
HEADER_CHECKS = (
    "/^X-Spam-Flag: YES/ REJECT spam flagged\n/^X-Hidden:/ IGNORE\n/^X-Noted:/ WARN noted\n"
    "/^X-Redirect:/ REDIRECT carol@example.com\n/^X-Copy:/ BCC dave@example.com\n"
)
MASTER = (
    "127.0.0.1:0 inet n - n - - smtpd\n"
    "    -o syslog_name=postfix/down\n"
    f"    -o smtpd_milters=inet:{DOWN}\n"
    "127.0.0.1:0 inet n - n - - smtpd\n"
    "    -o syslog_name=postfix/lenient\n"
    f"    -o smtpd_milters=inet:{DOWN}\n"
    "    -o milter_default_action=accept\n"
    "127.0.0.1:0 inet n - n - - smtpd\n"
    "    -o syslog_name=postfix/mapped\n"
    f"    -o smtpd_milters=inet:{DOWN}\n"
    "    -o { smtpd_milter_maps = cidr:{ {127.0.0.0/8 DISABLE} } }\n"
    "127.0.0.1:0 inet n - n - - smtpd\n"
    "    -o syslog_name=postfix/mapsdown\n"
    "    -o smtpd_milter_maps=pgsql:{down}\n"
)
DOWN_TABLE = "hosts = 127.0.0.1:1\nuser = x\npassword = y\ndbname = z\nquery = SELECT 1\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Peer:
    """The milter application: its configuration file and its record of callbacks."""

    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        self.config = root / "milter.json"
        self.log = root / "milter.jsonl"
        self.configure({})
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(PEER), str(self.port), str(self.config), str(self.log)]
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError("the milter application did not start") from None
                time.sleep(0.05)

    def configure(self, config: dict[str, Any]) -> None:
        self.config.write_text(json.dumps(config))
        self.log.write_text("")

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _have_pymilter() -> bool:
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", "import Milter"], capture_output=True)
    except FileNotFoundError:
        return False
    return done.returncode == 0


pytestmark = pytest.mark.skipif(
    not _have_pymilter(), reason="needs python3-milter (dev/test installs it)"
)


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    running_peer = Peer(tmp_path_factory.mktemp("milter"))
    yield running_peer
    running_peer.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, peer: Peer) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("serve")
    milter = f"inet:127.0.0.1:{peer.port}"
    checks = root / "milter_header_checks"
    checks.write_text(HEADER_CHECKS)
    settings = {
        "smtpd_milters": milter,
        "non_smtpd_milters": "$smtpd_milters",
        "milter_header_checks": f"regexp:{checks}",
    }
    down = root / "down.cf"  # a table whose server is not there
    down.write_text(DOWN_TABLE)
    config_dir = make_config(root, settings, MASTER.replace("{down}", str(down)))
    for started in running(config_dir):
        for user in ("bob", "carol", "dave"):
            started.add_mailbox(f"{user}@example.com")
        yield started


class Dialogue:
    """A raw SMTP client that keeps every reply as the server wrote it."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        self.file = self.sock.makefile("rb")
        self.greeting = self.read()

    def read(self) -> str:
        lines = []
        while True:
            line = self.file.readline().decode()
            if not line:
                return "\n".join(lines) or "<closed>"
            lines.append(line.rstrip("\r\n"))
            if line[3:4] != "-":
                return "\n".join(lines)

    def say(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.read()

    def send_message(self, sender: str, recipients: list[str], data: bytes = MESSAGE) -> str:
        assert self.say("EHLO client.example.net").startswith("250")
        assert self.say(f"MAIL FROM:<{sender}>").startswith("250")
        for rcpt in recipients:
            assert self.say(f"RCPT TO:<{rcpt}>").startswith("250")
        assert self.say("DATA").startswith("354")
        self.sock.sendall(data + b".\r\n")
        return self.read()

    def close(self) -> None:
        self.sock.close()


def _queued_id(reply: str) -> str:
    found = re.search(r"queued as (\S+)", reply)
    assert found, reply
    return found.group(1)


def test_the_milter_sees_the_session_and_the_message(server: ServerProcess, peer: Peer) -> None:
    peer.configure({})
    client = Dialogue(server.port())
    queue_id = _queued_id(client.send_message("alice@example.org", ["bob@example.com"]))
    client.say("QUIT")
    server.wait_for("bob@example.com")
    server.wait_log(r"removed")
    calls = {call["cb"]: call for call in peer.calls()}
    connect = calls["connect"]
    assert connect["args"]["hostname"] == "[127.0.0.1]"  # no name: [address], as Postfix
    assert connect["macros"]["j"] == connect["macros"]["{daemon_name}"] == "mx.test"
    assert connect["macros"]["_"] == "unknown [127.0.0.1]"
    assert calls["helo"]["args"]["hostname"] == "client.example.net"
    mail = calls["envfrom"]["macros"]
    assert (mail["{mail_addr}"], mail["{mail_host}"], mail["{mail_mailer}"]) == (
        "alice@example.org",
        "example.org",
        "smtp",
    )
    rcpt = calls["envrcpt"]["macros"]
    assert (rcpt["{rcpt_addr}"], rcpt["{rcpt_mailer}"]) == ("bob@example.com", "virtual")
    headers = [(c["args"]["name"], c["args"]["value"]) for c in peer.calls() if c["cb"] == "header"]
    # cleanup's own Received: is not shown; one space after the colon is eaten; a folded
    # header's lines are joined with LF; the missing Date: was added before
    assert headers[:5] == [
        ("From", "Alice <alice@example.org>"),
        ("To", "bob@example.com"),
        ("Subject", "hello"),
        ("Message-ID", "<m1@example.org>"),
        ("X-Folded", "one\n\ttwo"),
    ]
    assert [name for name, _ in headers[5:]] == ["Date"]
    assert calls["body"]["args"]["data"] == "line one\r\nline two\r\n"
    assert calls["eom"]["macros"]["i"] == queue_id
    assert calls["data"]["macros"]["i"] == queue_id  # named at the first accepted RCPT


def test_end_of_message_edits(server: ServerProcess, peer: Peer) -> None:
    peer.configure(
        {
            "mods": [
                ["addheader", "X-Added", "at the end"],
                ["addheader", "X-Top", "above Received", 0],
                ["chgheader", "Subject", 1, "changed"],
                ["chgheader", "X-Folded", 1, ""],
                ["addrcpt", "<carol@example.com>"],
                ["delrcpt", "<dave@example.com>"],
                ["chgfrom", "<bounces@example.org>"],
                ["replacebody", "new body\r\n"],
            ]
        }
    )
    before = len(server.messages("bob@example.com"))
    client = Dialogue(server.port())
    reply = client.send_message("alice@example.org", ["bob@example.com", "dave@example.com"])
    client.say("QUIT")
    assert reply.startswith("250 2.0.0 Ok: queued as ")
    (delivered,) = server.wait_for("carol@example.com")
    to_bob = server.wait_for("bob@example.com", before + 1)[-1]
    assert to_bob == delivered.replace(b"carol@example.com", b"bob@example.com")
    head, _, body = delivered.partition(b"\n\n")
    assert body == b"new body\n"
    lines = head.split(b"\n")
    assert lines[0] == b"Return-Path: <bounces@example.org>"
    assert lines.index(b"X-Top: above Received") + 1 == lines.index(
        next(line for line in lines if line.startswith(b"Received: "))
    )
    assert b"Subject: changed" in lines
    assert b"Subject: hello" not in lines
    assert not any(line.startswith(b"X-Folded") for line in lines)
    assert lines[-1] == b"X-Added: at the end"
    assert server.messages("dave@example.com") == []


@pytest.mark.parametrize(
    ("stages", "command", "reply"),
    [
        ({"envfrom": {"action": "REJECT"}}, "MAIL", "550 5.7.1 Command rejected"),
        (
            {"envfrom": {"action": "TEMPFAIL"}},
            "MAIL",
            "451 4.7.1 Service unavailable - try again later",
        ),
        (
            {"envrcpt": {"action": "REJECT", "reply": ["550", "5.7.0", "not this one"]}},
            "RCPT",
            "550 5.7.0 not this one",
        ),
        ({"data": {"action": "REJECT"}}, "DATA", "550 5.7.1 Command rejected"),
    ],
)
def test_refusals_during_the_transaction(
    server: ServerProcess, peer: Peer, stages: dict[str, Any], command: str, reply: str
) -> None:
    peer.configure({"stages": stages})
    client = Dialogue(server.port())
    client.say("EHLO client.example.net")
    replies = {
        "MAIL": client.say("MAIL FROM:<alice@example.org>"),
        "RCPT": client.say("RCPT TO:<bob@example.com>"),
        "DATA": client.say("DATA"),
    }
    client.say("QUIT")
    assert replies[command] == reply
    # as Postfix: the message has its queue ID from the first accepted recipient on
    queue = r"\w{10,}z\w+" if command == "DATA" else "NOQUEUE"
    server.wait_log(
        rf"{queue}: milter-reject: {command} from unknown\[127\.0\.0\.1\]: {re.escape(reply)};"
        r" from=<alice@example\.org>"
    )


def test_a_rejected_client_is_told_at_mail(server: ServerProcess, peer: Peer) -> None:
    peer.configure({"stages": {"connect": {"action": "REJECT"}}})
    client = Dialogue(server.port())
    ehlo = client.say("EHLO client.example.net")
    mail = client.say("MAIL FROM:<alice@example.org>")
    client.say("QUIT")
    assert client.greeting == "554 mx.test ESMTP not accepting connections"
    assert ehlo == "250-mx.test\n250 ENHANCEDSTATUSCODES"
    assert mail == "550 5.7.1 Command rejected"
    server.wait_log(
        r"NOQUEUE: milter-reject: CONNECT from unknown\[127\.0\.0\.1\]: "
        r"550 5\.7\.1 Command rejected; proto=SMTP\n"
    )


def test_refusals_at_the_end_of_the_message(server: ServerProcess, peer: Peer) -> None:
    peer.configure({"stages": {"eom": {"action": "REJECT", "reply": ["554", "5.7.1", "spam"]}}})
    client = Dialogue(server.port())
    assert client.send_message("alice@example.org", ["bob@example.com"]) == "554 5.7.1 spam"
    client.say("QUIT")
    # the application reads its configuration per connection
    peer.configure({"stages": {"eom": {"action": "TEMPFAIL", "reply": ["421", "4.7.0", "bye"]}}})
    client = Dialogue(server.port())
    assert client.send_message("alice@example.org", ["bob@example.com"]) == "421 4.7.0 bye"
    assert client.read() == "<closed>"  # Postfix too closes after a 421
    server.wait_log(
        r": milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 5\.7\.1 spam; "
        r"from=<alice@example\.org> to=<bob@example\.com> proto=ESMTP helo=<client\.example\.net>"
    )


def test_discard_and_quarantine(server: ServerProcess, peer: Peer) -> None:
    before = len(server.messages("bob@example.com"))
    peer.configure({"stages": {"eom": {"action": "DISCARD"}}})
    client = Dialogue(server.port())
    discarded = _queued_id(client.send_message("alice@example.org", ["bob@example.com"]))
    client.say("QUIT")
    peer.configure({"mods": [["quarantine", "look at it"]]})
    client = Dialogue(server.port())
    held = _queued_id(client.send_message("alice@example.org", ["bob@example.com"]))
    client.say("QUIT")
    server.wait_log(rf"{discarded}: milter-discard: END-OF-MESSAGE .*milter triggers DISCARD")
    server.wait_log(rf"{held}: milter-hold: END-OF-MESSAGE .*milter triggers HOLD action")
    assert held in server.vmail("postqueue", "-p")
    assert len(server.messages("bob@example.com")) == before


def test_an_unreachable_milter_and_default_action(server: ServerProcess) -> None:
    client = Dialogue(server.port("down"))
    client.say("EHLO client.example.net")
    assert client.say("MAIL FROM:<alice@example.org>") == (
        "451 4.7.1 Service unavailable - try again later"
    )
    client.say("QUIT")
    server.wait_log(rf"connect to Milter service inet:{DOWN}: Connection refused")
    lenient = Dialogue(server.port("lenient"))  # milter_default_action = accept
    reply = lenient.send_message("alice@example.org", ["dave@example.com"])
    lenient.say("QUIT")
    assert reply.startswith("250 2.0.0 Ok: queued as ")
    server.wait_for("dave@example.com")


def test_local_submissions_go_through_non_smtpd_milters(server: ServerProcess, peer: Peer) -> None:
    """``vmail sendmail`` mail meets the milters as Postfix's cleanup shows it to them:
    an ESMTP session from localhost (opendkim signs local mail this way)."""
    peer.configure({"mods": [["addheader", "X-Signed", "yes"]]})
    before = len(server.messages("carol@example.com"))
    done = subprocess.run(
        [sys.executable, "-m", "vmail", "-c", str(server.config_dir), "sendmail", "-t", "-i"],
        input=b"To: carol@example.com\nSubject: local\n\nfrom a script\n",
        capture_output=True,
        env={**os.environ, "VMAIL_CONFIG_DIR": ""},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    delivered = server.wait_for("carol@example.com", before + 1)[-1]
    assert delivered.split(b"\n\n")[0].endswith(b"\nX-Signed: yes")
    calls = {call["cb"]: call for call in peer.calls()}
    assert calls["connect"]["args"]["hostname"] == "localhost"
    assert calls["connect"]["macros"]["_"] == "localhost [127.0.0.1]"
    assert calls["helo"]["args"]["hostname"] == "localhost"
    assert calls["envrcpt"]["args"]["addr"] == "carol@example.com"  # no <>, as Postfix


def test_smtpd_milter_maps_disables_milters_for_a_client(server: ServerProcess) -> None:
    client = Dialogue(server.port("mapped"))  # its milter is down, but not for 127.0.0.1
    reply = client.send_message("alice@example.org", ["dave@example.com"])
    client.say("QUIT")
    assert reply.startswith("250 2.0.0 Ok: queued as ")


def test_unknown_commands_are_reported(server: ServerProcess, peer: Peer) -> None:
    peer.configure({"stages": {"unknown": {"action": "REJECT", "reply": ["550", "5.7.1", "no"]}}})
    client = Dialogue(server.port())
    client.say("EHLO client.example.net")
    assert client.say("FOO bar") == "550 5.7.1 no"
    client.say("QUIT")
    server.wait_log(
        r"NOQUEUE: milter-reject: UNKNOWN from unknown\[127\.0\.0\.1\]: 550 5\.7\.1 no; "
        r"proto=ESMTP helo=<client\.example\.net>"
    )
    (unknown,) = [call for call in peer.calls() if call["cb"] == "unknown"]
    assert unknown["args"]["command"] == "FOO"  # the verb only, as Postfix sends it


def test_milter_header_checks(server: ServerProcess, peer: Peer) -> None:
    """The headers milters add go through milter_header_checks, with Postfix's log lines."""
    peer.configure({"mods": [["addheader", "X-Noted", "1"], ["addheader", "X-Hidden", "2"]]})
    before = len(server.messages("bob@example.com"))
    client = Dialogue(server.port())
    queue_id = _queued_id(client.send_message("alice@example.org", ["bob@example.com"]))
    client.say("QUIT")
    delivered = server.wait_for("bob@example.com", before + 1)[-1]
    head = delivered.split(b"\n\n")[0]
    assert head.endswith(b"\nX-Noted: 1")
    assert b"X-Hidden" not in head
    server.wait_log(
        rf"{queue_id}: milter-header-warning: header X-Noted: 1 from unknown\[127\.0\.0\.1\]; "
        r"from=<alice@example\.org> to=<bob@example\.com> proto=ESMTP "
        r"helo=<client\.example\.net>: noted"
    )
    peer.configure({"mods": [["addheader", "X-Spam-Flag", "YES"]]})
    client = Dialogue(server.port())
    assert client.send_message("alice@example.org", ["bob@example.com"]) == (
        "550 5.7.1 spam flagged"
    )
    client.say("QUIT")
    server.wait_log(
        r": milter-header-reject: header X-Spam-Flag: YES from .*: 5\.7\.1 spam flagged"
    )


def test_milter_header_checks_redirect_and_bcc(server: ServerProcess, peer: Peer) -> None:
    """As with Postfix 3.7.11: REDIRECT sends the message to that address instead; BCC
    has no effect in milter_header_checks and is not logged."""
    peer.configure({"mods": [["addheader", "X-Redirect", "1"], ["addheader", "X-Copy", "2"]]})
    carol = len(server.messages("carol@example.com"))
    client = Dialogue(server.port())
    queue_id = _queued_id(client.send_message("alice@example.org", ["bob@example.com"]))
    client.say("QUIT")
    server.wait_for("carol@example.com", carol + 1)
    server.wait_log(rf"{queue_id}: removed")
    assert re.search(
        rf"{queue_id}: milter-header-redirect: header X-Redirect: 1 from .*: carol@example\.com",
        server.log,
    )
    assert f"{queue_id}: to=<carol@example.com>, orig_to=<bob@example.com>" in server.log
    assert f"{queue_id}: to=<bob@example.com>" not in server.log
    assert f"{queue_id}: to=<dave@example.com>" not in server.log
    assert "milter-header-bcc" not in server.log


def test_smtpd_milter_maps_that_cannot_be_searched(server: ServerProcess) -> None:
    """The client is told to come back later, as when a milter is down, and the reason
    is logged; the other listeners go on."""
    client = Dialogue(server.port("mapsdown"))
    assert client.greeting == "421 mx.test Service unavailable - try again later"
    assert client.read() == "<closed>"
    found = server.wait_log(r"warning: smtpd_milter_maps: pgsql:\S+down\.cf: connect to pgsql .*")
    assert found.group(0).endswith(
        "Is the server running on that host and accepting TCP/IP connections?"
    )
