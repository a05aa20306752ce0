"""IMAP and POP3 against a real ``vmail serve``: Python's clients and the real ones (CI installs
mbsync, fetchmail and mutt): mail delivered over SMTP is read, flagged, moved and synced."""

from __future__ import annotations

import imaplib
import poplib
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import PASSWORD, ServerProcess

BOB = "bob@example.com"


def _deliver(server: ServerProcess, count: int, to: str = BOB, tag: str = "") -> None:
    before = len(server.messages(to))
    with server.smtp() as client:
        for i in range(count):
            body = f"Subject: note {tag}{i}\r\nFrom: alice@example.org\r\n\r\nhello {i}\r\n"
            client.sendmail("alice@example.org", [to], body)
    server.wait_for(to, before + count)


def _imap(server: ServerProcess) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    client.login(BOB, PASSWORD)
    return client


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (dev/test installs it)")
    return path


def test_imap_reads_flags_copies_and_expunges(server: ServerProcess) -> None:
    _deliver(server, 3)
    client = _imap(server)
    status, data = client.select("INBOX")
    assert (status, data) == ("OK", [b"3"])
    _, fetched = client.fetch("1:*", "(UID FLAGS RFC822.SIZE ENVELOPE)")
    assert len(fetched) == 3
    assert b'"note 0"' in fetched[0]
    _, body = client.fetch("2", "(BODY.PEEK[TEXT])")
    assert body[0][1] == b"hello 1\r\n"
    _, flags = client.store("2", "+FLAGS", "(\\Deleted)")
    assert b"\\Deleted" in flags[0]
    status, copied = client.copy("1", "Trash")
    assert status == "OK"
    assert b"COPYUID" in copied[0]
    _, gone = client.expunge()
    assert gone == [b"2"]
    _, uids = client.uid("SEARCH", "ALL")
    assert len(uids[0].split()) == 2
    client.logout()
    # Another session sees the same folder state and the copy.
    again = _imap(server)
    assert again.select("Trash") == ("OK", [b"1"])
    assert again.select("INBOX") == ("OK", [b"2"])
    again.logout()


def test_imap_idle_hears_mail_delivered_over_smtp(server: ServerProcess) -> None:
    _deliver(server, 1)
    with socket.create_connection(("127.0.0.1", server.port("imap")), timeout=20) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f'a LOGIN {BOB} "{PASSWORD}"\r\nb SELECT INBOX\r\nc IDLE\r\n'.encode())
        lines = []
        while not (lines and lines[-1].startswith(b"+ ")):
            lines.append(reader.readline())
        assert b"* 1 EXISTS\r\n" in lines
        started = time.monotonic()
        _deliver(server, 1, tag="idle")
        line = reader.readline()
        while line.startswith(b"* OK Still"):
            line = reader.readline()
        assert line == b"* 2 EXISTS\r\n"
        assert time.monotonic() - started < 10
        sock.sendall(b"DONE\r\nd LOGOUT\r\n")
        rest = b""
        while b"d OK" not in rest:
            rest += reader.readline()
        assert b"c OK Idle completed." in rest


def test_pop3_lists_retrieves_and_deletes_at_quit(server: ServerProcess) -> None:
    _deliver(server, 2)
    client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=30)
    client.user(BOB)
    client.pass_(PASSWORD)
    count, _ = client.stat()
    assert count == 2
    _, lines, _ = client.retr(1)
    assert b"hello 0" in lines
    _, uidl, _ = client.uidl()
    assert len(uidl) == 2
    client.dele(1)
    client.quit()
    again = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=30)
    again.user(BOB)
    again.pass_(PASSWORD)
    assert again.stat()[0] == 1
    _, uidl_after, _ = again.uidl()
    assert uidl_after[0].split()[1] == uidl[1].split()[1]  # same UIDL as before
    again.quit()


