#!/usr/bin/env python3
"""Where the memory of idle IMAP IDLE sessions goes: an in-process server, clients elsewhere.

Runs an :class:`~vmail.servers.imapd.server.ImapServer` (plain, or implicit TLS with
``--tls``) in this process and ``--sessions`` clients in a child process that LOGIN, SELECT
INBOX and IDLE. Once all are idling it prints, for the server process only:

* PSS / RSS growth per session from ``/proc/self/smaps_rollup`` (after ``gc.collect()``),
  and glibc's ``mallinfo2`` in-use / free-in-heap growth (what Python objects and OpenSSL
  allocated through malloc, and what fragmentation keeps);
* with ``--trace``: the top ``tracemalloc`` allocation sites (by line and by file) of the
  growth — Python-level only (tracemalloc itself costs memory, so PSS is then not clean).

    .venv/bin/python bench/mailaccess_idle_probe.py [--sessions 1000] [--tls] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from vmail.auth.accounts import Account, MemoryAccountSource  # noqa: E402
from vmail.auth.passwords import hash_password  # noqa: E402
from vmail.auth.service import Authenticator  # noqa: E402
from vmail.cli.init_tls import self_signed  # noqa: E402
from vmail.config import MainConfig  # noqa: E402
from vmail.servers.imapd.server import ImapServer  # noqa: E402

USERS = 20
PASSWORD = "pw"

CLIENT = textwrap.dedent(
    """
    import asyncio, ssl, sys
    port, count, users = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[4])
    tls = sys.argv[3] == "1"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    async def until(reader, tag):
        while True:
            line = await reader.readline()
            if not line or line.startswith(tag):
                return line
    async def one(i, gate, keep):
        async with gate:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=context if tls else None)
            await reader.readline()
            login = b"a LOGIN u%d@example.com pw\\r\\n" % (i % users)
            writer.write(login + b"b SELECT INBOX\\r\\nc IDLE\\r\\n")
            line = await until(reader, b"+")
            assert line.startswith(b"+"), line
            keep.append((reader, writer))
    async def main():
        keep, gate = [], asyncio.Semaphore(50)
        await asyncio.gather(*(one(i, gate, keep) for i in range(count)))
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    asyncio.run(main())
    """
)


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def memory() -> dict[str, int]:
    """PSS/RSS (KiB) of this process, and malloc's in-use/free bytes."""
    gc.collect()
    figures: dict[str, int] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Pss", "Rss"):
            figures[key.lower()] = int(value.split()[0])
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    figures["malloc_used"] = info.uordblks + info.hblkhd
    figures["malloc_free"] = info.fordblks
    return figures


def setup(directory: Path, tls: bool) -> tuple[MainConfig, Authenticator]:
    stored = hash_password(PASSWORD, "SSHA512")
    accounts = []
    for n in range(USERS):
        user = f"u{n}"
        for sub in ("cur", "new", "tmp"):
            (directory / "mail" / "example.com" / user / sub).mkdir(parents=True, exist_ok=True)
        accounts.append(Account(f"{user}@example.com", stored, maildir=f"example.com/{user}/"))
    cert, key = self_signed("mail.example.net", 2048)
    (directory / "cert.pem").write_bytes(cert)
    (directory / "key.pem").write_bytes(key)
    text = (
        f"virtual_mailbox_base = {directory}/mail\nmyhostname = mx.example.com\n"
        f"smtpd_tls_cert_file = {directory}/cert.pem\nsmtpd_tls_key_file = {directory}/key.pem\n"
        "imapd_tls_security_level = may\nimapd_client_limit = 100000\n"
        "mail_max_userip_connections = 100000\n"
        f"imapd_tls_wrappermode = {'yes' if tls else 'no'}\n"
    )
    return MainConfig.from_text(text), Authenticator(MemoryAccountSource(accounts))


async def probe(args: argparse.Namespace, directory: Path) -> None:
    config, auth = setup(directory, args.tls)
    server = ImapServer(config, auth, port=0)
    await server.start()
    # Warm up: one session through every code path, so imports and caches are not counted.
    await clients(server.port, 2, args.tls, keep=False)
    before = memory()
    snapshot = tracemalloc.take_snapshot() if args.trace else None
    child = await clients(server.port, args.sessions, args.tls, keep=True)
    await asyncio.sleep(2)
    after = memory()
    n = args.sessions
    print(f"sessions {n}, {'IMAPS' if args.tls else 'plain'} (KiB per session):")
    for key in ("pss", "rss"):
        print(f"  {key}: {(after[key] - before[key]) / n:.1f}")
    for key in ("malloc_used", "malloc_free"):
        print(f"  {key}: {(after[key] - before[key]) / n / 1024:.1f}")
    if snapshot is not None:
        now = tracemalloc.take_snapshot()
        for kind in ("lineno", "filename"):
            stats = now.compare_to(snapshot, kind)
            total = sum(stat.size_diff for stat in stats)
            print(f"tracemalloc by {kind}: {total / n / 1024:.1f} KiB per session")
            for stat in stats[: args.top]:
                frame = stat.traceback[0]
                where = f"{frame.filename.split('/lib/')[-1]}:{frame.lineno}"
                print(f"  {stat.size_diff / n:8.0f} B  {stat.count_diff / n:6.1f} obj  {where}")
    assert child.stdin is not None
    child.stdin.close()
    await child.wait()
    await server.close()


async def clients(port: int, count: int, tls: bool, *, keep: bool) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLIENT,
        str(port),
        str(count),
        "1" if tls else "0",
        str(USERS),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    line = await child.stdout.readline()
    if line.strip() != b"ready":
        raise SystemExit("clients failed")
    if not keep:
        child.stdin.close()
        await child.wait()
    return child


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--trace", action="store_true", help="tracemalloc top sites")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if args.trace:
        tracemalloc.start(1)
    with tempfile.TemporaryDirectory(prefix="vmail-idle-probe-") as directory:
        asyncio.run(probe(args, Path(directory)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
