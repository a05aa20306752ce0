"""vmail's IMAP server compared with a real Dovecot 2.3, transcript by transcript.

Each scenario gets its own account; the same hand-written Maildir++ tree
(:func:`imap_support.write_tree`: fixed UIDVALIDITYs, flags, keywords, subscriptions,
INTERNALDATEs) is installed for it under ``vmail serve`` and under a private Dovecot, the
same raw IMAP script is played against both, and the responses must be equal line by line
once the few things that must differ are normalised (:func:`_normalise`) or allowed
(:data:`ALLOWED`, each with its reason).
"""

from __future__ import annotations

import difflib
import os
import pwd
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tests.differential.imap_support import (
    PLAIN,
    UIDVALIDITY,
    Deliver,
    Literal,
    Step,
    install_tree,
    transcript,
)
from tests.e2e import dovecot
from tests.e2e.dovecot import Dovecot
from tests.e2e.harness import PASSWORD, ServerProcess, make_config, running

pytestmark = pytest.mark.skipif(not dovecot.available(), reason="Dovecot is not installed")

DOMAIN = "diff.example"
LOGIN = f't0 LOGIN "{{user}}" "{PASSWORD}"\n'

# name -> script (chunks; "\n" is CRLF; the LOGIN chunk is added in front).
SCENARIOS: dict[str, list[Step]] = {
    "new_mail": [
        "t1 SELECT INBOX\n",
        Deliver("M100P1", PLAIN % (7, 7, 7, 7)),
        "t2 NOOP\n",
        "t3 FETCH 7 (UID FLAGS RFC822.SIZE)\n",
        "t4 IDLE\n",
        Deliver("M101P1", PLAIN % (8, 8, 8, 8), until=r"\* \d+ EXISTS"),
        "DONE\n",
        "t5 STATUS A (MESSAGES RECENT UIDNEXT UNSEEN)\n",
        Deliver("M102P1", PLAIN % (9, 9, 9, 9), folder="A"),
        "t6 STATUS A (MESSAGES RECENT UIDNEXT UNSEEN)\n",
        "t7 EXAMINE A\n",
        "t8 FETCH 1:* (UID FLAGS)\n",
    ],
    "select": [
        "t1 SELECT INBOX\n",
        "t2 EXAMINE INBOX\n",
        "t3 SELECT A.B\n",
        "t4 SELECT Nope\n",
        "t5 CLOSE\n",
        "t6 CLOSE\n",
        "t7 EXAMINE A (CONDSTORE)\n",
        "t8 SELECT inbox\n",
        "t9 SELECT\n",
        "t10 UNSELECT\n",
        "t11 UNSELECT\n",
    ],
    "condstore": [
        "t1 ENABLE CONDSTORE QRESYNC\n",
        "t2 SELECT INBOX (QRESYNC (1700000001 1))\n",
        "t3 FETCH 1:* (UID MODSEQ)\n",
        "t4 STORE 1 +FLAGS (\\Flagged)\n",
        "t5 FETCH 1 (MODSEQ FLAGS) (CHANGEDSINCE 1)\n",
        "t6 UID STORE 2 (UNCHANGEDSINCE 1) +FLAGS (x)\n",
        "t7 SEARCH MODSEQ 1\n",
        "t8 SELECT A (CONDSTORE)\n",
        "t9 STATUS INBOX (HIGHESTMODSEQ)\n",
        "t10 SELECT INBOX\n",
        "t11 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\n",
        "t12 STORE 5 +FLAGS.SILENT (\\Deleted)\n",
        "t13 EXPUNGE\n",
        "t14 SELECT INBOX (QRESYNC (1700000001 1 1:10))\n",
        "t15 FETCH 1 (FLAGS) (CHANGEDSINCE 1)\n",
    ],
    "status": [
        "t1 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\n",
        "t2 STATUS A.B (MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE)\n",
        "t3 STATUS Empty (MESSAGES UIDNEXT)\n",
        "t4 STATUS Nope (MESSAGES)\n",
        "t5 STATUS INBOX (BOGUS)\n",
        "t6 STATUS INBOX ()\n",
        "t7 STATUS INBOX\n",
        "t8 SELECT INBOX\n",
        "t9 STATUS INBOX (MESSAGES RECENT)\n",
        "t10 STATUS A (MESSAGES RECENT UNSEEN)\n",
    ],
    "list": [
        't1 LIST "" ""\n',
        't2 LIST "" *\n',
        't3 LIST "" %\n',
        "t4 LIST A %\n",
        't5 LIST "A." *\n',
        't6 LIST "" A*\n',
        't7 LIST "" a*\n',
        't8 LIST "" inbox\n',
        't9 LSUB "" *\n',
        't10 LSUB "" %\n',
        't11 LIST "" Nope\n',
        't12 LIST "" "%.%"\n',
        't13 LIST "" "*B"\n',
        "t14 LIST\n",
    ],
    "list_extended": [
        't1 LIST (SUBSCRIBED) "" *\n',
        't2 LIST (SUBSCRIBED RECURSIVEMATCH) "" %\n',
        't3 LIST "" * RETURN (CHILDREN)\n',
        't4 LIST "" * RETURN (SUBSCRIBED)\n',
        't5 LIST (SPECIAL-USE) "" *\n',
        't6 LIST "" * RETURN (SPECIAL-USE)\n',
        't7 LIST "" % RETURN (STATUS (MESSAGES UIDNEXT UNSEEN))\n',
        't8 LIST "" (INBOX A) \n',
        't9 LIST (BOGUS) "" *\n',
        't10 LIST "" * RETURN (BOGUS)\n',
        't11 LIST (RECURSIVEMATCH) "" *\n',
        't12 LIST "" * RETURN ()\n',
    ],
    "create_delete_rename": [
        "t1 CREATE New\n",
        "t2 CREATE New\n",
        "t3 CREATE INBOX\n",
        "t4 CREATE Par.Child.\n",
        't5 LIST "" Par*\n',
        "t6 DELETE Par\n",
        "t7 DELETE A\n",
        "t8 DELETE INBOX\n",
        "t9 DELETE Nope\n",
        "t10 RENAME New Newer\n",
        "t11 RENAME Nope Other\n",
        "t12 RENAME Newer A\n",
        "t13 RENAME A Moved\n",
        't14 LIST "" *\n',
        't15 CREATE ""\n',
        "t16 CREATE a%b\n",
        "t17 CREATE a*b\n",
        "t18 CREATE x..y\n",
        "t19 CREATE .x\n",
        "t22 RENAME INBOX Old\n",
        "t23 STATUS Old (MESSAGES)\n",
        "t24 STATUS INBOX (MESSAGES)\n",
        "t25 SUBSCRIBE Nope\n",
        "t26 UNSUBSCRIBE Gone\n",
        't27 LSUB "" *\n',
        "t28 RENAME Moved.B Moved.B.C\n",
        "t29 RENAME Moved Moved.X\n",
        "t30 DELETE Moved.\n",
        "t31 CREATE Trash\n",
        "t32 CREATE inbox.sub\n",
        't33 LIST "" *\n',
        "t20 SELECT Empty\n",
        "t21 DELETE Empty\n",
    ],
    "append": [
        't1 APPEND INBOX (\\Seen Urgent) "27-Nov-2026 10:00:00 +0100" {11}\n',
        Literal(b"hello world\r\n"),
        "t2 APPEND Nope {5}\n",
        Literal(b"hello\r\n"),
        "t3 APPEND INBOX {0}\n",
        Literal(b"\r\n"),
        "t4 APPEND INBOX (\\Recent) {5}\n",
        Literal(b"hello\r\n"),
        't5 APPEND INBOX "bad date" {5}\n',
        Literal(b"hello\r\n"),
        "t6 APPEND INBOX {5+}\nhello\n",
        "t7 SELECT INBOX\n",
        "t8 FETCH 7:* (FLAGS RFC822.SIZE)\n",
        "t9 APPEND INBOX (\\Flagged) {5}\n",
        Literal(b"abcde\r\n"),
        "t10 STATUS INBOX (MESSAGES UIDNEXT)\n",
        "t11 APPEND A (\\Seen) {5}\n",
        Literal(b"abcde\r\n"),
        "t12 APPEND Sent () {5+}\nabcde\n",
        "t13 APPEND INBOX {5+}\nabcde APPEND Sent {5+}\nfghij\n",
    ],
    "fetch": [
        "t1 EXAMINE INBOX\n",
        "t2 FETCH 1 (FLAGS UID RFC822.SIZE INTERNALDATE)\n",
        "t3 FETCH 1:2 ENVELOPE\n",
        "t4 FETCH 2 BODYSTRUCTURE\n",
        "t5 FETCH 2 BODY\n",
        "t6 FETCH 2 (BODY[1.2.HEADER] BODY[1.2.TEXT] BODY[1.1.MIME] BODY[2])\n",
        "t7 FETCH 1 BODY.PEEK[]<0.20>\n",
        "t8 FETCH 1 (BODY.PEEK[]<10.5000> BODY.PEEK[TEXT]<2.3>)\n",
        "t9 FETCH 1 BODY.PEEK[HEADER.FIELDS (From Subject X-None)]\n",
        "t10 FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (From Subject)]\n",
        "t11 FETCH 1 (RFC822.HEADER RFC822.TEXT)\n",
        "t12 FETCH 2 (BINARY.PEEK[1.1] BINARY.SIZE[1.1] BINARY.PEEK[2])\n",
        "t13 FETCH 3 (FLAGS)\n",
        "t14 FETCH 1:* FAST\n",
        "t15 FETCH 1:* ALL\n",
        "t16 FETCH 4 FULL\n",
        "t17 UID FETCH 100:200 FLAGS\n",
        "t18 UID FETCH 6:* UID\n",
        "t19 FETCH 99 FLAGS\n",
        "t20 FETCH 1 BOGUS\n",
        "t21 FETCH 1 (BODY[3])\n",
        "t22 FETCH 2 BODY.PEEK[1.2]\n",
        "t23 FETCH 1 RFC822\n",
        "t24 FETCH 0 FLAGS\n",
        "t25 FETCH 2 (BODY.PEEK[HEADER]<0.10> BODY.PEEK[1.MIME])\n",
        "t26 FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[TEXT] UID)\n",
        "t27 UID FETCH 1:2 (FLAGS UID)\n",
        "t28 FETCH 2 (BODY.PEEK[1.2.HEADER.FIELDS (SUBJECT)] BODY.PEEK[1.2.1] BODY[TEXT]<0.4>)\n",
        "t29 FETCH 5 (RFC822.SIZE BODY.PEEK[HEADER.FIELDS.NOT (Date Message-ID)]<5.20>)\n",
    ],
    "fetch_empty": [
        "t1 SELECT Empty\n",
        "t2 FETCH * FLAGS\n",
        "t3 FETCH 1:* FLAGS\n",
        "t4 UID FETCH 1:* FLAGS\n",
        "t5 SEARCH ALL\n",
        "t6 UID SEARCH ALL\n",
        "t7 STORE 1 +FLAGS (x)\n",
    ],
    "store": [
        "t1 SELECT INBOX\n",
        "t2 STORE 1 +FLAGS (\\Flagged Urgent)\n",
        "t3 STORE 1 -FLAGS (\\Seen)\n",
        "t4 STORE 1:2 FLAGS.SILENT (\\Answered)\n",
        "t5 FETCH 1:2 FLAGS\n",
        "t6 STORE 3 +FLAGS (\\Recent)\n",
        "t7 STORE 3 +FLAGS (NewKeyword $Label1)\n",
        "t8 UID STORE 5:* +FLAGS.SILENT (\\Deleted)\n",
        "t9 STORE 3 FLAGS ()\n",
        "t10 STORE 3 +FLAGS (\\Bogus)\n",
        "t11 STORE 3 XFLAGS (x)\n",
        "t12 FETCH 1:* FLAGS\n",
    ],
    "copy_move_expunge": [
        "t1 SELECT INBOX\n",
        "t2 COPY 1:2 A\n",
        "t3 COPY 1 Nope\n",
        "t4 UID COPY 3 A.B\n",
        "t5 MOVE 4 A\n",
        "t6 UID MOVE 5 Empty\n",
        "t7 STORE 1 +FLAGS.SILENT (\\Deleted)\n",
        "t8 UID EXPUNGE 2\n",
        "t9 EXPUNGE\n",
        "t10 FETCH 1:* (UID FLAGS)\n",
        "t11 STATUS A (MESSAGES UIDNEXT)\n",
        "t12 COPY 99 A\n",
        "t13 MOVE 1 INBOX\n",
    ],
    "search": [
        "t1 EXAMINE INBOX\n",
        "t2 SEARCH ALL\n",
        "t3 SEARCH SEEN\n",
        "t4 SEARCH UNSEEN FLAGGED\n",
        "t5 SEARCH OR ANSWERED DRAFT\n",
        "t6 SEARCH NOT SEEN\n",
        "t7 SEARCH KEYWORD Urgent\n",
        "t8 SEARCH UNKEYWORD $Forwarded\n",
        "t9 SEARCH FROM alice\n",
        "t10 SEARCH SUBJECT plain\n",
        "t11 SEARCH BODY world\n",
        "t12 SEARCH TEXT caf\n",
        "t13 SEARCH HEADER X-Priority 1\n",
        't14 SEARCH HEADER X-Priority ""\n',
        "t15 SEARCH LARGER 400\n",
        "t16 SEARCH SMALLER 300\n",
        "t17 SEARCH SINCE 19-Nov-2026\n",
        "t18 SEARCH BEFORE 19-Nov-2026\n",
        "t19 SEARCH ON 18-Nov-2026\n",
        "t20 SEARCH SENTSINCE 28-Nov-2026\n",
        "t21 SEARCH SENTBEFORE 28-Nov-2026 SENTON 27-Nov-2026\n",
        "t22 SEARCH 2:4 NOT 3\n",
        "t23 SEARCH UID 3:*\n",
        't24 SEARCH CHARSET UTF-8 SUBJECT "résumé"\n',
        "t41 SEARCH CHARSET UTF-8 SUBJECT résumé\n",
        "t25 SEARCH CHARSET BOGUS ALL\n",
        "t26 SEARCH (OR SEEN FLAGGED) NEW\n",
        "t27 SEARCH RETURN (MIN MAX COUNT ALL) ALL\n",
        "t28 SEARCH RETURN () SEEN\n",
        "t29 UID SEARCH RETURN (COUNT) UNSEEN\n",
        "t30 SEARCH RETURN (MIN) KEYWORD Nothing\n",
        "t31 SEARCH BOGUS\n",
        "t32 SEARCH TO bob CC team\n",
        "t33 SEARCH BCC x\n",
        "t34 SEARCH OLD RECENT\n",
        "t35 SEARCH DELETED UNDELETED\n",
        "t36 SEARCH $\n",
        "t37 SEARCH SAVE ALL\n",
        "t38 SEARCH RETURN (SAVE) SEEN\n",
        "t39 FETCH $ UID\n",
        "t40 SEARCH CHARSET UTF-8 TEXT {8}\n",
        Literal("résumé\r\n".encode()),
        "t42 SEARCH 1,3:4 OR FROM bob NOT SUBJECT plain\n",
        "t43 UID SEARCH UID 1:3 UNSEEN\n",
        "t44 SEARCH NOT NOT SEEN\n",
        "t45 SEARCH HEADER Message-ID multi\n",
        't46 SEARCH SUBJECT ""\n',
        "t47 SEARCH LARGER 1000000 OR SMALLER 1 ALL\n",
        "t48 SEARCH * \n",
        "t49 SEARCH SENTON 31-Feb-2026\n",
        "t50 SEARCH UNANSWERED UNFLAGGED UNDRAFT\n",
        "t51 SEARCH YOUNGER 1\n",
        "t52 SEARCH OLDER 1\n",
        "t53 SEARCH NEW\n",
        "t54 SEARCH UNDELETED HEADER Subject plain\n",
        "t55 UID SEARCH RETURN (ALL) 1:*\n",
        "t56 SEARCH RETURN (COUNT) CHARSET UTF-8 ALL\n",
        "t57 SEARCH CHARSET ISO-8859-1 SUBJECT {1}\n",
        Literal(b"\xe9\r\n"),
        't58 SEARCH FROM "Ren\xc3\xa9"\n',
    ],
    "sort_thread": [
        "t1 EXAMINE INBOX\n",
        "t2 SORT (SUBJECT) UTF-8 ALL\n",
        "t3 SORT (REVERSE DATE) UTF-8 ALL\n",
        "t4 SORT (ARRIVAL SIZE) UTF-8 SEEN\n",
        "t5 SORT (FROM TO CC) UTF-8 ALL\n",
        "t6 UID SORT (REVERSE ARRIVAL) US-ASCII ALL\n",
        "t7 SORT (BOGUS) UTF-8 ALL\n",
        "t8 SORT (DATE) BOGUS ALL\n",
        "t9 THREAD REFERENCES UTF-8 ALL\n",
        "t10 THREAD ORDEREDSUBJECT UTF-8 ALL\n",
        "t11 UID THREAD REFERENCES UTF-8 ALL\n",
        "t12 THREAD BOGUS UTF-8 ALL\n",
        "t13 SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL\n",
        "t14 THREAD REFS UTF-8 ALL\n",
        "t15 SORT (DISPLAYFROM DISPLAYTO) UTF-8 ALL\n",
        "t16 SORT (SUBJECT) UTF-8 SUBJECT plain\n",
    ],
    "session": [
        "t1 ENABLE CONDSTORE\n",
        "t2 ENABLE BOGUS\n",
        "t3 NAMESPACE\n",
        "t4 NOOP\n",
        "t5 CHECK\n",
        "t6 FETCH 1 FLAGS\n",
        "t7 EXPUNGE\n",
        "t8 BOGUS\n",
        "t9 LOGIN a b\n",
        "t10 SELECT INBOX\n",
        "t11 IDLE\n",
        "DONE\n",
        "t12 CHECK\n",
        "t13 NOOP extra\n",
        "t14 FETCH\n",
        "t15 STORE 1\n",
        "t16 SEARCH\n",
        't18 ID ("name" "test")\n',
        "t19 NOOP\nt20 CHECK\nt21 FETCH 1 UID\n",
        "t17 LOGOUT\n",
    ],
    "errors": [
        "t1 select inbox\n",
        "t2 fetch 1 (flags)\n",
        "t3 uid bogus 1\n",
        "t4 FETCH 1:x FLAGS\n",
        "t5 FETCH 1 (FLAGS\n",
        "t6 COPY\n",
        "t7 CREATE\n",
        "t8 AUTHENTICATE PLAIN\n",
        "t9 STARTTLS\n",
        "t10 ENABLE\n",
        "* NOOP\n",
        "t11 UID FETCH 1 (BODY[HEADER.FIELDS ()])\n",
        't12 APPEND INBOX (\\Seen) "31-Feb-2026 10:00:00 +0000" {1}\n',
    ],
}


