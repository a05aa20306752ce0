"""Maildir file names: parsing what Dovecot writes, formatting, unique bases, flag letters."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from vmail.mailstore.filenames import (
    MaildirName,
    flags_to_letters,
    format_name,
    keyword_letters,
    letters_to_system,
    new_base,
    parse_name,
    with_flags,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_names_written_by_dovecot_round_trip() -> None:
    for filename in (FIXTURES / "cur-names.txt").read_text().split():
        assert format_name(parse_name(filename)) == filename


def test_parse_dovecot_name() -> None:
    name = parse_name("1795781579.M603637P13275.vm,S=31,W=34:2,STabcd")
    assert name == MaildirName("1795781579.M603637P13275.vm,S=31,W=34", 31, 34, "STabcd", "")


def test_name_without_info_has_no_flags() -> None:
    name = parse_name("1795781579.M1P1.vm")
    assert name == MaildirName("1795781579.M1P1.vm", None, None, "", "")


def test_unknown_letters_and_extra_are_kept() -> None:
    name = parse_name("b,S=x:2,SP,Z")  # P is not interpreted by Dovecot but kept
    assert (name.size, name.flags, name.extra) == (None, "PSZ", ",")
    assert with_flags(name, ["\\Flagged"], "c") == "b,S=x:2,FPZc,"


def test_foreign_info_is_kept_verbatim() -> None:
    name = parse_name("base:1,experimental")
    assert name.base == "base"
    assert name.extra == ":1,experimental"
    assert format_name(name) == "base:1,experimental"


def test_flags_sorted_and_unique() -> None:
    assert parse_name("b:2,SSaR").flags == "RSa"


def test_flag_letter_mapping() -> None:
    letters = flags_to_letters(["\\Seen", "\\Deleted", "\\Recent", "$Forwarded"], "ba")
    assert letters == "STab"
    assert letters_to_system("DFRSTPab") == frozenset(
        {"\\Draft", "\\Flagged", "\\Answered", "\\Seen", "\\Deleted"}
    )
    assert keyword_letters("FPSab") == "ab"


def test_new_base_is_unique_and_dovecot_shaped() -> None:
    bases = {new_base("host", size=10, vsize=12) for _ in range(10_000)}
    assert len(bases) == 10_000
    sample = next(iter(bases))
    parsed = parse_name(sample)
    assert (parsed.size, parsed.vsize) == (10, 12)
    secs, _, rest = sample.partition(".M")
    assert secs.isdigit()
    assert "P" in rest
    assert "Q" in rest
    assert rest.endswith(".host,S=10,W=12")


def test_new_base_escapes_host() -> None:
    assert ".a\\057b\\072c,S=1" in new_base("a/b:c", size=1, vsize=1)


@given(st.text(max_size=60))
def test_parse_never_raises_and_keeps_base(filename: str) -> None:
    name = parse_name(filename)
    assert filename.startswith(name.base)
    assert ":" not in name.base
