"""IDLE hibernates between events: DONE pipelined behind IDLE, mail from another session
within half a second, "Still here", the inactivity timeout and a client that hangs up."""

from __future__ import annotations

import time
from pathlib import Path

from tests.unit.servers.imapd.session_support import Raw, deliver, maildir, main_cf, serve
from vmail.servers.imapd.server import ImapServer


def test_done_pipelined_behind_idle(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 1)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        raw.command(b"s", b"SELECT INBOX")
        raw.send(b"i IDLE\r\nDONE\r\nn NOOP\r\n")
        return raw.until(b"i") + raw.until(b"n")

    out = serve(main_cf(tmp_path), client)
    assert out[0] == b"+ idling\r\n"
    assert out[-2:] == [b"i OK Idle completed.\r\n", b"n OK NOOP completed.\r\n"]


def test_idle_hears_another_sessions_append_within_half_a_second(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 1)

    def client(server: ImapServer) -> tuple[list[bytes], float]:
        idler, other = Raw(server.port), Raw(server.port)
        for raw in (idler, other):
            raw.login()
        idler.command(b"s", b"SELECT INBOX")
        idler.send(b"i IDLE\r\n")
        assert idler.line() == b"+ idling\r\n"
        time.sleep(0.2)  # hibernating by now
        other.send(b"a APPEND INBOX {5+}\r\nhello\r\n")
        assert other.until(b"a")[-1].startswith(b"a OK")
        started = time.monotonic()
        heard = [idler.line()]
        elapsed = time.monotonic() - started
        idler.send(b"DONE\r\n")
        return heard + idler.until(b"i"), elapsed

    out, elapsed = serve(main_cf(tmp_path), client)
    assert b"* 2 EXISTS\r\n" in out
    assert out[-1] == b"i OK Idle completed.\r\n"
    assert elapsed < 0.5


def test_still_here_then_inactivity_logout(tmp_path: Path) -> None:
    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        raw.send(b"i IDLE\r\n")
        lines = []
        while line := raw.line():
            lines.append(line)
        return lines

    out = serve(main_cf(tmp_path), client, idle_notify_interval=0.3, timeout=1.0)
    assert out[0] == b"+ idling\r\n"
    assert b"* OK Still here\r\n" in out
    assert out[-1] == b"* BYE Disconnected for inactivity.\r\n"


def test_client_hangs_up_while_idling(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 1)

    def client(server: ImapServer) -> int:
        raw = Raw(server.port)
        raw.login()
        raw.command(b"s", b"SELECT INBOX")
        raw.send(b"i IDLE\r\n")
        assert raw.line() == b"+ idling\r\n"
        raw.file.close()  # the socket's fd closes with its last user
        raw.sock.close()
        deadline = time.monotonic() + 5
        while server.connections and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(server.connections)

    assert serve(main_cf(tmp_path), client) == 0
