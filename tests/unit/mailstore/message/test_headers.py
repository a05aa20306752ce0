"""Header field scanning."""

from __future__ import annotations

from vmail.mailstore.message.headers import collect, scan, to_text, unfold

HDR = b"Subject: a\n b\nX-Y:z\r\nNo colon\n\tcont: x\nSubject:  second  \n\n"


def test_collect_groups_and_keeps_the_folding() -> None:
    got = collect(HDR, 0, len(HDR))
    assert got[b"subject"] == [b"a\n b", b"second  "]
    assert unfold(got[b"subject"][0]) == b"a b"
    assert got[b"x-y"] == [b"z"]
    assert b"no colon" not in got


def test_scan_keeps_colonless_lines() -> None:
    names = [name for name, _, _ in scan(HDR, 0, len(HDR))]
    assert names == [b"subject", b"x-y", b"no colon", b"subject"]
    _name, start, end = scan(HDR, 0, len(HDR))[0]
    assert HDR[start:end] == b"Subject: a\n b\n"


def test_unfold_and_to_text() -> None:
    assert unfold(b"a\r\n\tb") == b"a\tb"
    assert to_text("é".encode()) == "é"
    assert to_text(b"\xe9") == "é"
