"""Decoded text for SEARCH."""

from __future__ import annotations

from pathlib import Path

from vmail.mailstore.message import header_values, matches, search_body, search_text

FIX = Path(__file__).parent / "fixtures"


def test_body_decodes_qp_and_charset() -> None:
    body = search_body((FIX / "09-qp.eml").read_bytes())
    assert "Grüße, softbreak and = sign" in body


def test_body_skips_non_text_and_walks_rfc822() -> None:
    mixed = search_body((FIX / "02-multipart-mixed.eml").read_bytes())
    assert "Café au lait ok" in mixed
    assert "SGVsbG8" not in mixed
    nested = search_body((FIX / "04-nested-rfc822.eml").read_bytes())
    assert "inner plain" in nested
    assert "<b>inner</b>" in nested
    assert "inner subject" not in nested


def test_text_includes_decoded_headers() -> None:
    text = search_text((FIX / "02-multipart-mixed.eml").read_bytes())
    assert "Hello wörld" in text
    assert "Café au lait" in text
    assert "inner subject" in search_text((FIX / "04-nested-rfc822.eml").read_bytes())


def test_unknown_cte_is_searched_raw() -> None:
    assert "abc" in search_body(b"Content-Transfer-Encoding: x-foo\n\nabc\n")


def test_header_values() -> None:
    data = (FIX / "18-dup-headers.eml").read_bytes()
    assert header_values(data, "SUBJECT") == ["first", "second"]
    assert header_values(data, "X-None") == []
    assert header_values((FIX / "07-8bit-headers.eml").read_bytes(), "subject") == [
        "Grüße aus Köln"
    ]


def test_matches_casefolds() -> None:
    assert matches("Grüße STRASSE", "strasse")
    assert not matches("abc", "abd")


def test_utf8_body_without_charset_is_read_as_utf8() -> None:
    data = "Subject: x\n\nViele Grüße\n".encode()
    assert matches(search_body(data), "grüße")
    assert matches(search_body(b"Subject: x\n\nGr\xfc\xdfe\n"), "grüße")  # Latin-1 fallback