@dataclass(frozen=True)
class Allowance:
    """Lines on which the transcripts of ``scenario`` may differ, and why.

    ``ours`` / ``theirs`` are regular expressions for whole vmail / Dovecot lines (``None``:
    the other server sends nothing there). A differing block passes when every line of it
    matches an allowance of the scenario on its side.
    """

    scenario: str
    ours: str | None
    theirs: str | None
    why: str


# Differences that are legitimate, not worth matching, or whose fix is waiting for a change
# in a file this test's author does not own (the reason names it). An allowance that no
# longer matches anything fails the test, so the list can only shrink.
ALLOWED: list[Allowance] = [
    Allowance(
        "append",
        r"\* (FLAGS|OK \[PERMANENTFLAGS) .*\$Forwarded Urgent.*",
        r".*Urgent \$Forwarded.*",
        "keyword order: vmail follows dovecot-keywords; Dovecot's new index learns them in "
        "the order of first use (here an APPEND before the first SELECT)",
    ),
    Allowance(
        "append",
        r"\* [89] RECENT",
        r"\* [23] RECENT",
        "\\Recent of messages delivered before the first SELECT: Dovecot's APPEND syncs "
        "them out of \\Recent, vmail's index keeps them (mailstore/folder.py)",
    ),
    Allowance(
        "search",
        None,
        r"\* (FLAGS|OK \[PERMANENTFLAGS) .*",
        "Dovecot defines a keyword a read-only SEARCH merely names (a Dovecot quirk)",
    ),
    Allowance(
        "session",
        r'\* ID \("name" "vmail" "version" ".*"\)',
        r'\* ID \("name" "Dovecot"\)',
        "the server's name",
    ),
]


