"""The MIME tree of a raw message: offsets of every part, found without copying.

Boundaries are matched like Dovecot: a line starting with ``--boundary`` (prefix
match), the line break before it belongs to the delimiter, a missing close delimiter
ends the part at its parent's end. Nesting deeper than :data:`MAX_DEPTH` or more than
:data:`MAX_PARTS` parts (Dovecot's ``message_max_nested_mime_parts`` = 100 and
``message_max_total_mime_parts`` = 10000 defaults) are not split further: the rest is
an opaque body, written as application/octet-stream like Dovecot does.
"""

from __future__ import annotations

import re

from .headers import collect, unfold
from .raw import body_offset

MAX_DEPTH = 100
MAX_PARTS = 10000

_TYPE = re.compile(rb"\s*([^\s/;]+)(?:\s*/\s*([^\s;]*))?")
_PARAM = re.compile(rb';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;\s]*)')
_CONTINUATION = re.compile(rb"^(.+?)\*(\d+)(\*?)$")
_ESCAPED = re.compile(rb"\\(.)")

Params = list[tuple[bytes, bytes]]


def parse_params(value: bytes) -> Params:
    """``; name=value`` parameters, unquoted, RFC 2231 continuations joined."""
    out: Params = []
    joined: dict[bytes, tuple[int, list[tuple[int, bytes]], bool]] = {}
    for m in _PARAM.finditer(value):
        name, raw = m.group(1), m.group(2)
        if raw[:1] == b'"':
            raw = raw[1:-1] if raw.endswith(b'"') and len(raw) > 1 else raw[1:]
            if b"\\" in raw:
                raw = _ESCAPED.sub(rb"\1", raw)
        cont = _CONTINUATION.match(name) if b"*" in name else None
        if cont is None:
            out.append((name, raw))
            continue
        base = cont.group(1)
        entry = joined.get(base)
        if entry is None:
            entry = (len(out), [], False)
            out.append((base, b""))
        segments = entry[1]
        segments.append((int(cont.group(2)), raw))
        joined[base] = (entry[0], segments, entry[2] or bool(cont.group(3)))
    for base, (index, segments, extended) in joined.items():
        segments.sort()
        out[index] = (base + b"*" if extended else base, b"".join(s for _, s in segments))
    return out


class Part:
    """One MIME entity: header at ``start``, body ``[body, end)`` in the raw data."""

    __slots__ = (
        "body",
        "children",
        "end",
        "headers",
        "message",
        "params",
        "start",
        "subtype",
        "type",
    )

    def __init__(self, data: bytes, start: int, end: int, digest: bool) -> None:
        self.start = start
        self.end = end
        self.body = body_offset(data, start, end)
        self.headers = collect(data, start, self.body)
        self.children: list[Part] = []
        self.message: Part | None = None
        ctype = self.headers.get(b"content-type")
        value = unfold(ctype[0]) if ctype else b""
        m = _TYPE.match(value) if ctype else None
        if m is None:
            self.type, self.subtype = (b"message", b"rfc822") if digest else (b"text", b"plain")
            self.params: Params = []
        else:
            self.type, self.subtype = m.group(1), m.group(2) or b""
            self.params = parse_params(value[m.end() :]) if m.end() < len(value) else []

    def is_type(self, mtype: bytes, subtype: bytes | None = None) -> bool:
        """Case-insensitive type check."""
        return self.type.lower() == mtype and (subtype is None or self.subtype.lower() == subtype)

    def param(self, name: bytes) -> bytes | None:
        """A Content-Type parameter by case-insensitive name."""
        for key, value in self.params:
            if key.lower() == name:
                return value
        return None

    def header(self, name: bytes) -> bytes | None:
        """The first value of a header of this part, unfolded."""
        values = self.headers.get(name)
        return unfold(values[0]) if values else None


def _delimiters(data: bytes, part: Part, boundary: bytes, budget: list[int]) -> list[Part]:
    dl = b"--" + boundary
    start, end = part.body, part.end
    if data.startswith(dl, start) and start + len(dl) <= end:
        q = start
    else:
        q = data.find(b"\n" + dl, start, end) + 1
        if q == 0:
            return []
    children: list[Part] = []
    digest = part.subtype.lower() == b"digest"
    while budget[0] > 0:
        after = q + len(dl)
        if data.startswith(b"--", after, end):
            break
        line_end = data.find(b"\n", after, end)
        pstart = end if line_end < 0 else line_end + 1
        nxt = data.find(b"\n" + dl, pstart - 1, end) if pstart < end else -1
        if nxt < 0:
            pend = end
        else:
            pend = nxt - 1 if nxt > pstart and data[nxt - 1] == 0x0D else nxt
            pend = max(pend, pstart)
        budget[0] -= 1
        children.append(Part(data, pstart, pend, digest))
        if nxt < 0:
            break
        q = nxt + 1
    return children


def _expand(data: bytes, part: Part, depth: int, budget: list[int]) -> None:
    if depth + 1 >= MAX_DEPTH or budget[0] <= 0:
        if part.is_type(b"multipart") or part.is_type(b"message", b"rfc822"):
            # Like Dovecot: a container past the limits is an opaque attachment.
            part.type, part.subtype = b"application", b"octet-stream"
        return
    if part.is_type(b"multipart"):
        boundary = part.param(b"boundary")
        if boundary:
            part.children = _delimiters(data, part, boundary, budget)
            for child in part.children:
                _expand(data, child, depth + 1, budget)
    elif part.is_type(b"message", b"rfc822"):
        budget[0] -= 1
        part.message = Part(data, part.body, part.end, False)
        _expand(data, part.message, depth + 1, budget)


def parse(data: bytes) -> Part:
    """The MIME tree of ``data`` (never raises)."""
    root = Part(data, 0, len(data), False)
    _expand(data, root, 0, [MAX_PARTS])
    return root


__all__ = ["MAX_DEPTH", "MAX_PARTS", "Params", "Part", "parse", "parse_params"]
