"""IMAP folder commands in a real session: SELECT/EXAMINE responses, LIST/LSUB patterns and
extensions, CREATE/DELETE/RENAME/SUBSCRIBE, STATUS, APPEND (MULTIAPPEND, APPENDUID,
TRYCREATE, TOOBIG) and the QUOTA commands."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.servers.imapd.session_support import (
    Raw,
    authenticator,
    deliver,
    maildir,
    main_cf,
    serve,
)
from vmail.servers.imapd.server import ImapServer


def _session(
    tmp_path: Path, script: list[bytes], extra: str = "", count: int = 2, quota: int = 0
) -> list[bytes]:
    """Run ``script`` (commands without tags) after login; every response line, in order."""
    deliver(maildir(tmp_path), count)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        out: list[bytes] = []
        for n, text in enumerate(script):
            out += raw.command(b"t%d" % n, text)
        return out

    return serve(main_cf(tmp_path, extra), client, authenticator(quota_bytes=quota))


def _times(lines: list[bytes]) -> list[bytes]:
    return [re.sub(rb" \(\d+\.\d+ \+ 0\.000 secs\)\.", b"", line) for line in lines]


def test_select_and_examine_responses(tmp_path: Path) -> None:
    out = _times(_session(tmp_path, [b"SELECT INBOX", b"EXAMINE inbox", b"SELECT Nope"]))
    flags = b"\\Answered \\Flagged \\Deleted \\Seen \\Draft"
    assert out[0] == b"* FLAGS (" + flags + b")\r\n"
    assert out[1] == b"* OK [PERMANENTFLAGS (" + flags + b" \\*)] Flags permitted.\r\n"
    assert out[2:4] == [b"* 2 EXISTS\r\n", b"* 2 RECENT\r\n"]
    assert out[4] == b"* OK [UNSEEN 1] First unseen.\r\n"
    assert re.fullmatch(rb"\* OK \[UIDVALIDITY \d+\] UIDs valid\r\n", out[5])
    assert out[6] == b"* OK [UIDNEXT 3] Predicted next UID\r\n"
    assert out[7] == b"t0 OK [READ-WRITE] Select completed\r\n"
    assert out[8] == b"* OK [CLOSED] Previous mailbox closed.\r\n"
    examine = out[9:]
    assert examine[1] == b"* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n"
    assert examine[3] == b"* 0 RECENT\r\n"  # the first SELECT took the \Recent flags
    assert examine[7] == b"t1 OK [READ-ONLY] Examine completed\r\n"
    assert examine[8] == b"* OK [CLOSED] Previous mailbox closed.\r\n"
    assert examine[9] == b"t2 NO Mailbox doesn't exist: Nope\r\n"  # no code (Dovecot)


def test_condstore_select_and_qresync(tmp_path: Path) -> None:
    out = _session(
        tmp_path,
        [b"SELECT INBOX (CONDSTORE)", b"ENABLE QRESYNC", b"SELECT INBOX (QRESYNC (1 1))"],
    )
    assert any(re.fullmatch(rb"\* OK \[HIGHESTMODSEQ \d+\] Highest\r\n", line) for line in out)
    uidvalidity = next(line for line in out if b"UIDVALIDITY" in line).split()[3][:-1]
    # a wrong UIDVALIDITY: no VANISHED, no FETCH — a full resync
    assert not any(line.startswith(b"* VANISHED") for line in out)
    assert uidvalidity.isdigit()
    assert out[-1].startswith(b"t2 OK [READ-WRITE]")
    assert b"* OK [CLOSED] Previous mailbox closed.\r\n" in out


def test_list_patterns_and_lsub(tmp_path: Path) -> None:
    out = _session(
        tmp_path,
        [
            b"CREATE Work",
            b"CREATE Work.Projects",
            b"CREATE Work.Projects.Old",
            b"SUBSCRIBE Work.Projects",
            b'LIST "" *',
            b'LIST "" %',
            b"LIST Work. %",
            b'LIST "" inbox',
            b'LIST "" ""',
            b'LSUB "" *',
            b'LSUB "" %',
        ],
        count=0,
    )
    everything = [line for line in out if line.startswith(b"* LIST")]
    names = [line.rsplit(b" ", 1)[1].strip() for line in everything]
    star = names[:8]  # the special-use folders are created at first login
    assert sorted(star) == [
        b"Drafts",
        b"INBOX",
        b"Junk",
        b"Sent",
        b"Trash",
        b"Work",
        b"Work.Projects",
        b"Work.Projects.Old",
    ]
    assert b'* LIST (\\HasChildren) "." Work\r\n' in everything
    assert b'* LIST (\\HasNoChildren) "." Work.Projects.Old\r\n' in everything
    assert sorted(names[8:14]) == [b"Drafts", b"INBOX", b"Junk", b"Sent", b"Trash", b"Work"]
    assert names[14:15] == [b"Work.Projects"]
    assert names[15] == b"INBOX"
    assert b'* LIST (\\Noselect) "." ""\r\n' in out
    lsub = [line for line in out if line.startswith(b"* LSUB") and b"Work" in line]
    assert lsub[0] == b'* LSUB () "." Work.Projects\r\n'
    assert lsub[1] == b'* LSUB (\\Noselect) "." Work\r\n'  # a parent of a subscribed one


def test_list_extended_status_and_special_use(tmp_path: Path) -> None:
    out = _session(
        tmp_path,
        [
            b"CREATE Outbox (USE (\\Sent))",
            b"UNSUBSCRIBE Sent",
            b"SUBSCRIBE Outbox",
            b'LIST (SUBSCRIBED) "" *',
            b'LIST (SPECIAL-USE) "" *',
            b'LIST "" * RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))',
            b'LIST "" * RETURN (CHILDREN SUBSCRIBED)',
            b'LIST (SUBSCRIBED RECURSIVEMATCH) "" %',
        ],
    )
    text = b"".join(out)
    # as Dovecot: children and special-use attributes only when asked for
    end = [out.index(b"t%d OK List completed.\r\n" % n) for n in range(3, 7)]
    assert b'* LIST (\\Subscribed) "." Outbox\r\n' in out[: end[0]]
    assert b'* LIST (\\Sent) "." Outbox\r\n' in out[end[0] : end[1]]
    assert b'* LIST (\\Sent) "." Outbox\r\n' in out[end[1] : end[2]]
    assert b'* LIST () "." INBOX\r\n' in out[end[1] : end[2]]
    assert b'* LIST (\\Subscribed \\HasNoChildren) "." Outbox\r\n' in out[end[2] : end[3]]
    assert b"* STATUS INBOX (MESSAGES 2 UNSEEN 2)\r\n" in out
    assert b"* STATUS Outbox (MESSAGES 0 UNSEEN 0)\r\n" in out
    assert text.count(b"BAD") == 0


def test_list_subscribed_but_deleted_is_nonexistent(tmp_path: Path) -> None:
    out = _session(
        tmp_path,
        [b"CREATE Gone", b"SUBSCRIBE Gone", b"DELETE Gone", b'LIST (SUBSCRIBED) "" Gone'],
        count=0,
    )
    assert set(out[3].split(b'"')[0].strip()[8:-1].split()) == {b"\\Subscribed", b"\\NonExistent"}


def test_list_nonexistent_parent_with_recursivematch(tmp_path: Path) -> None:
    out = _session(
        tmp_path,
        [b"CREATE a.b", b"DELETE a", b"SUBSCRIBE a.b", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" %'],
        count=0,
    )
    # RFC 5258 5: a subscribed child of a non-subscribed parent gives the parent CHILDINFO.
    # Dovecot: \\NonExistent (not \\Noselect), no children attribute unless asked
    assert b'* LIST (\\NonExistent) "." a (CHILDINFO ("SUBSCRIBED"))\r\n' in out


def test_create_delete_rename_subscribe(tmp_path: Path) -> None:
    out = _times(
        _session(
            tmp_path,
            [
                b"CREATE Archive",
                b"CREATE Archive",
                b"CREATE INBOX",
                b"RENAME Archive Old",
                b"RENAME Missing Other",
                b"DELETE Old",
                b"DELETE Old",
                b"DELETE INBOX",
                b"SUBSCRIBE Whatever",
                b"UNSUBSCRIBE Whatever",
                b"CREATE Trash/",
            ],
            count=0,
        )
    )
    assert out[0] == b"t0 OK Create completed.\r\n"
    assert out[1] == b"t1 NO [ALREADYEXISTS] Mailbox already exists\r\n"
    assert out[2] == b"t2 NO [ALREADYEXISTS] Mailbox already exists\r\n"
    assert out[3] == b"t3 OK Rename completed.\r\n"
    assert out[4].startswith(b"t4 NO [NONEXISTENT]")
    assert out[5] == b"t5 OK Delete completed.\r\n"
    assert out[6].startswith(b"t6 NO [NONEXISTENT]")
    assert out[7].startswith(b"t7 NO ")
    assert out[8] == b"t8 NO Mailbox doesn't exist: Whatever\r\n"  # as Dovecot
    assert out[9] == b"t9 OK Unsubscribe completed.\r\n"
    assert not (tmp_path / "mail/example.com/alice/.Archive").exists()


def test_status_items(tmp_path: Path) -> None:
    out = _session(
        tmp_path,
        [
            b"STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN SIZE HIGHESTMODSEQ)",
            b"STATUS Nope (MESSAGES)",
        ],
        count=3,
    )
    match = re.fullmatch(
        rb"\* STATUS INBOX \(MESSAGES 3 RECENT 3 UIDNEXT 4 UNSEEN 3 SIZE (\d+) "
        rb"HIGHESTMODSEQ \d+\)\r\n",
        out[0],
    )
    assert match, out[0]
    assert out[2] == b"t1 NO Mailbox doesn't exist: Nope\r\n"  # no code (Dovecot)


def test_bad_select_closes_the_selected_mailbox(tmp_path: Path) -> None:
    out = _times(
        _session(
            tmp_path,
            [
                b"SELECT INBOX",
                b"SELECT INBOX (CONDSTORE",
                b"UNSELECT",
                b"SELECT INBOX",
                b"SELECT",
                b"UNSELECT",
            ],
        )
    )
    closed = b"* OK [CLOSED] Previous mailbox closed.\r\n"
    # as Dovecot: a line that does not tokenise leaves the mailbox selected
    assert out[out.index(b"t0 OK [READ-WRITE] Select completed\r\n") + 1] == (
        b"t1 BAD Error in IMAP command SELECT: Missing ')'\r\n"
    )
    assert out[out.index(b"t1 BAD Error in IMAP command SELECT: Missing ')'\r\n") + 1] == (
        b"t2 OK Unselect completed.\r\n"
    )
    # ... any other BAD SELECT closes it first
    end = out.index(b"t3 OK [READ-WRITE] Select completed\r\n")
    assert out[end + 1 : end + 3] == [
        closed,
        b"t4 BAD Error in IMAP command SELECT: Invalid arguments\r\n",
    ]
    assert out[end + 3] == b"t5 BAD No mailbox selected.\r\n"


def test_append_refused_before_its_literal(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        out = []
        for text in [
            b"a APPEND Missing {5}",
            b"b APPEND INBOX {0}",
            b"c APPEND INBOX (\\Recent) {5}",
            b'd APPEND INBOX "bad date" {5}',
            b"e APPEND INBOX {5}",
        ]:
            raw.send(text + b"\r\n")
            out.append(raw.line())
        raw.send(b"hello\r\n")
        return out + raw.until(b"e")

    out = serve(main_cf(tmp_path), client)
    # as Dovecot: no '+ OK' for an APPEND that cannot succeed, the literal is never sent
    assert out[:4] == [
        b"a NO [TRYCREATE] Mailbox doesn't exist: Missing\r\n",
        b"b NO Can't save a zero byte message.\r\n",
        b"c BAD Error in IMAP command APPEND: Invalid system flag \\RECENT\r\n",
        b"d BAD Error in IMAP command APPEND: Invalid internal date\r\n",
    ]
    assert out[4] == b"+ OK\r\n"
    assert out[5].startswith(b"e OK [APPENDUID ")


def test_append_multiappend_trycreate_toobig(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        out = raw.command(b"a", b"APPEND INBOX (\\Seen) {5+}\r\nHello")
        out += raw.command(b"b", b"APPEND INBOX {3+}\r\nabc (\\Flagged) {3+}\r\ndef")
        out += raw.command(b"c", b"APPEND Missing {3+}\r\nabc")
        raw.send(b"d APPEND INBOX {2000}\r\n")
        out.append(raw.line())
        out += raw.command(b"e", b"APPEND INBOX {0+}\r\n")
        out += raw.command(b"f", b"SELECT INBOX")
        out += raw.command(b"g", b"FETCH 1:* (FLAGS)")
        return out

    out = serve(main_cf(tmp_path, "imapd_append_limit = 1000\n"), client)
    assert re.fullmatch(rb"a OK \[APPENDUID \d+ 1\] Append completed.*\r\n", out[0])
    assert re.fullmatch(rb"b OK \[APPENDUID \d+ 2:3\] Append completed.*\r\n", out[1])
    assert out[2] == b"c NO [TRYCREATE] Mailbox doesn't exist: Missing\r\n"
    assert out[3] == b"d NO [TOOBIG] Literal too large (1000 bytes max)\r\n"
    assert out[4] == b"e NO Can't save a zero byte message.\r\n"
    fetched = [line.replace(b" \\Recent", b"").replace(b"\\Recent", b"") for line in out]
    fetched = [line for line in fetched if b"FETCH" in line]
    assert fetched == [
        b"* 1 FETCH (FLAGS (\\Seen))\r\n",
        b"* 2 FETCH (FLAGS ())\r\n",
        b"* 3 FETCH (FLAGS (\\Flagged))\r\n",
    ]


def test_quota(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    (root / "maildirsize").write_text("10000S,5C\n100 1\n")
    out = _session(
        tmp_path,
        [b"GETQUOTAROOT INBOX", b'GETQUOTA "User quota"', b'GETQUOTA "nope"'],
        count=0,
        quota=10000,
    )
    assert out[0] == b'* QUOTAROOT INBOX "User quota"\r\n'
    assert out[1].startswith(b'* QUOTA "User quota" (STORAGE ')
    assert out[3] == out[1]
    assert out[5].startswith(b"t2 NO ")


def test_qresync_select_reports_vanished_and_changed_without_tombstones(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), 4)

    def client(server: ImapServer) -> dict[str, list[bytes]]:
        raw = Raw(server.port)
        raw.login()
        raw.command(b"e", b"ENABLE QRESYNC")
        lines = raw.command(b"a", b"SELECT INBOX")
        uidvalidity = next(x for x in lines if b"UIDVALIDITY" in x).split()[3][:-1]
        modseq = next(x for x in lines if b"HIGHESTMODSEQ" in x).split()[3][:-1]
        raw.command(b"b", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        raw.command(b"c", b"EXPUNGE")
        raw.command(b"d", b"STORE 2 +FLAGS.SILENT (\\Flagged)")
        lines = raw.command(b"f", b"SELECT INBOX")
        now = next(x for x in lines if b"HIGHESTMODSEQ" in x).split()[3][:-1]
        q = b"SELECT INBOX (QRESYNC (%s %s))"
        return {
            "since": raw.command(b"g", q % (uidvalidity, modseq)),
            "known": raw.command(
                b"h", b"SELECT INBOX (QRESYNC (%s %s 1:3))" % (uidvalidity, modseq)
            ),
            "current": raw.command(b"i", q % (uidvalidity, now)),
            "other": raw.command(b"j", q % (b"1", modseq)),
        }

    out = serve(main_cf(tmp_path), client)
    vanished = [x for x in out["since"] if x.startswith(b"* VANISHED")]
    assert vanished == [b"* VANISHED (EARLIER) 1\r\n"]
    fetched = [x for x in out["since"] if b" FETCH " in x]
    assert len(fetched) == 1
    assert fetched[0].startswith(b"* 2 FETCH (UID 3 FLAGS (\\Flagged")  # seq 2 after EXPUNGE
    assert b"* VANISHED (EARLIER) 1\r\n" in out["known"]
    assert not [x for x in out["current"] if x.startswith(b"* VANISHED") or b" FETCH " in x]
    assert not [x for x in out["other"] if x.startswith(b"* VANISHED") or b" FETCH " in x]
