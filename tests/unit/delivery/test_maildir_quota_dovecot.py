"""vmail's delivery quota against real Dovecot: the same usage, the same decisions.

Dovecot's ``quota = maildir`` backend must see the usage vmail counted (``doveadm quota
get``) and, recounting the folders itself (``doveadm quota recalc``), arrive at the same
totals and limit. For a range of usages and message sizes, ``dovecot-lda`` (``-e``:
the reason on stderr, exit 77 when full) and vmail accept and refuse the same messages
with the same reason, grace included. Needs ``doveadm`` and ``dovecot-lda`` (skipped
without them unless ``CI`` is set); runs as in ``test_dovecot_compat`` (uid 65534 when
root, else the current user).
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
from vmail.core.errors import PermanentError
from vmail.delivery.maildir_quota import DeliveryQuota
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


CASES = [  # (bytes already stored, message size) against a 1000-byte limit, grace 10%
    (0, 500),
    (500, 500),
    (950, 150),  # ends at 1100: the grace is used up exactly
    (950, 151),
    (999, 101),
    (1000, 1),  # at the limit
    (1200, 10),  # over it
    (0, 1100),  # larger than the limit alone, still within the grace
    (0, 1101),
]


@pytest.fixture
def lda() -> str:
    path = "/usr/lib/dovecot/dovecot-lda"
    if not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail("dovecot-lda is missing and CI is set: install dovecot-core")
        pytest.skip("dovecot-lda not installed")
    return path


def test_full_or_not_as_dovecot_lda_decides(lda: str, world_readable_dir: Path) -> None:
    root = os.geteuid() == 0
    uid, gid = (65534, 65534) if root else (os.getuid(), os.getgid())
    accepted = []
    for stored, size in CASES:
        case = world_readable_dir / f"{stored}-{size}"
        decisions = []
        for who in ("dovecot", "vmail"):
            maildir = case / who
            for sub in ("cur", "new", "tmp"):
                (maildir / sub).mkdir(parents=True)
            if stored:
                name = f"1700000000.M1P1Q1.host,S={stored},W={stored}:2,S"
                (maildir / "cur" / name).write_bytes(b"x" * (stored - 1) + b"\n")
            if root:
                for path in (case, *case.rglob("*")):
                    os.chown(path, uid, gid)
            message = b"x" * (size - 1) + b"\n"
            if who == "vmail":
                quota = DeliveryQuota(maildir, 1000)
                try:
                    quota.check(size)
                    decisions.append("accepted")
                except PermanentError as e:
                    decisions.append(f"5.2.2 {e.reply.text}")
                continue
            conf = case / "dovecot.conf"
            conf.write_text(
                "protocols =\nssl = no\n"
                f"base_dir = {case}\nstate_dir = {case}\nlog_path = /dev/null\n"
                f"mail_location = maildir:{maildir}\n"
                f"mail_uid = {uid}\nmail_gid = {gid}\nfirst_valid_uid = 1\n"
                "mail_plugins = quota\n"
                "plugin {\n  quota = maildir:User quota\n  quota_rule = *:bytes=1000\n}\n"
            )
            done = subprocess.run(
                [lda, "-c", str(conf), "-e"],
                input=message,
                env={"PATH": "/usr/bin:/bin", "USER": "user", "HOME": str(maildir)},
                capture_output=True,
                user=uid if root else None,
                group=gid if root else None,
                extra_groups=[] if root else None,
                check=False,
            )
            assert done.returncode in (0, 77), done.stderr
            text = done.stderr.decode().strip()
            decisions.append("accepted" if done.returncode == 0 else f"5.2.2 {text}")
        assert decisions[0] == decisions[1], (stored, size)
        accepted.append(decisions[0] == "accepted")
    assert accepted == [True, True, True, False, True, False, False, True, False]
