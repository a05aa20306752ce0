"""The decoded text SEARCH BODY / TEXT / HEADER match against, and the matcher."""

from __future__ import annotations

from .headers import collect, to_text, unfold
from .raw import body_offset
from .sections import UnknownEncodingError, decode_transfer
from .structure import Part, parse
from .words import decode_charset, decode_words


def header_values(data: bytes, name: str) -> list[str]:
    """Every value of header ``name`` of the message, unfolded and RFC 2047-decoded."""
    values = collect(data, 0, body_offset(data)).get(name.lower().encode("ascii", "replace"))
    return [decode_words(to_text(unfold(v))) for v in values or ()]


def _headers_text(part: Part) -> str:
    return "\n".join(
        f"{name.decode('latin-1')}: {decode_words(to_text(unfold(v)))}"
        for name, values in part.headers.items()
        for v in values
    )


def _walk(data: bytes, part: Part, out: list[str], with_headers: bool) -> None:
    if part.children:
        for child in part.children:
            _walk(data, child, out, with_headers)
        return
    if part.message is not None:
        if with_headers:
            out.append(_headers_text(part.message))
        _walk(data, part.message, out, with_headers)
        return
    if not part.is_type(b"text"):
        return
    body = data[part.body : part.end]
    try:
        raw = decode_transfer(body, part.header(b"content-transfer-encoding"))
    except UnknownEncodingError:
        raw = body
    charset = part.param(b"charset")
    if charset is None or charset.strip(b' "').lower() in (b"us-ascii", b"ascii", b""):
        # Like Dovecot: text said to be (or left as) ASCII is read as UTF-8 when valid.
        out.append(to_text(raw))
    else:
        out.append(decode_charset(raw, charset.decode("latin-1")))


def _collect(data: bytes, with_headers: bool) -> str:
    root = parse(data)
    out: list[str] = [_headers_text(root)] if with_headers else []
    _walk(data, root, out, with_headers)
    return "\n".join(out)


def search_body(data: bytes) -> str:
    """Decoded text of the text/* parts (what ``SEARCH BODY`` matches)."""
    return _collect(data, False)


def search_text(data: bytes) -> str:
    """Decoded headers plus :func:`search_body` (what ``SEARCH TEXT`` matches)."""
    return _collect(data, True)


def matches(haystack: str, needle: str) -> bool:
    """Case-insensitive substring match (Unicode case folding)."""
    return needle.casefold() in haystack.casefold()


__all__ = ["header_values", "matches", "search_body", "search_text"]
