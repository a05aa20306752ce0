"""THREAD=ORDEREDSUBJECT, THREAD=REFERENCES (RFC 5256), THREAD=REFS and the response format."""

from __future__ import annotations

import random

import pytest

from tests.unit.servers.imapd.folder_data import MemoryFolder, Summary
from vmail.servers.imapd.thread import (
    Node,
    ThreadAlgorithmError,
    format_threads,
    is_reply_or_forward,
    ordered_subject,
    references,
    thread,
)


def msg(
    f: MemoryFolder,
    uid: int,
    subject: str,
    date: float | None,
    mid: str = "",
    refs: tuple[str, ...] = (),
    irt: str = "",
    base: str | None = None,
) -> None:
    f.add(
        uid,
        internaldate=1000.0 + uid,
        summary=Summary(
            subject=subject,
            base_subject=base if base is not None else subject,
            sent_date=date,
            message_id=mid,
            references=refs,
            in_reply_to=irt,
        ),
    )


def refs_of(f: MemoryFolder, uids: list[int] | None = None) -> bytes:
    return format_threads(references(uids if uids is not None else list(f.records), f))


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", False),
        ("Re: Hello", True),
        ("RE : Hello", True),
        ("fw: Hello", True),
        ("Fwd: Hello", True),
        ("[list] Re: Hello", True),
        ("Re[2]: Hello", True),
        ("Hello (fwd)", True),
        ("[Fwd: Hello]", True),
        ("[list] Hello", False),
        ("[list]", False),
        ("Regarding this", False),
        ("", False),
    ],
)
def test_is_reply_or_forward(subject: str, expected: bool) -> None:
    assert is_reply_or_forward(subject) is expected


def test_format_threads() -> None:
    def n(uid: int | None, *children: Node) -> Node:
        node = Node(uid)
        node.children = list(children)
        return node

    threads = [n(2), n(3, n(6, n(4, n(23)), n(44, n(7, n(96)))))]
    assert format_threads(threads) == b"(2)(3 6 (4 23)(44 7 96))"
    assert format_threads([n(None, n(3), n(5))]) == b"((3)(5))"
    assert format_threads([n(1, n(2), n(3))], lambda u: u * 10) == b"(10 (20)(30))"
    assert format_threads([]) == b""


def test_format_deep_chain_is_iterative() -> None:
    root = cur = Node(1)
    for u in range(2, 20_001):
        child = Node(u)
        cur.children = [child]
        cur = child
    out = format_threads([root])
    assert out.startswith(b"(1 2 3 ")
    assert out.endswith(b" 20000)")


def test_ordered_subject() -> None:
    f = MemoryFolder()
    msg(f, 1, "b", 50)
    msg(f, 2, "a", 40)
    msg(f, 3, "a", 10)
    msg(f, 4, "b", 60)
    msg(f, 5, "c", 20)
    msg(f, 6, "A", 45)  # same base subject under ascii-casemap
    msg(f, 7, "b", 55)
    # threads sorted by their first message's date: a(3) 10, c(5) 20, b(1) 50
    assert format_threads(ordered_subject(f.records, f)) == b"(3 (2)(6))(5)(1 (7)(4))"
    assert format_threads(ordered_subject([1, 4], f)) == b"(1 4)"
    assert format_threads(thread("orderedsubject", [5], f)) == b"(5)"


def test_unknown_algorithm() -> None:
    with pytest.raises(ThreadAlgorithmError):
        thread("BOGUS", [], MemoryFolder())


def test_references_simple_chain_and_siblings() -> None:
    f = MemoryFolder()
    msg(f, 1, "s", 10, "a@x")
    msg(f, 2, "Re: s", 20, "b@x", ("a@x",), base="s")
    msg(f, 3, "Re: s", 30, "c@x", ("a@x", "b@x"), base="s")
    msg(f, 4, "Re: s", 25, "d@x", ("a@x",), base="s")
    msg(f, 5, "other", 5, "e@x")
    # 5 is oldest thread; under 1, children 2 (20) and 4 (25)
    assert refs_of(f) == b"(5)(1 (2 3)(4))"


def test_references_in_reply_to_used_without_references() -> None:
    f = MemoryFolder()
    msg(f, 1, "s", 10, "a@x")
    msg(f, 2, "t", 20, "b@x", irt="a@x")
    assert refs_of(f) == b"(1 2)"


def test_references_missing_parent_gives_dummy_root() -> None:
    f = MemoryFolder()
    msg(f, 1, "x", 10, "b@x", ("a@x",))
    msg(f, 2, "y", 20, "c@x", ("a@x",))
    msg(f, 3, "z", 30, "d@x", ("q@x",))  # a dummy parent with one child: promoted
    assert refs_of(f) == b"((1)(2))(3)"


def test_references_dummy_inside_thread_is_spliced() -> None:
    f = MemoryFolder()
    msg(f, 1, "x", 10, "a@x")
    msg(f, 2, "y", 20, "c@x", ("a@x", "missing@x"))
    msg(f, 3, "z", 30, "d@x", ("a@x", "missing@x"))
    assert refs_of(f) == b"(1 (2)(3))"


def test_references_not_in_search_set_become_dummies() -> None:
    f = MemoryFolder()
    msg(f, 1, "x", 10, "a@x")
    msg(f, 2, "y", 20, "b@x", ("a@x",))
    msg(f, 3, "z", 30, "c@x", ("a@x",))
    assert refs_of(f, [2, 3]) == b"((2)(3))"


