"""Mailbox quota end to end: PostfixAdmin's ``mailbox.quota`` (via an SQL
``virtual_mailbox_quota_maps``) limits what ``vmail serve`` delivers, a full mailbox
bounces with Dovecot's 5.2.2 reason, and the IMAP server reports the usage the
deliveries recorded in ``maildirsize``."""

from __future__ import annotations

import imaplib
import re
from pathlib import Path

from tests.e2e.harness import PASSWORD, make_config, running, vmail_here

BOB = "bob@example.com"
QUERY = "SELECT quota FROM mailbox WHERE username='%s' AND active = '1'"


def _message(i: int) -> str:
    return f"From: alice@example.org\r\nSubject: fill {i}\r\n\r\n" + "x" * 1500 + "\r\n"


def test_quota_from_the_directory_bounces_a_full_mailbox(tmp_path: Path) -> None:
    config_dir = make_config(tmp_path)
    database = re.search(
        r"^dbpath = (.*)$", (config_dir / "virtual_mailbox_maps.cf").read_text(), re.M
    )
    assert database is not None
    (config_dir / "virtual_mailbox_quota_maps.cf").write_text(
        f"dbpath = {database.group(1)}\nquery = {QUERY}\n"
    )
    with open(config_dir / "main.cf", "a") as main_cf:
        main_cf.write(
            f"virtual_mailbox_quota_maps = sqlite:{config_dir}/virtual_mailbox_quota_maps.cf\n"
        )
    for server in running(config_dir):
        secret = tmp_path / "password"
        secret.write_text(PASSWORD + "\n")
        vmail_here(config_dir, "domain", "add", "example.com")
        vmail_here(
            config_dir, "mailbox", "add", BOB, "--password-file", str(secret), "--quota", "4K"
        )
        with server.smtp() as client:
            for i in range(2):  # ~1.6K each: 3.2K of 4K
                client.sendmail("alice@example.org", [BOB], _message(i))
        server.wait_for(BOB, 2)
        with server.smtp() as client:
            client.sendmail("alice@example.org", [BOB], _message(2))  # 4.8K: over, grace too
        server.wait_log(
            r"to=<bob@example\.com>.*status=bounced \(maildir delivery failed: "
            r"Quota exceeded \(mailbox for user is full\)\)"
        )
        assert len(server.messages(BOB)) == 2
        size = (server.maildir(BOB) / "maildirsize").read_text()
        lines = size.splitlines()
        assert lines[0] == "4096S"
        used = sum(int(line.split()[0]) for line in lines[1:])
        assert sum(int(line.split()[1]) for line in lines[1:]) == 2

        imap = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
        try:
            imap.login(BOB, PASSWORD)
            typ, data = imap.getquotaroot("INBOX")
            assert typ == "OK", data
            quota = b" ".join(x for x in data[1] if isinstance(x, bytes)).decode()
            # KiB: Dovecot rounds up, vmail's imapd (for now) down
            kib = {str(used // 1024), str((used + 1023) // 1024)}
            match = re.search(r"STORAGE (\d+) 4\b", quota)
            assert match is not None, data
            assert match.group(1) in kib, data
        finally:
            imap.logout()
