"""Faults: kill -9 under load, a full disk, an unreachable SQL table.

What was acknowledged with 250 must be delivered exactly once; what could not be stored
must get a 4xx, never a lost or truncated message.
"""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess, make_config, running

MESSAGES = 1000
SENDERS = 8


def _message(token: str, size: int = 600) -> bytes:
    body = (f"token {token}\r\n" + "x" * 70 + "\r\n") * (size // 80 + 1)
    return f"From: load@example.org\r\nSubject: {token}\r\n\r\n".encode() + body.encode()


def _tokens(server: ServerProcess, address: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for data in server.messages(address):
        match = re.search(rb"^Subject: (\S+)", data, re.M)
        assert match, data[:500]
        counts[match.group(1).decode()] += 1
        assert data.rstrip().endswith(b"x" * 70), "truncated message"
    return counts


def test_kill_9_under_load_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    config_dir = make_config(tmp_path)
    server = ServerProcess(config_dir).start()
    server.add_mailbox("bob@example.com")
    acked: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(number: int) -> None:
        count = 0
        while not stop.is_set() and count < MESSAGES // SENDERS:
            try:
                with smtplib.SMTP("127.0.0.1", server.port(), timeout=10) as client:
                    while not stop.is_set() and count < MESSAGES // SENDERS:
                        token = f"m{number}-{count}"
                        client.sendmail("load@example.org", ["bob@example.com"], _message(token))
                        with lock:
                            acked.append(token)
                        count += 1
            except (OSError, smtplib.SMTPException) as e:
                if not stop.is_set():
                    errors.append(f"sender {number}: {e!r}")
                return  # the server died mid-transaction: that message was not acked

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acked) < MESSAGES // 3 and time.monotonic() < deadline and not errors:
        time.sleep(0.01)
    stop.set()
    server.kill()  # SIGKILL in the middle of receiving and delivering
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(acked) >= MESSAGES // 3
    restarted = ServerProcess(config_dir).start()
    try:
        restarted.wait_for("bob@example.com", len(acked), timeout=120)
        time.sleep(1)  # anything delivered twice would show up now
        counts = _tokens(restarted, "bob@example.com")
        missing = [t for t in acked if t not in counts]
        twice = [t for t, n in counts.items() if n > 1]
        assert missing == []
        assert twice == []
    finally:
        restarted.stop()


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(path)], check=True
    )


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not _can_mount():
        if os.environ.get("CI"):
            pytest.fail("the full-disk test needs root to mount a tmpfs")
        pytest.skip("needs root to mount a tmpfs")
    mount = tmp_path / "small"
    try:
        _mount_tmpfs(mount, "2m")
    except subprocess.CalledProcessError:
        if os.environ.get("CI"):
            raise
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_queue_disk_gives_4xx_and_keeps_accepted_mail(
    tmp_path: Path, small_disk: Path
) -> None:
    spool = small_disk / "spool"
    config_dir = make_config(tmp_path, {"queue_directory": str(spool)})
    data = (tmp_path / "data").stat()
    spool.mkdir()
    os.chown(spool, data.st_uid, data.st_gid)
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        with server.smtp() as client:
            client.sendmail("a@example.org", ["bob@example.com"], _message("small"))
        server.wait_for("bob@example.com")
        filler = small_disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        with server.smtp() as client, pytest.raises(smtplib.SMTPDataError) as e:
            client.sendmail("a@example.org", ["bob@example.com"], _message("big", 300_000))
        assert 400 <= e.value.smtp_code < 500
        leftovers = [  # pid/ and the delivery history in log/ are not queue files
            p for p in spool.rglob("*") if p.is_file() and p.parent.name not in ("pid", "log")
        ]
        assert leftovers == [], "a partial queue file was left behind"
        filler.unlink()
        with server.smtp() as client:  # space again: mail flows again
            client.sendmail("a@example.org", ["bob@example.com"], _message("after"))
        server.wait_for("bob@example.com", 2)
        assert set(_tokens(server, "bob@example.com")) == {"small", "after"}


def test_full_mailbox_disk_defers_and_delivers_later(tmp_path: Path, small_disk: Path) -> None:
    config_dir = make_config(
        tmp_path,
        {
            "virtual_mailbox_base": str(small_disk),
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
        },
    )
    owner = tmp_path / "data"
    os.chown(small_disk, owner.stat().st_uid, owner.stat().st_gid)
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        filler = small_disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        with server.smtp() as client:
            client.sendmail("a@example.org", ["bob@example.com"], _message("waiting", 300_000))
        server.wait_log(r"to=<bob@example\.com>.*status=deferred")
        mailbox = small_disk / "example.com" / "bob" / "new"
        assert not mailbox.exists() or list(mailbox.iterdir()) == []
        filler.unlink()
        server.data_dir = small_disk.parent  # the mailbox lives on the small disk
        found = _wait_files(mailbox, 1)
        assert found[0].read_bytes().rstrip().endswith(b"x" * 70)


def _wait_files(directory: Path, count: int, timeout: float = 30) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if directory.is_dir() and len(files := sorted(directory.iterdir())) >= count:
            return files
        time.sleep(0.1)
    raise AssertionError(f"{directory}: fewer than {count} files")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_sql_table_gives_451_4_3_0(tmp_path: Path) -> None:
    port = _closed_port()
    cf = tmp_path / "down.cf"
    cf.write_text(
        f"hosts = inet:127.0.0.1:{port}\nuser = x\npassword = y\ndbname = mail\n"
        "query = SELECT goto FROM alias WHERE address='%s'\n"
    )
    config_dir = make_config(tmp_path, {"virtual_alias_maps": f"mysql:{cf}"})
    cf.chmod(0o644)
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        with server.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            client.sendmail("a@example.org", ["bob@example.com"], _message("x"))
        code, text = e.value.recipients["bob@example.com"]
        assert code == 451
        assert text == b"4.3.0 <bob@example.com>: Temporary lookup failure"
