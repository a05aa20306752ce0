#!/usr/bin/env python3
"""The CPU floor of a durable mail path in Python, against vmail and Postfix in one run.

usage: smtp_floor.py [--messages 2000] [--concurrency 20] [--runs 3] [--no-postfix] [--no-vmail]

The *floor* server is the least a Python server can do and still keep SMTP's promise
(250 only once the message is on disk) and deliver to Maildir with fsync, in vmail's
shape (an asyncio SMTP server and a forked delivery process with worker threads):

* an ``asyncio.Protocol`` that answers every command with a fixed reply, takes the
  recipient from ``RCPT TO``, and finds the end of DATA with ``bytes.find``;
* per message, in a worker thread: create ``incoming/.ID``, write, fsync, rename to
  ``incoming/ID``, fsync the directory; then 250, and the ID down a pipe;
* the delivery process, per ID, in one of 8 worker threads: read the file, create
  ``tmp/NAME`` in the Maildir, write ``Delivered-To:`` and the message, fsync, link to
  ``new/NAME``, unlink ``tmp/NAME``, fsync ``new/``, unlink the queue file.

No policy, no table lookups, no headers added, no logging, no status records, no
retries: everything vmail (and Postfix) do besides the I/O is missing. The load, the
CPU accounting (user + sys of the whole process tree) and Postfix's private instance
are those of ``smtp_bench.py``. Runs alternate between the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from smtp_bench_measure import DOMAIN, Kit, Load, Result, measure
from smtp_bench_servers import PostfixServer, VmailServer

DELIVERY_THREADS = 8


# ----------------------------------------------------------------------------- server


def serve(base: Path) -> None:
    """The floor server (runs in its own process; prints its port, serves until killed)."""
    incoming = base / "queue" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(write_end)
        _deliver_forever(read_end, incoming, base / "mail" / DOMAIN)
        os._exit(0)
    os.close(read_end)
    asyncio.run(_smtp_forever(incoming, write_end))


def _deliver_forever(ids: int, incoming: Path, domain_dir: Path) -> None:
    pool = ThreadPoolExecutor(DELIVERY_THREADS)
    new_dirs: dict[str, int] = {}

    def deliver(queue_id: str) -> None:
        queue_file = f"{incoming}/{queue_id}"
        with open(queue_file, "rb") as file:
            data = file.read()
        newline = data.index(b"\n")
        recipient, content = data[:newline], data[newline + 1 :]
        maildir = f"{domain_dir}/{recipient.split(b'@')[0].decode()}"
        new_dir = new_dirs.get(maildir)
        if new_dir is None:
            for sub in ("tmp", "new", "cur"):
                os.makedirs(f"{maildir}/{sub}", exist_ok=True)
            new_dir = new_dirs[maildir] = os.open(f"{maildir}/new", os.O_RDONLY)
        name = f"{int(time.time())}.{queue_id}.floor"
        fd = os.open(f"{maildir}/tmp/{name}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"Delivered-To: " + recipient + b"\n" + content)
        os.fsync(fd)
        os.close(fd)
        os.link(f"{maildir}/tmp/{name}", f"{maildir}/new/{name}")
        os.unlink(f"{maildir}/tmp/{name}")
        os.fsync(new_dir)
        os.unlink(queue_file)

    pending = b""
    while data := os.read(ids, 65536):
        *complete, pending = (pending + data).split(b"\n")
        for queue_id in complete:
            pool.submit(deliver, queue_id.decode())
    pool.shutdown()


async def _smtp_forever(incoming: Path, ids: int) -> None:
    loop = asyncio.get_running_loop()
    directory = os.open(incoming, os.O_RDONLY)
    serial = itertools.count()
    committing: set[asyncio.Task[None]] = set()

    def store(queue_id: str, recipient: bytes, content: bytes) -> None:
        temp = f"{incoming}/.{queue_id}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, recipient + b"\n" + content)
        os.fsync(fd)
        os.close(fd)
        os.rename(temp, f"{incoming}/{queue_id}")
        os.fsync(directory)

    class Session(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            self.buffer, self.in_data, self.recipient = b"", False, b""
            transport.write(b"220 floor ESMTP\r\n")

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:
                if self.in_data:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        return
                    content, self.buffer = self.buffer[2 : end + 2], self.buffer[end + 5 :]
                    self.in_data = False
                    task = loop.create_task(self.commit(self.recipient, content))
                    committing.add(task)
                    task.add_done_callback(committing.discard)
                    continue
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    return
                line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
                self.command(line)

        def command(self, line: bytes) -> None:
            verb = line[:4].upper()
            if verb == b"DATA":
                self.in_data, self.buffer = True, b"\r\n" + self.buffer
                self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"RCPT":
                self.recipient = line[8:].strip(b" <>")
                self.transport.write(b"250 2.1.5 Ok\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 2.0.0 Bye\r\n")
                self.transport.close()
            elif verb in (b"EHLO", b"HELO"):
                self.transport.write(b"250-floor\r\n250 PIPELINING\r\n")
            else:
                self.transport.write(b"250 2.0.0 Ok\r\n")

        async def commit(self, recipient: bytes, content: bytes) -> None:
            queue_id = f"{os.getpid()}{next(serial):010d}"
            await loop.run_in_executor(None, store, queue_id, recipient, content)
            os.write(ids, queue_id.encode() + b"\n")
            self.transport.write(f"250 2.0.0 Ok: queued as {queue_id}\r\n".encode())

    server = await loop.create_server(Session, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


class FloorServer:
    """The floor server in a child process (see :func:`serve`)."""

    name = "floor"

    def __init__(self, root: Path, mailboxes: int) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def setup(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.root)], stdout=subprocess.PIPE
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def pids(self) -> list[int]:
        assert self.proc is not None
        return [self.proc.pid]

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / DOMAIN / user

    def stop(self) -> None:
        if self.proc is not None:
            subprocess.run(["pkill", "-KILL", "-P", str(self.proc.pid)], check=False)
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------------------ bench


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--mailboxes", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="measured runs per server")
    parser.add_argument("--no-postfix", action="store_true")
    parser.add_argument("--no-vmail", action="store_true")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    kit = Kit()
    root = Path(tempfile.mkdtemp(prefix="vmail-smtp-floor-"))
    root.chmod(0o755)
    servers: list[FloorServer | VmailServer | PostfixServer] = [
        FloorServer(root / "floor", args.mailboxes)
    ]
    if not args.no_vmail:
        servers.append(VmailServer(root / "vmail", args.mailboxes))
    if not args.no_postfix and PostfixServer.available():
        servers.append(PostfixServer(root / "postfix", args.mailboxes))
    load = Load(args.messages, args.concurrency, 2048, args.mailboxes)
    results: list[Result] = []
    try:
        for server in servers:
            server.root.mkdir(exist_ok=True)
            server.setup()
            server.start()
            measure(kit, server, Load(100, 10, 2048, args.mailboxes))  # warm-up
        for run in range(args.runs):
            for server in servers:
                result = measure(kit, server, load)
                results.append(result)
                print(
                    f"run {run + 1} {server.name:8} {result.delivered_per_s:7.1f} msg/s "
                    f"{result.cpu_ms_per_msg:5.2f} ms CPU/msg "
                    f"(sys {1000 * result.server_sys_s / max(1, result.delivered):4.2f})",
                    flush=True,
                )
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"bench": "smtp_floor", "runs": [r.as_dict() for r in results]}))
    return 0 if all(r.all_delivered for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
