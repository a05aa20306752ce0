"""Real Dovecot as the oracle for password schemes: ``doveadm pw`` makes and checks hashes.

``python -m tests.unit.auth.dovecot_support`` rewrites ``dovecot_hashes.json`` (the committed
fixtures, so the scheme tests run without Dovecot). The live tests call :func:`doveadm`,
which skips when ``doveadm`` is missing — or fails when ``CI`` is set, so a CI run cannot
pass with the comparison silently left out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).with_name("dovecot_hashes.json")

# Every scheme `doveadm pw -l` lists that vmail verifies, plus encoding suffixes.
SCHEMES = [
    "ARGON2ID",
    "ARGON2I",
    "BLF-CRYPT",
    "SHA512-CRYPT",
    "SHA256-CRYPT",
    "MD5-CRYPT",
    "CRYPT",
    "SSHA512",
    "SSHA256",
    "SSHA",
    "SHA512",
    "SHA256",
    "SHA",
    "SHA1",
    "SMD5",
    "PLAIN-MD5",
    "MD5",
    "LDAP-MD5",
    "PLAIN",
    "CLEAR",
    "CLEARTEXT",
    "CRAM-MD5",
    "HMAC-MD5",
    "PBKDF2",
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
    "SHA512-CRYPT.B64",
    "SHA256-CRYPT.HEX",
    "BLF-CRYPT.B64",
    "SHA256.HEX",
    "SHA512.HEX",
    "SSHA512.HEX",
    "SSHA.HEX",
    "PLAIN-MD5.B64",
    "CRAM-MD5.B64",
    "MD5-CRYPT.HEX",
]

PASSWORDS = [
    "S3cr3t pässwörd",
    "",
    "x" * 80,  # beyond bcrypt's 72 bytes
    "密码 пароль 🔑 ünïcödé",
    "p@ss:w0rd,with\"quotes'and\\back",
]


def doveadm() -> str:
    """The path of ``doveadm``; skip without it (fail when ``CI`` is set)."""
    path = shutil.which("doveadm")
    if path is None:
        message = "doveadm not found (apt-get install dovecot-core)"
        if os.environ.get("CI"):
            pytest.fail(message + " -- Dovecot comparison tests must not be skipped in CI")
        pytest.skip(message)
    return path


def generate(binary: str, scheme: str, password: str) -> str:
    """``doveadm pw -s SCHEME -p PASSWORD``."""
    result = subprocess.run(
        [binary, "pw", "-s", scheme, "-p", password],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


def dovecot_accepts(binary: str, stored: str, password: str) -> bool:
    """Whether ``doveadm pw -t STORED -p PASSWORD`` says the password matches."""
    result = subprocess.run(
        [binary, "pw", "-t", stored, "-p", password],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode == 0 and "(verified)" in result.stdout


def main() -> None:
    binary = shutil.which("doveadm")
    if binary is None:
        raise SystemExit("doveadm not found (apt-get install dovecot-core)")
    rows = [
        {"scheme": scheme, "password": password, "hash": generate(binary, scheme, password)}
        for scheme in SCHEMES
        for password in PASSWORDS
    ]
    FIXTURES.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} hashes to {FIXTURES}")


if __name__ == "__main__":
    main()
