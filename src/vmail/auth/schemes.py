"""The ``{SCHEME}`` dispatcher: which verifier a stored password needs, and how it is encoded.

A stored value is ``{NAME}data``, ``{NAME.B64}data``/``{NAME.HEX}data``, or a bare modular
crypt string (``$6$…``, ``$2y$…``) as PostfixAdmin's ``php_crypt`` writes — read like
Dovecot's ``{CRYPT}``. Names are case-insensitive, as in Dovecot.

Decoding follows Dovecot's rules (re-stated, not copied):

* each scheme has a default encoding: none (the data is used as text), hex or base64;
* a ``.B64``/``.BASE64``/``.HEX`` suffix overrides it — also for crypt schemes, whose
  text is then base64 or hex of the crypt string (PostfixAdmin's ``SHA512-CRYPT.B64``);
* for a fixed-size digest without a suffix, data exactly twice the digest size is hex and
  anything else base64; hex that does not decode is retried as base64;
* a decoded fixed-size digest of the wrong length is a corrupt hash.

Nothing here raises on bad input: :func:`check` reports an :class:`Outcome`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from vmail.auth import digests
from vmail.auth.cryptformats import is_crypt, verify_crypt
from vmail.auth.errors import CorruptHashError
from vmail.auth.md5state import cram_md5_stored


class Encoding(enum.Enum):
    """How a scheme's data is written after the ``{…}`` prefix."""

    NONE = "none"
    HEX = "hex"
    BASE64 = "base64"


class Outcome(enum.Enum):
    """The result of checking a password against a stored value."""

    MATCH = "match"
    MISMATCH = "password mismatch"
    UNKNOWN_SCHEME = "unknown password scheme"
    CORRUPT = "corrupt password hash"


@dataclass(frozen=True)
class Verdict:
    """An :class:`Outcome` plus the scheme it concerns and, when not a plain answer, why."""

    outcome: Outcome
    scheme: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.MATCH


Verifier = Callable[[bytes, bytes], bool]


@dataclass(frozen=True)
class Scheme:
    """A password scheme: its default encoding, fixed raw size (0 = variable) and verifier."""

    name: str
    encoding: Encoding
    raw_len: int
    verify: Verifier


def _crypt(plain: bytes, raw: bytes) -> bool:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CorruptHashError("crypt string is not ASCII") from None
    return verify_crypt(plain, text)


def _plain(plain: bytes, raw: bytes) -> bool:
    return hmac.compare_digest(plain, raw)


def _cram_md5(plain: bytes, raw: bytes) -> bool:
    return hmac.compare_digest(cram_md5_stored(plain), raw)


_plain_md5 = digests.plain_digest("md5")


def _md5(plain: bytes, raw: bytes) -> bool:
    # Dovecot's {MD5} is MD5-crypt when the data starts with $1$, else a PLAIN-MD5 digest.
    if raw.startswith(b"$1$"):
        return _crypt(plain, raw)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CorruptHashError("MD5 value is neither MD5-crypt nor a digest") from None
    digest = _decode(text, _guess(Encoding.HEX, 16, text))
    if len(digest) != 16:
        raise CorruptHashError("MD5 value is neither MD5-crypt nor a 16-byte digest")
    return _plain_md5(plain, digest)


