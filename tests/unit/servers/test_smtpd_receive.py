"""smtpd end to end on loopback: smtplib → SmtpServer → cleanup → a committed queue file."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.routing_helpers import make_router
from vmail.cleanup import Cleanup
from vmail.core.errors import TableError, TemporaryError
from vmail.core.reply import Reply
from vmail.queue import QueueFile, QueueWriter, Spool
from vmail.route import Router
from vmail.servers.smtpd import SmtpServer
from vmail.servers.smtpd.connection import SPOOL_THRESHOLD, WRITE_BATCH
from vmail.tables import Table
from vmail.tables.registry import register
from vmail.tables.simple import DictTable

T = TypeVar("T")

VIRTUAL = """\
queue_directory = {dir}/queue
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{ alice@example.com=example.com/alice/, \
bob@example.com=example.com/bob/ }
virtual_alias_maps = inline:{ {team@example.com=alice@example.com, bob@example.com}, \
loop@example.com=loop2@example.com, loop2@example.com=loop@example.com }
virtual_alias_recursion_limit = 3
smtpd_timeout = 2s
local_header_rewrite_clients = permit_sasl_authenticated
"""


def setup(tmp_path: Path, main_cf: str = VIRTUAL) -> tuple[Router, Spool]:
    router = make_router(tmp_path, main_cf)
    spool = Spool(tmp_path / "queue").create()
    return router, spool


def serve(router: Router, spool: Spool, client: Callable[[int], T]) -> T:
    """Run the server on 127.0.0.1:0 in this thread's loop and ``client(port)`` in another."""

    async def main() -> T:
        cleanup = Cleanup(router.config, router, spool)
        server = SmtpServer(router.config, router, cleanup, port=0, peername_lookup=False)
        await server.start()
        try:
            return await asyncio.to_thread(client, server.port)
        finally:
            await server.close()

    return asyncio.run(main())


def queued(spool: Spool) -> list[QueueFile]:
    return [spool.load("incoming", qid) for qid in spool.ids("incoming")]


MESSAGE = b"Subject: hi\r\n\r\nbody\r\n.leading dot\r\n"


