"""parse_command: every command, its arguments, and each malformed form (BAD)."""

from __future__ import annotations

import datetime
import time

import pytest

from vmail.protocol.imap.framing import CommandLine, Literal
from vmail.protocol.imap.parser import parse_command
from vmail.protocol.imap.sequence import SequenceSet
from vmail.protocol.imap.types import (
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Compress,
    Copy,
    Create,
    Delete,
    Enable,
    Expunge,
    Fetch,
    GetQuota,
    GetQuotaRoot,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    ParseError,
    QResync,
    Rename,
    SearchAll,
    SearchFlag,
    Select,
    SetQuota,
    Sort,
    StartTLS,
    Status,
    Store,
    Subscribe,
    Thread,
    Unselect,
    Unsubscribe,
)

from .parsing import bad, ok

SEQ1 = SequenceSet(((1, 1),))
CET = datetime.timezone(datetime.timedelta(hours=1))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"a1 CAPABILITY", Capability("a1")),
        (b"a1 noop", Noop("a1")),
        (b"a1 LOGOUT", Logout("a1")),
        (b"a1 STARTTLS", StartTLS("a1")),
        (b"a1 CHECK", Check("a1")),
        (b"a1 CLOSE", Close("a1")),
        (b"a1 UNSELECT", Unselect("a1")),
        (b"a1 IDLE", Idle("a1")),
        (b"a1 NAMESPACE", Namespace("a1")),
        (b"a1 EXPUNGE", Expunge("a1")),
        (b"a1 UID EXPUNGE 1:3", Expunge("a1", True, SequenceSet(((1, 3),)))),
        (b"a1 AUTHENTICATE plain", Authenticate("a1", "PLAIN")),
        (
            b"a1 AUTHENTICATE PLAIN AGZyZWQAcGFzcw==",
            Authenticate("a1", "PLAIN", "AGZyZWQAcGFzcw=="),
        ),
        (b"a1 AUTHENTICATE PLAIN =", Authenticate("a1", "PLAIN", "=")),
        (b'a1 LOGIN fred "p a\\"ss"', Login("a1", "fred", 'p a"ss')),
        (b"a1 LOGIN {4}\r\nfred {3+}\r\n\xc3\xa9x", Login("a1", "fred", "\xe9x")),
        (b"a1 SELECT inbox", Select("a1", "INBOX")),
        (b"a1 SELECT InBoX.foo", Select("a1", "InBoX.foo")),
        (b'a1 EXAMINE "Sent Items"', Select("a1", "Sent Items", readonly=True)),
        (b"a1 SELECT x (CONDSTORE)", Select("a1", "x", condstore=True)),
        (b"a1 SELECT x (QRESYNC (1 2))", Select("a1", "x", qresync=QResync(1, 2))),
        (
            b"a1 SELECT x (QRESYNC (1 2 1:5))",
            Select("a1", "x", qresync=QResync(1, 2, SequenceSet(((1, 5),)))),
        ),
        (
            b"a1 SELECT x (QRESYNC (1 2 (1 5)))",
            Select("a1", "x", qresync=QResync(1, 2, None, (SEQ1, SequenceSet(((5, 5),))))),
        ),
        (b"a1 CREATE a.b", Create("a1", "a.b")),
        (b"a1 CREATE Drafts (USE (\\drafts))", Create("a1", "Drafts", ("\\Drafts",))),
        (b"a1 CREATE x (USE (\\junk \\Bogus))", Create("a1", "x", ("\\Junk", "\\Bogus"))),
        (b"a1 DELETE x", Delete("a1", "x")),
        (b"a1 RENAME x y", Rename("a1", "x", "y")),
        (b"a1 SUBSCRIBE x", Subscribe("a1", "x")),
        (b"a1 UNSUBSCRIBE &AOk-t&AOk-", Unsubscribe("a1", "&AOk-t&AOk-")),
        (b'a1 LIST "" *', List("a1", "", ("*",))),
        (b"a1 LIST ~/Mail/ %.x]", List("a1", "~/Mail/", ("%.x]",))),
        (b'a1 LSUB "" "*"', Lsub("a1", "", "*")),
        (
            b"a1 STATUS x (MESSAGES recent UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)",
            Status(
                "a1",
                "x",
                ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE"),
            ),
        ),
        (b"a1 COPY 1 x", Copy("a1", SEQ1, "x")),
        (b"a1 UID COPY 1 inbox", Copy("a1", SEQ1, "INBOX", uid=True)),
        (b"a1 MOVE 1 x", Move("a1", SEQ1, "x")),
        (b"a1 UID MOVE 1 x", Move("a1", SEQ1, "x", uid=True)),
        (b"a1 ENABLE condstore QRESYNC", Enable("a1", ("CONDSTORE", "QRESYNC"))),
        (b"a1 ID NIL", Id("a1", None)),
        (b"a1 ID ()", Id("a1", ())),
        (b'a1 ID ("name" "Mutt" "os" NIL)', Id("a1", (("name", "Mutt"), ("os", None)))),
        (b'a1 GETQUOTA ""', GetQuota("a1", "")),
        (b"a1 GETQUOTAROOT inbox", GetQuotaRoot("a1", "INBOX")),
        (
            b'a1 SETQUOTA "" (STORAGE 512 message 1000)',
            SetQuota("a1", "", (("STORAGE", 512), ("MESSAGE", 1000))),
        ),
        (b"a1 SETQUOTA x ()", SetQuota("a1", "x", ())),
        (b"a1 COMPRESS deflate", Compress("a1", "DEFLATE")),
        (b"a1 SORT (DATE) UTF-8 ALL", Sort("a1", (("DATE", False),), "UTF-8", SearchAll())),
        (
            b"a1 UID SORT (REVERSE ARRIVAL cc FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO) US-ASCII SEEN",
            Sort(
                "a1",
                (
                    ("ARRIVAL", True),
                    ("CC", False),
                    ("FROM", False),
                    ("SIZE", False),
                    ("SUBJECT", False),
                    ("TO", False),
                    ("DISPLAYFROM", False),
                    ("DISPLAYTO", False),
                ),
                "US-ASCII",
                SearchFlag("\\Seen"),
                uid=True,
            ),
        ),
        (
            b"a1 SORT RETURN (COUNT) (DATE) UTF-8 ALL",
            Sort("a1", (("DATE", False),), "UTF-8", SearchAll(), returns=("COUNT",)),
        ),
        (b"a1 THREAD REFERENCES UTF-8 ALL", Thread("a1", "REFERENCES", "UTF-8", SearchAll())),
        (
            b"a1 UID THREAD orderedsubject US-ASCII SEEN",
            Thread("a1", "ORDEREDSUBJECT", "US-ASCII", SearchFlag("\\Seen"), uid=True),
        ),
        (
            b"a1 STORE 1 FLAGS (\\seen \\ANSWERED \\Flagged \\Deleted \\Draft $Label1)",
            Store(
                "a1",
                SEQ1,
                "set",
                ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Label1"),
            ),
        ),
        (b"a1 STORE 1 +FLAGS \\Seen foo", Store("a1", SEQ1, "add", ("\\Seen", "foo"))),
        (
            b"a1 UID STORE 1 -flags.silent ()",
            Store("a1", SEQ1, "remove", (), silent=True, uid=True),
        ),
        (
            b"a1 STORE 1 (UNCHANGEDSINCE 0) FLAGS.SILENT (a)",
            Store("a1", SEQ1, "set", ("a",), silent=True, unchangedsince=0),
        ),
        (b"]tag] NOOP", Noop("]tag]")),
    ],
)
def test_commands(line: bytes, expected: Command) -> None:
    assert ok(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        b"a1",
        b"a1 ",
        b"a1 FOO",
        b"a1  NOOP",
        b"a1 UID NOOP",
        b"a1 UID",
        b"a1 UID FETCH",
        b"a1 LOGIN",
        b"a1 LOGIN fred",
        b"a1 LOGIN fred pass extra",
        b'a1 LOGIN "a\x00b" c',
        b"a1 LOGIN ~{1+}\r\nx y",
        b"a1 LOGIN {2+}\r\n\xff\xfe y",
        b"a1 AUTHENTICATE",
        b"a1 AUTHENTICATE PLAIN a*b",
        b"a1 AUTHENTICATE PLAIN a b",
        b"a1 SELECT",
        b"a1 SELECT x ()",
        b"a1 SELECT x (FOO)",
        b"a1 SELECT x (CONDSTORE",
        b"a1 SELECT x (QRESYNC (0 1))",
        b"a1 SELECT x (QRESYNC (1 0))",
        b"a1 SELECT x (QRESYNC (1 2 1:*))",
        b"a1 SELECT x (QRESYNC (1 2 1 (1)))",
        b"a1 SELECT x (QRESYNC (1))",
        b"a1 SELECT \xc3\xa9",
        b"a1 CREATE",
        b"a1 CREATE x (FOO (\\Drafts))",
        b"a1 CREATE x y",
        b"a1 DELETE",
        b"a1 DELETE x y",
        b"a1 RENAME x",
        b"a1 SUBSCRIBE",
        b"a1 UNSUBSCRIBE x y",
        b"a1 LIST",
        b'a1 LIST ""',
        b'a1 LIST (FOO) "" x',
        b'a1 LIST (RECURSIVEMATCH) "" x',
        b'a1 LIST (REMOTE RECURSIVEMATCH) "" x',
        b'a1 LIST "" x RETURN (FOO)',
        b'a1 LIST "" x FOO ()',
        b'a1 LIST "" x RETURN (STATUS ())',
        b"a1 LSUB x",
        b"a1 LSUB x y z",
        b"a1 STATUS x",
        b"a1 STATUS x ()",
        b"a1 STATUS x (FOO)",
        b"a1 STATUS x MESSAGES",
        b"a1 EXPUNGE 1",
        b"a1 UID EXPUNGE",
        b"a1 COPY 1",
        b"a1 COPY x y",
        b"a1 MOVE 1",
        b"a1 UID MOVE 0 x",
        b"a1 STORE 1 BOGUS (a)",
        b"a1 STORE 1 FLAGS (\\Recent)",
        b"a1 STORE 1 FLAGS \\*",
        b"a1 STORE 1 *FLAGS (a)",
        b"a1 STORE 1 (FOO 1) FLAGS (a)",
        b"a1 STORE 1 FLAGS (a",
        b"a1 STORE 1 FLAGS (\\Seen\\Draft)",
        b"a1 STORE 1 FLAGS (a) b",
        b"a1 STORE 1 FLAGS a  b",
        b"a1 SORT DATE UTF-8 ALL",
        b"a1 SORT () UTF-8 ALL",
        b"a1 SORT (FOO) UTF-8 ALL",
        b"a1 SORT (REVERSE) UTF-8 ALL",
        b"a1 THREAD FOO UTF-8 ALL",
        b"a1 SELECT x (QRESYNC (1 2 1 (1:* 1)))",
        b"a1 SELECT x (QRESYNC (1 2 ($ 1)))",
        b"a1 SORT (DATE) UTF-8",
        b"a1 THREAD REFERENCES",
        b"a1 THREAD REFERENCES UTF-8",
        b"a1 ID",
        b"a1 ID x",
        b'a1 ID ("a")',
        b'a1 ID ("a" "b"',
        b"a1 ID (a b)",
        b'a1 ID ("' + b"k" * 31 + b'" NIL)',
        b'a1 ID ("k" "' + b"v" * 1025 + b'")',
        b"a1 ID (" + b" ".join([b'"k" NIL'] * 31) + b")",
        b"a1 GETQUOTA",
        b"a1 GETQUOTAROOT",
        b"a1 SETQUOTA x",
        b"a1 SETQUOTA x (STORAGE)",
        b"a1 SETQUOTA x (STORAGE -1)",
        b"a1 SETQUOTA x (STORAGE 9223372036854775808)",
        b"a1 COMPRESS",
        b"a1 COMPRESS DEFLATE x",
        b"a1 CAPABILITY {1+}\r\nx",
    ],
)
def test_bad_commands(line: bytes) -> None:
    bad(line)