def test_mbsync_syncs_the_account_both_ways(server: ServerProcess, tmp_path: Path) -> None:
    mbsync = _need("mbsync")
    _deliver(server, 3)
    local = tmp_path / "local"
    local.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(
        f"IMAPAccount test\nHost 127.0.0.1\nPort {server.port('imap')}\nUser {BOB}\n"
        f'Pass "{PASSWORD}"\nSSLType None\nAuthMechs LOGIN\n\n'
        "IMAPStore remote\nAccount test\n\n"
        f"MaildirStore local\nPath {local}/\nInbox {local}/INBOX\nSubFolders Verbatim\n\n"
        "Channel all\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\n"
        "SyncState *\n"
    )

    def sync() -> str:
        done = subprocess.run(
            [mbsync, "-c", str(config), "-a"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    sync()
    inbox = local / "INBOX"
    pulled = list((inbox / "new").iterdir()) + list((inbox / "cur").iterdir())
    assert len(pulled) == 3
    for name in ("Drafts", "Sent", "Trash", "Junk"):
        assert (local / name).is_dir()
    # Local changes go up: a new message in Sent, a flag on an INBOX message.
    (local / "Sent" / "cur" / "1700000000.1_1.host:2,S").write_bytes(
        b"Subject: written offline\nFrom: bob@example.com\n\nfrom mbsync\n"
    )
    first = pulled[0]
    (inbox / "cur").mkdir(exist_ok=True)
    first.rename(inbox / "cur" / (first.name.split(":2,")[0] + ":2,F"))
    # And a second sync must not see a UIDVALIDITY change anywhere.
    output = sync()
    assert "UIDVALIDITY" not in output
    client = _imap(server)
    assert client.select("Sent") == ("OK", [b"1"])
    _, subject = client.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"written offline" in subject[0][1]
    assert b"\\Seen" in subject[0][0]
    client.select("INBOX")
    _, flagged = client.search(None, "FLAGGED")
    assert len(flagged[0].split()) == 1
    client.logout()


def test_fetchmail_keep_mode_fetches_once(server: ServerProcess, tmp_path: Path) -> None:
    fetchmail = _need("fetchmail")
    _deliver(server, 3)
    mbox = tmp_path / "fetched"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        f"poll 127.0.0.1 service {server.port('pop3')} protocol POP3 uidl\n"
        f'  user "{BOB}" there with password "{PASSWORD}" is "nobody" here\n'
        "  keep\n  sslproto ''\n"
        f"  mda \"/bin/sh -c 'cat >> {mbox}'\"\n"
    )
    rc.chmod(0o600)
    command = [fetchmail, "-f", str(rc), "-i", str(tmp_path / "ids"), "--nodetach"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert mbox.read_text().count("\nSubject: note") == 3
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stdout + second.stderr  # PS_NOMAIL
    assert mbox.read_text().count("\nSubject: note") == 3
    assert len(server.messages(BOB)) + len(list((server.maildir(BOB) / "cur").iterdir())) == 3


def test_mutt_reads_a_folder_in_batch_mode(server: ServerProcess, tmp_path: Path) -> None:
    mutt = _need("mutt")
    script = _need("script")
    _deliver(server, 2)
    out = tmp_path / "read"
    url = f"imap://127.0.0.1:{server.port('imap')}/"
    rc = tmp_path / "muttrc"
    rc.write_text(
        f'set imap_user = "{BOB}"\nset imap_pass = "{PASSWORD}"\nset ssl_starttls = no\n'
        f'set folder = "{url}"\nset spoolfile = "+INBOX"\nset header_cache = ""\n'
        'set message_cachedir = ""\nset mail_check = 0\nset timeout = 5\nset wait_key = no\n'
        "set quit = yes\nset move = no\nset pipe_split = yes\nset ssl_force_tls = no\n"
    )
    keys = f"<tag-pattern>~A<enter><tag-prefix><pipe-message>cat >> {out}<enter><quit>"
    command = f"{mutt} -n -F {rc} -f {url}INBOX -e 'push \"{keys}\"'"
    done = subprocess.run(
        [script, "-qec", command, "/dev/null"],
        capture_output=True,
        timeout=120,
        env={"TERM": "xterm", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout[-2000:]
    text = out.read_text()
    assert "Subject: note 0" in text
    assert "Subject: note 1" in text
