"""Digest-based Dovecot schemes: plain and salted SHA/MD5, PBKDF2 and SCRAM.

Every function here takes the plaintext and the *decoded* stored value (the dispatcher in
:mod:`vmail.auth.schemes` has already removed ``{SCHEME}`` and undone hex/base64) and
returns whether they match, comparing in constant time. Malformed input raises
:class:`CorruptHashError`.

Layouts, as Dovecot writes them:

* ``{SHA}``/``{SHA1}``, ``{SHA256}``, ``{SHA512}``, ``{PLAIN-MD5}``, ``{LDAP-MD5}``: the bare
  digest.
* ``{SSHA}``, ``{SSHA256}``, ``{SSHA512}``, ``{SMD5}``: ``digest(password + salt) + salt``
  (the salt is whatever follows the digest, at least one byte).
* ``{PBKDF2}``: ``$1$<salt>$<rounds>$<hex PBKDF2-HMAC-SHA1, 20 bytes>``, the salt used as text.
* ``{SCRAM-SHA-1}``/``{SCRAM-SHA-256}``: ``<iterations>,<b64 salt>,<b64 StoredKey>,<b64 ServerKey>``
  (RFC 5802): StoredKey = H(HMAC(SaltedPassword, "Client Key")).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Final

from vmail.auth.errors import CorruptHashError

_MAX_ITERATIONS: Final = 10_000_000


def plain_digest(algorithm: str) -> Callable[[bytes, bytes], bool]:
    """A verifier for an unsalted ``algorithm`` digest."""

    def verify(plain: bytes, raw: bytes) -> bool:
        return hmac.compare_digest(hashlib.new(algorithm, plain).digest(), raw)

    return verify


def salted_digest(algorithm: str) -> Callable[[bytes, bytes], bool]:
    """A verifier for ``digest(password + salt) + salt``."""
    size = hashlib.new(algorithm).digest_size

    def verify(plain: bytes, raw: bytes) -> bool:
        if len(raw) <= size:
            raise CorruptHashError(f"salted {algorithm} value too short ({len(raw)} bytes)")
        digest, salt = raw[:size], raw[size:]
        return hmac.compare_digest(hashlib.new(algorithm, plain + salt).digest(), digest)

    return verify


def make_salted(algorithm: str, plain: bytes, salt_len: int = 8) -> bytes:
    """``digest(password + salt) + salt`` with a fresh random salt."""
    salt = os.urandom(salt_len)
    return hashlib.new(algorithm, plain + salt).digest() + salt


def verify_pbkdf2(plain: bytes, raw: bytes) -> bool:
    """Dovecot's ``{PBKDF2}`` (PBKDF2-HMAC-SHA1)."""
    fields = raw.split(b"$")
    if len(fields) != 5 or fields[0] != b"" or fields[1] != b"1":
        raise CorruptHashError("PBKDF2 value is not $1$salt$rounds$hex")
    rounds = _count(fields[3], "PBKDF2 rounds")
    try:
        expected = bytes.fromhex(fields[4].decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise CorruptHashError("PBKDF2 digest is not hex") from None
    if not expected:
        raise CorruptHashError("PBKDF2 digest is empty")
    actual = hashlib.pbkdf2_hmac("sha1", plain, fields[2], rounds, len(expected))
    return hmac.compare_digest(actual, expected)


def scram(algorithm: str) -> Callable[[bytes, bytes], bool]:
    """A verifier for Dovecot's ``{SCRAM-SHA-1}``/``{SCRAM-SHA-256}`` credentials."""

    def verify(plain: bytes, raw: bytes) -> bool:
        fields = raw.split(b",")
        if len(fields) != 4:
            raise CorruptHashError("SCRAM value is not iterations,salt,storedkey,serverkey")
        iterations = _count(fields[0], "SCRAM iterations")
        try:
            salt = base64.b64decode(fields[1], validate=True)
            stored_key = base64.b64decode(fields[2], validate=True)
        except binascii.Error:
            raise CorruptHashError("SCRAM salt or key is not base64") from None
        salted = hashlib.pbkdf2_hmac(algorithm, plain, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", algorithm).digest()
        return hmac.compare_digest(hashlib.new(algorithm, client_key).digest(), stored_key)

    return verify


def _count(text: bytes, what: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= _MAX_ITERATIONS:
        raise CorruptHashError(f"{what} missing or out of range")
    return int(text)
