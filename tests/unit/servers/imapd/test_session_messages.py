"""IMAP message commands in real sessions: FETCH items, STORE (+/-/plain, SILENT,
UNCHANGEDSINCE), COPY/MOVE, EXPUNGE, CLOSE/UNSELECT, SEARCH (ESEARCH, SAVE and ``$``),
SORT, THREAD, IDLE and two sessions seeing each other's changes at the right moments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.servers.imapd.session_support import (
    MULTIPART,
    Raw,
    deliver,
    maildir,
    main_cf,
    serve,
)
from vmail.servers.imapd import message_commands
from vmail.servers.imapd.server import ImapServer


def _script(tmp_path: Path, script: list[bytes], count: int = 3) -> list[bytes]:
    """Log in, SELECT INBOX, run ``script``; the response lines (timings stripped)."""
    deliver(maildir(tmp_path), count)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        raw.command(b"s", b"SELECT INBOX")
        out: list[bytes] = []
        for n, text in enumerate(script):
            out += raw.command(b"t%d" % n, text)
        return out

    lines = serve(main_cf(tmp_path), client)
    return [re.sub(rb" \(\d+\.\d+ \+ 0\.000 secs\)\.", b".", line) for line in lines]


def test_fetch_items_partials_binary_and_mime(tmp_path: Path) -> None:
    (maildir(tmp_path) / "cur" / "1700000009.M9P1.host:2,S").write_bytes(MULTIPART)
    out = _script(
        tmp_path,
        [
            b"FETCH 4 (UID FLAGS RFC822.SIZE INTERNALDATE)",
            b"FETCH 4 BODY.PEEK[1]",
            b"FETCH 4 BODY.PEEK[1.MIME]",
            b"FETCH 4 BINARY.PEEK[2]",
            b"FETCH 4 BINARY.SIZE[2]",
            b"FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]",
            b"FETCH 1 BODY.PEEK[]<6.3>",
            b"FETCH 1 (FLAGS)",
            b"FETCH 1 BODY[TEXT]",
            b"UID FETCH 99 FLAGS",
            b"FETCH 4 BODYSTRUCTURE",
            b"FETCH 1 ENVELOPE",
        ],
    )
    text = b"".join(out)
    assert re.search(
        rb'\* 4 FETCH \(UID 4 FLAGS \(\\Seen \\Recent\) RFC822\.SIZE \d+ INTERNALDATE "[^"]+"\)',
        text,
    )
    assert b"* 4 FETCH (BODY[1] {10}\r\nfirst part)\r\n" in out
    assert b"BODY[1.MIME] {46}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n)" in text
    assert b"* 4 FETCH (BINARY[2] ~{4}\r\n\x00\x01\x02\xff)\r\n" in out
    assert b"* 4 FETCH (BINARY.SIZE[2] 4)\r\n" in out
    assert b"BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: message 1\r\n\r\n)" in text
    assert b"* 1 FETCH (BODY[]<6> {3}\r\nBob)\r\n" in out
    assert b"* 1 FETCH (FLAGS (\\Recent))\r\n" in out
    # BODY[TEXT] (not PEEK) sets \Seen and reports it
    assert re.search(
        rb"\* 1 FETCH \(BODY\[TEXT\] \{10\}\r\nHello 1\.\r\n FLAGS \(\\Seen", text
    ) or (re.search(rb"\* 1 FETCH \(FLAGS \(\\Seen \\Recent\) BODY\[TEXT\]", text)), text
    assert b"t9 OK Fetch completed.\r\n" in out  # a UID beyond the mailbox: nothing, OK
    assert b'BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii")' in text
    assert b'ENVELOPE ("Fri, 27 Nov 2026 10:00:00 +0000" "message 1"' in text


def test_fetch_in_batches_answers_every_message_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(message_commands, "FETCH_BATCH", 2)  # 5 messages: 3 batches
    out = _script(
        tmp_path,
        [b"FETCH 1:* (FLAGS ENVELOPE)", b"FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"],
        count=5,
    )
    text = b"".join(out)
    seqs = [b"1", b"2", b"3", b"4", b"5"]
    assert re.findall(rb"\* (\d+) FETCH \(FLAGS \(\\Recent\) ENVELOPE", text) == seqs
    assert re.findall(rb"\* (\d+) FETCH \(BODY\[HEADER\.FIELDS \(SUBJECT\)\]", text) == seqs
    assert b"t0 OK Fetch completed.\r\n" in out
    assert b"t1 OK Fetch completed.\r\n" in out


def test_store_reports_only_changes(tmp_path: Path) -> None:
    out = _script(
        tmp_path,
        [
            b"STORE 1 +FLAGS (\\Seen)",
            b"STORE 1:3 +FLAGS (\\Seen)",
            b"STORE 1:2 -FLAGS (\\Flagged)",
            b"STORE 2 FLAGS.SILENT (\\Answered $Label1)",
            b"FETCH 2 FLAGS",
            b"STORE 3 -FLAGS.SILENT (\\Seen)",
            b"FETCH 1:3 FLAGS",
        ],
    )
    assert out[:2] == [b"* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n", b"t0 OK Store completed.\r\n"]
    assert out[2:5] == [
        b"* 2 FETCH (FLAGS (\\Seen \\Recent))\r\n",
        b"* 3 FETCH (FLAGS (\\Seen \\Recent))\r\n",
        b"t1 OK Store completed.\r\n",
    ]
    assert out[5] == b"t2 OK Store completed.\r\n"  # nothing changed: no FETCH (Dovecot)
    # a STORE defining a keyword announces FLAGS again first, even silent (Dovecot)
    system = b"\\Answered \\Flagged \\Deleted \\Seen \\Draft"
    assert out[6:9] == [
        b"* FLAGS (" + system + b" $Label1)\r\n",
        b"* OK [PERMANENTFLAGS (" + system + b" $Label1 \\*)] Flags permitted.\r\n",
        b"t3 OK Store completed.\r\n",
    ]
    assert out[9] == b"* 2 FETCH (FLAGS (\\Answered \\Recent $Label1))\r\n"
    assert b"* 3 FETCH (FLAGS (\\Recent))\r\n" in out[11:]


def test_store_keywords_in_definition_order(tmp_path: Path) -> None:
    out = _script(tmp_path, [b"STORE 1 +FLAGS (zz aa mm)", b"STORE 2 +FLAGS (aa zz)"])
    system = b"\\Answered \\Flagged \\Deleted \\Seen \\Draft"
    # as Dovecot: new keywords numbered in the command's order, FLAGS lists them so
    assert out[:4] == [
        b"* FLAGS (" + system + b" zz aa mm)\r\n",
        b"* OK [PERMANENTFLAGS (" + system + b" zz aa mm \\*)] Flags permitted.\r\n",
        b"* 1 FETCH (FLAGS (\\Recent zz aa mm))\r\n",
        b"t0 OK Store completed.\r\n",
    ]
    assert out[4:] == [b"* 2 FETCH (FLAGS (\\Recent zz aa))\r\n", b"t1 OK Store completed.\r\n"]


def test_unchangedsince_modified_response(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 2)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        raw.command(b"s", b"SELECT INBOX (CONDSTORE)")
        fetched = raw.command(b"a", b"FETCH 1 (MODSEQ)")
        modseq = int(re.search(rb"MODSEQ \((\d+)\)", fetched[0]).group(1))  # type: ignore[union-attr]
        raw.command(b"b", b"STORE 1 +FLAGS.SILENT (\\Flagged)")
        out = raw.command(b"c", b"STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % modseq)
        return out + raw.command(b"d", b"STORE 2 +FLAGS (\\Seen)")

    out = serve(main_cf(tmp_path), client)
    # Dovecot's order: MODSEQ before FLAGS
    assert re.fullmatch(
        rb"\* 2 FETCH \(MODSEQ \(\d+\) FLAGS \(\\Deleted \\Seen \\Recent\)\)\r\n", out[2]
    )
    out = out[:2]
    # RFC 7162 3.1.3: FETCH with MODSEQ even for .SILENT; as Dovecot, only the MODSEQ
    assert re.fullmatch(rb"\* 2 FETCH \(MODSEQ \(\d+\)\)\r\n", out[0])
    assert out[-1] == b"c OK [MODIFIED 1] Conditional store failed\r\n"


def test_copy_move_expunge_close_unselect(tmp_path: Path) -> None:
    out = _script(
        tmp_path,
        [
            b"CREATE Archive",
            b"COPY 1 Archive",
            b"COPY 1 Missing",
            b"MOVE 2 Archive",
            b"STORE 1 +FLAGS.SILENT (\\Deleted)",
            b"UID EXPUNGE 3",
            b"EXPUNGE",
            b"STATUS Archive (MESSAGES)",
            b"SELECT Archive",
            b"STORE 1 +FLAGS.SILENT (\\Deleted)",
            b"CLOSE",
            b"STATUS Archive (MESSAGES)",
            b"EXAMINE Archive",
            b"UNSELECT",
            b"FETCH 1 FLAGS",
        ],
    )
    assert re.fullmatch(rb"t1 OK \[COPYUID \d+ 1 1\] Copy completed\.\r\n", out[1]), out[1]
    assert out[2] == b"t2 NO [TRYCREATE] Mailbox doesn't exist: Missing\r\n"
    assert re.fullmatch(rb"\* OK \[COPYUID \d+ 2 2\] Moved UIDs\.\r\n", out[3]), out[3]
    # the RECENT count changed too (as Dovecot says it)
    assert out[4:7] == [b"* 2 EXPUNGE\r\n", b"* 2 RECENT\r\n", b"t3 OK Move completed.\r\n"]
    assert out[7] == b"t4 OK Store completed.\r\n"
    assert out[8:9] == [b"t5 OK Expunge completed.\r\n"]  # UID 3 is not \Deleted
    assert out[9:12] == [b"* 1 EXPUNGE\r\n", b"* 1 RECENT\r\n", b"t6 OK Expunge completed.\r\n"]
    assert out[12] == b"* STATUS Archive (MESSAGES 2)\r\n"
    assert b"* STATUS Archive (MESSAGES 1)\r\n" in out
    assert out[-1] == b"t14 BAD No mailbox selected.\r\n"
    assert b"t13 OK Unselect completed.\r\n" in out


def test_search_esearch_save_sort_thread(tmp_path: Path) -> None:
    out = _script(
        tmp_path,
        [
            b"STORE 2 +FLAGS.SILENT (\\Seen)",
            b"SEARCH UNSEEN",
            b"UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN",
            b"SEARCH RETURN (SAVE) SUBJECT message",
            b"FETCH $ (UID)",
            b"SEARCH RETURN () NOT $",
            b"SORT (REVERSE SUBJECT) UTF-8 ALL",
            b"THREAD REFERENCES UTF-8 ALL",
            b"SEARCH CHARSET X-UNKNOWN ALL",
        ],
    )
    assert b"* SEARCH 1 3\r\n" in out
    assert b'* ESEARCH (TAG "t2") UID MIN 1 MAX 3 ALL 1,3 COUNT 2\r\n' in out
    assert sum(1 for line in out if b"FETCH" in line and b"UID" in line) == 3
    assert b'* ESEARCH (TAG "t5")\r\n' in out
    assert b"* SORT 3 2 1\r\n" in out
    assert b"* THREAD (1)(2)(3)\r\n" in out
    assert out[-1].startswith(b"t8 NO [BADCHARSET")


def test_two_sessions_see_changes_at_the_right_moments(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 3)

    def client(server: ImapServer) -> dict[str, list[bytes]]:
        one, two = Raw(server.port), Raw(server.port)
        for raw in (one, two):
            raw.login()
            raw.command(b"s", b"SELECT INBOX")
        one.command(b"a", b"STORE 2 +FLAGS.SILENT (\\Deleted \\Flagged)")
        one.command(b"b", b"EXPUNGE")
        out = {
            "fetch": two.command(b"c", b"FETCH 1:* FLAGS"),  # no EXPUNGE during FETCH
            "search": two.command(b"d", b"SEARCH ALL"),  # nor during SEARCH
            "noop": two.command(b"e", b"NOOP"),
            "uidfetch": two.command(b"f", b"FETCH 1:* UID"),
        }
        two.send(b"g IDLE\r\n")
        out["idle"] = [two.line()]
        one.command(b"h", b"STORE 1 +FLAGS.SILENT (\\Answered)")
        out["idle"].append(two.line())
        two.send(b"DONE\r\n")
        out["idle"] += two.until(b"g")
        return out

    out = serve(main_cf(tmp_path), client)
    assert b"* 2 EXPUNGE\r\n" not in out["fetch"]
    # the expunged message is skipped, as Dovecot does, with its tagged OK
    assert out["fetch"] == [
        b"* 1 FETCH (FLAGS ())\r\n",
        b"* 3 FETCH (FLAGS ())\r\n",
        b"c OK [EXPUNGEISSUED] Some messages were already expunged.\r\n",
    ]
    assert b"* 2 EXPUNGE\r\n" not in out["search"]
    assert out["noop"][0] == b"* 2 EXPUNGE\r\n"
    assert out["noop"][-1] == b"e OK NOOP completed.\r\n"
    assert [line for line in out["uidfetch"] if b"FETCH" in line] == [
        b"* 1 FETCH (UID 1)\r\n",
        b"* 2 FETCH (UID 3)\r\n",
    ]
    assert out["idle"][0] == b"+ idling\r\n"
    assert out["idle"][1] == b"* 1 FETCH (FLAGS (\\Answered \\Recent))\r\n" or (
        out["idle"][1].startswith(b"* 1 FETCH (FLAGS (\\Answered")
    )
    assert out["idle"][-1] == b"g OK Idle completed.\r\n"
