"""The lmtp agent delivering into a real, private Dovecot LMTP server (unix socket).

Needs ``dovecot`` with its LMTP service (Debian's dovecot-core + dovecot-lmtpd).
Skipped without them, unless ``CI`` is set: there a missing Dovecot is a failure.
Dovecot runs in the foreground with a minimal config whose ``base_dir`` is a private
directory; users come from a passwd-file. As root, mail is stored as uid/gid 65534.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.delivery.test_smtp import requests
from vmail.config import MainConfig
from vmail.delivery.request import Status
from vmail.delivery.smtp import SmtpAgent

MESSAGE = b"From: a@client.test\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"


@pytest.fixture
def dovecot_lmtp() -> Iterator[tuple[Path, Path]]:
    """(LMTP socket, mail directory) of a running private Dovecot."""
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(dovecot) or not os.path.exists("/usr/lib/dovecot/lmtp"):
        if os.environ.get("CI"):
            pytest.fail("Dovecot LMTP is missing and CI is set: install dovecot-lmtpd")
        pytest.skip("dovecot-lmtpd not installed")
    root = Path(tempfile.mkdtemp(prefix="vmail-lmtp-"))  # Dovecot's users must reach it
    root.chmod(0o755)
    run, mail = root / "run", root / "mail"
    run.mkdir()
    mail.mkdir()
    mail.chmod(0o777)
    if os.geteuid() == 0:
        uid, gid, extra = 65534, 65534, ""
    else:
        uid, gid = os.getuid(), os.getgid()
        user = pwd.getpwuid(uid).pw_name
        extra = f"default_internal_user = {user}\ndefault_login_user = {user}\n"
    users = root / "users"
    users.write_text(f"bob@x.test:{{PLAIN}}pw:{uid}:{gid}::{mail}/bob\n")
    conf = root / "dovecot.conf"
    conf.write_text(
        "protocols = lmtp\nssl = no\n"
        f"base_dir = {run}\nstate_dir = {run}\nlog_path = /dev/stderr\n"
        "mail_location = maildir:~/Maildir\nfirst_valid_uid = 1\n" + extra + "passdb {\n"
        f"  driver = passwd-file\n  args = {users}\n}}\n"
        f"userdb {{\n  driver = passwd-file\n  args = {users}\n}}\n"
        "service lmtp {\n  unix_listener lmtp {\n    mode = 0666\n  }\n}\n"
    )
    proc = subprocess.Popen(
        [dovecot, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    socket_path = run / "lmtp"
    deadline = time.monotonic() + 20
    while not socket_path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            output = proc.communicate()[0].decode(errors="replace")
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"dovecot did not start: {output}")
        time.sleep(0.05)
    try:
        yield socket_path, mail
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        shutil.rmtree(root, ignore_errors=True)


def test_delivery_into_dovecot(dovecot_lmtp: tuple[Path, Path]) -> None:
    socket_path, mail = dovecot_lmtp
    agent = SmtpAgent(MainConfig.from_text("myhostname = client.test\n"), lmtp=True)
    try:
        results = agent.deliver_batch(
            requests(f"unix:{socket_path}", "bob@x.test", "nobody@x.test"), lambda: [MESSAGE]
        )
    finally:
        agent.close()
    relay = f"client.test[{socket_path}]"
    assert [(r.status, r.dsn, r.relay) for r in results] == [
        (Status.SENT, "2.0.0", relay),
        (Status.BOUNCED, "5.1.1", relay),
    ]
    assert results[0].text.startswith("250 2.0.0 <bob@x.test> ")
    assert results[0].text.endswith(" Saved")
    assert results[1].text == (
        f"host {relay} said: 550 5.1.1 <nobody@x.test> User doesn't exist: nobody@x.test "
        "(in reply to RCPT TO command)"
    )
    [stored] = list((mail / "bob" / "Maildir" / "new").iterdir())
    data = stored.read_bytes()
    assert data.endswith(MESSAGE.replace(b"\r\n", b"\n"))  # dot unstuffed, after Dovecot's headers
