"""Password hashing and verification in Dovecot's ``{SCHEME}hash`` format — the public API.

* :func:`hash_password` makes new hashes: ``{ARGON2ID}`` by default (parameters in
  :mod:`vmail.auth.argon`), or a few other schemes for compatibility tests and exports.
* :func:`verify_password` checks a password against anything a Dovecot or PostfixAdmin
  database may hold (see :mod:`vmail.auth.schemes`); it returns False — never raises — for
  a wrong password, a corrupt hash or an unknown scheme. :func:`check_password` says which.
* :func:`needs_rehash` is true for anything but an Argon2id hash with today's parameters,
  so a successful login can upgrade the stored hash.

Argon2 and bcrypt cost tens of milliseconds: from async code, call these through
:func:`asyncio.to_thread` (both libraries release the GIL, so verifications run in
parallel). Passwords are ``str`` (encoded as UTF-8) or ``bytes``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Final

from vmail.auth import argon, cryptformats, digests, schemes
from vmail.auth.md5state import cram_md5_stored
from vmail.auth.schemes import Outcome, Verdict

DEFAULT_SCHEME: Final = "ARGON2ID"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


_GENERATORS: Final[dict[str, Callable[[bytes], str]]] = {
    "ARGON2ID": argon.hash_argon2,
    "ARGON2I": lambda plain: argon.hash_argon2(plain, variant_i=True),
    "BLF-CRYPT": cryptformats.hash_bcrypt,
    "SHA512-CRYPT": lambda plain: cryptformats.hash_sha_crypt(plain, 512),
    "SHA256-CRYPT": lambda plain: cryptformats.hash_sha_crypt(plain, 256),
    "SSHA512": lambda plain: _b64(digests.make_salted("sha512", plain)),
    "SSHA256": lambda plain: _b64(digests.make_salted("sha256", plain)),
    "CRAM-MD5": lambda plain: cram_md5_stored(plain).hex(),
    "PLAIN": lambda plain: plain.decode("utf-8", "surrogateescape"),
}
GENERATED_SCHEMES: Final = tuple(_GENERATORS)


def _bytes(plain: str | bytes) -> bytes:
    return plain.encode("utf-8") if isinstance(plain, str) else plain


def hash_password(plain: str | bytes, scheme: str = DEFAULT_SCHEME) -> str:
    """``{SCHEME}data`` for a new password; ValueError for a scheme vmail does not write."""
    generator = _GENERATORS.get(scheme.upper())
    if generator is None:
        known = ", ".join(GENERATED_SCHEMES)
        raise ValueError(f"cannot create {scheme!r} password hashes (choose one of {known})")
    return "{" + scheme.upper() + "}" + generator(_bytes(plain))


def check_password(plain: str | bytes, stored: str) -> Verdict:
    """Match, mismatch, unknown scheme or corrupt hash — with the scheme's name; never raises."""
    return schemes.check(_bytes(plain), stored)


def verify_password(plain: str | bytes, stored: str) -> bool:
    """True if ``plain`` matches ``stored``; False for a wrong, corrupt or unknown hash."""
    return check_password(plain, stored).outcome is Outcome.MATCH


def needs_rehash(stored: str) -> bool:
    """True unless ``stored`` is ``{ARGON2ID}`` with vmail's current default parameters."""
    written, data = schemes.split(stored)
    return written.upper() != DEFAULT_SCHEME or not argon.is_current(data)
