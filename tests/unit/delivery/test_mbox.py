"""mbox writer: From line, quoting, blank line, locking, truncation on error."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vmail.core.errors import PermanentError, TemporaryError
from vmail.delivery.mbox import LockPolicy, deliver_mbox, from_line
from vmail.delivery.paths import mailbox_path

WHEN = 1_700_000_000.0
NO_WAIT = LockPolicy(("fcntl", "dotlock"), attempts=2, delay=0, sleep=lambda _s: None)


def deliver(base: Path, data: object, **kw: object) -> None:
    deliver_mbox(
        mailbox_path(str(base), "example.com/user"),
        data,  # type: ignore[arg-type]
        sender=kw.pop("sender", "s@x.org"),  # type: ignore[arg-type]
        when=WHEN,
        lock=kw.pop("lock", NO_WAIT),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def stamp() -> str:
    return time.asctime(time.localtime(WHEN))


def test_from_line() -> None:
    assert from_line("", WHEN) == f"From MAILER-DAEMON  {stamp()}\n".encode()
    assert from_line("a b@x", WHEN) == f'From "a b"@x  {stamp()}\n'.encode()


def test_golden_two_messages(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    deliver(
        tmp_path, [b"Subject: 1\r\n\r\nFrom me\r\n>From you\r\n"], headers=b"Delivered-To: u@x\n"
    )
    deliver(tmp_path, [b"Subject: 2\r\n\r\nno newline"], sender="")
    assert (tmp_path / "example.com/user").read_bytes() == (
        f"From s@x.org  {stamp()}\n".encode()
        + b"Delivered-To: u@x\nSubject: 1\n\n>From me\n>From you\n\n"
        + f"From MAILER-DAEMON  {stamp()}\n".encode()
        + b"Subject: 2\n\nno newline\n\n"
    )
    assert not (tmp_path / "example.com/user.lock").exists()
    assert os.stat(tmp_path / "example.com/user").st_mode & 0o777 == 0o600


def test_missing_directory_defers(tmp_path: Path) -> None:
    with pytest.raises(TemporaryError) as info:
        deliver(tmp_path, [b"x\n"])
    assert info.value.reply.enhanced == "4.2.0"


def test_truncates_back_on_error(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    deliver(tmp_path, [b"first\n"])
    before = (tmp_path / "example.com/user").read_bytes()

    def broken() -> Iterator[bytes]:
        yield b"Subject: x\r\n\r\n" + b"y" * 100_000
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(PermanentError) as info:
        deliver(tmp_path, broken())
    assert info.value.reply.enhanced == "5.3.0"
    assert (tmp_path / "example.com/user").read_bytes() == before


def test_limit_counts_the_whole_file(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    deliver(tmp_path, [b"x" * 500 + b"\n"], limit=1000)
    before = (tmp_path / "example.com/user").read_bytes()
    with pytest.raises(PermanentError) as info:
        deliver(tmp_path, [b"x" * 500 + b"\n"], limit=1000)
    assert info.value.reply.enhanced == "5.2.2"
    assert (tmp_path / "example.com/user").read_bytes() == before


def test_busy_dotlock_defers_and_stale_one_is_removed(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    lock = tmp_path / "example.com/user.lock"
    lock.write_bytes(b"")
    with pytest.raises(TemporaryError) as info:
        deliver(tmp_path, [b"x\n"])
    assert info.value.reply.enhanced == "4.2.0"
    old = time.time() - 1000
    os.utime(lock, (old, old))
    deliver(tmp_path, [b"x\n"])
    assert not lock.exists()


@pytest.mark.parametrize("method", ["fcntl", "flock"])
def test_kernel_lock_held_elsewhere_defers(tmp_path: Path, method: str) -> None:
    (tmp_path / "example.com").mkdir()
    path = tmp_path / "example.com/user"
    path.write_bytes(b"")
    policy = LockPolicy((method,), attempts=2, delay=0, sleep=lambda _s: None)
    pid = os.fork()
    if pid == 0:  # the child holds the lock until killed
        fd = os.open(path, os.O_RDWR)
        (fcntl.lockf if method == "fcntl" else fcntl.flock)(fd, fcntl.LOCK_EX)
        os.write(1, b"")
        time.sleep(30)
        os._exit(0)
    try:
        deadline = time.time() + 5
        while True:  # wait until the child holds it
            probe = os.open(path, os.O_RDWR)
            try:
                (fcntl.lockf if method == "fcntl" else fcntl.flock)(
                    probe, fcntl.LOCK_EX | fcntl.LOCK_NB
                )
            except OSError:
                break
            finally:
                os.close(probe)
            assert time.time() < deadline
            time.sleep(0.01)
        with pytest.raises(TemporaryError) as info:
            deliver(tmp_path, [b"x\n"], lock=policy)
        assert info.value.reply.enhanced == "4.2.0"
        assert path.read_bytes() == b""
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_a_directory_in_place_of_the_mailbox_defers(tmp_path: Path) -> None:
    (tmp_path / "example.com/user").mkdir(parents=True)
    with pytest.raises(TemporaryError) as info:
        deliver(tmp_path, [b"x\n"], lock=LockPolicy(("fcntl",), attempts=1))
    assert info.value.reply.enhanced == "4.2.0"
    assert "Is a directory" in info.value.reply.text


def test_symlinked_mailbox_is_refused(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    target = tmp_path / "target"
    target.write_bytes(b"")
    (tmp_path / "example.com/user").symlink_to(target)
    with pytest.raises(TemporaryError):
        deliver(tmp_path, [b"x\n"], lock=LockPolicy(("fcntl",), attempts=1))
    assert target.read_bytes() == b""


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership check against another uid needs root")
def test_strict_ownership(tmp_path: Path) -> None:
    from vmail.delivery.paths import Owner

    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com/user").write_bytes(b"")  # owned by root
    with pytest.raises(TemporaryError) as info:
        deliver(tmp_path, [b"x\n"], owner=Owner(5000, 5000))
    assert "is not owned by recipient" in info.value.reply.text
    deliver(tmp_path, [b"x\n"], owner=Owner(5000, 5000), strict_owner=False)
