"""Dovecot compatibility both ways: a Maildir++ tree written through a real Dovecot 2.3 is served
by vmail with the same UIDs, UIDVALIDITY, flags, keywords, folders and subscriptions, and
what vmail writes is read back the same by Dovecot; both can serve one tree at once."""

from __future__ import annotations

import functools
import imaplib
import itertools
import os
import poplib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import dovecot
from tests.e2e.dovecot import Dovecot
from tests.e2e.harness import PASSWORD, ServerProcess, make_config, running

pytestmark = pytest.mark.skipif(not dovecot.available(), reason="Dovecot is not installed")

BOB = "bob@example.com"
_ACCOUNTS = itertools.count(1)
CAFE = "Caf&AOk-"  # "Café" in modified UTF-7
FOLDERS = ["INBOX", "A", "A.B", CAFE, "Empty"]
PLAIN = (
    b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: plain %d\r\n"
    b"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <plain%d@example.org>\r\n"
    b"\r\nhello %d\r\n"
)
MULTIPART = (
    b"From: =?utf-8?q?Ren=C3=A9?= <rene@example.org>\r\nTo: bob@example.com, carol@example.com\r\n"
    b"Cc: Team: dave@example.net;\r\nSubject: =?utf-8?q?R=C3=A9sum=C3=A9?=\r\n"
    b"Date: Fri, 27 Nov 2026 11:00:00 +0100\r\nIn-Reply-To: <plain1@example.org>\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    b"preamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9\r\n"
    b'--XX\r\nContent-Type: application/octet-stream; name="a.bin"\r\n'
    b'Content-Disposition: attachment; filename="a.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--XX--\r\n"
)


