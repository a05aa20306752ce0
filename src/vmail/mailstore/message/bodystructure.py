"""BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2) serialised the way Dovecot writes them."""

from __future__ import annotations

import re

from vmail.protocol.imap.wire import NIL, nstring, string

from .envelope import envelope
from .raw import crlf_size
from .structure import Params, Part, parse_params
from .tokens import token

_TEXT_DEFAULT_PARAMS = b'("charset" "us-ascii")'
_DEFAULT_CHARSET = (b"charset", b"us-ascii")
_COMMENT = re.compile(rb"\([^()]*\)")
_EMPTY = b'"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'


def _params(params: Params) -> bytes:
    if not params:
        return NIL
    return b"(%b)" % b" ".join(b"%b %b" % (token(k), string(v)) for k, v in params)


def _disposition(part: Part) -> bytes:
    value = part.header(b"content-disposition")
    if value is None:
        return NIL
    semi = value.find(b";")
    kind = (value if semi < 0 else value[:semi]).strip()
    if not kind:
        return NIL
    return b"(%b %b)" % (string(kind), _params(parse_params(value[semi:]) if semi >= 0 else []))


def _language(part: Part) -> bytes:
    value = part.header(b"content-language")
    if value is None:
        return NIL
    while b"(" in value:  # like Dovecot: comments dropped (innermost first)
        stripped = _COMMENT.sub(b" ", value)
        if stripped == value:
            break
        value = stripped
    tags = [t.strip() for t in value.split(b",") if t.strip()]
    return b"(%b)" % b" ".join(string(t) for t in tags) if tags else NIL


def _extension(part: Part) -> bytes:
    location = nstring(part.header(b"content-location"))
    return b"%b %b %b" % (_disposition(part), _language(part), location)


def _lines(data: bytes, part: Part) -> bytes:
    return b"%d" % data.count(b"\n", part.body, part.end)


def write_both(data: bytes, part: Part) -> tuple[bytes, bytes]:
    """(BODY, BODYSTRUCTURE) of ``part`` (a message or one of its parts), built together."""
    if part.is_type(b"multipart"):
        if part.children:
            pairs = [write_both(data, c) for c in part.children]
            body = b"".join(p[0] for p in pairs)
            ext = b"".join(p[1] for p in pairs)
        else:
            body, ext = b"(%b)" % _EMPTY, b"(%b NIL NIL NIL NIL)" % _EMPTY
        subtype = token(part.subtype)
        return (
            b"(%b %b)" % (body, subtype),
            b"(%b %b %b %b)" % (ext, subtype, _params(part.params), _extension(part)),
        )
    is_text = part.is_type(b"text")
    if not is_text:
        params = _params(part.params)
    elif not part.params:
        params = _TEXT_DEFAULT_PARAMS
    elif part.param(b"charset") is None:  # Dovecot appends the default charset
        params = _params([*part.params, _DEFAULT_CHARSET])
    else:
        params = _params(part.params)
    basic = b"%b %b %b %b %b %b %d" % (
        token(part.type),
        token(part.subtype),
        params,
        nstring(part.header(b"content-id")),
        nstring(part.header(b"content-description")),
        token(part.header(b"content-transfer-encoding") or b"7bit"),
        crlf_size(data, part.body, part.end),
    )
    if is_text:
        body = ext = b"%b %b" % (basic, _lines(data, part))
    elif part.message is not None:
        inner_body, inner_ext = write_both(data, part.message)
        env = envelope(part.message.headers)
        lines = _lines(data, part)
        body = b"%b %b %b %b" % (basic, env, inner_body, lines)
        ext = b"%b %b %b %b" % (basic, env, inner_ext, lines)
    else:
        body = ext = basic
    md5 = nstring(part.header(b"content-md5"))
    return b"(%b)" % body, b"(%b %b %b)" % (ext, md5, _extension(part))


def write(data: bytes, part: Part, extended: bool) -> bytes:
    """BODYSTRUCTURE (``extended``) or BODY of ``part``."""
    return write_both(data, part)[1 if extended else 0]


__all__ = ["write", "write_both"]
