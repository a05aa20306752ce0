"""Measurements of the mail-access benches, one function per figure, same client for both servers.

The IMAP client is the peer kit's ``imap_load.Conn`` (the one Dovecot's reference figures
were taken with), extended here with implicit TLS and STARTTLS. Server CPU is user+sys of
the server's process tree, reaped children included (the kit's ``benchlib.tree_cpu_s``);
memory is RSS and PSS summed over the tree from ``/proc/PID/smaps_rollup``
(``benchlib.server_mem``). Every function returns a flat dict of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import random
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

DEFAULT_KIT = Path("/work/shared/bench")
ENVELOPE_FETCH = "FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"


def load_kit(directory: Path) -> tuple[ModuleType, ModuleType, ModuleType]:
    """The kit's ``imap_load``, ``pop3_load`` and ``benchlib`` modules."""
    if not (directory / "imap_load.py").is_file():
        raise SystemExit(f"no imap_load.py in {directory} (use --kit DIR)")
    sys.path.insert(0, str(directory))
    return tuple(  # type: ignore[return-value]
        importlib.import_module(name) for name in ("imap_load", "pop3_load", "benchlib")
    )


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Probe:
    """Drives one server: the kit's client class, its ports and its process tree."""

    def __init__(self, kit: Path, server: Any) -> None:
        self.imap_load, self.pop3_load, self.benchlib = load_kit(kit)
        self.server = server
        self.tls = client_context()

    def cpu(self) -> float:
        return float(self.benchlib.tree_cpu_s(self.server.pids()))

    def memory(self) -> dict[str, int]:
        return dict(self.benchlib.server_mem(self.server.pids()))

    def memory_by_process(self) -> dict[int, tuple[int, int]]:
        """pid -> (PSS, RSS) KiB for every process of the server's tree."""
        pids = self.benchlib.process_tree([int(p) for p in self.server.pids()])
        out = {}
        for pid in sorted(pids):
            mem = self.benchlib.mem_of([pid])
            out[pid] = (int(mem["pss_kib"]), int(mem["rss_kib"]))
        return out

    async def connect(self, tls: str = "") -> Any:
        """A connected IMAP client; ``tls`` is "", "starttls" or "imaps"."""
        conn = self.imap_load.Conn("127.0.0.1", self.server.ports["imap"])
        if tls == "imaps":
            conn.port = self.server.ports["imaps"]
            conn.reader, conn.writer = await asyncio.open_connection(
                "127.0.0.1", conn.port, ssl=self.tls
            )
            line = await conn.line()
            if not line.startswith(b"* OK"):
                raise self.imap_load.IMAPError(f"greeting {line[:80]!r}")
            return conn
        await conn.open()
        if tls == "starttls":
            await conn.cmd("STARTTLS")
            await conn.writer.start_tls(self.tls)
        return conn

    async def session(self, user: str, password: str, tls: str = "") -> Any:
        conn = await self.connect(tls)
        await conn.login(user, password)
        return conn

    async def timed(self, action: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
        """(wall seconds, server CPU seconds, result) of one awaited action."""
        cpu = self.cpu()
        start = time.perf_counter()
        result = await action()
        wall = time.perf_counter() - start
        await asyncio.sleep(0.2)  # let the server reap workers before reading their CPU
        return wall, self.cpu() - cpu, result


async def logins(
    probe: Probe, users: list[str], password: str, count: int, clients: int
) -> dict[str, Any]:
    """``clients`` loops of connect + LOGIN + LOGOUT, ``count`` logins in all."""
    latencies: list[float] = []
    failures: list[str] = []
    todo = iter(range(count))

    async def worker(index: int) -> None:
        chooser = random.Random(index)
        for _ in todo:
            start = time.perf_counter()
            try:
                conn = await probe.session(chooser.choice(users), password)
                latencies.append(time.perf_counter() - start)
                await conn.logout()
            except (TimeoutError, OSError, probe.imap_load.IMAPError) as error:
                failures.append(str(error))

    async def run() -> None:
        await asyncio.gather(*(worker(i) for i in range(clients)))

    await run_warmup(probe, users, password)
    wall, cpu, _ = await probe.timed(run)
    ok = len(latencies)
    summary = probe.benchlib.lat_summary(latencies)
    return {
        "logins": ok,
        "failed": len(failures),
        "logins_per_s": round(ok / wall, 1),
        "cpu_ms_per_login": round(cpu * 1000 / max(ok, 1), 2),
        "p50_ms": summary.get("p50_ms"),
        "p99_ms": summary.get("p99_ms"),
        "errors": failures[:3],
    }


async def run_warmup(probe: Probe, users: list[str], password: str) -> None:
    """One login per user, unmeasured: fills both servers' credential caches."""
    for user in users:
        conn = await probe.session(user, password)
        await conn.logout()


async def open_and_fetch(probe: Probe, user: str, password: str) -> dict[str, Any]:
    """LOGIN, SELECT INBOX, FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), LOGOUT."""
    conn = await probe.session(user, password)
    wall_select, cpu_select, (_, _, lines) = await probe.timed(
        lambda: conn.cmd("SELECT INBOX", collect=True)
    )
    exists = [int(line.split()[1]) for line in lines if line.upper().endswith(b" EXISTS")]
    wall_fetch, cpu_fetch, (_, fetched, _) = await probe.timed(lambda: conn.cmd(ENVELOPE_FETCH))
    await conn.logout()
    return {
        "exists": exists[-1] if exists else 0,
        "fetched": fetched,
        "select_s": round(wall_select, 3),
        "fetch_s": round(wall_fetch, 3),
        "open_s": round(wall_select + wall_fetch, 3),
        "open_cpu_s": round(cpu_select + cpu_fetch, 3),
    }


async def search_store(probe: Probe, user: str, password: str, word: str) -> dict[str, Any]:
    """On a warm INBOX: UID SEARCH HEADER Subject <word>, then STORE +FLAGS/-FLAGS on 1:1000."""
    conn = await probe.session(user, password)
    await conn.cmd("SELECT INBOX")
    wall_search, cpu_search, (_, _, lines) = await probe.timed(
        lambda: conn.cmd(f"UID SEARCH HEADER Subject {word}", collect=True)
    )
    hits = sum(len(line.split()) - 2 for line in lines if line.upper().startswith(b"* SEARCH"))
    wall_add, cpu_add, _ = await probe.timed(lambda: conn.cmd("STORE 1:1000 +FLAGS (\\Flagged)"))
    wall_del, cpu_del, _ = await probe.timed(
        lambda: conn.cmd("STORE 1:1000 -FLAGS.SILENT (\\Flagged)")
    )
    await conn.logout()
    return {
        "search_s": round(wall_search, 3),
        "search_cpu_s": round(cpu_search, 3),
        "search_hits": hits,
        "store_add_s": round(wall_add, 3),
        "store_remove_s": round(wall_del, 3),
        "store_cpu_s": round(cpu_add + cpu_del, 3),
    }


async def append(probe: Probe, user: str, password: str, count: int) -> dict[str, Any]:
    """APPEND ``count`` 4 KiB messages to a new folder, one synchronizing literal each."""
    conn = await probe.session(user, password)
    await conn.cmd('CREATE "bench"', expect_ok=False)
    chooser = random.Random(1)
    messages = [probe.imap_load.make_msg(i, 4096, chooser) for i in range(count)]

    async def run() -> None:
        for message in messages:
            await conn.append("bench", message)

    wall, cpu, _ = await probe.timed(run)
    await conn.logout()
    return {
        "appended": count,
        "append_s": round(wall, 3),
        "append_per_s": round(count / wall, 1),
        "cpu_ms_per_append": round(cpu * 1000 / max(count, 1), 3),
    }


async def idle(
    probe: Probe, users: list[str], password: str, count: int, tls: str, settle: float = 3.0
) -> dict[str, Any]:
    """``count`` sessions LOGIN, SELECT INBOX and IDLE; PSS and RSS per idle connection.

    "Before" is taken after a warm-up (one IDLE session per user in this mode, a few in
    the other, all ended): the one-off growth of a fresh server — imports, directory and
    credential caches, thread pool, TLS setup, the folders' shared views, copy-on-write of
    pages shared with forked children — is not charged to the sessions, so the figure is
    the cost of one more idle session."""
    await idle_warm_up(probe, users, password, tls)
    await asyncio.sleep(settle)
    before = await settled_memory(probe)
    processes_before = probe.memory_by_process()
    conns: list[Any] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(50)

    async def opener(index: int) -> None:
        async with gate:
            try:
                conn = await probe.session(users[index % len(users)], password, tls)
                await conn.cmd("SELECT INBOX")
                await conn.idle_start()
                conns.append(conn)
            except (TimeoutError, OSError, probe.imap_load.IMAPError) as error:
                failures.append(f"{type(error).__name__}: {error}")

    start = time.perf_counter()
    await asyncio.gather(*(opener(i) for i in range(count)))
    open_s = time.perf_counter() - start
    await asyncio.sleep(settle)
    after = await settled_memory(probe)
    processes_after = probe.memory_by_process()
    alive = 0
    for conn in conns:
        try:
            await asyncio.wait_for(conn.idle_done(), 30)
            alive += 1
        except (TimeoutError, OSError, probe.imap_load.IMAPError):
            pass
    for conn in conns:
        conn.close()
    idling = max(len(conns), 1)
    return {
        "tls": tls or "plain",
        "requested": count,
        "idling": len(conns),
        "alive_at_done": alive,
        "failed": len(failures),
        "open_per_s": round(len(conns) / open_s, 1),
        "pss_kib_per_conn": round((after["pss_kib"] - before["pss_kib"]) / idling, 1),
        "rss_kib_per_conn": round((after["rss_kib"] - before["rss_kib"]) / idling, 1),
        "server_processes": after["procs"],
        "pss_mib_before_after": [round(before["pss_kib"] / 1024), round(after["pss_kib"] / 1024)],
        "rss_mib_before_after": [round(before["rss_kib"] / 1024), round(after["rss_kib"] / 1024)],
        # where the growth is: pid -> (PSS, RSS) MiB growth (the sessions live in the master;
        # the others grow in PSS when pages they share with it are copied on write)
        "growth_mib_by_process": {
            pid: [round((now[i] - processes_before.get(pid, (0, 0))[i]) / 1024, 1) for i in (0, 1)]
            for pid, now in processes_after.items()
        },
        "errors": failures[:3],
    }


async def idle_warm_up(probe: Probe, users: list[str], password: str, tls: str) -> None:
    """One LOGIN, SELECT INBOX, IDLE, DONE, LOGOUT per user in mode ``tls``, and a few in
    the other mode (plain / IMAPS), 50 at a time."""
    other = "" if tls else "imaps"
    modes = [tls] * len(users) + [other] * 10
    gate = asyncio.Semaphore(50)

    async def one(index: int, mode: str) -> None:
        async with gate:
            conn = await probe.session(users[index % len(users)], password, mode)
            await conn.cmd("SELECT INBOX")
            await conn.idle_start()
            await conn.idle_done()
            await conn.logout()

    await asyncio.gather(*(one(i, mode) for i, mode in enumerate(modes)))


async def settled_memory(probe: Probe) -> dict[str, int]:
    """The median (by PSS) of three samples a second apart."""
    samples = []
    for _ in range(3):
        samples.append(probe.memory())
        await asyncio.sleep(1)
    return sorted(samples, key=lambda sample: sample["pss_kib"])[1]


async def pop3_retr(probe: Probe, user: str, password: str) -> dict[str, Any]:
    """POP3 login + STAT + RETR of every message + QUIT (no DELE): the kit's ``one_pass``."""
    options = argparse.Namespace(
        host="127.0.0.1",
        port=probe.server.ports["pop3"],
        user=user,
        password=password,
        op_timeout=120.0,
        max_msgs=0,
        window=16,
        server_pid=probe.server.pids(),
    )
    result: dict[str, Any] = await probe.pop3_load.one_pass(options)
    return {
        "messages": result["retr_msgs"],
        "login_s": result["login_s"],
        "retr_all_s": result["retr_all_s"],
        "total_s": result["total_s"],
        "cpu_s": round(result.get("server_cpu_s", 0.0), 3),
    }
