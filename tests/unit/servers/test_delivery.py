"""The delivery process handle: fork, wake pipe, signals, restart, stop (real processes)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from pathlib import Path

from vmail.servers.delivery import DeliveryProcess, WakeReader, describe_status


def _wait_for(path: Path, predicate: object, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if callable(predicate) and predicate(text):
            return text
        time.sleep(0.02)
    raise AssertionError(f"timed out; {path}: {path.read_text() if path.exists() else ''!r}")


def _child(record: Path, *, exit_after_first: bool = False):  # type: ignore[no-untyped-def]
    """A child body that logs pokes (as ``P<id>`` / ``F``) and signals into ``record``."""

    def body(wake_fd: int) -> int:
        def note(text: str) -> None:
            with record.open("a") as f:
                f.write(text)

        got: list[int] = []
        signal.signal(signal.SIGUSR1, lambda *_: got.append(signal.SIGUSR1))
        signal.signal(signal.SIGHUP, lambda *_: got.append(signal.SIGHUP))
        signal.signal(signal.SIGTERM, lambda *_: got.append(signal.SIGTERM))
        reader = WakeReader(wake_fd)
        note("S")
        if exit_after_first:
            return 3
        while True:
            time.sleep(0.01)
            read = reader.read()
            if read is None:
                note("E")
                return 0
            ids, full = read
            note("".join(f"P{i}" for i in ids) + ("F" if full else ""))
            while got:
                sig = got.pop(0)
                note({signal.SIGUSR1: "U", signal.SIGHUP: "H", signal.SIGTERM: "T"}[sig])
                if sig == signal.SIGTERM:
                    return 0

    return body


def test_pokes_signals_and_stop(tmp_path: Path) -> None:
    record = tmp_path / "record"

    async def scenario() -> None:
        process = DeliveryProcess(_child(record))
        process.start()
        _wait_for(record, lambda t: "S" in t)
        process.signal(signal.SIGUSR1)
        _wait_for(record, lambda t: "U" in t)
        process.signal(signal.SIGHUP)
        _wait_for(record, lambda t: "H" in t)
        process.poke("4jbTBc2vDNzJ9hT")
        _wait_for(record, lambda t: "P4jbTBc2vDNzJ9hT" in t)
        process.signal(signal.SIGSTOP)  # the child reads nothing: the pipe fills up
        for _ in range(20_000):  # far more than a pipe holds: never blocks
            process.poke("4jbTBc2vDNzJ9hX")
        process.signal(signal.SIGCONT)
        _wait_for(record, lambda t: "F" in t)  # lines were dropped: a full pass
        await process.stop(10)
        assert process.pid is None

    asyncio.run(scenario())
    assert record.read_text().endswith("T")


def test_unexpected_exit_restarts(tmp_path: Path) -> None:
    record = tmp_path / "record"

    async def scenario() -> None:
        process = DeliveryProcess(_child(record, exit_after_first=True), restart_delay=0.05)
        process.start()
        for _ in range(500):
            if process.restarts >= 2:
                break
            await asyncio.sleep(0.01)
        assert process.restarts >= 2
        await process.stop(10)

    asyncio.run(scenario())
    assert record.read_text().startswith("SS")


def test_stop_kills_a_child_that_does_not_stop(tmp_path: Path) -> None:
    def stubborn(wake_fd: int) -> int:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        (tmp_path / "up").write_text("1")
        while True:
            time.sleep(1)

    async def scenario() -> None:
        process = DeliveryProcess(stubborn)
        process.start()
        _wait_for(tmp_path / "up", lambda t: t == "1")
        started = time.monotonic()
        await process.stop(0.3)
        assert time.monotonic() - started < 5

    asyncio.run(scenario())


def test_child_does_not_keep_the_parents_sockets(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    record = tmp_path / "fds"

    def body(wake_fd: int) -> int:
        info = os.fstat(listener.fileno())
        record.write_text("sock" if (info.st_mode & 0o170000) == 0o140000 else "other")
        return 0

    async def scenario() -> None:
        process = DeliveryProcess(body, restart_delay=60)
        process.start()
        _wait_for(record, lambda t: t != "")
        await process.stop(10)

    try:
        asyncio.run(scenario())
    finally:
        listener.close()
    assert record.read_text() == "other"


def test_describe_status() -> None:
    assert describe_status(3 << 8) == "exited with status 3"
    assert describe_status(signal.SIGKILL) == "killed by signal SIGKILL"


def test_wake_reader_lines_partial_reads_and_end_of_file() -> None:
    read_fd, write_fd = os.pipe()
    reader = WakeReader(read_fd)
    assert reader.read() == ([], False)
    os.write(write_fd, b"4jbTBc2vDNzJ9hT\n4jbTBc2")
    assert reader.read() == (["4jbTBc2vDNzJ9hT"], False)
    os.write(write_fd, b"vDNzJ9hX\n\n")
    assert reader.read() == (["4jbTBc2vDNzJ9hX"], True)  # the empty line: a full pass
    os.close(write_fd)
    assert reader.read() is None
    os.close(read_fd)
