#!/usr/bin/env python3
"""Benchmark the admin web UI and REST API of ``vmail serve`` with many mailboxes (issue 6).

Builds a fresh configuration (``vmail init``, only the ``webd`` listener, on 127.0.0.1
port 0, HTTPS as ``vmail init`` sets it up unless ``--plain``), fills its SQLite
directory with ``--mailboxes`` mailboxes (default 100,000 over 100 domains, as
``bench/admin_bench.py`` does), adds a superadmin and an API token, starts ``vmail
serve`` (waiting for its web processes) and, for each target, runs ``--clients``
concurrent keep-alive clients (:class:`LeanClient`) for ``--warmup`` seconds not counted,
then ``--seconds`` counted, each asking for a random page of 50:

* ``page``: the mailbox list page ``GET /mailboxes?offset=…`` with a logged-in session;
* ``page-search``: the same with a search (``q=user0123``) sorted by name descending;
* ``api``: ``GET /api/v1/mailboxes?offset=…&limit=50`` with the API token.

Prints requests/s, p50, p99 and the worst latency, and the CPU per request of the server
(``vmail serve`` and its children) and of this client.
Target (issue 6): p99 under 100 ms for a page of 50.

    .venv/bin/python bench/web_bench.py [--mailboxes 100000] [--clients 4] [--seconds 10]
        [--warmup 2] [--plain] [--keep] [--dir DIR] [--only page,api]

``--dir DIR`` sets up in DIR the first time and reuses it (and its token) afterwards, so
repeated runs skip the minute of filling; ``--only`` picks targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from admin_bench import fill

from vmail.cli.main import main as vmail_main
from vmail.directory.database import open_database

ADMIN, PASSWORD = "admin@bench.example", "bench-password-123"
PAGE = 50


def cli(config_dir: Path, *args: str, stdin: str | None = None) -> str:
    """Run one ``vmail`` command in this process; its output (raises on failure)."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = vmail_main(["-c", str(config_dir), *args])
    finally:
        sys.stdin = old_stdin
    if code != 0:
        raise RuntimeError(f"vmail {' '.join(args)}: {out.getvalue()}{err.getvalue()}")
    return out.getvalue()


def setup(root: Path, mailboxes: int, domains: int, plain: bool) -> tuple[Path, str]:
    """The configuration directory, filled, and an API token's secret."""
    config_dir, data_dir = root / "etc", root / "data"
    owner = []
    if os.geteuid() == 0:
        owner = ["--uid", "65534", "--gid", "65534"]
    cli(config_dir, "init", str(config_dir), "--data-dir", str(data_dir), *owner)
    master = config_dir / "master.cf"
    services = re.split(r"\n(?=\S)", master.read_text())
    web = [s for s in services if re.search(r"\swebd\b", s.splitlines()[0])]
    text = re.sub(r"^\S+", "127.0.0.1:0", web[0], count=1)
    if plain:
        text = "\n".join(x for x in text.splitlines() if "wrappermode" not in x)
    kept = [s for s in services if s.lstrip().startswith("#") or " inet " not in s]
    master.write_text("\n".join([*kept, text]) + "\n")
    engine = open_database(f"sqlite:///{data_dir / 'vmail.db'}")
    fill(engine, mailboxes, domains)
    engine.dispose()
    cli(config_dir, "admin", "add", ADMIN, "--superadmin", "--password-file", "-", stdin=PASSWORD)
    token = json.loads(cli(config_dir, "token", "add", "bench", "--superadmin", "--json"))
    if owner:
        for path in [data_dir, *data_dir.rglob("*")]:
            if "spool" not in path.parts:
                os.chown(path, 65534, 65534)
    (root / "token").write_text(str(token["secret"]))
    return config_dir, str(token["secret"])


