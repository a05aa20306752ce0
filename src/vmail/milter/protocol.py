"""The Sendmail 8 milter protocol on the wire, MTA side (libmilter's ``mfdef.h`` names).

A packet is a 4-byte big-endian length (command byte included), one command byte and
its data: strings end in NUL, numbers are 32-bit big-endian (a port is 16-bit)."""

from __future__ import annotations

import struct

# commands the MTA sends (SMFIC_*)
ABORT, BODY, CONNECT, MACRO, BODYEOB = b"A", b"B", b"C", b"D", b"E"
HELO, HEADER, MAIL, EOH, OPTNEG = b"H", b"L", b"M", b"N", b"O"
QUIT, RCPT, DATA, UNKNOWN = b"Q", b"R", b"T", b"U"

# replies and requests from the application (SMFIR_*)
ADDRCPT, DELRCPT, ADDRCPT_PAR, SHUTDOWN = b"+", b"-", b"2", b"4"
ACCEPT, REPLBODY, CONTINUE, DISCARD = b"a", b"b", b"c", b"d"
CHGFROM, CONN_FAIL, ADDHEADER, INSHEADER = b"e", b"f", b"h", b"i"
SETSYMLIST, CHGHEADER, PROGRESS, QUARANTINE = b"l", b"m", b"p", b"q"
REJECT, SKIP, TEMPFAIL, REPLYCODE = b"r", b"s", b"t", b"y"

# actions the application may take (SMFIF_*): all that Postfix 3.7 offers
ACTIONS = 0x1FF  # ADDHDRS CHGBODY ADDRCPT DELRCPT CHGHDRS QUARANTINE CHGFROM ADDRCPT_PAR SETSYMLIST

# events the application may turn off or answer without a reply (SMFIP_*)
NOCONNECT, NOHELO, NOMAIL, NORCPT = 0x1, 0x2, 0x4, 0x8
NOBODY, NOHDRS, NOEOH, NR_HDR = 0x10, 0x20, 0x40, 0x80
NOUNKNOWN, NODATA, SKIP_FLAG, RCPT_REJ = 0x100, 0x200, 0x400, 0x800
NR_CONN, NR_HELO, NR_MAIL, NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
NR_DATA, NR_UNKN, NR_EOH, NR_BODY = 0x10000, 0x20000, 0x40000, 0x80000
HDR_LEADSPC = 0x100000
NOREPLY = NR_HDR | NR_CONN | NR_HELO | NR_MAIL | NR_RCPT | NR_DATA | NR_UNKN | NR_EOH | NR_BODY

# what each protocol version may announce (milter8.c's masks)
_V2 = NOCONNECT | NOHELO | NOMAIL | NORCPT | NOBODY | NOHDRS | NOEOH
_V3 = _V2 | NOUNKNOWN
_V4 = _V3 | NODATA
_V6 = _V4 | SKIP_FLAG | RCPT_REJ | NOREPLY | HDR_LEADSPC
EVENT_MASKS = {"2": _V2, "3": _V3, "4": _V4, "6": _V6, "no_header_reply": NR_HDR}
VERSIONS = {"2": 2, "3": 3, "4": 4, "6": 6}
# events that do not exist below a version: sent only when announced
NOSEND = NOCONNECT | NOHELO | NOMAIL | NORCPT | NOBODY | NOHDRS | NOEOH | NOUNKNOWN | NODATA

# macro stages of SMFIR_SETSYMLIST / the MACRO packet (SMFIM_*)
STAGE_CONNECT, STAGE_HELO, STAGE_MAIL, STAGE_RCPT = 0, 1, 2, 3
STAGE_DATA, STAGE_EOM, STAGE_EOH = 4, 5, 6
STAGE_UNKNOWN = 7  # not a protocol stage: milter_unknown_command_macros (Postfix's own)

# address families of CONNECT (SMFIA_*)
FAMILY_UNKNOWN, FAMILY_UNIX, FAMILY_INET, FAMILY_INET6 = b"U", b"L", b"4", b"6"

BODY_CHUNK = 65535  # Postfix's MILTER_CHUNK_SIZE
MAX_PACKET = 2**30  # more is not a reply: a broken or hostile peer


def text(value: str) -> bytes:
    """A NUL-terminated string (bytes that are not UTF-8 kept as they came)."""
    return value.encode("utf-8", "surrogateescape") + b"\0"


def number(value: int) -> bytes:
    return struct.pack("!I", value)


def packet(command: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(data) + 1) + command + data


def macros(stage: bytes, pairs: list[tuple[str, str]]) -> bytes:
    """The MACRO packet that precedes the event ``stage`` (a command byte)."""
    return packet(MACRO, stage + b"".join(text(name) + text(value) for name, value in pairs))


def strings(data: bytes) -> list[str]:
    """The NUL-terminated strings of a reply's data (a missing last NUL is an error)."""
    if not data.endswith(b"\0"):
        raise ValueError("string without its NUL terminator")
    return [part.decode("utf-8", "surrogateescape") for part in data[:-1].split(b"\0")]


def parse_number(data: bytes, offset: int = 0) -> int:
    if len(data) < offset + 4:
        raise ValueError("packet too short for a number")
    value: int = struct.unpack_from("!I", data, offset)[0]
    return value
