"""UIDL formats, matching Dovecot 2.3's expansion of pop3_uidl_format."""

from __future__ import annotations

import pytest

from vmail.protocol.pop3.uidl import UidlFormat, UidlFormatError


def test_default_format_matches_dovecot() -> None:
    # Dovecot 2.3.19 answered "1 000000016b0973f7" for UID 1, UIDVALIDITY 1795781623.
    assert UidlFormat("%08Xu%08Xv").render(1, 1795781623, "b") == "000000016b0973f7"


def test_file_name_and_long_forms() -> None:
    fmt = UidlFormat("%f")
    assert fmt.render(1, 2, "1000.M1P1.host") == "1000.M1P1.host"
    assert UidlFormat("%g").render(1, 2, "abc") == "abc"
    assert UidlFormat("%{uid}-%{uidvalidity}").render(7, 9, "x") == "7-9"
    assert UidlFormat("%u%%%v").render(7, 9, "x") == "7%9"
    assert UidlFormat("%-4u|").render(7, 9, "x") == "7___|"
    assert UidlFormat("%04u").render(7, 9, "x") == "0007"
    assert UidlFormat("%UXu").render(255, 9, "x") == "FF"


def test_output_is_bounded_and_safe() -> None:
    assert UidlFormat("%f").render(1, 1, "a b\x00" + "c" * 100) == ("a_b_" + "c" * 66)


@pytest.mark.parametrize("bad", ["", "%m", "%q", "%{md5}", "abc%", "%Xf"])
def test_unsupported_formats(bad: str) -> None:
    with pytest.raises(UidlFormatError):
        UidlFormat(bad)


def test_render_all_matches_render() -> None:
    for template in ("%08Xu%08Xv", "%f", "%Lg-%u", "x{%u}"):
        fmt = UidlFormat(template)
        bases = ["B.1", "a b"]
        assert fmt.render_all([1, 2], 7, bases) == [
            fmt.render(u, 7, b) for u, b in [(1, "B.1"), (2, "a b")]
        ]
    assert UidlFormat("x{%u}").render(5, 1, "") == "x{5}"