@dataclass
class Servers:
    vmail: ServerProcess
    dovecot: Dovecot
    owner: tuple[int, int] | None


def _owner() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def _user(name: str) -> str:
    return f"{name.replace('_', '-')}@{DOMAIN}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """``vmail serve`` and a private Dovecot, with one account per scenario."""
    config_dir = make_config(tmp_path_factory.mktemp("imapdiff"), {"mail_autocreate_folders": ""})
    users = {_user(name): PASSWORD for name in SCENARIOS}
    dovecot_root = tmp_path_factory.mktemp("dovecot-mail")
    owner = _owner()
    if owner:
        os.chown(dovecot_root, *owner)
    for server in running(config_dir):
        for user in users:
            server.add_mailbox(user)
        with Dovecot(dovecot_root, users) as reference:
            yield Servers(server, reference, owner)


_NEW_VALIDITY = re.compile(r"(UIDVALIDITY |APPENDUID |COPYUID )(\d+)")
_MODSEQ = re.compile(r"((?:HIGHEST)?MODSEQ \(?)\d+")
_TAGGED_DOT = re.compile(r"^((?:t\d+ (?:OK|NO|BAD)|\* BAD) .*)\.$")
_LISTED = re.compile(r"\* (LIST|LSUB|STATUS) ")
_CAPABILITY = re.compile(r"(\* CAPABILITY|\[CAPABILITY) [^\]]*")


def _normalise(line: str) -> str:
    """What must differ: UIDVALIDITYs the servers chose themselves, capability lists,
    MODSEQ values (vmail's are time-based, Dovecot's count from 1), the final ``.`` of a
    tagged line (Dovecot's ends its timing, vmail puts one after most texts)."""

    def validity(match: re.Match[str]) -> str:
        value = int(match.group(2))
        return match.group(0) if value in UIDVALIDITY.values() else match.group(1) + "<new>"

    line = _NEW_VALIDITY.sub(validity, line)
    line = _MODSEQ.sub(r"\1<modseq>", line)
    line = _TAGGED_DOT.sub(r"\1", line)
    return _CAPABILITY.sub(r"\1 <capabilities>", line)


def _sort_listings(lines: list[str]) -> list[str]:
    """Each run of LIST/LSUB replies sorted by name: Dovecot lists in directory order.

    A ``* STATUS`` reply (LIST-STATUS) stays with the LIST before it.
    """
    out: list[str] = []
    run: list[list[str]] = []
    for line in [*lines, ""]:
        match = _LISTED.match(line)
        if match and match.group(1) == "STATUS" and run:
            run[-1].append(line)
            continue
        if match and match.group(1) != "STATUS":
            run.append([line])
            continue
        out += [
            item for group in sorted(run, key=lambda g: g[0].split('"." ', 1)[-1]) for item in group
        ]
        run = []
        out.append(line)
    return out[:-1]


def _blocks(ours: list[str], theirs: list[str]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The differing blocks of the two transcripts: (vmail lines, Dovecot lines)."""
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    return [
        (tuple(ours[a1:a2]), tuple(theirs[b1:b2]))
        for op, a1, a2, b1, b2 in matcher.get_opcodes()
        if op != "equal"
    ]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_transcript(servers: Servers, name: str) -> None:
    user = _user(name)
    local, _, domain = user.partition("@")
    owner = servers.owner
    install_tree(servers.vmail.maildir(user), owner)
    install_tree(servers.dovecot.mail_root / domain / local, owner)
    script = [LOGIN.format(user=user), *SCENARIOS[name]]
    vmail_root = servers.vmail.maildir(user)
    dovecot_root = servers.dovecot.mail_root / domain / local
    ours = transcript(servers.vmail.port("imap"), script, lambda d: d.into(vmail_root, owner))
    theirs = transcript(servers.dovecot.imap_port, script, lambda d: d.into(dovecot_root, owner))
    ours = _sort_listings([_normalise(x) for x in ours])
    theirs = _sort_listings([_normalise(x) for x in theirs])
    print("vmail:", *ours, "", "dovecot:", *theirs, sep="\n")  # shown when the test fails
    allowances = [a for a in ALLOWED if a.scenario == name]
    blocks = _blocks(ours, theirs)
    used: set[Allowance] = set()
    diff = []
    for mine, reference in blocks:
        found = [_allowance(allowances, line, mine=True) for line in mine]
        found += [_allowance(allowances, line, mine=False) for line in reference]
        if all(found):
            used.update(a for a in found if a is not None)
            continue
        lines = [*(f"- vmail:   {x}" for x in mine), *(f"+ dovecot: {x}" for x in reference)]
        diff.append("\n".join(lines))
    assert not diff, f"{name}: vmail and Dovecot differ\n" + "\n\n".join(diff)
    unused = [a.why for a in allowances if a not in used]
    assert not unused, f"{name}: allowed differences no longer seen (remove them): {unused}"


def _allowance(allowances: list[Allowance], line: str, *, mine: bool) -> Allowance | None:
    for allowance in allowances:
        pattern = allowance.ours if mine else allowance.theirs
        if pattern is not None and re.fullmatch(pattern, line, re.DOTALL):
            return allowance
    return None
