"""SEARCH evaluation (every key, pruning order, pending expunges) and SEARCH/ESEARCH lines."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.unit.servers.imapd.folder_data import MemoryFolder
from vmail.mailstore.folder import Folder
from vmail.mailstore.message import summarize
from vmail.mailstore.records import SyncResult
from vmail.protocol.imap.framing import CommandLine
from vmail.protocol.imap.parser import parse_command
from vmail.protocol.imap.types import Search, SearchKey, SearchText
from vmail.servers.imapd.search import (
    SearchError,
    compress_set,
    esearch_response,
    evaluate,
    search_response,
)
from vmail.servers.imapd.selected import SelectedView


def key(text: str) -> SearchKey:
    if not text.isascii():  # "FIELD value" with a UTF-8 value: what CHARSET UTF-8 gives
        name, value = text.split(" ", 1)
        return SearchText(name.lower(), value)  # type: ignore[arg-type]
    cmd = parse_command(CommandLine([b"a SEARCH " + text.encode()]))
    assert isinstance(cmd, Search), cmd
    return cmd.key


def local(y: int, m: int, d: int, hh: int = 12) -> float:
    return time.mktime((y, m, d, hh, 0, 0, 0, 0, -1))


def message(frm: str, to: str, subject: str, date: str, body: str, extra: str = "") -> bytes:
    head = f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n"
    if date:
        head += f"Date: {date}\r\n"
    return (head + extra + "\r\n" + body).encode()


def build() -> MemoryFolder:
    f = MemoryFolder()
    msgs = [
        # uid, flags, internaldate, size, modseq, raw
        (
            1,
            {"\\Seen"},
            local(2024, 1, 10),
            100,
            5,
            message(
                "Alice Smith <alice@example.com>",
                "bob@example.org",
                "Hello there",
                "Wed, 10 Jan 2024 10:00:00 +0000",
                "first body line\r\n",
                "Cc: Carol <carol@example.net>\r\n",
            ),
        ),
        (
            2,
            {"\\Flagged", "$Label1"},
            local(2024, 1, 11),
            2000,
            6,
            message(
                "bob@example.org",
                "Alice <alice@example.com>",
                "Re: Hello there",
                "Thu, 11 Jan 2024 23:30:00 +0000",
                "Grüße aus Köln\r\n",
                "Bcc: secret@example.com\r\nX-Spam: yes\r\nContent-Type: text/plain; charset=utf-8\r\n",
            ),
        ),
        (
            4,
            {"\\Deleted", "\\Seen", "\\Answered"},
            local(2024, 1, 12),
            300,
            9,
            message(
                "=?utf-8?q?J=C3=BCrgen?= <juergen@example.de>",
                "list@example.com",
                "=?utf-8?q?K=C3=A4se?= report",
                "",
                "cheese\r\n",
            ),
        ),
        (
            7,
            set(),
            local(2024, 2, 1),
            50,
            2,
            message("dave@example.com", "erin@example.com", "Minutes", "garbage date", "x\r\n"),
        ),
    ]
    for uid, flags, idate, size, modseq, raw in msgs:
        f.add(
            uid,
            flags=flags,
            internaldate=idate,
            size=size,
            modseq=modseq,
            summary=summarize(raw),
            data=raw,
        )
    return f


@pytest.fixture
def setup() -> tuple[SelectedView, MemoryFolder]:
    f = build()
    return SelectedView(f.records, recent=[4, 7]), f


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ALL", [1, 2, 4, 7]),
        ("SEEN", [1, 4]),
        ("UNSEEN", [2, 7]),
        ("ANSWERED", [4]),
        ("UNANSWERED", [1, 2, 7]),
        ("DELETED", [4]),
        ("UNDELETED", [1, 2, 7]),
        ("FLAGGED", [2]),
        ("UNFLAGGED", [1, 4, 7]),
        ("DRAFT", []),
        ("UNDRAFT", [1, 2, 4, 7]),
        ("RECENT", [4, 7]),
        ("OLD", [1, 2]),
        ("NEW", [7]),
        ("KEYWORD $label1", [2]),
        ("KEYWORD $Label1", [2]),
        ("UNKEYWORD $Label1", [1, 4, 7]),
        ("LARGER 100", [2, 4]),
        ("SMALLER 100", [7]),
        ("MODSEQ 6", [2, 4]),
        ("UID 2:5", [2, 4]),
        ("UID 5:*", [7]),
        ("UID 100:200", []),
        ("UID 100:*", [7]),  # * is the last UID: 100:* == 7:100
        ("2:3", [2, 4]),
        ("*", [7]),
        ("1,4", [1, 7]),
        ("BEFORE 11-Jan-2024", [1]),
        ("ON 11-Jan-2024", [2]),
        ("SINCE 12-Jan-2024", [4, 7]),
        ("SENTBEFORE 11-Jan-2024", [1]),
        ("SENTSINCE 1-Feb-2024", [7]),  # bad Date: falls back to INTERNALDATE
        ("SUBJECT hello", [1, 2]),
        ("SUBJECT käse", [4]),
        ("SUBJECT KÄSE", [4]),
        ("FROM alice", [1]),
        ("FROM smith", [1]),
        ("FROM Jürgen", [4]),
        ("FROM example.org", [2]),
        ("TO alice@example.com", [2]),
        ("CC carol", [1]),
        ("BCC secret", [2]),
        ('HEADER X-Spam ""', [2]),
        ("HEADER x-spam YES", [2]),
        ("HEADER X-Other x", []),
        ("BODY grüße", [2]),
        ("BODY alice", []),
        ("TEXT alice", [1, 2]),
        ("TEXT cheese", [4]),
        ("OR SEEN FLAGGED", [1, 2, 4]),
        ("NOT SEEN", [2, 7]),
        ("NOT (SEEN FROM alice)", [2, 4, 7]),
        ("SEEN FROM alice", [1]),
        ("OR (SUBJECT minutes) (BODY cheese)", [4, 7]),
        ("NOT ALL", []),
    ],
)
def test_keys(setup: tuple[SelectedView, MemoryFolder], query: str, expected: list[int]) -> None:
    view, folder = setup
    assert evaluate(key(query), view, folder) == expected


def test_uid_range_beyond_is_empty_but_star_is_last(
    setup: tuple[SelectedView, MemoryFolder],
) -> None:
    view, folder = setup
    assert evaluate(key("UID 8:20"), view, folder) == []


def test_younger_older(setup: tuple[SelectedView, MemoryFolder]) -> None:
    view, folder = setup
    now = local(2024, 2, 1) + 3600
    assert evaluate(key("YOUNGER 7200"), view, folder, now=now) == [7]
    assert evaluate(key("OLDER 7200"), view, folder, now=now) == [1, 2, 4]


def test_sequence_set_beyond_mailbox_is_an_error(setup: tuple[SelectedView, MemoryFolder]) -> None:
    view, folder = setup
    with pytest.raises(Exception, match="Invalid messageset"):
        evaluate(key("1:9"), view, folder)
    assert evaluate(key("1:*"), SelectedView([]), folder) == []


def test_saved_result(setup: tuple[SelectedView, MemoryFolder]) -> None:
    view, folder = setup
    view.save_result([2, 7])
    assert evaluate(key("$ UNSEEN"), view, folder) == [2, 7]
    assert evaluate(key("$ FLAGGED"), view, folder) == [2]


def test_pending_expunge_and_vanished_messages_never_match(
    setup: tuple[SelectedView, MemoryFolder],
) -> None:
    view, folder = setup
    view.update(SyncResult(expunged_uids=[2]), folder.by_uid, allow_expunge=False)
    del folder.records[4]
    assert evaluate(key("ALL"), view, folder) == [1, 7]
    assert evaluate(key("NOT SEEN"), view, folder) == [7]


def test_cheap_keys_prune_before_reading_files(setup: tuple[SelectedView, MemoryFolder]) -> None:
    view, folder = setup
    assert evaluate(key("BODY cheese DELETED"), view, folder) == [4]
    assert folder.reads == 1
    assert evaluate(key("OR FLAGGED FROM alice"), view, folder) == [1, 2]
    assert folder.reads == 4  # FROM only for the three that are not FLAGGED


def test_header_lookups_cached_per_search(setup: tuple[SelectedView, MemoryFolder]) -> None:
    view, folder = setup
    assert evaluate(key("FROM alice FROM smith"), view, folder) == [1]
    assert folder.reads == 4  # second FROM reuses the first one's header text


def test_missing_file_does_not_match(setup: tuple[SelectedView, MemoryFolder]) -> None:
    view, folder = setup
    del folder.data[1]

    def read(uid: int) -> bytes:
        raise FileNotFoundError(uid)

    folder.read = read  # type: ignore[method-assign]
    assert evaluate(key("FROM alice"), view, folder) == []


def test_unknown_key_type_is_a_search_error(setup: tuple[SelectedView, MemoryFolder]) -> None:
    view, folder = setup
    bogus = SearchText("nope", "x")  # type: ignore[arg-type]
    with pytest.raises(SearchError):
        evaluate(bogus, view, folder)


def test_real_folder(tmp_path: Path) -> None:
    for d in ("cur", "new", "tmp"):
        (tmp_path / d).mkdir()
    (tmp_path / "new" / "1.M1P1.host").write_bytes(
        message("a@x.org", "b@y.org", "first", "Mon, 1 Jan 2024 00:00:00 +0000", "alpha\n")
    )
    (tmp_path / "new" / "2.M2P2.host").write_bytes(
        message("c@x.org", "d@y.org", "second", "", "beta\n")
    )
    folder = Folder(tmp_path)
    folder.sync()
    view = SelectedView([r.uid for r in folder.messages])
    assert evaluate(key("SUBJECT second"), view, folder) == [view.uids[1]]
    assert evaluate(key("FROM a@x BODY alpha"), view, folder) == [view.uids[0]]


def test_compress_set() -> None:
    assert compress_set([]) == b""
    assert compress_set([7, 1, 2, 3, 5, 4, 9, 10, 3]) == b"1:5,7,9:10"
    assert compress_set([4294967295]) == b"4294967295"


def test_search_response() -> None:
    assert search_response([]) == b"* SEARCH\r\n"
    assert search_response([2, 5]) == b"* SEARCH 2 5\r\n"
    assert search_response([2], modseq=9) == b"* SEARCH 2 (MODSEQ 9)\r\n"
    assert search_response([], modseq=9) == b"* SEARCH\r\n"


def test_esearch_response() -> None:
    got = esearch_response("a1", True, [9, 2, 5, 6, 7], ["min", "MAX", "COUNT", "ALL"])
    assert got == b'* ESEARCH (TAG "a1") UID MIN 2 MAX 9 ALL 2,5:7,9 COUNT 5\r\n'
    assert esearch_response("t", False, [3, 4], []) == b'* ESEARCH (TAG "t") ALL 3:4\r\n'
    assert esearch_response("t", False, [], ["MIN", "COUNT", "ALL"]) == (
        b'* ESEARCH (TAG "t") COUNT 0\r\n'
    )
    assert esearch_response("t", False, [], ["MIN"]) == b'* ESEARCH (TAG "t")\r\n'
    assert esearch_response("t", True, [1], ["COUNT"], modseq=4) == (
        b'* ESEARCH (TAG "t") UID COUNT 1 MODSEQ 4\r\n'
    )
    with pytest.raises(SearchError):
        esearch_response("t", False, [1], ["BOGUS"])


def test_timing_100k_header_search() -> None:
    f = MemoryFolder()
    proto = summarize(
        message("x@y.z", "a@b.c", "Weekly report 1", "Mon, 1 Jan 2024 00:00:00 +0000", "b")
    )
    rare = summarize(
        message("x@y.z", "a@b.c", "Needle here", "Mon, 1 Jan 2024 00:00:00 +0000", "b")
    )
    for u in range(1, 100_001):
        f.add(
            u,
            flags={"\\Seen"} if u % 3 else set(),
            internaldate=float(u),
            size=u,
            summary=rare if u % 1000 == 0 else proto,
        )
    view = SelectedView(f.records)
    t0 = time.perf_counter()
    hits = evaluate(key("SUBJECT needle"), view, f)
    t1 = time.perf_counter()
    flags = evaluate(key("UNSEEN LARGER 500 SINCE 1-Jan-1970"), view, f)
    t2 = time.perf_counter()
    print(f"\nSEARCH 100k: SUBJECT {t1 - t0:.3f}s, UNSEEN LARGER SINCE {t2 - t1:.3f}s")
    assert len(hits) == 100
    assert len(flags) > 30_000
    assert t1 - t0 < 1.0
