"""Measurement for the SMTP bench: drive one server with the kit's load generator and account it.

The load generator is ``smtp_load.py`` from the peer benchmark kit (``/work/shared/bench`` by
default), imported so that vmail and Postfix get the very same client. Server CPU is user+sys
of the server's process tree (including reaped children, via the kit's ``benchlib``), read
before the load and after the last message reached its Maildir; memory is sampled while the
load runs (sum of RSS and PSS over the tree, peak kept).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

DEFAULT_KIT = Path("/work/shared/bench")
DOMAIN = "example.com"
USER_FMT = "u{:04d}"
POLL_S = 0.02
SETTLE_S = 0.5


class Server(Protocol):
    """What the measurement needs from a running server."""

    name: str
    port: int

    def pids(self) -> list[int]:
        """Root PIDs of the server's process tree."""
        ...

    def maildir(self, user: str) -> Path:
        """The Maildir (with new/ and cur/) of one benchmark mailbox."""
        ...


@dataclass(frozen=True)
class Load:
    """One load: ``messages`` in total over ``concurrency`` sessions, ``size`` bytes each."""

    messages: int
    concurrency: int
    size: int
    users: int
    seed: int = 1
    max_time: float = 900.0
    deliver_timeout: float = 600.0


@dataclass
class Result:
    """Figures of one server under one load."""

    server: str
    messages: int
    concurrency: int
    size: int
    accepted: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    accept_s: float = 0.0
    delivered: int = 0
    all_delivered: bool = False
    end_to_end_s: float = 0.0
    latency: dict[str, float] = field(default_factory=dict)
    server_cpu_s: float = 0.0
    server_sys_s: float = 0.0
    client_cpu_s: float = 0.0
    peak_rss_kib: int = 0
    peak_pss_kib: int = 0
    processes: int = 0

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.accept_s if self.accept_s else 0.0

    @property
    def delivered_per_s(self) -> float:
        return self.delivered / self.end_to_end_s if self.end_to_end_s else 0.0

    @property
    def cpu_ms_per_msg(self) -> float:
        return self.server_cpu_s * 1000 / max(1, self.delivered)

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "messages": self.messages,
            "concurrency": self.concurrency,
            "size": self.size,
            "accepted": self.accepted,
            "failed": self.failed,
            "errors": self.errors,
            "accepted_msgs_per_s": round(self.accepted_per_s, 1),
            "delivered": self.delivered,
            "all_delivered": self.all_delivered,
            "end_to_end_s": round(self.end_to_end_s, 3),
            "delivered_msgs_per_s": round(self.delivered_per_s, 1),
            "latency": self.latency,
            "server_cpu_s": round(self.server_cpu_s, 3),
            "server_sys_s": round(self.server_sys_s, 3),
            "server_cpu_ms_per_msg": round(self.cpu_ms_per_msg, 3),
            "client_cpu_s": round(self.client_cpu_s, 3),
            "peak_rss_kib": self.peak_rss_kib,
            "peak_pss_kib": self.peak_pss_kib,
            "server_processes": self.processes,
        }