def _table() -> dict[str, Scheme]:
    none, hexa, b64 = Encoding.NONE, Encoding.HEX, Encoding.BASE64
    entries = [
        Scheme("ARGON2ID", none, 0, _crypt),
        Scheme("ARGON2I", none, 0, _crypt),
        Scheme("BLF-CRYPT", none, 0, _crypt),
        Scheme("SHA512-CRYPT", none, 0, _crypt),
        Scheme("SHA256-CRYPT", none, 0, _crypt),
        Scheme("MD5-CRYPT", none, 0, _crypt),
        Scheme("CRYPT", none, 0, _crypt),
        Scheme("MD5", none, 0, _md5),
        Scheme("PLAIN-MD5", hexa, 16, _plain_md5),
        Scheme("MD5RAW", hexa, 16, _plain_md5),  # PostfixAdmin authlib's {md5raw}
        Scheme("LDAP-MD5", b64, 16, _plain_md5),
        Scheme("SHA", b64, 20, digests.plain_digest("sha1")),
        Scheme("SHA1", b64, 20, digests.plain_digest("sha1")),
        Scheme("SHA256", b64, 32, digests.plain_digest("sha256")),
        Scheme("SHA512", b64, 64, digests.plain_digest("sha512")),
        Scheme("SMD5", b64, 0, digests.salted_digest("md5")),
        Scheme("SSHA", b64, 0, digests.salted_digest("sha1")),
        Scheme("SSHA256", b64, 0, digests.salted_digest("sha256")),
        Scheme("SSHA512", b64, 0, digests.salted_digest("sha512")),
        Scheme("PBKDF2", none, 0, digests.verify_pbkdf2),
        Scheme("SCRAM-SHA-1", none, 0, digests.scram("sha1")),
        Scheme("SCRAM-SHA-256", none, 0, digests.scram("sha256")),
        Scheme("CRAM-MD5", hexa, 32, _cram_md5),
        Scheme("HMAC-MD5", hexa, 32, _cram_md5),
        Scheme("PLAIN", none, 0, _plain),
        Scheme("CLEAR", none, 0, _plain),
        Scheme("CLEARTEXT", none, 0, _plain),
    ]
    return {scheme.name: scheme for scheme in entries}


SCHEMES: dict[str, Scheme] = _table()
_SUFFIXES = {"B64": Encoding.BASE64, "BASE64": Encoding.BASE64, "HEX": Encoding.HEX}
BARE = "CRYPT"


def split(stored: str) -> tuple[str, str]:
    """``(scheme as written, data)``; a value without ``{…}`` has scheme ``""``."""
    if stored.startswith("{"):
        end = stored.find("}")
        if end > 0:
            return stored[1:end], stored[end + 1 :]
    return "", stored


def scheme_name(stored: str) -> str:
    """The upper-case scheme name of ``stored`` (``CRYPT`` for a bare crypt string)."""
    written, _ = split(stored)
    return written.upper() if written else BARE


def check(plain: bytes, stored: str) -> Verdict:
    """Check ``plain`` against ``stored``; never raises."""
    if not isinstance(stored, str) or not isinstance(plain, bytes):
        return Verdict(Outcome.CORRUPT, "", "password or stored hash is not text")
    written, data = split(stored)
    if not written:
        if not is_crypt(data):
            return Verdict(Outcome.UNKNOWN_SCHEME, "", "no {SCHEME} prefix and not a crypt string")
        written = BARE
    name, _, suffix = written.upper().partition(".")
    scheme = SCHEMES.get(name)
    if scheme is None:
        return Verdict(Outcome.UNKNOWN_SCHEME, written.upper())
    encoding = scheme.encoding
    if suffix:
        if suffix not in _SUFFIXES:
            return Verdict(Outcome.UNKNOWN_SCHEME, written.upper(), f"unknown encoding .{suffix}")
        encoding = _SUFFIXES[suffix]
    else:
        encoding = _guess(encoding, scheme.raw_len, data)
    try:
        raw = _decode(data, encoding)
        if scheme.raw_len and len(raw) != scheme.raw_len:
            raise CorruptHashError(f"decoded length {len(raw)}, expected {scheme.raw_len}")
        matched = scheme.verify(plain, raw)
    except CorruptHashError as error:
        return Verdict(Outcome.CORRUPT, scheme.name, str(error))
    except (ValueError, TypeError, OverflowError) as error:  # a library's complaint
        return Verdict(Outcome.CORRUPT, scheme.name, f"{type(error).__name__}: {error}")
    return Verdict(Outcome.MATCH if matched else Outcome.MISMATCH, scheme.name)


def _guess(encoding: Encoding, raw_len: int, data: str) -> Encoding:
    if encoding is Encoding.NONE or not raw_len:
        return encoding
    return Encoding.HEX if len(data) == 2 * raw_len else Encoding.BASE64


def _decode(data: str, encoding: Encoding) -> bytes:
    if encoding is Encoding.NONE:
        return data.encode("utf-8", "surrogateescape")
    if encoding is Encoding.HEX:
        try:
            return bytes.fromhex(data)
        except ValueError:
            pass  # Dovecot retries as base64: some lengths are ambiguous.
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CorruptHashError(f"data is not valid {encoding.value}") from None
