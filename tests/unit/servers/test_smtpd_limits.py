"""smtpd connection limits, XCLIENT/XFORWARD, the LMTP listener and drain(), on loopback."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.unit.servers.helpers import MESSAGE, authenticator, dialogue, queued, serve, setup
from vmail.cleanup import Cleanup
from vmail.queue import Spool
from vmail.route import Router
from vmail.servers.smtpd import SmtpServer

NO_EXCEPTIONS = "smtpd_client_event_limit_exceptions =\n"
TOO_MANY = (421, b"4.7.0 mail.example.net Error: too many connections from 127.0.0.1")


def refused(port: int) -> tuple[int, bytes]:
    s = smtplib.SMTP()
    try:
        code, text = s.connect("127.0.0.1", port)
    except smtplib.SMTPConnectError as e:
        error = e.smtp_error
        return e.smtp_code, error if isinstance(error, bytes) else error.encode()
    finally:
        s.close()
    return code, text


def test_connection_count_limit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    router, spool = setup(tmp_path, NO_EXCEPTIONS + "smtpd_client_connection_count_limit = 2\n")

    def client(port: int) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        first, second = smtplib.SMTP("127.0.0.1", port), smtplib.SMTP("127.0.0.1", port)
        over = refused(port)
        first.quit()
        second.quit()
        return over, refused(port)

    over, after = serve(router, spool, client)
    assert over == TOO_MANY
    assert after[0] == 220
    assert (
        "Connection concurrency limit exceeded: 3 from unknown[127.0.0.1] for service smtp"
        in caplog.messages
    )


def test_mynetworks_are_exempt_by_default(tmp_path: Path) -> None:
    router, spool = setup(
        tmp_path, "mynetworks = 127.0.0.0/8\nsmtpd_client_connection_count_limit = 1\n"
    )

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port):
            return refused(port)

    assert serve(router, spool, client)[0] == 220


def test_connection_rate_limit(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, NO_EXCEPTIONS + "smtpd_client_connection_rate_limit = 2\n")

    def client(port: int) -> list[int]:
        return [refused(port)[0] for _ in range(3)]

    assert serve(router, spool, client) == [220, 220, 421]


def test_message_and_recipient_rate_limits(tmp_path: Path) -> None:
    main_cf = (
        NO_EXCEPTIONS
        + "smtpd_client_message_rate_limit = 1\nsmtpd_client_recipient_rate_limit = 1\n"
    )
    router, spool = setup(tmp_path, main_cf)

    def client(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("c")
            out = [s.docmd("MAIL FROM:<a@elsewhere.example>")]
            out += [s.docmd("RCPT TO:<alice@example.com>"), s.docmd("RCPT TO:<bob@example.com>")]
            s.rset()
            out.append(s.docmd("MAIL FROM:<a@elsewhere.example>"))
            return out

    mail, rcpt1, rcpt2, mail2 = serve(router, spool, client)
    assert mail[0] == 250
    assert rcpt1[0] == 250
    assert rcpt2 == (450, b"4.7.1 Error: too many recipients from 127.0.0.1")
    assert mail2 == (450, b"4.7.1 Error: too much mail from 127.0.0.1")


def test_auth_rate_limit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every AUTH counts, accepted or not, and the limit comes before the other checks: the
    replies and warnings Postfix 3.7.11 gave with the same limit and commands."""
    router, spool = setup(
        tmp_path,
        NO_EXCEPTIONS + "smtpd_sasl_auth_enable = yes\nsmtpd_client_auth_rate_limit = 2\n",
    )
    caplog.set_level(logging.INFO, "vmail")
    auth = b"AUTH PLAIN AGEAYg=="  # user "a", no password

    def client(port: int) -> tuple[list[str], list[str]]:
        first = dialogue(
            port, [b"EHLO x", auth, auth, auth, b"AUTH FOO", b"MAIL FROM:<a@b.test>", auth]
        )
        return first, dialogue(port, [auth, b"HELO x", b"AUTH"])

    first, second = serve(router, spool, client, authenticator=authenticator())
    too_many = "450 4.7.1 Error: too many AUTH commands from 127.0.0.1"
    assert first[2:] == [
        "535 5.7.8 Error: authentication failed: authentication failure",
        "535 5.7.8 Error: authentication failed: authentication failure",
        too_many,
        too_many,
        "250 2.1.0 Ok",
        too_many,
    ]
    assert second[1:] == [too_many, "250 mail.example.net", too_many]  # AUTH before HELO too
    warnings = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
    assert warnings[0].startswith("AUTH command rate limit exceeded: 3 from unknown[127.0.0.1]")
    assert len(warnings) == 5