@dataclass
class Mailbox:
    """One account of the shared ``vmail serve``, and a private Dovecot for the same tree."""

    server: ServerProcess
    user: str

    def imap(self) -> imaplib.IMAP4:
        """A client of vmail's IMAP server."""
        client = imaplib.IMAP4("127.0.0.1", self.server.port("imap"), timeout=30)
        client.login(self.user, PASSWORD)
        return client

    def pop3(self) -> poplib.POP3:
        """A client of vmail's POP3 server."""
        client = poplib.POP3("127.0.0.1", self.server.port("pop3"), timeout=30)
        client.user(self.user)
        client.pass_(PASSWORD)
        return client

    def dovecot(self, autocreate: tuple[str, ...] = ()) -> Dovecot:
        return Dovecot(self.server.data_dir / "mail", {self.user: PASSWORD}, autocreate)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One ``vmail serve`` for the module, without autocreated folders (Dovecot's default)."""
    config_dir = make_config(tmp_path_factory.mktemp("dovecot"), {"mail_autocreate_folders": ""})
    yield from running(config_dir)


@pytest.fixture
def mailbox(shared: ServerProcess) -> Mailbox:
    """A new, empty account of the shared server."""
    user = f"user{next(_ACCOUNTS)}@example.com"
    shared.add_mailbox(user)
    return Mailbox(shared, user)


NESTED = (
    b"From: bob@example.com\r\nTo: undisclosed-recipients:;\r\n"
    b'Reply-To: "Bob (home)" <bob@home.example>\r\nMIME-Version: 1.0\r\n'
    b"Content-Type: multipart/alternative; boundary=outer\r\n\r\n--outer\r\n"
    b"Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
    b"Content-Language: en, fr\r\n\r\n"
    b"no subject, no date\r\n--outer\r\nContent-Type: message/rfc822\r\n"
    b"Content-Location: http://example.com/x\r\nContent-Description: forwarded\r\n\r\n"
    b"From: carol@example.com\r\nSubject: inner\r\nContent-Type: text/html\r\n\r\n"
    b"<p>hi</p>\r\n\r\n--outer--\r\n"
)


def _plain(n: int) -> bytes:
    return PLAIN % (n, n, n)


def _ok(result: tuple[str, Any]) -> Any:
    status, data = result
    assert status == "OK", data
    return data


def _flat(data: list[Any]) -> bytes:
    """imaplib's FETCH data as the bytes the server sent (literal prefixes and bodies joined)."""
    return b"".join(b"".join(item) if isinstance(item, tuple) else item for item in data)


def _flagset(text: bytes) -> frozenset[str]:
    return frozenset(text.decode().split()) - {"\\Recent"}


def _append(client: imaplib.IMAP4, folder: str, flags: str, message: bytes) -> int:
    """APPEND; the new message's UID (from APPENDUID)."""
    data = _ok(client.append(folder, flags, None, message))
    found = re.search(rb"APPENDUID \d+ (\d+)", data[0])
    assert found, data
    return int(found.group(1))


def _select(client: imaplib.IMAP4, folder: str) -> dict[str, Any]:
    _ok(client.select(folder))
    validity = client.response("UIDVALIDITY")[1][0]
    flags = client.response("FLAGS")[1][0]
    codes = b" ".join(client.response("OK")[1])
    permanent = re.search(rb"\[PERMANENTFLAGS \(([^)]*)\)\]", codes)
    assert permanent, codes
    return {
        "uidvalidity": int(validity),
        "flags": _flagset(flags.strip(b"()")),
        "permanentflags": _flagset(permanent.group(1)),
    }


def _messages(client: imaplib.IMAP4) -> dict[int, frozenset[str]]:
    """UID → flags of the selected folder."""
    data = _ok(client.uid("FETCH", "1:*", "(UID FLAGS)"))
    result: dict[int, frozenset[str]] = {}
    for line in data:
        if line is None:
            continue
        found = re.search(rb"UID (\d+)", line)
        flags = re.search(rb"FLAGS \(([^)]*)\)", line)
        assert found, line
        assert flags, line
        result[int(found.group(1))] = _flagset(flags.group(1))
    return result


def _structure(client: imaplib.IMAP4, uid: int) -> list[bytes]:
    """The FETCH responses for ENVELOPE, BODYSTRUCTURE and RFC822.SIZE (one item each)."""
    items = ("ENVELOPE", "BODYSTRUCTURE", "RFC822.SIZE")
    return [_flat(_ok(client.uid("FETCH", str(uid), f"({item})"))) for item in items]


def _body(client: imaplib.IMAP4, uid: int) -> bytes:
    data = _ok(client.uid("FETCH", str(uid), "(BODY.PEEK[])"))
    return bytes(data[0][1])


def _names(lines: list[bytes]) -> set[bytes]:
    return {line for line in lines if line}


def _snapshot(client: imaplib.IMAP4, bodies: bool = False) -> dict[str, Any]:
    """Everything a client sees of the account that both servers must agree on."""
    result: dict[str, Any] = {
        "list": _names(_ok(client.list('""', "*"))),
        "lsub": {line.split(b'"." ', 1)[1] for line in _ok(client.lsub('""', "*")) if line},
    }
    for folder in FOLDERS:
        status = _ok(client.status(folder, "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"))[0]
        selected = _select(client, folder)
        messages = _messages(client)
        folder_state: dict[str, Any] = {
            "status": status.split(b" ", 1)[1],
            **selected,
            "messages": messages,
            "structure": {uid: _structure(client, uid) for uid in messages},
        }
        if bodies:
            folder_state["bodies"] = {uid: _body(client, uid) for uid in messages}
        result[folder] = folder_state
    return result


def _uidls(pop: poplib.POP3) -> list[bytes]:
    _, lines, _ = pop.uidl()
    pop.quit()
    return list(lines)


def _populate(client: imaplib.IMAP4) -> None:
    """Folders, messages with flags and keywords, STORE, an EXPUNGE gap, COPY and MOVE,
    subscriptions."""
    for folder in ("A", "A.B", CAFE, "Empty"):
        _ok(client.create(folder))
    _append(client, "INBOX", "(\\Seen)", _plain(1))
    _append(client, "INBOX", "(\\Flagged $Forwarded)", MULTIPART)
    gone = _append(client, "INBOX", "($Label1 custom1)", _plain(3))
    _append(client, "INBOX", "", _plain(4))
    _append(client, "A.B", "(\\Answered $Label1 $Forwarded)", _plain(5))
    _append(client, CAFE, "(\\Draft)", _plain(6))
    _append(client, "A.B", "()", NESTED)
    _ok(client.select("INBOX"))
    _ok(client.uid("STORE", str(gone), "+FLAGS", "(\\Deleted)"))
    _ok(client.expunge())
    _ok(client.uid("STORE", "4", "+FLAGS", "(\\Seen custom2)"))
    _ok(client.uid("STORE", "2", "-FLAGS", "(\\Flagged)"))
    _ok(client.uid("COPY", "1", "A"))
    _ok(client.uid("MOVE", "4", "A"))
    for folder in ("A.B", CAFE):
        _ok(client.subscribe(folder))
    _ok(client.unsubscribe("Junk"))


SYSTEM_FLAGS = frozenset({"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"})


def _in_use(folder: dict[str, Any]) -> frozenset[str]:
    """The system flags and the keywords some message of the folder has."""
    return SYSTEM_FLAGS.union(*folder["messages"].values())


def _compare(ours: dict[str, Any], theirs: dict[str, Any], all_keywords: bool = True) -> None:
    """Field by field, so a mismatch names what differs.

    With ``all_keywords`` false, a FLAGS response may differ in keywords no message has:
    Dovecot lists those its index has met, which a fresh index (reading a tree another
    server wrote) has not; both must list every flag in use.
    """
    assert ours.keys() == theirs.keys()
    for key in ours:
        if not isinstance(ours[key], dict):
            assert ours[key] == theirs[key], key
            continue
        for field in ours[key]:
            mine, other = ours[key][field], theirs[key][field]
            if field in ("flags", "permanentflags") and not all_keywords:
                mine, other = mine - {"\\*"}, other - {"\\*"}
                mine, other = mine & _in_use(ours[key]), other & _in_use(ours[key])
                assert mine == other == _in_use(ours[key]), (key, field)
            assert mine == other, (key, field)


def test_vmail_serves_a_tree_written_by_dovecot(mailbox: Mailbox) -> None:
    with mailbox.dovecot() as reference:
        client = reference.imap(mailbox.user)
        _populate(client)
        expected = _snapshot(client, bodies=True)
        client.logout()
        expected_uidls = _uidls(reference.pop3(mailbox.user))
    assert sorted(expected["INBOX"]["messages"]) == [1, 2]
    client = mailbox.imap()
    _compare(_snapshot(client, bodies=True), expected)
    client.logout()
    assert _uidls(mailbox.pop3()) == expected_uidls


def test_dovecot_reads_a_tree_written_by_vmail(mailbox: Mailbox) -> None:
    client = mailbox.imap()
    _populate(client)
    client.logout()
    with mailbox.server.smtp() as smtp:
        smtp.sendmail("alice@example.org", [mailbox.user], _plain(7))
    mailbox.server.wait_for(mailbox.user, 1)  # in new/, never seen by an IMAP session
    client = mailbox.imap()
    written = _snapshot(client, bodies=True)
    client.logout()
    written_uidls = _uidls(mailbox.pop3())
    assert sorted(written["INBOX"]["messages"]) == [1, 2, 5]
    with mailbox.dovecot() as reference:
        client = reference.imap(mailbox.user)
        _compare(written, _snapshot(client, bodies=True), all_keywords=False)
        client.logout()
        assert _uidls(reference.pop3(mailbox.user)) == written_uidls


def _seen_by(client: imaplib.IMAP4, folder: str = "INBOX") -> dict[int, frozenset[str]]:
    _ok(client.select(folder))
    return _messages(client)


def test_vmail_and_dovecot_share_a_tree(mailbox: Mailbox) -> None:
    ours = mailbox.imap()  # first login: the Maildir and its INBOX uidlist
    with mailbox.dovecot() as reference:
        theirs = reference.imap(mailbox.user)
        first = _append(ours, "INBOX", "(\\Seen)", _plain(1))
        assert _seen_by(theirs) == {first: frozenset({"\\Seen"})}
        second = _append(theirs, "INBOX", "($Label1)", _plain(2))
        assert second > first
        assert _seen_by(ours) == {first: frozenset({"\\Seen"}), second: frozenset({"$Label1"})}
        # Expunge the newest through one; the next APPEND through the other never reuses it.
        _ok(ours.uid("STORE", str(second), "+FLAGS", "(\\Deleted)"))
        _ok(ours.expunge())
        third = _append(theirs, "INBOX", "()", _plain(3))
        assert third > second
        _ok(theirs.uid("STORE", str(third), "+FLAGS", "(\\Deleted)"))
        _ok(theirs.expunge())
        fourth = _append(ours, "INBOX", "(custom1)", _plain(4))
        assert fourth > third
        # Flags changed through one appear through the other.
        _ok(theirs.uid("STORE", str(first), "+FLAGS", "(\\Flagged $Forwarded)"))
        assert _seen_by(ours)[first] == {"\\Seen", "\\Flagged", "$Forwarded"}
        _ok(ours.uid("STORE", str(fourth), "+FLAGS", "(\\Answered)"))
        _ok(ours.uid("STORE", str(first), "-FLAGS", "(\\Seen)"))
        assert _seen_by(theirs) == {
            first: frozenset({"\\Flagged", "$Forwarded"}),
            fourth: frozenset({"custom1", "\\Answered"}),
        }
        # New keywords through one, while the other has the keyword file loaded.
        _ok(ours.uid("STORE", str(first), "+FLAGS", "(fromvmail)"))
        _ok(theirs.uid("STORE", str(fourth), "+FLAGS", "(fromdovecot)"))
        assert _seen_by(ours)[fourth] == {"custom1", "\\Answered", "fromdovecot"}
        assert _seen_by(theirs)[first] == {"\\Flagged", "$Forwarded", "fromvmail"}
        assert _body(theirs, fourth) == _body(ours, fourth) == _plain(4)
        assert _select(ours, "INBOX")["uidvalidity"] == _select(theirs, "INBOX")["uidvalidity"]
        _share_new_mail(mailbox, ours, theirs)
        _share_pop3(mailbox, reference, ours, theirs)
        _share_folders(ours, theirs)
        theirs.logout()
    ours.logout()


def _share_pop3(
    mailbox: Mailbox, reference: Dovecot, ours: imaplib.IMAP4, theirs: imaplib.IMAP4
) -> None:
    """Same UIDLs from both POP3 servers; a message deleted over one's POP3 is gone in both."""
    assert _uidls(mailbox.pop3()) == _uidls(reference.pop3(mailbox.user))
    sessions = ((functools.partial(reference.pop3, mailbox.user), ours), (mailbox.pop3, theirs))
    for open_pop3, other in sessions:
        before = sorted(_seen_by(other))
        pop3 = open_pop3()  # after the other's change: a POP3 session is a snapshot
        pop3.dele(1)
        pop3.quit()
        assert sorted(_seen_by(other)) == before[1:]


def _share_new_mail(mailbox: Mailbox, ours: imaplib.IMAP4, theirs: imaplib.IMAP4) -> None:
    """Mail delivered to new/ gets one UID, whichever server sees it first."""
    for first_reader, second_reader in ((theirs, ours), (ours, theirs)):
        count = len(mailbox.server.messages(mailbox.user))
        with mailbox.server.smtp() as smtp:
            smtp.sendmail("alice@example.org", [mailbox.user], _plain(10 + count))
        mailbox.server.wait_for(mailbox.user, count + 1)
        seen_first = _seen_by(first_reader)
        assert _seen_by(second_reader) == seen_first
        newest = max(seen_first)
        assert _body(first_reader, newest) == _body(second_reader, newest)


def _listed(client: imaplib.IMAP4, subscribed: bool = False, pattern: str = "*") -> set[bytes]:
    lines = _ok(client.lsub('""', pattern) if subscribed else client.list('""', pattern))
    return {line.rsplit(b'"." ', 1)[1] for line in lines if line}


def _same_folders(ours: imaplib.IMAP4, theirs: imaplib.IMAP4) -> set[bytes]:
    """LIST and LSUB agree between the two servers; the listed names."""
    assert _listed(ours, subscribed=True) == _listed(theirs, subscribed=True)
    assert sorted(_ok(ours.list('""', "%"))) == sorted(_ok(theirs.list('""', "%")))
    names = _listed(ours)
    assert names == _listed(theirs)
    return names


def _share_folders(ours: imaplib.IMAP4, theirs: imaplib.IMAP4) -> None:
    """CREATE, SUBSCRIBE, RENAME and DELETE through either server, seen by the other."""
    nested = f"{CAFE}.Sub"
    _ok(ours.create(nested))
    _ok(ours.subscribe(nested))
    assert nested.encode() in _same_folders(ours, theirs)
    assert nested.encode() in _listed(theirs, subscribed=True)
    _ok(theirs.rename(nested, "Moved"))  # Dovecot leaves the subscription as it was
    names = _same_folders(ours, theirs)
    assert b"Moved" in names
    assert nested.encode() not in names
    _ok(ours.rename("Moved", "Again.Moved"))
    assert b"Again.Moved" in _same_folders(ours, theirs)
    _ok(theirs.delete("Again.Moved"))
    assert not {b"Moved", b"Again.Moved"} & _same_folders(ours, theirs)


def test_autocreated_folders_as_dovecot_auto_subscribe(tmp_path: Path) -> None:
    defaults = make_config(tmp_path)  # mail_autocreate_folders = Drafts, Sent, Trash, Junk
    for server in running(defaults):
        server.add_mailbox(BOB)
        mailbox = Mailbox(server, BOB)
        with mailbox.dovecot(("Drafts", "Sent", "Trash", "Junk")) as reference:
            client = reference.imap(BOB)
            _ok(client.create("A"))
            _ok(client.subscribe("A"))  # a subscriptions file, without the autocreated names
            expected = (_listed(client), _listed(client, subscribed=True))
            client.logout()
        assert {b"Drafts", b"Junk", b"A"} <= expected[1]
        client = mailbox.imap()
        assert (_listed(client), _listed(client, subscribed=True)) == expected
        client.logout()


# Odd messages whose FETCH answers vmail must give exactly as Dovecot does.
ODD_MESSAGES = {
    "lf-only": b"From: a@b.c\nSubject: lf only\nContent-Type: text/plain\n\nline1\nline2\n",
    "headers": (
        b'From: "Doe, John" <j@x.y>\r\nSender: s@x.y\r\nReply-To:\r\n'
        b"To: undisclosed-recipients:;, a@b\r\nCc: <@route.x:r@y.z>\r\n"
        b"Subject: =?iso-8859-1?q?caf=E9?=\r\n folded\r\nDate: 1 Jan 2020 00:00 GMT\r\n"
        b"Message-ID:  <x@y>  \r\n\r\nbody\r\n"
    ),
    "no-boundary": b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n",
    "no-subtype": b"Content-Type: text\r\n\r\nno subtype\r\n",
    "base64-html": (
        b'Content-Type: TEXT/HTML; CHARSET="UTF-8"\r\nContent-Transfer-Encoding: BASE64\r\n'
        b"Content-ID: <cid@x>\r\nContent-MD5: abc\r\n"
        b"Content-Disposition: inline; filename*=utf-8''caf%C3%A9.txt\r\n\r\naGk=\r\n"
    ),
    "rfc2231": (
        b'Content-Type: application/x-foo; name*0="long"; name*1="name.txt"\r\n'
        b'Content-Disposition: attachment; filename="a b.txt"; size=12\r\n\r\nxx\r\n'
    ),
    "digest": (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nimplicit text\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\ny\r\n--b\r\n"
        b"Content-Type: multipart/digest; boundary=c\r\n\r\n--c\r\n\r\nSubject: digest\r\n"
        b"\r\nz\r\n--c--\r\n--b--\r\n"
    ),
    "bad-addresses": (
        b"From: =?utf-8?b?w6k=?= <e@x.y>, bad address, @nolocal\r\n"
        b"To: Group: a@b, c@d;\r\nIn-Reply-To: <a@b> <c@d>\r\n\r\n"
    ),
    "header-only": b"Subject: no body at all",
    "comments": (
        b"Content-Type: text/plain; charset=us-ascii (comment)\r\n"
        b"Content-Language: en (c)\r\n\r\nx\r\n"
    ),
    "flowed": b"Subject: flowed\r\nContent-Type: text/plain; format=flowed\r\n\r\nhi\r\n",
}
ODD_ITEMS = (
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "RFC822.SIZE",
    "BODY.PEEK[1.MIME]",
    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]",
    "BINARY.SIZE[1]",
    "BODY.PEEK[1]",
)
# Known differences (bugs in vmail.mailstore.message): remove an entry once it is fixed.
KNOWN_DIFFERENCES = {
    # No header/body separator: Dovecot itself answers two ways. Parsing the file (a first
    # FETCH, and the recorded unit fixture 06-no-body) it adds a CRLF (27 bytes), from its
    # cache (a later FETCH, here after APPEND) it sends the header line alone (25 bytes).
    # vmail gives the first answer, every time.
    ("header-only", "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]"),
}


