"""Hostile IMAP clients against an in-process server: huge and out-of-range literals, deep
nesting, malformed sets and numbers, hostile folder names, pipelining floods, junk, a
megabyte SASL response, login floods and a client that stops reading a large FETCH."""

from __future__ import annotations

import base64
import os
import socket
import time
from pathlib import Path

from tests.unit.servers.imapd.session_support import (
    USER,
    Raw,
    deliver,
    maildir,
    main_cf,
    serve,
)
from vmail.servers.imapd.server import ImapServer


def _tagged(lines: list[bytes]) -> bytes:
    return lines[-1]


def test_huge_literals_before_login(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        out = raw.command(b"a", b"LOGIN {4294967295}")
        out += raw.command(b"b", b"LOGIN {99999999999}")
        out += raw.command(b"c", b"LOGIN {99999999999999999999999}")
        out += raw.command(b"d", b"LOGIN {100000+}")  # the server skips the literal
        raw.send(b"x" * 100000 + b"\r\n")
        out += raw.command(b"e", b"NOOP")
        return out

    out = serve(main_cf(tmp_path), client)
    assert out[0] == b"a NO [TOOBIG] Literal too large (8192 bytes max)\r\n"
    assert out[1] == b"b BAD literal size out of range\r\n"
    assert out[2] == b"c BAD literal size out of range\r\n"
    assert out[3] == b"d NO [TOOBIG] Literal too large (8192 bytes max)\r\n"
    assert out[4] == b"e OK NOOP completed.\r\n"


def test_huge_literals_after_login(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        out = raw.command(b"a", b"APPEND INBOX {4294967295}")
        out += raw.command(b"b", b"APPEND INBOX {99999999999}")
        out += raw.command(b"c", b"APPEND INBOX {2000+}")
        raw.send(b"y" * 2000 + b"\r\n")
        out += raw.command(b"d", b"NOOP")
        return out

    out = serve(main_cf(tmp_path, "imapd_append_limit = 1000\n"), client)
    assert out[0] == b"a NO [TOOBIG] Literal too large (1000 bytes max)\r\n"
    assert out[1] == b"b BAD literal size out of range\r\n"
    assert out[2] == b"c NO [TOOBIG] Literal too large (1000 bytes max)\r\n"
    assert out[3:] == [b"d OK NOOP completed.\r\n"]


def test_deep_nesting_and_malformed_sets_and_numbers(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 2)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        raw.command(b"s", b"SELECT INBOX")
        out = []
        for n, text in enumerate(
            [
                b"SEARCH " + b"(" * 10000 + b"ALL" + b")" * 10000,
                b"SEARCH " + b"NOT " * 10000 + b"ALL",
                b"SEARCH " + b"OR ALL " * 5000 + b"ALL",
                b"FETCH 1:x FLAGS",
                b"FETCH 0 FLAGS",
                b"FETCH 1,,2 FLAGS",
                b"FETCH 4294967296 FLAGS",
                b"FETCH 99999999999999999999 FLAGS",
                b"FETCH 3 FLAGS",
                b"UID FETCH 4294967296 FLAGS",
                b"FETCH 1 BODY.PEEK[]<0.4294967295>",
                b"FETCH 1 BODY.PEEK[]<4294967296.1>",
                b"FETCH 1 BODY.PEEK[1.2.3.4.5.6.7.8.9.10.11.12]",
                b"STORE 1 +FLAGS.SILENT (\\Seen) (UNCHANGEDSINCE 99999999999999999999999)",
                b"SEARCH UID 1:4294967295",
                b"SEARCH LARGER 99999999999",
                b"NOOP",
            ]
        ):
            out.append(_tagged(raw.command(b"t%d" % n, text)))
            raw.command(b"n%d" % n, b"NOOP")  # ten BADs in a row would end the session
        return out

    out = serve(main_cf(tmp_path), client)
    expected = ["BAD"] * 3  # nesting too deep
    expected += ["BAD"] * 5  # 1:x, 0, 1,,2 and numbers beyond 32 bits (never wrapped)
    expected += ["BAD", "BAD"]  # beyond the mailbox; a UID beyond 32 bits
    expected += ["OK", "BAD"]  # a partial clipped to the message; an offset beyond 32 bits
    expected += ["OK", "BAD"]  # a part that does not exist is empty; a broken STORE
    expected += ["OK", "OK", "OK"]
    assert [line.split(b" ")[1].decode() for line in out] == expected, out


def test_hostile_folder_names_stay_inside_the_maildir(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        _tagged(raw.command(b"c0", b"CREATE Src"))  # RENAME's source (INBOX is refused)
        out = []
        names = [
            b'".."',
            b'"../x"',
            b'"a/../../x"',
            b'"/etc"',
            b'"a..b"',
            b'".hidden"',
            b"{3+}\r\na\x00b",
            b'"a\x00b"',
            b'"&"',
            b'"&Jjo"',
            b'"&AGE-"',
            b'"~root"',
        ]
        for n, name in enumerate(names):
            for verb in (b"CREATE", b"SELECT", b"RENAME Src", b"DELETE"):
                out.append(_tagged(raw.command(b"t%d" % n, verb + b" " + name)))
        return out

    out = serve(main_cf(tmp_path), client)
    assert all(b" OK " not in line for line in out), out
    after = sorted(str(p) for p in tmp_path.rglob("*"))
    outside = [p for p in after if p not in before and not p.startswith(str(root))]
    assert outside == []
    assert not any(p.name.startswith("..") for p in root.iterdir())


def test_ten_thousand_pipelined_commands_answered_in_order(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 1)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        raw.send(b"".join(b"n%d NOOP\r\n" % n for n in range(10000)) + b"z LOGOUT\r\n")
        return [raw.line() for _ in range(10002)]

    lines = serve(main_cf(tmp_path), client)
    tags = [line.split(b" ")[0] for line in lines[:10000]]
    assert tags == [b"n%d" % n for n in range(10000)]
    assert lines[10000:] == [b"* BYE Logging out\r\n", b"z OK Logout completed.\r\n"]


def test_garbage_bytes_end_in_bye(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> tuple[list[bytes], bytes]:
        raw = Raw(server.port)
        raw.send(os.urandom(4096).replace(b"\n", b"\r\n") + b"\r\n" * 12)
        lines = []
        while line := raw.line():
            lines.append(line)
        return lines, Raw(server.port).greeting

    lines, greeting = serve(main_cf(tmp_path), client)
    assert lines[-1] == b"* BYE Too many invalid IMAP commands.\r\n"
    assert all(b" BAD " in line for line in lines[:-1])
    assert greeting.startswith(b"* OK ")


def test_authenticate_with_a_megabyte_response(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> tuple[list[bytes], bytes]:
        raw = Raw(server.port)
        raw.send(b"a AUTHENTICATE PLAIN\r\n")
        cont = raw.line()
        try:
            raw.send(base64.b64encode(os.urandom(786432)) + b"\r\n")
            reply = raw.until(b"a")
        except OSError:
            reply = [b"a BAD (connection reset while we were still sending)\r\n"]
        return [cont, *reply], Raw(server.port).greeting

    lines, greeting = serve(main_cf(tmp_path), client)
    assert lines[0] == b"+ \r\n"
    assert lines[-1].startswith(b"a BAD ")
    assert greeting.startswith(b"* OK ")


def test_login_flood_is_answered(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.send(b"".join(b'l%d LOGIN %s "bad%d"\r\n' % (n, USER.encode(), n) for n in range(200)))
        return [raw.line() for _ in range(200)]

    lines = serve(main_cf(tmp_path), client)
    assert len(lines) == 200
    assert all(b" NO [" in line for line in lines), set(lines)


def test_a_client_that_stops_reading_a_large_fetch_is_dropped(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 4000  # 4 MB
    for n in range(4):
        (root / "cur" / f"170000000{n}.M{n}P1.host:2,").write_bytes(big)

    def client(server: ImapServer) -> tuple[float, bytes, int]:
        stalled = Raw(server.port)
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.login()
        stalled.command(b"s", b"SELECT INBOX")
        stalled.send(b"f FETCH 1:* BODY.PEEK[]\r\n")
        started = time.monotonic()
        other = Raw(server.port)
        other.login()
        noop = other.command(b"n", b"NOOP")[-1]
        while server.connections and len(server.connections) > 1:
            if time.monotonic() - started > 10:
                break
            time.sleep(0.05)
        return time.monotonic() - started, noop, len(server.connections)

    elapsed, noop, left = serve(main_cf(tmp_path), client, write_timeout=1.0)
    assert noop == b"n OK NOOP completed.\r\n"
    assert left == 1  # the stalled client is gone, the other one is still there
    assert elapsed < 5
