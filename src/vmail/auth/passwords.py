"""Password hashing and verification in Dovecot's ``{SCHEME}hash`` format.

New passwords are hashed with Argon2id. (The full verifier for every scheme an imported
PostfixAdmin/Dovecot database may hold is being written; this module's API is stable.)
"""

from __future__ import annotations

import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DEFAULT_SCHEME = "ARGON2ID"
_argon2 = PasswordHasher()


def hash_password(plain: str, scheme: str = DEFAULT_SCHEME) -> str:
    """``{ARGON2ID}$argon2id$...`` for a new password."""
    if scheme != DEFAULT_SCHEME:
        raise ValueError(f"unsupported scheme for new passwords: {scheme}")
    return "{ARGON2ID}" + _argon2.hash(plain)


def verify_password(plain: str, stored: str) -> bool:
    """True if ``plain`` matches ``stored``; False for a wrong, corrupt or unknown hash."""
    if stored.startswith("{ARGON2ID}"):
        try:
            return _argon2.verify(stored[len("{ARGON2ID}") :], plain)
        except (VerificationError, InvalidHashError):
            return False
    if stored.startswith(("{PLAIN}", "{CLEAR}")):
        return hmac.compare_digest(stored.split("}", 1)[1].encode(), plain.encode())
    return False