def start(root: Path, config_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    ports_file = root / "ports.json"
    ports_file.unlink(missing_ok=True)
    log_file = root / "serve.log"
    offset = log_file.stat().st_size if log_file.exists() else 0
    with open(root / "serve.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vmail", "-c", str(config_dir), "serve", "--no-client-lookup",
             "--ports-file", str(ports_file)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while not ports_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((root / "serve.log").read_text()[-3000:])
        time.sleep(0.1)
    (port,) = json.loads(ports_file.read_text()).values()
    # the web processes accept only once they have loaded their configuration: measuring
    # before would leave every keep-alive connection with the first one ready
    while True:
        text = log_file.read_text(errors="replace")[offset:]
        forked = len(re.findall(r"web process \d+ started", text))
        ready = len(re.findall(r"\]: web process started", text))
        if "daemon started" in text and ready >= forked:
            return proc, int(port)
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(text[-3000:])
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """CPU time of ``vmail serve``: the master and its children (web, delivery)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


async def login(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None, page.text[:500]
    form = {"username": ADMIN, "password": PASSWORD, "csrf_token": token.group(1)}
    answer = await client.post("/login", data=form)
    assert answer.status_code in (200, 303), (answer.status_code, answer.text[:300])


class LeanClient:
    """A minimal HTTP/1.1 keep-alive client for the measured requests, so that the load
    generator, on the same two cores as the server, costs ~1 ms of CPU per request
    (httpx: ~3 ms). Sends GET with fixed headers; reads the status line, the headers and a
    Content-Length body."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        parsed = httpx.URL(base)
        self.host, self.port, self.tls = parsed.host, parsed.port, parsed.scheme == "https"
        fixed = {"Host": f"{self.host}:{self.port}", **headers}
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            context = None
            if self.tls:
                context = ssl.create_default_context()
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=context, limit=1 << 20
            )
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.headers}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length is None:
            raise RuntimeError(f"{path}: no Content-Length: {head[:300]!r}")
        return status, await self.reader.readexactly(int(length.group(1)))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await self.writer.wait_closed()


@dataclass
class Run:
    """The counted window of one target: latencies and CPU seconds (server, this client)."""

    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0


async def measure(base: str, target: str, pid: int, args: argparse.Namespace, token: str) -> Run:
    """Requests for ``args.warmup`` seconds, not counted (new connections, TLS handshakes,
    a cold SQLite cache, first calls of each code path), then ``args.seconds`` counted."""
    pages = max(1, args.mailboxes // PAGE)
    run = Run()
    counted = time.perf_counter() + args.warmup
    end = counted + args.seconds

    async def cpu_window() -> None:
        await asyncio.sleep(max(0.0, counted - time.perf_counter()))
        server, client = cpu_seconds(pid), time.process_time()
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        run.server_cpu = cpu_seconds(pid) - server
        run.client_cpu = time.process_time() - client

    async def one_client() -> None:
        headers = {"Accept": "*/*"}
        if target == "api":
            headers["Authorization"] = f"Bearer {token}"
        else:  # the session cookie from a real login
            async with httpx.AsyncClient(base_url=base, verify=False, timeout=30) as client:
                await login(client)
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        client = LeanClient(base, headers)
        try:
            while time.perf_counter() < end:
                offset = random.randrange(pages) * PAGE
                if target == "api":
                    url = f"/api/v1/mailboxes?offset={offset}&limit={PAGE}"
                elif target == "page-search":
                    url = f"/mailboxes?q=user0{offset % 1000:03d}&sort=name&desc=1"
                else:
                    url = f"/mailboxes?offset={offset}"
                started = time.perf_counter()
                status, body = await client.get(url)
                if started >= counted:
                    run.latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"{url}: {status} {body[:300]!r}")
        finally:
            await client.close()

    await asyncio.gather(cpu_window(), *(one_client() for _ in range(args.clients)))
    return run


def show(*cells: object) -> None:
    print(f"{cells[0]!s:<12}" + "".join(f"{cell!s:>11}" for cell in cells[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds not counted")
    parser.add_argument("--plain", action="store_true", help="HTTP instead of HTTPS")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--dir", type=Path, help="set up here once, reuse afterwards")
    parser.add_argument("--only", default="page,page-search,api", help="targets to run")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="vmail-web-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    proc = None
    try:
        if (root / "token").exists():
            config_dir, token = root / "etc", (root / "token").read_text()
        else:
            config_dir, token = setup(root, args.mailboxes, args.domains, args.plain)
        proc, port = start(root, config_dir)
        base = f"{'http' if args.plain else 'https'}://127.0.0.1:{port}"
        results = {}
        show("target", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "cpu ms/req", "client")
        for target in args.only.split(","):
            run = asyncio.run(measure(base, target, proc.pid, args, token))
            got, cpu, mine = run.latencies, run.server_cpu, run.client_cpu
            got.sort()
            row = {
                "requests": len(got),
                "rps": round(len(got) / args.seconds, 1),
                "p50_ms": round(statistics.median(got) * 1000, 1),
                "p99_ms": round(got[int(len(got) * 0.99) - 1] * 1000, 1),
                "max_ms": round(got[-1] * 1000, 1),
                "cpu_ms_per_request": round(cpu * 1000 / len(got), 2),
                "client_cpu_ms_per_request": round(mine * 1000 / len(got), 2),
            }
            results[target] = row
            show(target, *row.values())
        summary = {"bench": "web_bench", "mailboxes": args.mailboxes, "clients": args.clients}
        print(json.dumps(summary | {"tls": not args.plain, "results": results}))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        if not args.keep and not args.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