@pytest.mark.parametrize(
    "first", [b"", b" ", b"+ NOOP", b"a(b NOOP", b"a*b NOOP", b"a\x01 NOOP", b"\xc3\xa9 NOOP"]
)
def test_unreadable_tag_gives_star(first: bytes) -> None:
    result = parse_command(CommandLine([first]))
    assert isinstance(result, ParseError)
    assert result.tag == "*"


def test_literal_where_command_name_expected() -> None:
    result = parse_command(CommandLine([b"a ", Literal(b"NOOP"), b""]))
    assert result == ParseError("a", "expected a keyword")


def test_nul_in_quoted_string_is_bad() -> None:
    assert bad(b'a SELECT "in\x00box"').text == "NUL in quoted string"
    assert bad(b"a SELECT {3+}\r\na\x00b").text == "NUL in literal"


def test_fetch_parse_is_fast() -> None:
    line = CommandLine([b"a1 UID FETCH 1:* (FLAGS)"])
    many = CommandLine(
        [
            b"a2 UID FETCH "
            + b",".join(b"%d:%d" % (i * 10, i * 10 + 5) for i in range(1, 101))
            + b" (FLAGS)"
        ]
    )
    assert isinstance(parse_command(line), Fetch)
    assert isinstance(parse_command(many), Fetch)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        parse_command(line)
    simple = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for _ in range(n):
        parse_command(many)
    hundred = (time.perf_counter() - start) / n
    assert simple < 50e-6, simple  # a few microseconds; generous for a loaded machine
    assert hundred < 500e-6, hundred


