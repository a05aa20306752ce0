"""Messages written by vmail's Maildir writer, read back by real Dovecot (doveadm).

Needs ``doveadm`` (Debian's dovecot-core). Skipped without it, unless the ``CI``
environment variable is set: there a missing Dovecot is a failure.

doveadm runs without an auth server: no ``-u`` (it then takes the user from ``$USER``
and does no userdb lookup), ``mail_uid``/``mail_gid`` set in a minimal config. Dovecot
refuses to access mail as root, so as root the mail is delivered to uid/gid 65534 and
Dovecot runs as that; otherwise both run as the current user.
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

MESSAGES = [
    b"From: a@example.org\r\nSubject: one\r\n\r\nFirst body\r\n",
    b"From: b@example.org\r\nSubject: two\r\n\r\nFrom the start\r\nsecond line\r\n",
    b"Subject: three\r\n\r\n" + b"long line " * 2000 + b"\r\nno final newline",
]


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
    """A directory Dovecot's unprivileged uid can reach (pytest's tmp is 0700 for root)."""
    path = Path(tempfile.mkdtemp(prefix="vmail-dovecot-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_dovecot_reads_what_vmail_delivered(doveadm: str, world_readable_dir: Path) -> None:
    root = os.geteuid() == 0
    uid, gid = (65534, 65534) if root else (os.getuid(), os.getgid())
    base = world_readable_dir / "mail"
    base.mkdir()
    config = MainConfig.from_text(
        f"virtual_mailbox_base = {base}\n"
        "virtual_mailbox_maps = inline:{ user@example.com=example.com/user/ }\n"
        f"virtual_uid_maps = static:{uid}\nvirtual_gid_maps = static:{gid}\n"
        "virtual_minimum_uid = 1\n"
    )
    agent = VirtualAgent(config)
    expected = []
    for i, message in enumerate(MESSAGES):
        request = DeliveryRequest(f"Q{i}", "sender@example.org", "user@example.com")
        assert agent.deliver(request, [message]).status is Status.SENT
        stored = (
            b"Return-Path: <sender@example.org>\nDelivered-To: user@example.com\n"
            + message.replace(b"\r\n", b"\n")
        )
        expected.append(stored if stored.endswith(b"\n") else stored + b"\n")

    maildir = base / "example.com/user"
    run_dir = world_readable_dir / "run"
    run_dir.mkdir()
    conf = world_readable_dir / "dovecot.conf"
    conf.write_text(
        "protocols =\nssl = no\n"
        f"base_dir = {run_dir}\nstate_dir = {run_dir}\nlog_path = /dev/stderr\n"
        f"mail_location = maildir:{maildir}\n"
        f"mail_uid = {uid}\nmail_gid = {gid}\nfirst_valid_uid = 1\n"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "USER": "user", "HOME": str(maildir)}

    def fetch(fields: str, *query: str) -> str:
        done = subprocess.run(
            [doveadm, "-c", str(conf), "fetch", fields, *query],
            env=env,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        # e.g. "Maildir filename has wrong S value" would be logged as an error
        assert b"Error" not in done.stderr, done.stderr
        assert b"Warning" not in done.stderr, done.stderr
        return done.stdout.decode()

    uids = [int(line.split(": ")[1]) for line in fetch("uid", "all").splitlines() if line]
    assert len(uids) == len(MESSAGES)
    sizes = []
    for uid_ in uids:
        out = fetch("size.physical size.virtual", "uid", str(uid_))
        fields = dict(line.split(": ", 1) for line in out.splitlines() if line)
        sizes.append((int(fields["size.physical"]), int(fields["size.virtual"])))
        text = fetch("text", "uid", str(uid_)).split("text:\n", 1)[1].encode()
        assert text in expected
    assert sorted(sizes) == sorted((len(e), len(e) + e.count(b"\n")) for e in expected)
    # Dovecot moved nothing it did not understand, and the names kept our S=/W= sizes
    names = [p.name for p in (maildir / "new").iterdir()] + [
        p.name.split(":")[0] for p in (maildir / "cur").iterdir()
    ]
    assert len(names) == len(MESSAGES)
    assert sorted(int(n.split(",S=")[1].split(",")[0]) for n in names) == sorted(
        len(e) for e in expected
    )
