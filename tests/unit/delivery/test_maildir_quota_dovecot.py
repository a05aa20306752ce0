"""The ``maildirsize`` vmail's deliveries keep, read and recounted by real Dovecot.

Dovecot's ``quota = maildir`` backend must see the usage vmail counted (``doveadm quota
get``) and, recounting the folders itself (``doveadm quota recalc``), arrive at the same
totals and limit. Needs ``doveadm`` (skipped without it unless ``CI`` is set); runs as
in ``test_dovecot_compat`` (uid 65534 when root, else the current user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.delivery.virtual import DeliveryRequest, Status, VirtualAgent
from vmail.mailstore.quota import read_maildirsize

LIMIT = 100_000


@pytest.fixture
def doveadm() -> str:
    path = shutil.which("doveadm")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("doveadm is missing and CI is set: install dovecot-core")
        pytest.skip("doveadm not installed")
    return path


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="vmail-dovecot-quota-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_dovecot_agrees_with_the_usage_vmail_kept(doveadm: str, world_readable_dir: Path) -> None:
    uid, gid = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    base = world_readable_dir / "mail"
    base.mkdir()
    agent = VirtualAgent(
        MainConfig.from_text(
            f"virtual_mailbox_base = {base}\n"
            "virtual_mailbox_maps = inline:{ user@example.com=example.com/user/ }\n"
            f"virtual_mailbox_quota_maps = inline:{{ user@example.com={LIMIT} }}\n"
            f"virtual_uid_maps = static:{uid}\nvirtual_gid_maps = static:{gid}\n"
            "virtual_minimum_uid = 1\n"
        )
    )
    for i in range(5):
        body = f"Subject: {i}\r\n\r\n".encode() + b"line\r\n" * (300 * i + 1)
        request = DeliveryRequest(f"Q{i}", "s@example.org", "user@example.com")
        assert agent.deliver(request, [body]).status is Status.SENT
    maildir = base / "example.com/user"
    ours = read_maildirsize(maildir / "maildirsize")
    assert ours is not None
    assert (ours.storage_limit, ours.count) == (LIMIT, 5)

    run_dir = world_readable_dir / "run"
    run_dir.mkdir()
    conf = world_readable_dir / "dovecot.conf"
    conf.write_text(
        "protocols =\nssl = no\n"
        f"base_dir = {run_dir}\nstate_dir = {run_dir}\nlog_path = /dev/stderr\n"
        f"mail_location = maildir:{maildir}\n"
        f"mail_uid = {uid}\nmail_gid = {gid}\nfirst_valid_uid = 1\n"
        "mail_plugins = quota\n"
        "plugin {\n  quota = maildir:User quota\n"
        f"  quota_rule = *:bytes={LIMIT}\n}}\n"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "USER": "user", "HOME": str(maildir)}

    def doveadm_run(*args: str) -> str:
        done = subprocess.run(
            [doveadm, "-c", str(conf), *args], env=env, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        assert b"Error" not in done.stderr, done.stderr
        return done.stdout.decode()

    rows = [line.split("\t") for line in doveadm_run("-f", "tab", "quota", "get").splitlines()]
    got = {row[1]: row[2:4] for row in rows[1:]}  # quota name, type, value, limit, %
    assert got["MESSAGE"][0] == "5"
    assert got["STORAGE"] == [
        str((ours.bytes + 1023) // 1024),
        str((LIMIT + 1023) // 1024),
    ]  # KiB, rounded up

    doveadm_run("quota", "recalc")
    recounted = read_maildirsize(maildir / "maildirsize")
    assert recounted is not None
    assert (recounted.storage_limit, recounted.bytes, recounted.count) == (
        LIMIT,
        ours.bytes,
        ours.count,
    )
