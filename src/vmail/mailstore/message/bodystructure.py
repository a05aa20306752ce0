"""BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2) serialised the way Dovecot writes them."""

from __future__ import annotations

from vmail.protocol.imap.wire import NIL, nstring, string

from .envelope import envelope
from .raw import crlf_size
from .structure import Params, Part, parse_params

_TEXT_DEFAULT_PARAMS = b'("charset" "us-ascii")'
_EMPTY = b'"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'


def _params(params: Params) -> bytes:
    if not params:
        return NIL
    return b"(%b)" % b" ".join(b"%b %b" % (string(k), string(v)) for k, v in params)


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
    tags = [t.strip() for t in value.split(b",") if t.strip()]
    return b"(%b)" % b" ".join(string(t) for t in tags) if tags else NIL


def _extension(part: Part) -> bytes:
    location = nstring(part.header(b"content-location"))
    return b"%b %b %b" % (_disposition(part), _language(part), location)


def write(data: bytes, part: Part, extended: bool) -> bytes:
    """BODYSTRUCTURE (``extended``) or BODY of ``part`` (a message or one of its parts)."""
    if part.is_type(b"multipart"):
        if part.children:
            inner = b"".join(write(data, c, extended) for c in part.children)
        else:
            inner = b"(%b%b)" % (_EMPTY, b" NIL NIL NIL NIL" if extended else b"")
        if not extended:
            return b"(%b %b)" % (inner, string(part.subtype))
        subtype = string(part.subtype)
        return b"(%b %b %b %b)" % (inner, subtype, _params(part.params), _extension(part))
    is_text = part.is_type(b"text")
    params = _params(part.params) if part.params or not is_text else _TEXT_DEFAULT_PARAMS
    fields = [
        string(part.type),
        string(part.subtype),
        params,
        nstring(part.header(b"content-id")),
        nstring(part.header(b"content-description")),
        string(part.header(b"content-transfer-encoding") or b"7bit"),
        b"%d" % crlf_size(data, part.body, part.end),
    ]
    if is_text:
        fields.append(b"%d" % data.count(b"\n", part.body, part.end))
    elif part.message is not None:
        fields.append(envelope(part.message.headers))
        fields.append(write(data, part.message, extended))
        fields.append(b"%d" % data.count(b"\n", part.body, part.end))
    if extended:
        fields.append(nstring(part.header(b"content-md5")))
        fields.append(_extension(part))
    return b"(%b)" % b" ".join(fields)


__all__ = ["write"]