def test_noop_ignores_its_arguments() -> None:
    """Dovecot answers ``OK`` to NOOP whatever follows it, even an unclosed list."""
    assert ok(b"a1 NOOP extra") == Noop("a1")
    assert ok(b'a1 NOOP (a b) "c"') == Noop("a1")
    assert ok(b"a1 NOOP (a") == Noop("a1")


def test_enable_without_capabilities() -> None:
    assert ok(b"a1 ENABLE") == Enable("a1", ())
    assert ok(b"a1 ENABLE  ") == Enable("a1", ())
    assert ok(b"a1 ENABLE CONDSTORE ") == Enable("a1", ("CONDSTORE",))


def test_trailing_space_after_optional_arguments() -> None:
    cmd = ok(b"a1 FETCH 1 FLAGS ")
    assert isinstance(cmd, Fetch)
    assert cmd.changedsince is None
    assert ok(b"a1 SELECT INBOX ") == Select("a1", "INBOX")
    assert bad(b"a1 FETCH 1 FLAGS x").text == "expected '(' before FETCH modifiers"


def test_unclosed_fetch_lists() -> None:
    for data in (
        b"a1 FETCH 1 (FLAGS",
        b"a1 FETCH 1 (FLAGS UID",
        b"a1 FETCH 1 (FLAGS ",
        b"a1 FETCH 1 BODY[HEADER.FIELDS (A]",
        b"a1 FETCH 1 FLAGS (CHANGEDSINCE 1",
        b"a1 STORE 1 FLAGS (\\Seen",
    ):
        assert bad(data).text == "Missing ')'", data


