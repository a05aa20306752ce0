"""Modified UTF-7 (RFC 3501 section 5.1.3), the encoding of IMAP mailbox names."""

from __future__ import annotations

import base64
import binascii

_B64_STD = b"+/"
_B64_IMAP = b"+,"
_SHIFT_TO_STD = bytes.maketrans(_B64_IMAP, _B64_STD)
_STD_TO_SHIFT = bytes.maketrans(_B64_STD, _B64_IMAP)
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,")


def _is_direct(char: str) -> bool:
    """Whether *char* is represented as itself (printable US-ASCII)."""
    return "\x20" <= char <= "\x7e"


def _encode_run(run: str) -> str:
    try:
        raw = run.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise ValueError(f"cannot encode lone surrogate in {run!r}") from exc
    return "&" + base64.b64encode(raw).rstrip(b"=").translate(_STD_TO_SHIFT).decode("ascii") + "-"


def encode_mutf7(name: str) -> str:
    """Encode a Unicode mailbox name as modified UTF-7; raises ValueError for lone surrogates."""
    if name.isascii() and "&" not in name and name.isprintable():
        return name
    out: list[str] = []
    run_start = -1
    for i, char in enumerate(name):
        if _is_direct(char):
            if run_start >= 0:
                out.append(_encode_run(name[run_start:i]))
                run_start = -1
            out.append("&-" if char == "&" else char)
        elif run_start < 0:
            run_start = i
    if run_start >= 0:
        out.append(_encode_run(name[run_start:]))
    return "".join(out)


def _decode_run(encoded: str, position: int) -> str:
    if not encoded or any(c not in _B64_CHARS for c in encoded):
        raise ValueError(f"invalid modified base64 at offset {position}: {encoded!r}")
    padded = encoded.encode("ascii").translate(_SHIFT_TO_STD) + b"=" * (-len(encoded) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
        text = raw.decode("utf-16-be")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid UTF-16 in modified base64 at offset {position}") from exc
    if any(_is_direct(c) for c in text):
        raise ValueError(f"printable ASCII encoded in base64 at offset {position}")
    if _encode_run(text) != f"&{encoded}-":
        raise ValueError(f"non-canonical modified base64 at offset {position}: {encoded!r}")
    return text


def decode_mutf7(name: str) -> str:
    """Decode a modified UTF-7 mailbox name; raises ValueError if it is not valid and canonical."""
    out: list[str] = []
    i = 0
    length = len(name)
    previous_was_run = False
    while i < length:
        char = name[i]
        if char != "&":
            if not _is_direct(char):
                raise ValueError(f"character {char!r} at offset {i} must be base64-encoded")
            out.append(char)
            previous_was_run = False
            i += 1
            continue
        end = name.find("-", i + 1)
        if end < 0:
            raise ValueError(f"unterminated '&' shift at offset {i}")
        if end == i + 1:
            out.append("&")
            previous_was_run = False
        else:
            if previous_was_run:
                raise ValueError(f"adjacent base64 runs at offset {i} must be merged")
            out.append(_decode_run(name[i + 1 : end], i))
            previous_was_run = True
        i = end + 1
    return "".join(out)
