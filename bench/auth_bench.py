#!/usr/bin/env python3
"""Benchmark password verification per scheme and the authentication service's throughput.

Part 1: milliseconds per ``verify_password`` (median of N) for vmail's default Argon2id and
every legacy scheme a Dovecot/PostfixAdmin database may hold (Dovecot's default costs).
Part 2: logins per second through ``Authenticator`` over a SQLite directory of Argon2id
users, with the credential cache cold (every login runs Argon2 in a worker thread) and
warm (cache hits: SQL lookup only), one at a time and with concurrent logins.

    .venv/bin/python bench/auth_bench.py [--repeat 21] [--users 200] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

import bcrypt
from argon2 import PasswordHasher, Type
from passlib.hash import md5_crypt  # type: ignore[import-untyped]
from sqlalchemy import insert

from vmail.auth import argon
from vmail.auth.passwords import hash_password, verify_password
from vmail.auth.service import Authenticator
from vmail.auth.sqlsource import SqlAccountSource, prefixed_tables
from vmail.auth.throttle import Throttle
from vmail.directory.database import create_schema, open_database

PASSWORD = "S3cr3t pässwörd"


def sample_hashes() -> dict[str, str]:
    plain = PASSWORD.encode()
    dovecot_argon = PasswordHasher(
        time_cost=3, memory_cost=65536, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
    )
    b64 = base64.b64encode
    return {
        f"ARGON2ID (vmail default m={argon.MEMORY_KIB},t={argon.TIME_COST},p=1)": hash_password(
            PASSWORD
        ),
        "ARGON2ID (Dovecot default m=65536,t=3,p=1)": "{ARGON2ID}" + dovecot_argon.hash(plain),
        "ARGON2I (vmail params)": hash_password(PASSWORD, "ARGON2I"),
        "BLF-CRYPT cost 5 (Dovecot default)": "{BLF-CRYPT}"
        + bcrypt.hashpw(plain, bcrypt.gensalt(5)).decode(),
        "BLF-CRYPT cost 10 (PHP default)": hash_password(PASSWORD, "BLF-CRYPT"),
        "SHA512-CRYPT (5000 rounds)": hash_password(PASSWORD, "SHA512-CRYPT"),
        "SHA256-CRYPT (5000 rounds)": hash_password(PASSWORD, "SHA256-CRYPT"),
        "MD5-CRYPT": "{MD5-CRYPT}" + md5_crypt.hash(plain),
        "bare $6$ (PostfixAdmin php_crypt)": hash_password(PASSWORD, "SHA512-CRYPT").split("}")[1],
        "SHA512-CRYPT.B64": "{SHA512-CRYPT.B64}"
        + b64(hash_password(PASSWORD, "SHA512-CRYPT").split("}")[1].encode()).decode(),
        "PBKDF2 (5000 rounds)": "{PBKDF2}$1$TpuEPZovixKyZQeh$5000$"
        + hashlib.pbkdf2_hmac("sha1", plain, b"TpuEPZovixKyZQeh", 5000, 20).hex(),
        "SSHA512": hash_password(PASSWORD, "SSHA512"),
        "SHA512": "{SHA512}" + b64(hashlib.sha512(plain).digest()).decode(),
        "SSHA": "{SSHA}" + b64(hashlib.sha1(plain + b"salt1234").digest() + b"salt1234").decode(),
        "PLAIN-MD5": "{PLAIN-MD5}" + hashlib.md5(plain).hexdigest(),
        "CRAM-MD5 (own MD5 state)": hash_password(PASSWORD, "CRAM-MD5"),
        "PLAIN": "{PLAIN}" + PASSWORD,
    }


def bench_schemes(repeat: int) -> None:
    print(f"verify cost per scheme (median of {repeat}, ms)")
    for label, stored in sample_hashes().items():
        assert verify_password(PASSWORD, stored), label
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            verify_password(PASSWORD, stored)
            times.append(time.perf_counter() - start)
        print(f"  {label:<52} {statistics.median(times) * 1000:9.3f}")


def build_directory(path: Path, users: int) -> SqlAccountSource:
    engine = open_database(f"sqlite:///{path}")
    create_schema(engine)
    mailbox, domain = prefixed_tables("")
    stored = hash_password(PASSWORD)  # one hash for all: Argon2 cost per verify is the same
    with engine.begin() as connection:
        connection.execute(insert(domain), [{"domain": "example.com"}])
        connection.execute(
            insert(mailbox),
            [
                {
                    "username": f"user{i}@example.com",
                    "password": stored,
                    "maildir": f"example.com/user{i}/",
                    "local_part": f"user{i}",
                    "domain": "example.com",
                }
                for i in range(users)
            ],
        )
    return SqlAccountSource(engine)


async def logins(auth: Authenticator, users: int, concurrency: int) -> float:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            result = await auth.authenticate(
                f"user{i}@example.com", PASSWORD, client_ip="192.0.2.1", service="imap"
            )
            assert result.ok, result

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(users)))
    return users / (time.perf_counter() - start)


def bench_service(users: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = build_directory(Path(tmp) / "directory.db", users)
        print(f"\nauthentication service, SQLite directory, {users} Argon2id users (logins/s)")
        for parallel in sorted({1, concurrency}):
            auth = Authenticator(source, throttle=Throttle(exempt_ips=["192.0.2.1"]))
            cold = asyncio.run(logins(auth, users, parallel))
            warm = asyncio.run(logins(auth, users, parallel))
            print(f"  concurrency {parallel:>2}: cache cold {cold:8.1f}   cache warm {warm:8.1f}")
        source.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    bench_schemes(args.repeat)
    bench_service(args.users, args.concurrency)


if __name__ == "__main__":
    main()
