"""Header field scanning."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vmail.mailstore.message.headers import (
    ENVELOPE_FIELDS,
    collect,
    collect_envelope,
    scan,
    to_text,
    unfold,
)

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


_NAMES = st.sampled_from(
    [*ENVELOPE_FIELDS, b"FROM", b"Reply-To", b"x-from", b"from x", b"", b"received", b"To "]
)
_TEXT = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"").replace(b":", b""))
_LINE = st.one_of(
    st.tuples(_NAMES, st.sampled_from([b":", b" :", b"\t:", b""]), _TEXT).map(b"".join),
    st.tuples(st.sampled_from([b" ", b"\t"]), _TEXT).map(b"".join),
    st.tuples(_TEXT, st.sampled_from([b"\r", b"\r\r", b""])).map(b"".join),
)


@given(st.lists(_LINE, max_size=12), st.sampled_from([b"\n", b"\r\n"]))
def test_collect_envelope_equals_collect_for_its_fields(lines: list[bytes], eol: bytes) -> None:
    header = b"".join(line + eol for line in lines if line.strip(b"\r"))
    full = {k: v for k, v in collect(header, 0, len(header)).items() if k in ENVELOPE_FIELDS}
    assert collect_envelope(header, 0, len(header)) == full