def _fetch_all(client: imaplib.IMAP4, uids: dict[str, int]) -> dict[tuple[str, str], bytes]:
    _select(client, "INBOX")
    result = {}
    for case, uid in uids.items():
        for item in ODD_ITEMS:
            status, data = client.uid("FETCH", str(uid), f"({item})")
            result[case, item] = status.encode() + b" " + _flat(data)
    return result


def test_odd_messages_fetch_as_in_dovecot(mailbox: Mailbox) -> None:
    client = mailbox.imap()
    uids = {case: _append(client, "INBOX", "()", raw) for case, raw in ODD_MESSAGES.items()}
    ours = _fetch_all(client, uids)
    client.logout()
    with mailbox.dovecot() as reference:
        client = reference.imap(mailbox.user)
        theirs = _fetch_all(client, uids)
        client.logout()
    differences = {key for key in ours if ours[key] != theirs[key]}
    details = {key: (ours[key], theirs[key]) for key in differences ^ KNOWN_DIFFERENCES}
    assert differences == KNOWN_DIFFERENCES, details


def test_a_recreated_folder_never_gets_an_old_uidvalidity(mailbox: Mailbox) -> None:
    ours = mailbox.imap()
    with mailbox.dovecot() as reference:
        theirs = reference.imap(mailbox.user)
        validities = []
        for client in (ours, ours, theirs, ours, theirs):  # all within a second or two
            _ok(client.create("Again"))
            status = _ok(client.status("Again", "(UIDVALIDITY)"))[0]
            validities.append(int(re.findall(rb"\d+", status)[-1]))
            _ok(client.delete("Again"))
        theirs.logout()
    ours.logout()
    assert len(set(validities)) == len(validities), validities


