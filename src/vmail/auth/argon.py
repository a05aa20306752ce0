"""Argon2 hashing with vmail's default parameters, in the string format Dovecot uses.

``doveadm pw -s ARGON2ID`` (libsodium) writes ``{ARGON2ID}$argon2id$v=19$m=…,t=…,p=1$salt$hash``
with a 16-byte salt, a 32-byte hash, unpadded base64 and one lane. vmail writes the same
shape. libsodium computes only one lane, so vmail keeps ``p=1``: those hashes verify with
``doveadm pw -t`` and in Dovecot's auth process.

Default cost: ``m=19456`` KiB (19 MiB), ``t=2``, ``p=1`` — OWASP's Argon2id baseline. One
verify takes about 27 ms on the idle 2-core development machine and 34-39 ms with the
machine busy (Dovecot's own default, ``m=65536,t=3``, takes 210-350 ms there): inside the
20-50 ms budget for a login without a cache hit. ``bench/auth_bench.py`` measures it.
argon2-cffi releases the GIL, so verifications run in parallel from a thread pool
(callers use :func:`asyncio.to_thread`).
"""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vmail.auth.errors import CorruptHashError

MEMORY_KIB: Final = 19456
TIME_COST: Final = 2
PARALLELISM: Final = 1
HASH_LEN: Final = 32
SALT_LEN: Final = 16

_hasher_id = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_KIB,
    parallelism=PARALLELISM,
    hash_len=HASH_LEN,
    salt_len=SALT_LEN,
    type=Type.ID,
)
_hasher_i = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_KIB,
    parallelism=PARALLELISM,
    hash_len=HASH_LEN,
    salt_len=SALT_LEN,
    type=Type.I,
)
# Generous upper bounds on what a stored hash may ask for, so one bad row cannot make a
# login allocate gigabytes or run for minutes.
_MAX_MEMORY_KIB: Final = 1 << 20
_MAX_TIME_COST: Final = 64


def hash_argon2(plain: bytes, *, variant_i: bool = False) -> str:
    """A ``$argon2id$…`` (or ``$argon2i$…``) string with the default parameters."""
    return (_hasher_i if variant_i else _hasher_id).hash(plain)


def verify_argon2(plain: bytes, encoded: str) -> bool:
    """True if ``plain`` matches the ``$argon2i$``/``$argon2id$`` string ``encoded``."""
    try:
        _check_cost(encoded)
        # The hasher's type is only a default: verify() follows the type in the string.
        return _hasher_id.verify(encoded, plain)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError) as error:
        raise CorruptHashError(f"unusable argon2 hash: {error}") from None


def is_current(encoded: str) -> bool:
    """True if ``encoded`` is an Argon2id hash with exactly the default parameters."""
    if not encoded.startswith("$argon2id$"):
        return False
    try:
        return not _hasher_id.check_needs_rehash(encoded)
    except (InvalidHashError, ValueError):
        return False


def _check_cost(encoded: str) -> None:
    fields = encoded.split("$")
    if len(fields) < 5:
        raise InvalidHashError("too few fields")
    params = dict(item.partition("=")[::2] for item in fields[3].split(","))
    try:
        memory, time_cost = int(params.get("m", "")), int(params.get("t", ""))
    except ValueError:
        raise InvalidHashError("bad m= or t= parameter") from None
    if memory > _MAX_MEMORY_KIB or time_cost > _MAX_TIME_COST:
        raise InvalidHashError(f"cost too high (m={memory}, t={time_cost})")
