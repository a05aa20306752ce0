"""MIME tree limits: deep nesting and many parts stay bounded."""

from __future__ import annotations

import time

from vmail.mailstore.message import section, summarize
from vmail.mailstore.message.structure import MAX_DEPTH, MAX_PARTS, parse, parse_params


def _nested(depth: int) -> bytes:
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d-\n\n--b%d-\n" % (i, i) for i in range(depth)
    )
    return head + b"Content-Type: text/plain\n\nleaf\n"


def test_deep_nesting_is_capped() -> None:
    data = _nested(1000)
    start = time.perf_counter()
    root = parse(data)
    depth, part = 0, root
    while part.children:
        part, depth = part.children[0], depth + 1
    assert depth == MAX_DEPTH - 1  # the 100th container is opaque, as in Dovecot
    s = summarize(data)
    assert time.perf_counter() - start < 5
    assert s.bodystructure.count(b"(") > MAX_DEPTH


def test_nested_rfc822_is_capped() -> None:
    data = b"Content-Type: message/rfc822\n\n" * 1000 + b"x\n"
    assert summarize(data).size == len(data) + data.count(b"\n")
    assert section(data, (1,) * 50, None) is not None


def test_many_parts_are_capped() -> None:
    data = b"Content-Type: multipart/mixed; boundary=x\n\n" + b"--x\n\np\n" * (MAX_PARTS + 50)
    root = parse(data)
    assert len(root.children) == MAX_PARTS


def test_params_rfc2231_and_quoting() -> None:
    params = parse_params(b'; a="x\\"y"; b*0=one; b*1=two; c*0*=utf-8\'\'%41; c*1=B; d="open')
    assert params == [(b"a", b'x"y'), (b"b", b"onetwo"), (b"c*", b"utf-8''%41B"), (b"d", b"open")]


def test_empty_part_between_delimiters() -> None:
    data = b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x\n\nbody\n--x--\n"
    assert len(parse(data).children) == 2