def test_store_without_flags_sets_none() -> None:
    """Dovecot answers ``OK`` to ``STORE 1 FLAGS``: an empty flag list."""
    cmd = ok(b"a1 STORE 1 FLAGS")
    assert isinstance(cmd, Store)
    assert (cmd.mode, cmd.flags) == ("set", ())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"a1 FETCH 1:x FLAGS", "Invalid messageset"),
        (b"a1 FETCH x FLAGS", "Invalid messageset"),
        (b"a1 COPY 0 A", "Invalid messageset"),
        (b"a1 UID EXPUNGE x", "Invalid uidset"),
        (b"a1 SEARCH UID x", "Invalid UID messageset"),
        (b"a1 SEARCH LARGER x", "Invalid search size parameter"),
        (b"a1 SEARCH MODSEQ x", "Invalid MODSEQ value"),
        (b"a1 SEARCH SINCE x", "Invalid search date parameter"),
        (b'a1 SEARCH "unterminated', "Missing '\"'"),
        (b"a1 SEARCH 1 )", "Unexpected ')'"),
        (b"a1 FETCH 1 FLAGS)", "Unexpected ')'"),
        (b"a1 FETCH 1 BODY[BOGUS]", "Invalid BODY[..] section"),
        (b"a1 FETCH 1 BODY[1.]", "Invalid BODY[..] section"),
        (b"a1 FETCH 1 (FLAGS) (CHANGEDSINCE x)", "Invalid CHANGEDSINCE modseq"),
        (b"a1 FETCH 1 (FLAGS) (BOGUS 1)", "Unknown FETCH modifier"),
        (b"a1 SORT DATE UTF-8 ALL", "Invalid sort argument"),
        (b'a1 LIST ""', "Invalid pattern"),
    ],
)
def test_dovecot_reasons(data: bytes, reason: str) -> None:
    """Errors worded as Dovecot 2.3 words them (the server prefixes the command name)."""
    assert bad(data).text == reason
