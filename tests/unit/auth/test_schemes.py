"""Password schemes against hashes made by real Dovecot (committed fixtures and live doveadm)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from tests.unit.auth import dovecot_support
from vmail.auth import argon, md5state
from vmail.auth.passwords import (
    DEFAULT_SCHEME,
    GENERATED_SCHEMES,
    check_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from vmail.auth.schemes import SCHEMES, Outcome, scheme_name

SCHEMES_UNDER_TEST = [*SCHEMES, "SHA512-CRYPT.B64", "SHA256.HEX", "SSHA.B64"]

ROWS: list[dict[str, str]] = json.loads(dovecot_support.FIXTURES.read_text())


def _wrong(password: str) -> str:
    """A different password (changed at the front: bcrypt reads only 72 bytes)."""
    return "!" + password


def _id(row: dict[str, str]) -> str:
    return f"{row['scheme']}-{len(row['password'].encode())}B"


def test_fixtures_cover_every_scheme() -> None:
    assert {row["scheme"] for row in ROWS} == set(dovecot_support.SCHEMES)


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_dovecot_hash_verifies(row: dict[str, str]) -> None:
    verdict = check_password(row["password"], row["hash"])
    assert verdict.outcome is Outcome.MATCH, verdict
    assert verify_password(row["password"].encode(), row["hash"])


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_dovecot_hash_rejects_wrong_password(row: dict[str, str]) -> None:
    wrong = _wrong(row["password"])
    assert check_password(wrong, row["hash"]).outcome is Outcome.MISMATCH
    assert not verify_password(wrong, row["hash"])


@pytest.mark.parametrize("row", [r for r in ROWS if r["password"] == "x" * 80], ids=_id)
def test_bcrypt_reads_only_72_bytes_like_dovecot(row: dict[str, str]) -> None:
    is_bcrypt = "$2y$" in row["hash"] or row["scheme"] in ("BLF-CRYPT.B64", "CRYPT")
    assert verify_password("x" * 72 + "zzzzzzzz", row["hash"]) is is_bcrypt


POSTFIXADMIN_BARE = [
    r for r in ROWS if r["scheme"] in ("SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "BLF-CRYPT")
]


@pytest.mark.parametrize("row", POSTFIXADMIN_BARE, ids=_id)
def test_postfixadmin_php_crypt_without_prefix(row: dict[str, str]) -> None:
    bare = row["hash"].split("}", 1)[1]
    assert bare.startswith(("$1$", "$5$", "$6$", "$2y$"))
    assert verify_password(row["password"], bare)
    assert not verify_password(_wrong(row["password"]), bare)
    assert scheme_name(bare) == "CRYPT"


@pytest.mark.parametrize(
    "stored",
    [
        "{sha512-crypt}$6$F6S.eO2P0sK4VLtn$ZgEL9NJ8LIfU7nrEnEy5ZxlGg51MlhRSpnEZ.lQuE9EgkT1KZhpxVEenLQOLX.ZxpYtBvBK1bh7VBS6Z0S2yL1",
        "{md5}aa37e9b0e12a077c9f9618906054a8c2",  # PostfixAdmin authlib: hex MD5
        "{MD5RAW}aa37e9b0e12a077c9f9618906054a8c2",
        "{md5}qjfpsOEqB3yflhiQYFSowg==",  # base64 MD5, length decides
        "{crypt}$1$44qS9E03$EDGRlnNARO8u14xWOuF.S1",
        "{Plain-Md5}AA37E9B0E12A077C9F9618906054A8C2",
        "{SHA256}ca2bf8585c7879240e9122ed3acc8ade07fd496615fb989c0d5907c3c830476e",  # hex by length
        "{PLAIN-MD5}qjfpsOEqB3yflhiQYFSowg",  # unpadded base64
        "{MD5-CRYPT}$6$F6S.eO2P0sK4VLtn$ZgEL9NJ8LIfU7nrEnEy5ZxlGg51MlhRSpnEZ.lQuE9EgkT1KZhpxVEenLQOLX.ZxpYtBvBK1bh7VBS6Z0S2yL1",
    ],
)
def test_variants_dovecot_also_accepts(stored: str) -> None:
    assert verify_password("S3cr3t pässwörd", stored)


@pytest.mark.parametrize(
    ("stored", "outcome"),
    [
        ("", Outcome.UNKNOWN_SCHEME),
        ("plaintext-looking", Outcome.UNKNOWN_SCHEME),
        ("{NOPE}abc", Outcome.UNKNOWN_SCHEME),
        ("{SHA.ROT13}abc", Outcome.UNKNOWN_SCHEME),
        ("{DES-CRYPT}xRWXTCmz0mOCI", Outcome.UNKNOWN_SCHEME),
        ("{DIGEST-MD5}f7ee648f2d1d563c72c639b40274f028", Outcome.UNKNOWN_SCHEME),
        ("xRWXTCmz0mOCI", Outcome.UNKNOWN_SCHEME),  # bare DES crypt
        ("$y$j9T$abc$def", Outcome.UNKNOWN_SCHEME),  # yescrypt
        ("{SHA}not base64!", Outcome.CORRUPT),
        ("{SHA}AAAA", Outcome.CORRUPT),  # 3 bytes, not 20
        ("{SHA256.HEX}zz", Outcome.CORRUPT),
        ("{SSHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk=", Outcome.CORRUPT),  # no salt
        ("{CRAM-MD5}00", Outcome.CORRUPT),
        ("{BLF-CRYPT}$2y$05$tooshort", Outcome.CORRUPT),
        ("{SHA512-CRYPT}$6$", Outcome.CORRUPT),
        ("{SHA512-CRYPT}$6$rounds=999999999$salt$hash", Outcome.CORRUPT),
        ("{SHA512-CRYPT}plain", Outcome.CORRUPT),
        ("{SHA512-CRYPT}pässwörd", Outcome.CORRUPT),
        ("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$", Outcome.CORRUPT),
        (
            "{ARGON2ID}$argon2id$v=19$m=99999999,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            Outcome.CORRUPT,
        ),
        ("{ARGON2ID}$argon2id$garbage", Outcome.CORRUPT),
        ("{PBKDF2}$1$salt$0$abcd", Outcome.CORRUPT),
        ("{PBKDF2}$1$salt$5000$zz", Outcome.CORRUPT),
        ("{PBKDF2}nonsense", Outcome.CORRUPT),
        ("{SCRAM-SHA-256}4096,!!,!!,!!", Outcome.CORRUPT),
        ("{SCRAM-SHA-1}x,y", Outcome.CORRUPT),
        ("{MD5}neither", Outcome.CORRUPT),
        ("{MD5-CRYPT.B64}@@@@", Outcome.CORRUPT),
        ("{PLAIN", Outcome.UNKNOWN_SCHEME),
    ],
)
def test_bad_hashes_fail_cleanly(stored: str, outcome: Outcome) -> None:
    verdict = check_password("S3cr3t pässwörd", stored)
    assert verdict.outcome is outcome, verdict
    assert not verify_password("S3cr3t pässwörd", stored)


@pytest.mark.parametrize("scheme", GENERATED_SCHEMES)
def test_generated_hashes_round_trip(scheme: str) -> None:
    stored = hash_password("S3cr3t pässwörd", scheme)
    assert stored.startswith("{" + scheme + "}")
    assert verify_password("S3cr3t pässwörd", stored)
    assert not verify_password("S3cr3t pässwörd ", stored)


def test_default_hash_has_dovecot_argon2id_shape() -> None:
    stored = hash_password("S3cr3t pässwörd")
    pattern = r"\{ARGON2ID\}\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}"
    assert re.fullmatch(pattern, stored)
    assert DEFAULT_SCHEME == "ARGON2ID"
    assert stored != hash_password("S3cr3t pässwörd")  # fresh salt


def test_unknown_generation_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cannot create 'MD5-CRYPT' password hashes"):
        hash_password("x", "MD5-CRYPT")


def test_needs_rehash() -> None:
    assert not needs_rehash(hash_password("pw"))
    assert needs_rehash(hash_password("pw", "ARGON2I"))
    assert needs_rehash(hash_password("pw", "SHA512-CRYPT"))
    assert needs_rehash(next(r["hash"] for r in ROWS if r["scheme"] == "ARGON2ID"))  # m=65536
    assert needs_rehash(hash_password("pw").split("}", 1)[1])  # bare: not Dovecot format
    assert needs_rehash("{ARGON2ID}garbage")
    assert needs_rehash("")
    assert needs_rehash("{PLAIN}pw")


def test_argon2_parameters_are_the_documented_ones() -> None:
    assert (argon.MEMORY_KIB, argon.TIME_COST, argon.PARALLELISM) == (19456, 2, 1)


@pytest.mark.parametrize("message", [b"", b"abc", b"x" * 55, b"x" * 56, b"y" * 64, b"z" * 1000])
def test_md5_compression_matches_hashlib(message: bytes) -> None:
    assert md5state.finish(md5state.INITIAL_STATE, message, 0) == hashlib.md5(message).digest()


@pytest.mark.parametrize("key", [b"", b"secret", b"k" * 64, b"k" * 100])
def test_cram_md5_states_answer_like_hmac(key: bytes) -> None:
    stored = md5state.cram_md5_stored(key)
    challenge = b"<1896.697170952@postoffice.example.net>"
    expected = hmac.new(key, challenge, "md5").digest()
    assert md5state.cram_md5_digest(stored, challenge) == expected


def test_md5_rejects_bad_block_and_state() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        md5state.compress(md5state.INITIAL_STATE, b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        md5state.cram_md5_digest(b"short", b"x")


# -- live comparison with the installed Dovecot ------------------------------------------------

LIVE_PASSWORDS = ["S3cr3t pässwörd", "", "x" * 80]


@pytest.mark.parametrize("scheme", dovecot_support.SCHEMES)
def test_fresh_doveadm_hashes_verify(scheme: str) -> None:
    binary = dovecot_support.doveadm()
    for password in LIVE_PASSWORDS:
        stored = dovecot_support.generate(binary, scheme, password)
        assert verify_password(password, stored), (scheme, password, stored)
        assert not verify_password(_wrong(password), stored), (scheme, password, stored)


@pytest.mark.parametrize("scheme", GENERATED_SCHEMES)
def test_doveadm_verifies_vmail_hashes(scheme: str) -> None:
    binary = dovecot_support.doveadm()
    for password in [*LIVE_PASSWORDS, "密码 пароль 🔑 ünïcödé"]:
        stored = hash_password(password, scheme)
        assert dovecot_support.dovecot_accepts(binary, stored, password), stored
        assert not dovecot_support.dovecot_accepts(binary, stored, _wrong(password)), stored


def test_garbage_never_raises() -> None:
    import random

    rng = random.Random(1234)
    alphabet = "$./=+,{}0123456789abcdefABCDEF\x00é"
    for name in [*SCHEMES_UNDER_TEST, ""]:
        for _ in range(40):
            data = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 90)))
            stored = ("{" + name + "}" if name else "") + data
            assert check_password("pw", stored).outcome in (
                Outcome.MISMATCH,
                Outcome.CORRUPT,
                Outcome.UNKNOWN_SCHEME,
            ), stored


def test_non_text_stored_value_is_refused() -> None:
    assert not verify_password("pw", None)  # type: ignore[arg-type]
    assert check_password("pw", b"{PLAIN}pw").outcome is Outcome.CORRUPT  # type: ignore[arg-type]