def test_banner_and_accepted_mail_is_queued_with_aliases_expanded(tmp_path: Path) -> None:
    router, spool = setup(tmp_path)

    def client(
        port: int,
    ) -> tuple[tuple[int, bytes], dict[str, tuple[int, bytes]], tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            banner = s.connect("127.0.0.1", port)
            s.ehlo("client.example")
            s.mail("sender@example.org")
            refused: dict[str, tuple[int, bytes]] = {}
            for rcpt in ("team@example.com", "alice@example.com"):
                code, text = s.rcpt(rcpt)
                refused[rcpt] = (code, text)
            return banner, refused, s.data(MESSAGE)

    banner, rcpts, (code, text) = serve(router, spool, client)
    assert banner[0] == 220
    assert banner[1].endswith(b"ESMTP vmail")
    assert all(reply[0] == 250 for reply in rcpts.values())
    assert code == 250
    assert text.startswith(b"2.0.0 Ok: queued as ")
    [qf] = queued(spool)
    assert text.decode().endswith(qf.queue_id)
    assert qf.envelope.sender == "sender@example.org"
    assert [(r.address, r.original) for r in qf.envelope.recipients] == [
        ("alice@example.com", "team@example.com"),
        ("bob@example.com", "team@example.com"),
        ("alice@example.com", "alice@example.com"),
    ]
    content = qf.read_content()
    header, _, rest = content.partition(b"\r\n\tby mail.example.net (vmail) with ESMTP id ")
    assert header == b"Received: from client.example (unknown [127.0.0.1])"
    assert rest.startswith(qf.queue_id.encode() + b";\r\n\t")  # two recipients: no "for"
    assert content.endswith(b"\r\n" + MESSAGE)
    assert qf.envelope.client["address"] == "127.0.0.1"


def test_single_recipient_received_names_it(tmp_path: Path) -> None:
    router, spool = setup(tmp_path)

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.helo("old.example")
            s.sendmail("<>", ["bob@example.com"], MESSAGE)

    serve(router, spool, client)
    [qf] = queued(spool)
    lines = qf.read_content().split(b"\r\n")
    assert lines[0] == b"Received: from old.example (unknown [127.0.0.1])"
    assert lines[1] == b"\tby mail.example.net (vmail) with SMTP id " + qf.queue_id.encode()
    assert lines[2].startswith(b"\tfor <bob@example.com>; ")
    assert qf.envelope.sender == ""


def test_unknown_user_is_rejected(tmp_path: Path) -> None:
    router, spool = setup(tmp_path)

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.mail("sender@example.org")
            return s.rcpt("nobody@example.com")

    code, text = serve(router, spool, client)
    assert code == 550
    assert text.startswith(b"5.1.1 <nobody@example.com>")
    assert text.endswith(b"User unknown in virtual mailbox table")
    assert queued(spool) == []


def test_relay_denied_outside_mynetworks(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, VIRTUAL + "mynetworks = 192.0.2.0/24\n")

    def client(port: int) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.mail("sender@example.org")
            return s.rcpt("someone@elsewhere.example"), s.rcpt("alice@example.com")

    relay, local = serve(router, spool, client)
    # smtpd_relay_restrictions' default ends in defer_unauth_destination, hence 454
    assert relay == (454, b"4.7.1 <someone@elsewhere.example>: Relay access denied")
    assert local[0] == 250


def test_pipelined_recipients_answered_in_order(tmp_path: Path) -> None:
    router, spool = setup(tmp_path)
    commands = (
        b"EHLO pipe.example\r\n"
        b"MAIL FROM:<s@example.org>\r\n"
        b"RCPT TO:<alice@example.com>\r\n"
        b"RCPT TO:<nobody@example.com>\r\n"
        b"RCPT TO:<bob@example.com>\r\n"
        b"DATA\r\n"
    )

    def client(port: int) -> list[bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            f = sock.makefile("rb")
            f.readline()  # banner
            sock.sendall(commands)
            lines: list[bytes] = []
            while not (lines and lines[-1].startswith(b"354")):
                lines.append(f.readline().rstrip(b"\r\n"))
            sock.sendall(MESSAGE + b".\r\nQUIT\r\n")
            lines.append(f.readline().rstrip(b"\r\n"))
            return [line for line in lines if not line.startswith(b"250-")]

    replies = serve(router, spool, client)
    assert [r[:3] for r in replies] == [b"250", b"250", b"250", b"550", b"250", b"354", b"250"]
    [qf] = queued(spool)
    assert [r.address for r in qf.envelope.recipients] == ["alice@example.com", "bob@example.com"]


def test_failing_commit_gives_4xx_and_leaves_no_queue_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, spool = setup(tmp_path)

    def broken_commit(self: QueueWriter, into: Path | None = None) -> str:
        raise TemporaryError(Reply(451, "4.3.0", "Error: queue file write error"))

    monkeypatch.setattr(QueueWriter, "commit", broken_commit)

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.mail("sender@example.org")
            s.rcpt("alice@example.com")
            return s.data(MESSAGE)

    assert serve(router, spool, client) == (451, b"4.3.0 Error: queue file write error")
    assert spool.ids("incoming") == []
    assert spool.temp_files() == []


def test_alias_expansion_error_defers_whole_message(tmp_path: Path) -> None:
    router, spool = setup(tmp_path)

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.mail("sender@example.org")
            s.rcpt("alice@example.com")
            s.rcpt("loop@example.com")
            return s.data(MESSAGE)

    assert serve(router, spool, client) == (451, b"4.6.0 Alias expansion error")
    assert spool.ids("incoming") == []
    assert spool.temp_files() == []


def test_idle_client_gets_timeout(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, VIRTUAL + "smtpd_timeout = 1s\n")

    def client(port: int) -> list[bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            f = sock.makefile("rb")
            return [f.readline(), f.readline(), f.readline()]

    banner, timeout, eof = serve(router, spool, client)
    assert banner.startswith(b"220 mail.example.net ESMTP vmail")
    assert timeout == b"421 4.4.2 mail.example.net Error: timeout exceeded\r\n"
    assert eof == b""


def test_a_bug_ends_only_that_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    router, spool = setup(tmp_path)
    calls = []

    def buggy(*args: object, **kwargs: object) -> Reply:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return Reply(250, "2.1.5", "Ok")

    monkeypatch.setattr(router.policy, "check_recipient", buggy)

    def client(port: int) -> tuple[bytes, tuple[int, bytes]]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            f = sock.makefile("rb")
            f.readline()
            sock.sendall(b"HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.com>\r\n")
            lines = [f.readline() for _ in range(3)]
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.helo("y")
            s.mail("a@example.org")
            return lines[2], s.rcpt("alice@example.com")

    bug, ok = serve(router, spool, client)
    assert bug == b"421 4.3.0 mail.example.net Error: internal error\r\n"
    assert ok[0] == 250


def test_a_large_message_streams_to_the_queue_file_intact(tmp_path: Path) -> None:
    router, spool = setup(tmp_path)
    line = b"x" * 998 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + line * 700  # about 700 KB: held, then batches
    assert len(body) > 2 * WRITE_BATCH + SPOOL_THRESHOLD

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.mail("sender@example.org")
            s.rcpt("alice@example.com")
            return s.data(body)

    code, _ = serve(router, spool, client)
    assert code == 250
    [qf] = queued(spool)
    assert qf.read_content().endswith(b"\r\n" + body)


# the disk fills in a batch written while the message streams, or in the one that commits
@pytest.mark.parametrize("full_after", [SPOOL_THRESHOLD + WRITE_BATCH // 2, 3 * WRITE_BATCH])
def test_a_queue_file_write_error_in_a_large_message_gives_4xx_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_after: int
) -> None:
    router, spool = setup(tmp_path)
    written = [0]
    original = QueueWriter.write

    def failing(self: QueueWriter, chunk: bytes) -> None:
        written[0] += len(chunk)
        if written[0] > full_after:
            written[0] = -(1 << 30)  # the disk has room again for the next message
            raise TemporaryError(Reply(451, "4.3.0", "Error: queue file write error"))
        original(self, chunk)

    monkeypatch.setattr(QueueWriter, "write", failing)
    body = b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 800
    assert 3 * WRITE_BATCH + 1000 < len(body) < 4 * WRITE_BATCH

    def client(port: int) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.mail("sender@example.org")
            s.rcpt("alice@example.com")
            first = s.data(body)
            s.mail("sender@example.org")
            s.rcpt("bob@example.com")
            return first, s.data(MESSAGE)

    first, second = serve(router, spool, client)
    assert first == (451, b"4.3.0 Error: queue file write error")
    assert second[0] == 250
    [qf] = queued(spool)
    assert [r.address for r in qf.envelope.recipients] == ["bob@example.com"]
    assert spool.temp_files() == []


def test_a_large_message_with_an_alias_expansion_error_is_deferred_at_the_end(
    tmp_path: Path,
) -> None:
    router, spool = setup(tmp_path)

    def client(port: int) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.mail("sender@example.org")
            s.rcpt("loop@example.com")
            first = s.data(b"Subject: big\r\n\r\n" + b"y" * 80 + b"\r\n" * 2000)
            s.mail("sender@example.org")
            s.rcpt("bob@example.com")
            return first, s.data(MESSAGE)

    first, second = serve(router, spool, client)
    assert first == (451, b"4.6.0 Alias expansion error")
    assert second[0] == 250
    [qf] = queued(spool)
    assert [r.address for r in qf.envelope.recipients] == ["bob@example.com"]
    assert spool.temp_files() == []


def test_cleanup_reuses_the_lookups_of_the_rcpt_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, spool = setup(tmp_path)
    tables = router.context.maps("virtual_alias_maps").tables
    asked: list[str] = []
    original = type(tables[0]).lookup

    def counting(self: Table, key: str) -> str | None:
        asked.append(key)
        return original(self, key)

    monkeypatch.setattr(type(tables[0]), "lookup", counting)

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            for _ in range(2):
                s.sendmail("sender@example.org", ["alice@example.com"], MESSAGE)

    serve(router, spool, client)
    assert len(queued(spool)) == 2
    # each key once per message: RCPT asks, cleanup reuses; the next message asks again
    assert len(asked) == 2 * len(set(asked))


@pytest.mark.parametrize("local", [True, False])
def test_rcpt_decisions_run_on_the_loop_only_with_local_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: bool
) -> None:
    router, spool = setup(tmp_path)
    monkeypatch.setattr(DictTable, "local", local)  # the inline: tables of the test
    decided_on: list[int] = []
    check = router.policy.check_recipient

    def recording(*args: Any, **kwargs: Any) -> Reply:
        reply = check(*args, **kwargs)
        decided_on.append(threading.get_ident())
        return reply

    monkeypatch.setattr(router.policy, "check_recipient", recording)
    loop_thread = threading.get_ident()  # serve() runs the server's loop in this thread

    def client(port: int) -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            return s.sendmail("sender@example.org", ["team@example.com"], MESSAGE)

    assert serve(router, spool, client) == {}
    assert len(queued(spool)) == 1
    assert len(decided_on) == 1
    assert (decided_on[0] == loop_thread) is local


def test_etrn_flushes_the_deferred_mail_of_a_fast_flush_domain(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, VIRTUAL + "fast_flush_domains = relay.test\n")

    def client(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            assert s.has_extn("etrn")
            for rcpt in ("x@relay.test", "alice@example.com"):
                s.sendmail("sender@example.org", [rcpt], MESSAGE)
            for queue_id in spool.ids("incoming"):  # as if their delivery had failed
                spool.move(queue_id, "incoming", "deferred")
            return [s.docmd("ETRN", site) for site in ("other.test", "relay.test")]

    assert serve(router, spool, client) == [
        (459, b"<other.test>: service unavailable"),
        (250, b"Queuing started"),
    ]
    assert [qf.envelope.recipients[0].address for qf in queued(spool)] == ["x@relay.test"]
    deferred = [spool.load("deferred", qid) for qid in spool.ids("deferred")]
    assert [qf.envelope.recipients[0].address for qf in deferred] == ["alice@example.com"]


@pytest.mark.parametrize(
    ("restrictions", "reply"),
    [
        ("reject", (554, b"5.7.1 <relay.test>: Etrn command rejected: Access denied")),
        ("permit_mynetworks, reject", (250, b"Queuing started")),
        ("defer_if_permit", (450, b"4.7.0 <relay.test>: Etrn command rejected: defer_if_permit requested")),
    ],
)  # fmt: skip
def test_etrn_restrictions(tmp_path: Path, restrictions: str, reply: tuple[int, bytes]) -> None:
    main_cf = (
        VIRTUAL + f"fast_flush_domains = relay.test\nsmtpd_etrn_restrictions = {restrictions}\n"
    )
    router, spool = setup(tmp_path, main_cf)

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            return s.docmd("ETRN", "relay.test")

    assert serve(router, spool, client) == reply


def test_bdat_reply_counts_the_bytes_as_postfix(tmp_path: Path) -> None:
    router, spool = setup(tmp_path)

    def client(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            stream = sock.makefile("rwb")
            stream.readline()
            stream.write(b"EHLO client.example\r\n")
            stream.flush()
            while not stream.readline().startswith(b"250 "):
                pass
            stream.write(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.com>\r\n")
            stream.write(b"BDAT 8\r\nSubject:")
            stream.write(b"BDAT 9 LAST\r\n hi\r\n\r\nhi")
            stream.flush()
            return b"".join(stream.readline() for _ in range(4))

    replies = serve(router, spool, client).split(b"\r\n")
    assert replies[:3] == [b"250 2.1.0 Ok", b"250 2.1.5 Ok", b"250 2.0.0 Ok: 8 bytes"]
    assert replies[3].startswith(b"250 2.0.0 Ok: 19 bytes queued as ")  # 13 + 2 + 4


class _Down(Table):
    def lookup(self, key: str) -> str | None:
        raise TableError(self.spec, "server down")


register("etrndown", lambda spec, name, context: _Down(spec))


def test_etrn_with_a_failing_fast_flush_table_is_unable_to_queue(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, VIRTUAL + "fast_flush_domains = etrndown:x\n")

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            return s.docmd("ETRN", "relay.test")

    assert serve(router, spool, client) == (458, b"Unable to queue messages")  # as Postfix


def test_a_pipelined_group_is_answered_in_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Postfix's smtpd: replies wait until no more input is buffered (RFC 2920 groups)."""
    router, spool = setup(tmp_path)
    writes: list[bytes] = []
    original = asyncio.StreamWriter.write

    def recording(self: asyncio.StreamWriter, data: bytes) -> None:
        writes.append(bytes(data))
        original(self, data)

    monkeypatch.setattr(asyncio.StreamWriter, "write", recording)

    def client(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.recv(1024)
            s.sendall(b"EHLO client.example\r\n")
            while not s.recv(4096).endswith(b"250 CHUNKING\r\n"):
                pass
            s.sendall(
                b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.com>\r\n"
                b"RCPT TO:<nobody@example.com>\r\nDATA\r\n"
            )
            answer = b""
            while not answer.endswith(b"354 End data with <CR><LF>.<CR><LF>\r\n"):
                answer += s.recv(4096)
            s.sendall(b"QUIT\r\n")
            return answer

    answer = serve(router, spool, client)
    assert answer.count(b"\r\n") == 4
    assert answer in writes  # one write: the four replies together