def test_xclient_and_xforward_refused_from_unauthorized_hosts(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "")

    def client(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("c")
            return [s.docmd("XCLIENT ADDR=192.0.2.9"), s.docmd("XFORWARD ADDR=192.0.2.9")]

    denied = (550, b"5.7.0 Error: insufficient authorization")
    assert serve(router, spool, client) == [denied, denied]


def test_xclient_from_authorized_host_changes_the_client(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "smtpd_authorized_xclient_hosts = 127.0.0.1\n")

    def client(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("c")
            bad = s.docmd("XCLIENT FOO=bar")
            new = s.docmd("XCLIENT ADDR=192.0.2.9 NAME=proxy.example LOGIN=[UNAVAILABLE]")
            s.ehlo("real.example")
            s.sendmail("a@elsewhere.example", ["alice@example.com"], MESSAGE)
            # the new client is in mynetworks (192.0.2.0/24): it may relay
            s.mail("a@elsewhere.example")
            return [bad, new, s.rcpt("x@elsewhere.example")]

    bad, new, relay = serve(router, spool, client)
    assert bad == (501, b"5.5.4 Bad XCLIENT attribute name: FOO")
    assert new == (220, b"mail.example.net ESMTP vmail")
    assert relay[0] == 250
    [qf] = queued(spool)
    assert qf.envelope.client["address"] == "192.0.2.9"
    assert qf.read_content().startswith(b"Received: from real.example (proxy.example [192.0.2.9])")


def test_xforward_attributes_go_into_the_envelope(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "smtpd_authorized_xforward_hosts = 127.0.0.0/8\n")

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("c")
            ok = s.docmd("XFORWARD NAME=orig.example ADDR=198.51.100.7 HELO=orig-helo")
            s.sendmail("a@elsewhere.example", ["alice@example.com"], MESSAGE)
            return ok

    assert serve(router, spool, client) == (250, b"2.0.0 Ok")
    [qf] = queued(spool)
    assert qf.envelope.client["address"] == "198.51.100.7"
    assert qf.envelope.client["name"] == "orig.example"
    assert qf.read_content().startswith(b"Received: from orig-helo (orig.example [198.51.100.7])")


def test_lmtp_answers_per_recipient_and_refuses_relaying(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "mynetworks = 127.0.0.0/8\n")

    def client(port: int) -> list[bytes]:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            f = raw.makefile("rb")
            out = [f.readline()]
            raw.sendall(b"EHLO c\r\n")
            out.append(f.readline())
            raw.sendall(b"LHLO mx.example\r\n")
            while (line := f.readline())[3:4] == b"-":
                pass
            out.append(line)
            raw.sendall(
                b"MAIL FROM:<a@elsewhere.example>\r\nRCPT TO:<alice@example.com>\r\n"
                b"RCPT TO:<x@elsewhere.example>\r\nRCPT TO:<nobody@example.com>\r\n"
                b"RCPT TO:<bob@example.com>\r\nDATA\r\n"
            )
            out += [f.readline() for _ in range(6)]
            raw.sendall(MESSAGE + b".\r\nQUIT\r\n")
            out += [f.readline() for _ in range(3)]
            return out

    got = serve(router, spool, client, lmtp=True)
    assert got[0].startswith(b"220 mail.example.net")
    assert got[1] == b"500 5.5.2 Error: command not recognized\r\n"
    assert got[2].startswith(b"250 ")
    assert got[3:5] == [b"250 2.1.0 Ok\r\n", b"250 2.1.5 Ok\r\n"]
    assert got[5] == b"554 5.7.1 <x@elsewhere.example>: Relay access denied\r\n"
    assert got[6].startswith(b"550 5.1.1 <nobody@example.com>: Recipient address rejected")
    assert got[7] == b"250 2.1.5 Ok\r\n"
    assert got[8].startswith(b"354 ")
    [qf] = queued(spool)
    assert got[9] == got[10] == f"250 2.0.0 Ok: queued as {qf.queue_id}\r\n".encode()
    assert got[11] == b"221 2.0.0 Bye\r\n"
    assert [r.address for r in qf.envelope.recipients] == ["alice@example.com", "bob@example.com"]


def test_drain_lets_a_message_in_progress_finish(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "")

    async def main() -> tuple[bytes, bool]:
        cleanup = Cleanup(router.config, router, spool)
        server = SmtpServer(router.config, router, cleanup, port=0, peername_lookup=False)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await reader.readline()
        writer.write(b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n")
        for _ in range(4):
            await reader.readline()
        writer.write(b"Subject: x\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        draining = asyncio.create_task(server.drain(5))
        await asyncio.sleep(0.1)
        refused = False
        try:
            await asyncio.open_connection("127.0.0.1", server.port)
        except OSError:
            refused = True
        writer.write(b"\r\nbody\r\n.\r\n")
        reply = await reader.readline()
        await draining
        writer.close()
        return reply, refused

    reply, refused = asyncio.run(main())
    assert reply.startswith(b"250 2.0.0 Ok: queued as ")
    assert refused
    assert len(queued(spool)) == 1


def test_a_client_that_stops_reading_loses_its_connection_and_blocks_nobody(
    tmp_path: Path,
) -> None:
    main_cf = "smtpd_timeout = 1s\nsmtpd_junk_command_limit = 100000000\n"
    router, spool = setup(tmp_path, main_cf)

    def stuck(port: int) -> str:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.settimeout(20)
            try:
                raw.sendall(b"NOOP\r\n" * 3_000_000)  # never reads the 250 replies
            except OSError as e:
                return type(e).__name__
            raw.shutdown(socket.SHUT_WR)
            try:
                while raw.recv(1 << 20):
                    pass
            except OSError as e:
                return type(e).__name__
            return "eof"

    def client(port: int) -> tuple[str, tuple[int, bytes]]:
        with ThreadPoolExecutor(1) as pool:
            hung = pool.submit(stuck, port)
            time.sleep(0.3)
            with smtplib.SMTP("127.0.0.1", port) as s:
                ok = s.noop()
            return hung.result(timeout=20), ok

    outcome, ok = serve(router, spool, client)
    assert ok == (250, b"2.0.0 Ok")
    assert outcome in ("ConnectionResetError", "BrokenPipeError", "eof")


def test_reconfigure_applies_to_new_connections_only(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "")
    (tmp_path / "new").mkdir()
    new_router, _ = setup(tmp_path / "new", "")
    new_config = new_router.config.with_overrides({"smtpd_banner": "$myhostname ESMTP renewed"})

    async def main() -> tuple[bytes, bytes, bytes]:
        cleanup = Cleanup(router.config, router, spool)
        server = SmtpServer(router.config, router, cleanup, port=0, peername_lookup=False)
        await server.start()
        try:
            old_r, old_w = await asyncio.open_connection("127.0.0.1", server.port)
            old_banner = await old_r.readline()
            server.reconfigure(new_config, new_router, cleanup)
            new_r, new_w = await asyncio.open_connection("127.0.0.1", server.port)
            new_banner = await new_r.readline()
            old_w.write(b"NOOP\r\n")
            still = await old_r.readline()
            old_w.close()
            new_w.close()
            return old_banner, new_banner, still
        finally:
            await server.close()

    old, new, still = asyncio.run(main())
    assert old == b"220 mail.example.net ESMTP vmail\r\n"
    assert new == b"220 mail.example.net ESMTP renewed\r\n"
    assert still == b"250 2.0.0 Ok\r\n"


def test_lhlo_does_not_announce_etrn(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "mynetworks = 127.0.0.0/8\n")

    def client(port: int) -> list[bytes]:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            f = raw.makefile("rb")
            f.readline()
            raw.sendall(b"LHLO mx.example\r\n")
            lines = [f.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(f.readline())
            return lines

    keywords = serve(router, spool, client, lmtp=True)
    assert keywords[-1].startswith(b"250 ")
    assert not any(b"ETRN" in line for line in keywords)


def test_sessions_are_logged_as_postfix_logs_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the lines a private Postfix 3.7.11 logged for the same sessions (pflogsumm and
    # fail2ban read these)
    caplog.set_level(logging.INFO, logger="vmail")
    router, spool = setup(tmp_path, "mynetworks = 127.0.0.0/8\n")

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo("a")
            smtp.mail("a@b.example")
            smtp.rcpt("nobody@example.com")
            smtp.docmd("FOO")
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.recv(1000)
            raw.sendall(b"HELO a\r\nMAIL FROM:<a@b.example>\r\n")
            time.sleep(0.3)
        time.sleep(0.3)  # the server sees the client go

    serve(router, spool, client)
    lines = [m for m in caplog.messages if "from unknown[127.0.0.1]" in m]
    assert lines == [
        "connect from unknown[127.0.0.1]",
        "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 <nobody@example.com>:"
        " Recipient address rejected: User unknown in virtual mailbox table;"
        " from=<a@b.example> to=<nobody@example.com> proto=ESMTP helo=<a>",
        "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=0/1 quit=1 unknown=0/1 commands=3/5",
        "connect from unknown[127.0.0.1]",
        "improper command pipelining after HELO from unknown[127.0.0.1]:"
        " MAIL FROM:<a@b.example>\\r\\n",
        "lost connection after MAIL from unknown[127.0.0.1]",
        "disconnect from unknown[127.0.0.1] helo=1 mail=1 commands=2",
    ]


def test_client_line_comes_before_cleanups_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Postfix's order for one message: smtpd's ``ID: client=...`` (logged when the queue
    file is named), then cleanup's ``ID: message-id=...``."""
    caplog.set_level(logging.INFO, logger="vmail")
    router, spool = setup(tmp_path, "mynetworks = 127.0.0.0/8\n")

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("a@b.example", ["alice@example.com"], MESSAGE)

    serve(router, spool, client)
    [qf] = queued(spool)
    mine = [r for r in caplog.records if r.getMessage().startswith(f"{qf.queue_id}: ")]
    assert [(r.name, r.getMessage().split("=")[0]) for r in mine][:2] == [
        ("vmail.smtpd", f"{qf.queue_id}: client"),
        ("vmail.cleanup", f"{qf.queue_id}: message-id"),
    ]


def logged_setup(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, main_cf: str
) -> tuple[Router, Spool]:
    """A server for the local client, whose log lines the test reads."""
    caplog.set_level(logging.INFO, logger="vmail")
    return setup(tmp_path, "mynetworks = 127.0.0.0/8\n" + main_cf)


def test_data_and_end_of_data_restrictions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # replies and log lines as a private Postfix 3.7.11 gave them (it logs a queue ID
    # where vmail, which opens the queue file later, logs NOQUEUE)
    router, spool = logged_setup(
        tmp_path,
        caplog,
        "smtpd_data_restrictions = reject_multi_recipient_bounce\n"
        "smtpd_end_of_data_restrictions = check_sender_access inline:{ {eod@b.example=REJECT no} }\n",
    )

    def client(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo("a")
            smtp.mail("<>")
            smtp.rcpt("alice@example.com")
            smtp.rcpt("bob@example.com")
            replies = [smtp.docmd("DATA")]
            smtp.rset()
            smtp.mail("eod@b.example")
            smtp.rcpt("alice@example.com")
            smtp.docmd("DATA")
            smtp.send(MESSAGE + b".\r\n")
            replies.append(smtp.getreply())
            smtp.mail("ok@b.example")
            smtp.rcpt("alice@example.com")
            replies.append(smtp.data(MESSAGE))
            return replies

    data, end_of_data, accepted = serve(router, spool, client)
    assert data == (550, b"5.5.3 <DATA>: Data command rejected: Multi-recipient bounce")
    assert end_of_data == (554, b"5.7.1 <eod@b.example>: Sender address rejected: no")
    assert accepted[0] == 250
    [qf] = queued(spool)
    assert qf.envelope.sender == "ok@b.example"
    # with the queue ID Postfix names at the first accepted recipient, as Postfix logs them
    ids = [m.split(":")[0] for m in caplog.messages if m.endswith(": client=unknown[127.0.0.1]")]
    rejects = [m for m in caplog.messages if "reject: " in m]
    assert rejects == [
        f"{ids[0]}: reject: DATA from unknown[127.0.0.1]: 550 5.5.3 <DATA>: Data command"
        " rejected: Multi-recipient bounce; from=<> proto=ESMTP helo=<a>",
        f"{ids[1]}: reject: END-OF-MESSAGE from unknown[127.0.0.1]: 554 5.7.1 <eod@b.example>:"
        " Sender address rejected: no; from=<eod@b.example> to=<alice@example.com>"
        " proto=ESMTP helo=<a>",
    ]


def test_replies_wait_after_the_soft_error_limit(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "smtpd_soft_error_limit = 1\nsmtpd_error_sleep_time = 1s\n")

    def client(port: int) -> list[float]:
        took = []
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for _ in range(2):
                start = time.monotonic()
                smtp.docmd("FOO")
                took.append(time.monotonic() - start)
        return took

    first, second = serve(router, spool, client)
    assert first < 0.5 <= 0.9 <= second


def test_a_client_that_keeps_sending_after_421_sees_the_reply_and_a_clean_end(
    tmp_path: Path,
) -> None:
    router, spool = setup(tmp_path, "smtpd_hard_error_limit = 2\n")

    def client(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.recv(1000)
            # the 421 comes while most of this is unread: a plain close resets the
            # connection, and the client's kernel may drop the 421 before it is read
            raw.sendall(b"FOO\r\nFOO\r\n" + b"junk " * 100_000)
            received = b""
            while chunk := raw.recv(4096):  # ConnectionResetError if it did
                received += chunk
            return received

    received = serve(router, spool, client)
    assert received.endswith(b"421 4.7.0 mail.example.net Error: too many errors\r\n")


def test_hold_discard_warn_and_info_actions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Postfix 3.7.11 logged the same lines (with its queue ID for the later recipients)
    router, spool = logged_setup(
        tmp_path,
        caplog,
        "smtpd_sender_restrictions = check_sender_access inline:{ {hold@b.example=HOLD},"
        " {dis@b.example=DISCARD gone}, {warn@b.example=WARN careful} }\n",
    )

    def client(port: int) -> list[tuple[int, bytes]]:
        replies = []
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo("a")
            for sender in ("hold@b.example", "dis@b.example", "warn@b.example"):
                smtp.mail(sender)
                smtp.rcpt("alice@example.com")
                smtp.rcpt("bob@example.com")
                replies.append(smtp.data(MESSAGE))
        return replies

    held, discarded, warned = serve(router, spool, client)
    assert [r[0] for r in (held, discarded, warned)] == [250, 250, 250]
    assert discarded[1].startswith(b"2.0.0 Ok: queued as ")
    assert [qf.envelope.sender for qf in queued(spool)] == ["warn@b.example"]
    [hold_id] = spool.ids("hold")
    assert held[1] == f"2.0.0 Ok: queued as {hold_id}".encode()
    assert spool.load("hold", hold_id).envelope.sender == "hold@b.example"
    actions = [m.split(" from unknown")[0] for m in caplog.messages if ": RCPT from " in m]
    [*_, warned_id] = [
        m.split(":")[0] for m in caplog.messages if m.endswith("client=unknown[127.0.0.1]")
    ]
    assert actions == [
        "NOQUEUE: hold: RCPT",
        "NOQUEUE: discard: RCPT",
        "NOQUEUE: warn: RCPT",
        f"{warned_id}: warn: RCPT",  # after the first accepted recipient: its queue ID
    ]
    assert (
        "NOQUEUE: discard: RCPT from unknown[127.0.0.1]: <dis@b.example>: Sender address gone;"
        " from=<dis@b.example> to=<alice@example.com> proto=ESMTP helo=<a>" in caplog.messages
    )


def test_redirect_bcc_and_prepend_actions(tmp_path: Path) -> None:
    # as Postfix 3.7.11: REDIRECT replaces the recipients (each keeps its original),
    # BCC adds one, PREPEND puts a header above Received:
    router, spool = setup(
        tmp_path,
        "mynetworks = 127.0.0.0/8\n"
        "smtpd_sender_restrictions = check_sender_access inline:{"
        " {r@b.example=REDIRECT carol@example.com}, {c@b.example=BCC carol@example.com},"
        " {p@b.example=PREPEND X-Tag: one} }\n",
    )

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for sender in ("r@b.example", "c@b.example", "p@b.example"):
                smtp.sendmail(sender, ["alice@example.com"], MESSAGE)

    serve(router, spool, client)
    files = {qf.envelope.sender: qf for qf in queued(spool)}
    redirected = files["r@b.example"].envelope.recipients
    assert [(r.address, r.original) for r in redirected] == [
        ("carol@example.com", "alice@example.com")
    ]
    copied = files["c@b.example"].envelope.recipients
    assert [r.address for r in copied] == ["alice@example.com", "carol@example.com"]
    content = files["p@b.example"].read_content()
    assert content.startswith(b"X-Tag: one\r\nReceived: from ")


def test_header_checks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # replies and log lines as Postfix 3.7.11 gave them for the same rules
    (tmp_path / "header_checks").write_text(
        "/^Subject:.*rejectme/ REJECT\n/^Subject:.*holdme/ HOLD\n/^Subject:.*dropme/ DISCARD\n"
    )
    router, spool = logged_setup(
        tmp_path, caplog, f"header_checks = regexp:{tmp_path}/header_checks\n"
    )

    def client(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo("a")
            replies = []
            for subject in (b"rejectme", b"holdme", b"dropme", b"fine"):
                smtp.mail("s@b.example")
                smtp.rcpt("alice@example.com")
                replies.append(smtp.data(b"Subject: " + subject + b"\r\n\r\nbody\r\n"))
            return replies

    rejected, held, dropped, fine = serve(router, spool, client)
    assert rejected == (550, b"5.7.1 message content rejected")
    assert [held[0], dropped[0], fine[0]] == [250, 250, 250]
    [hold_id] = spool.ids("hold")
    assert held[1].endswith(hold_id.encode())
    assert [b"Subject: fine\r\n" in qf.read_content() for qf in queued(spool)] == [True]
    lines = [m.partition(": ")[2] for m in caplog.messages if ": header " in m]
    assert lines == [
        "reject: header Subject: rejectme from unknown[127.0.0.1]; from=<s@b.example>"
        " to=<alice@example.com> proto=ESMTP helo=<a>: 5.7.1 message content rejected",
        "hold: header Subject: holdme from unknown[127.0.0.1]; from=<s@b.example>"
        " to=<alice@example.com> proto=ESMTP helo=<a>",
        "discard: header Subject: dropme from unknown[127.0.0.1]; from=<s@b.example>"
        " to=<alice@example.com> proto=ESMTP helo=<a>",
    ]


def test_no_delay_reject_refuses_at_connect_helo_and_mail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # smtpd_delay_reject = no: the dialogues and log lines of a private Postfix 3.7.11
    router, spool = logged_setup(
        tmp_path,
        caplog,
        "smtpd_delay_reject = no\n"
        "smtpd_helo_restrictions = check_helo_access inline:{ {bad.example=REJECT no helo} }\n"
        "smtpd_sender_restrictions = check_sender_access inline:{ {bad@b.example=REJECT no} }\n",
    )
    commands = [b"EHLO bad.example", b"HELO good.example", b"MAIL FROM:<bad@b.example>"]
    commands += [b"MAIL FROM:<ok@b.example>", b"RCPT TO:<alice@example.com>", b"QUIT"]
    assert serve(router, spool, lambda port: dialogue(port, commands)) == [
        "220 mail.example.net ESMTP vmail",
        "554 5.7.1 <bad.example>: Helo command rejected: no helo",
        "250 mail.example.net",
        "554 5.7.1 <bad@b.example>: Sender address rejected: no",
        "250 2.1.0 Ok",
        "250 2.1.5 Ok",
        "221 2.0.0 Bye",
    ]
    assert [m for m in caplog.messages if "reject: " in m] == [
        "NOQUEUE: reject: EHLO from unknown[127.0.0.1]: 554 5.7.1 <bad.example>: Helo command"
        " rejected: no helo; proto=SMTP helo=<bad.example>",
        "NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 554 5.7.1 <bad@b.example>: Sender"
        " address rejected: no; from=<bad@b.example> proto=SMTP helo=<good.example>",
    ]
    caplog.clear()
    (tmp_path / "client").mkdir()
    router, spool = setup(
        tmp_path / "client", "smtpd_delay_reject = no\nsmtpd_client_restrictions = reject\n"
    )
    commands = [b"EHLO a", b"NOOP", b"FOO", b"QUIT"]
    assert serve(router, spool, lambda port: dialogue(port, commands)) == [
        "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied",
        "503 5.7.0 Error: access denied for unknown[127.0.0.1]",
        "503 5.7.0 Error: access denied for unknown[127.0.0.1]",
        "503 5.7.0 Error: access denied for unknown[127.0.0.1]",  # before "not recognized"
        "221 2.0.0 Bye",
    ]
    assert (
        "NOQUEUE: reject: CONNECT from unknown[127.0.0.1]: 554 5.7.1 <unknown[127.0.0.1]>:"
        " Client host rejected: Access denied; proto=SMTP" in caplog.messages
    )
