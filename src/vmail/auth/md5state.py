"""MD5 with an exposed internal state, for Dovecot's ``{CRAM-MD5}`` password scheme.

Dovecot stores a CRAM-MD5 "password" as the two HMAC-MD5 chaining states reached after
hashing the key block XOR ipad and XOR opad (RFC 2104), so a server can answer CRAM-MD5
without the plaintext. :mod:`hashlib` cannot export or resume an MD5 state, hence this
small implementation of the RFC 1321 compression function. It is only used on short
inputs (one key block, one challenge), so pure Python is fast enough.
"""

from __future__ import annotations

import hashlib
import math
import struct

State = tuple[int, int, int, int]

BLOCK = 64
INITIAL_STATE: State = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
_MASK = 0xFFFFFFFF
# Per-round left-rotation amounts and sine-derived constants, as RFC 1321 section 3.4 defines.
_SHIFTS = (7, 12, 17, 22) * 4 + (5, 9, 14, 20) * 4 + (4, 11, 16, 23) * 4 + (6, 10, 15, 21) * 4
_SINES = tuple(int(abs(math.sin(i + 1)) * 2**32) & _MASK for i in range(64))
_INDEX = tuple(
    i if i < 16 else (5 * i + 1) % 16 if i < 32 else (3 * i + 5) % 16 if i < 48 else (7 * i) % 16
    for i in range(64)
)


def compress(state: State, block: bytes) -> State:
    """The state after feeding one 64-byte ``block`` into MD5 at ``state``."""
    if len(block) != BLOCK:
        raise ValueError("an MD5 block is 64 bytes")
    words = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            mixed = (b & c) | (~b & d)
        elif i < 32:
            mixed = (d & b) | (~d & c)
        elif i < 48:
            mixed = b ^ c ^ d
        else:
            mixed = c ^ (b | ~d)
        total = (mixed + a + _SINES[i] + words[_INDEX[i]]) & _MASK
        shift = _SHIFTS[i]
        a, d, c = d, c, b
        b = (b + ((total << shift) | (total >> (32 - shift)))) & _MASK
    return (
        (state[0] + a) & _MASK,
        (state[1] + b) & _MASK,
        (state[2] + c) & _MASK,
        (state[3] + d) & _MASK,
    )


def finish(state: State, data: bytes, already: int) -> bytes:
    """The MD5 digest of a message whose first ``already`` bytes produced ``state``.

    ``already`` must be a multiple of 64; ``data`` is the rest of the message.
    """
    length = already + len(data)
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", length * 8)
    for start in range(0, len(padded), BLOCK):
        state = compress(state, padded[start : start + BLOCK])
    return struct.pack("<4I", *state)


def hmac_md5_states(key: bytes) -> tuple[State, State]:
    """The (inner, outer) MD5 states after the ipad and opad key blocks of HMAC-MD5."""
    if len(key) > BLOCK:
        key = hashlib.md5(key).digest()
    key = key.ljust(BLOCK, b"\x00")
    inner = compress(INITIAL_STATE, bytes(k ^ 0x36 for k in key))
    outer = compress(INITIAL_STATE, bytes(k ^ 0x5C for k in key))
    return inner, outer


def cram_md5_stored(password: bytes) -> bytes:
    """The 32 bytes Dovecot stores for ``{CRAM-MD5}``: outer then inner state, little-endian."""
    inner, outer = hmac_md5_states(password)
    return struct.pack("<4I", *outer) + struct.pack("<4I", *inner)


def cram_md5_digest(stored: bytes, challenge: bytes) -> bytes:
    """HMAC-MD5(password, challenge) computed from ``stored`` (a CRAM-MD5 server's answer check)."""
    if len(stored) != 32:
        raise ValueError("a CRAM-MD5 state is 32 bytes")
    outer: State = struct.unpack("<4I", stored[:16])
    inner: State = struct.unpack("<4I", stored[16:])
    return finish(outer, finish(inner, challenge, BLOCK), BLOCK)
