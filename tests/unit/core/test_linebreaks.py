"""The fast line-break helpers agree with the plain two-byte ``bytes`` operations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vmail.core.linebreaks import count_crlf, count_lf, crlf_to_lf, lf_to_crlf

# texts made of the bytes that matter: line breaks, and something between them
texts = st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b"xyz."]), max_size=40).map(b"".join)


@given(texts)
def test_counts(data: bytes) -> None:
    assert count_lf(data) == data.count(b"\n")
    assert count_crlf(data) == data.count(b"\r\n")


@given(texts)
def test_crlf_to_lf(data: bytes) -> None:
    assert crlf_to_lf(data) == data.replace(b"\r\n", b"\n")


@given(texts)
def test_lf_to_crlf(data: bytes) -> None:
    assert lf_to_crlf(data) == data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_lone_carriage_returns_stay() -> None:
    assert crlf_to_lf(b"a\rb\r\nc\r") == b"a\rb\nc\r"
    assert count_crlf(b"\r\r\n\n\r") == 1
    assert lf_to_crlf(b"a\r\nb\nc\r") == b"a\r\nb\r\nc\r"