class Kit:
    """The peer kit's ``smtp_load`` and ``benchlib`` modules, imported from its directory."""

    def __init__(self, directory: Path = DEFAULT_KIT) -> None:
        if not (directory / "smtp_load.py").is_file():
            raise SystemExit(f"smtp_bench: no smtp_load.py in {directory} (use --kit DIR)")
        sys.path.insert(0, str(directory))
        self.smtp_load: ModuleType = importlib.import_module("smtp_load")
        self.benchlib: ModuleType = importlib.import_module("benchlib")
        self.benchlib.raise_nofile()

    def tree_cpu_s(self, pids: list[int]) -> tuple[float, float]:
        """User and system CPU seconds of the trees, reaped children included (as benchlib)."""
        user = system = 0
        for pid in self.benchlib.process_tree(pids):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    text = stat.read()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2 :].split()
            user += int(fields[11]) + int(fields[13])  # utime + cutime
            system += int(fields[12]) + int(fields[14])  # stime + cstime
        ticks = os.sysconf("SC_CLK_TCK")
        return user / ticks, system / ticks

    def memory(self, pids: list[int]) -> dict[str, int]:
        tree = self.benchlib.process_tree(pids)
        return dict(self.benchlib.mem_of(sorted(tree)))

    def percentiles(self, samples: list[float]) -> dict[str, float]:
        return dict(self.benchlib.lat_summary(samples))

    def send(self, port: int, load: Load, per_session: int) -> tuple[dict[str, Any], float]:
        """Run the kit's sessions against 127.0.0.1:port; (stats, seconds)."""
        options = argparse.Namespace(
            host="127.0.0.1",
            port=port,
            concurrency=load.concurrency,
            messages=per_session,
            size=load.size,
            rcpts=1,
            domain=DOMAIN,
            users=load.users,
            user_fmt=USER_FMT,
            rcpt=None,
            sender="loadtest@sender.test",
            ehlo="smtp-load.test",
            auth=None,
            new_conn=False,
            pipelining=False,
            op_timeout=120.0,
            max_time=load.max_time,
            seed=load.seed,
        )
        stats, elapsed = asyncio.run(self.smtp_load.main_async(options))
        return stats, float(elapsed)


class MemorySampler:
    """Samples the server tree's summed RSS/PSS in a thread; keeps the peaks."""

    def __init__(self, kit: Kit, pids: list[int], interval: float = 0.25) -> None:
        self.kit, self.pids, self.interval = kit, pids, interval
        self.peak_rss = self.peak_pss = self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        mem = self.kit.memory(self.pids)
        self.peak_rss = max(self.peak_rss, mem["rss_kib"])
        self.peak_pss = max(self.peak_pss, mem["pss_kib"])
        self.processes = max(self.processes, mem["procs"])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def users(count: int) -> list[str]:
    """Local parts of the benchmark mailboxes."""
    return [USER_FMT.format(i) for i in range(1, count + 1)]


def count_messages(server: Server, count: int) -> int:
    """Files in new/ and cur/ of every benchmark mailbox."""
    total = 0
    for user in users(count):
        for sub in ("new", "cur"):
            with contextlib.suppress(FileNotFoundError):
                total += len(os.listdir(server.maildir(user) / sub))
    return total


def measure(kit: Kit, server: Server, load: Load) -> Result:
    """Send the load, wait until every accepted message is in a Maildir, account the server."""
    per_session = max(1, load.messages // load.concurrency)
    result = Result(server.name, per_session * load.concurrency, load.concurrency, load.size)
    pids = server.pids()
    before = count_messages(server, load.users)
    cpu_before = kit.tree_cpu_s(pids)
    client_before = os.times()
    start = time.perf_counter()
    with MemorySampler(kit, pids) as memory:
        stats, result.accept_s = kit.send(server.port, load, per_session)
        result.accepted, result.failed = int(stats["ok"]), int(stats["fail"])
        result.errors = list(stats["errors"])
        want = before + int(stats["rcpts_ok"])
        deadline = time.monotonic() + load.deliver_timeout
        now = count_messages(server, load.users)
        while now < want and time.monotonic() < deadline:
            time.sleep(POLL_S)
            now = count_messages(server, load.users)
        result.end_to_end_s = time.perf_counter() - start
        result.delivered, result.all_delivered = now - before, now >= want
        time.sleep(SETTLE_S)  # let the server finish its bookkeeping and reap its workers
    client_after = os.times()
    user_after, sys_after = kit.tree_cpu_s(pids)
    result.server_sys_s = sys_after - cpu_before[1]
    result.server_cpu_s = user_after - cpu_before[0] + result.server_sys_s
    result.client_cpu_s = (client_after.user + client_after.system) - (
        client_before.user + client_before.system
    )
    result.latency = kit.percentiles(list(stats["lat"]))
    result.peak_rss_kib, result.peak_pss_kib = memory.peak_rss, memory.peak_pss
    result.processes = memory.processes
    return result
