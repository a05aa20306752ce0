"""Modified UTF-7 encoding and strict decoding of IMAP mailbox names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmail.core.mutf7 import decode_mutf7, encode_mutf7

# Names without lone surrogates (they have no UTF-16 encoding).
names = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("INBOX", "INBOX"),
        ("Entwürfe", "Entw&APw-rfe"),  # what Dovecot wrote on disk
        ("&", "&-"),
        ("a&b", "a&-b"),
        ("日本語", "&ZeVnLIqe-"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 example
        ("x\x01y", "x&AAE-y"),
        ("", ""),
    ],
)
def test_known_encodings(text: str, encoded: str) -> None:
    assert encode_mutf7(text) == encoded
    assert decode_mutf7(encoded) == text


@pytest.mark.parametrize(
    "bad",
    [
        "&AGE-",  # printable ASCII "a" encoded
        "&",  # unterminated
        "&Jjo",  # unterminated
        "&Jjo!-",  # not base64
        "&AOQ-&AOQ-",  # adjacent runs must be one
        "&AOR-",  # non-zero padding bits: non-canonical
        "ä",  # raw 8-bit
        "a\tb",  # control char must be encoded
        "&2D0-",  # lone high surrogate
        "&,,,,-",
    ],
)
def test_invalid_is_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match=r"offset \d+"):
        decode_mutf7(bad)


def test_lone_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        encode_mutf7("\ud800")


@given(names)
def test_round_trip(text: str) -> None:
    encoded = encode_mutf7(text)
    assert encoded.isascii()
    assert decode_mutf7(encoded) == text


@given(st.text(alphabet="&-ABCDEFGHabcdefgh+,01AOQ", max_size=20))
def test_decode_is_canonical_or_rejects(text: str) -> None:
    try:
        decoded = decode_mutf7(text)
    except ValueError:
        return
    assert encode_mutf7(decoded) == text
