"""FETCH BODY[section] (RFC 3501 section 6.4.5) and BINARY[part] (RFC 3516) contents.

Part numbers resolve like Dovecot: a message/rfc822 part steps into its message, a
multipart into its children, and ``1`` on a non-multipart entity is that entity (so
``BODY[1]`` of a single-part message is its body and ``BODY[1.1]`` of a leaf is the
leaf). A part that does not exist gives None; Dovecot then sends an empty string.
"""

from __future__ import annotations

import binascii

from .headers import scan
from .raw import crlf
from .structure import Part, parse


class UnknownEncodingError(ValueError):
    """BINARY of a part whose Content-Transfer-Encoding is not one we can decode."""


class SectionError(ValueError):
    """A section text specifier that is not one of RFC 3501's."""


_MESSAGE, _PART, _BODY = 0, 1, 2
_TEXTS = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"})


def find_part(root: Part, path: tuple[int, ...]) -> Part | None:
    """The part at ``path`` (``()`` is the whole message), or None.

    Matches what Dovecot answers: ``1`` of a single-part message is its body and ends
    the path there (``1.1`` does not exist) unless that body is a message/rfc822; ``1``
    of a leaf inside a multipart is the leaf itself.
    """
    part = root
    state = _MESSAGE
    for num in path:
        if state != _MESSAGE and part.message is not None:
            part, state = part.message, _MESSAGE
        if part.children:
            if not 0 < num <= len(part.children):
                return None
            part, state = part.children[num - 1], _PART
        elif num != 1 or state == _BODY or part.is_type(b"multipart"):
            return None
        elif state == _MESSAGE:
            state = _BODY
    return part


def _fields(data: bytes, msg: Part, names: tuple[str, ...], keep: bool) -> bytes:
    wanted = {n.lower().encode("ascii", "replace") for n in names}
    chunks = [
        data[s:e] for name, s, e in scan(data, msg.start, msg.body) if (name in wanted) == keep
    ]
    out = crlf(b"".join(chunks))
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    had_blank_line = (
        msg.body > msg.start
        and data[msg.body - 1] == 0x0A
        and (msg.body - msg.start == 1 or data[msg.body - 2] in b"\n\r")
    )
    return out + b"\r\n" if out or had_blank_line else out


def section(
    data: bytes, part: tuple[int, ...], text: str | None, fields: tuple[str, ...] = ()
) -> bytes | None:
    """The CRLF contents of ``BODY[part.text (fields)]``, or None if the part is missing."""
    if text is not None and text.upper() not in _TEXTS:
        raise SectionError(f"unknown section text {text!r}")
    root = parse(data)
    target = find_part(root, part)
    if target is None:
        return None
    spec = None if text is None else text.upper()
    if spec is None:
        if not part:
            return crlf(data)
        return crlf(data[target.body : target.end])
    if spec == "MIME":
        return crlf(data[target.start : target.body]) if part else None
    msg = target if not part else target.message
    if msg is None:
        return None
    if spec == "HEADER":
        return crlf(data[msg.start : msg.body])
    if spec == "TEXT":
        return crlf(data[msg.body : msg.end])
    return _fields(data, msg, fields, spec == "HEADER.FIELDS")


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_B64 = bytes(c for c in range(256) if c not in _B64_ALPHABET)


def _base64(body: bytes) -> bytes:
    """Lenient base64: junk characters ignored, a truncated last group dropped."""
    clean = body.translate(None, _NOT_B64)
    clean = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean
    return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4))


def decode_transfer(body: bytes, encoding: bytes | None) -> bytes:
    """``body`` decoded from its Content-Transfer-Encoding."""
    cte = (encoding or b"7bit").strip().lower()
    if cte in (b"7bit", b"8bit", b"binary", b""):
        return body
    if cte == b"base64":
        return _base64(body)
    if cte == b"quoted-printable":
        return binascii.a2b_qp(body)
    raise UnknownEncodingError(f"unknown Content-Transfer-Encoding {encoding!r}")


def binary(data: bytes, part: tuple[int, ...], text: bool = False) -> bytes | None:
    """``BINARY[part]``: the part's body with its transfer encoding removed, or None.

    ``text``: ``BINARY[part.TEXT]`` (Dovecot's extension): the body of the message that
    is the whole message or the ``message/rfc822`` part, decoded the same way.
    """
    root = parse(data)
    target = find_part(root, part)
    if target is None:
        return None
    if text:
        if part:
            if target.message is None:
                return None
            target = target.message
        if target.children:
            return crlf(data[target.body : target.end])
        body = data[target.body : target.end]
        return decode_transfer(body, target.header(b"content-transfer-encoding"))
    if not part:
        return crlf(data)
    if target.children or target.message is not None:
        return crlf(data[target.body : target.end])
    body = data[target.body : target.end]
    return decode_transfer(body, target.header(b"content-transfer-encoding"))


__all__ = [
    "SectionError",
    "UnknownEncodingError",
    "binary",
    "decode_transfer",
    "find_part",
    "section",
]