def test_references_duplicate_and_missing_message_ids() -> None:
    f = MemoryFolder()
    msg(f, 1, "x", 10, "a@x")
    msg(f, 2, "y", 20, "a@x")  # duplicate: unique ID assigned, own thread
    msg(f, 3, "z", 30, "", ("a@x",))  # no Message-ID: still threads under its refs
    assert refs_of(f) == b"(1 3)(2)"


def test_references_loops_are_not_created() -> None:
    f = MemoryFolder()
    msg(f, 1, "x", 10, "a@x", ("b@x",))
    msg(f, 2, "y", 20, "b@x", ("a@x",))  # would make a loop: keeps 2 -> 1
    msg(f, 3, "z", 30, "c@x", ("c@x",))  # references itself
    assert refs_of(f) == b"(2 1)(3)"


def test_references_truncated_references_reparent() -> None:
    f = MemoryFolder()
    msg(f, 1, "s", 10, "a@x")
    msg(f, 2, "s", 20, "b@x", ("a@x",))
    msg(f, 3, "s", 30, "c@x", ("b@x",))
    # 4's References lists c then a; 1.A keeps a's existing place, 1.B puts 4 under a
    msg(f, 4, "s", 40, "d@x", ("c@x", "a@x"))
    assert refs_of(f) == b"(1 (2 3)(4))"


def test_references_subject_merge_reply_goes_under_original() -> None:
    f = MemoryFolder()
    msg(f, 1, "Re: hello", 10, "a@x", base="hello")
    msg(f, 2, "hello", 20, "b@x")
    msg(f, 3, "Hello", 30, "c@x", base="Hello")
    msg(f, 4, "", 40, "d@x")
    # 2 is the non-reply: 1 (reply) goes under it; 3 (not a reply) makes a dummy with 2
    assert refs_of(f) == b"((2 1)(3))(4)"


def test_references_subject_merge_two_dummies() -> None:
    f = MemoryFolder()
    msg(f, 1, "s", 10, "a@x", ("p@x",))
    msg(f, 2, "s", 20, "b@x", ("p@x",))
    msg(f, 3, "s", 30, "c@x", ("q@x",))
    msg(f, 4, "s", 40, "d@x", ("q@x",))
    assert refs_of(f) == b"((1)(2)(3)(4))"


def test_references_subject_merge_dummy_takes_message() -> None:
    f = MemoryFolder()
    msg(f, 1, "s", 10, "a@x", ("p@x",))
    msg(f, 2, "s", 20, "b@x", ("p@x",))
    msg(f, 3, "s", 5, "c@x")
    assert refs_of(f) == b"((3)(1)(2))"


def test_refs_no_subject_merge_threads_by_latest_date() -> None:
    # the same messages through Dovecot 2.3: REFERENCES (2 (1)(4))(3), REFS (1)(3)(2 4)
    f = MemoryFolder()
    msg(f, 1, "Re: hello", 10, "a@x", base="hello")
    msg(f, 2, "hello", 20, "b@x")
    msg(f, 3, "other", 30, "c@x")
    msg(f, 4, "Re: other2", 50, "d@x", ("b@x",), base="other2")
    assert refs_of(f) == b"(2 (1)(4))(3)"
    assert format_threads(thread("refs", list(f.records), f)) == b"(1)(3)(2 4)"


def test_refs_thread_order_uses_latest_message_of_any_depth() -> None:
    f = MemoryFolder()
    msg(f, 1, "a", 10, "a@x")
    msg(f, 2, "b", 20, "b@x")
    msg(f, 3, "c", 30, "c@x", ("a@x",))
    msg(f, 4, "d", 40, "d@x", ("x@gone", "a@x", "c@x"))
    msg(f, 5, "e", 35, "e@x", ("z@gone",))  # a dummy-rooted thread: spliced, own date
    assert format_threads(thread("REFS", list(f.records), f)) == b"(2)(5)(1 3 4)"


def test_references_deep_chain() -> None:
    f = MemoryFolder()
    n = 5000
    msg(f, 1, "s", 1.0, "m1@x")
    for u in range(2, n + 1):
        msg(f, u, "Re: s", float(u), f"m{u}@x", (f"m{u - 1}@x",), base="s")
    out = refs_of(f)
    assert out == b"(" + b" ".join(str(u).encode() for u in range(1, n + 1)) + b")"


def test_references_sibling_date_ties_use_mailbox_order() -> None:
    f = MemoryFolder()
    msg(f, 1, "s", 10, "a@x")
    msg(f, 3, "t", 20, "c@x", ("a@x",))
    msg(f, 2, "u", 20, "b@x", ("a@x",))
    msg(f, 4, "v", None, "d@x", ("a@x",))  # INTERNALDATE 1004: after the others
    assert refs_of(f) == b"(1 (2)(3)(4))"


def test_references_of_100k_messages() -> None:
    """A big folder threads completely (its speed is measured by bench/, not here)."""
    rng = random.Random(3)
    f = MemoryFolder()
    for u in range(1, 100_001):
        parent = rng.randrange(1, u) if u > 1 and rng.random() < 0.7 else None
        refs = (f"m{parent}@x",) if parent else ()
        msg(f, u, f"s{u % 5000}", float(u), f"m{u}@x", refs)
    out = format_threads(references(list(f.records), f))
    assert out.count(b"(") >= out.count(b")") > 0
