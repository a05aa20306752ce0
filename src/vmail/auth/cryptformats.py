"""Modular crypt strings (``$id$…``) as Dovecot's ``*-CRYPT`` schemes and PostfixAdmin store them.

Dovecot verifies ``{SHA512-CRYPT}``, ``{SHA256-CRYPT}``, ``{MD5-CRYPT}``, ``{BLF-CRYPT}`` and
``{CRYPT}`` with the C library's ``crypt()``, which picks the algorithm from the ``$id$``
at the start of the stored string. PostfixAdmin's default ``php_crypt`` stores the same
strings without any ``{…}`` prefix. vmail does the same dispatch without :mod:`crypt`
(removed in Python 3.13):

* ``$1$`` MD5-crypt, ``$5$`` SHA256-crypt, ``$6$`` SHA512-crypt: libpass's pure-Python handlers;
* ``$2a$``/``$2b$``/``$2y$`` bcrypt: :mod:`bcrypt`, with the password cut to 72 bytes as
  libxcrypt and PHP do (bcrypt 5 raises instead);
* ``$argon2i$``/``$argon2id$``: argon2-cffi (see :mod:`vmail.auth.argon`).

Traditional DES crypt (13 characters, no ``$``) and yescrypt (``$y$``) are not supported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import bcrypt
from passlib.hash import (  # type: ignore[import-untyped]  # libpass ships no stubs
    md5_crypt,
    sha256_crypt,
    sha512_crypt,
)

from vmail.auth.argon import verify_argon2
from vmail.auth.errors import CorruptHashError

BCRYPT_MAX_BYTES: Final = 72
_MAX_SHA_CRYPT_ROUNDS: Final = 1_000_000


def verify_crypt(plain: bytes, encoded: str) -> bool:
    """True if ``plain`` matches the modular crypt string ``encoded``.

    Raises :class:`CorruptHashError` for an unknown ``$id$`` or a malformed string.
    """
    verifier = _verifier(encoded)
    if verifier is None:
        raise CorruptHashError(f"unsupported crypt format {encoded[:4]!r}")
    return verifier(plain, encoded)


def is_crypt(encoded: str) -> bool:
    """True if ``encoded`` starts with a ``$id$`` vmail can verify."""
    return _verifier(encoded) is not None


def hash_bcrypt(plain: bytes, cost: int = 10) -> str:
    """A ``$2y$`` bcrypt string (the variant Dovecot and PHP write)."""
    out = bcrypt.hashpw(plain[:BCRYPT_MAX_BYTES], bcrypt.gensalt(cost, prefix=b"2b")).decode()
    return "$2y$" + out[4:]


def hash_sha_crypt(plain: bytes, bits: int) -> str:
    """A ``$6$`` (``bits=512``) or ``$5$`` (``bits=256``) string with 5000 rounds, as Dovecot."""
    handler = sha512_crypt if bits == 512 else sha256_crypt
    return str(handler.using(rounds=5000).hash(plain))


def _verifier(encoded: str) -> Callable[[bytes, str], bool] | None:
    if encoded.startswith(("$2a$", "$2b$", "$2y$")):
        return _verify_bcrypt
    if encoded.startswith(("$argon2id$", "$argon2i$")):
        return verify_argon2
    if encoded.startswith(("$1$", "$5$", "$6$")):
        return _verify_sha_md5
    return None


def _verify_bcrypt(plain: bytes, encoded: str) -> bool:
    try:
        return bcrypt.checkpw(plain[:BCRYPT_MAX_BYTES], encoded.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise CorruptHashError("malformed bcrypt hash") from None


_HANDLERS: Final = {"$1$": md5_crypt, "$5$": sha256_crypt, "$6$": sha512_crypt}


def _verify_sha_md5(plain: bytes, encoded: str) -> bool:
    handler = _HANDLERS[encoded[:3]]
    if encoded.startswith(("$5$rounds=", "$6$rounds=")):
        rounds = encoded[10:].split("$", 1)[0]
        if not rounds.isdigit() or int(rounds) > _MAX_SHA_CRYPT_ROUNDS:
            raise CorruptHashError("SHA-crypt rounds missing or too high")
    try:
        return bool(handler.verify(plain, encoded))
    except (ValueError, TypeError):
        raise CorruptHashError(f"malformed {handler.name} hash") from None