def test_records_vmail_appends_to_a_big_uidlist_are_read_by_dovecot(mailbox: Mailbox) -> None:
    client = mailbox.imap()  # first login: the Maildir
    client.logout()
    maildir = mailbox.server.maildir(mailbox.user)
    owner = maildir.stat()
    for n in range(1000):  # a big folder: from now on, new UIDs are appended to its uidlist
        path = maildir / "new" / f"1790000000.M{n}P1.bench"
        path.write_bytes(_plain(n).replace(b"\r\n", b"\n"))
        os.chown(path, owner.st_uid, owner.st_gid)
    client = mailbox.imap()
    assert len(_seen_by(client)) == 1000
    header = (maildir / "dovecot-uidlist").read_text().splitlines()[0]
    ours = [_append(client, "INBOX", "(\\Seen)", _plain(n)) for n in (2001, 2002)]
    assert ours == [1001, 1002]
    lines = (maildir / "dovecot-uidlist").read_text().splitlines()
    assert lines[0] == header  # appended: the header still says N1001
    assert lines[-1].startswith("1002 :")
    with mailbox.dovecot() as reference:
        theirs = reference.imap(mailbox.user)
        seen = _seen_by(theirs)
        assert sorted(seen)[-2:] == ours
        assert seen[1002] == frozenset({"\\Seen"})
        assert _append(theirs, "INBOX", "()", _plain(2003)) == 1003
        theirs.logout()
    _ok(client.noop())
    assert sorted(_seen_by(client))[-3:] == [1001, 1002, 1003]
    client.logout()
