"""``vmail sendmail``: Sendmail's options, -t extraction, and posting into the queue."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmail.cli.sendmail import SendmailError, extract_recipients, parse_options, read_message
from vmail.queue import Spool
from vmail.queue.spool import DEFERRED, INCOMING


def test_options_in_both_spellings() -> None:
    opts = parse_options(["-oi", "-fbob@example.com", "-F", "Bob B", "-t", "x@example.com"])
    assert opts.ignore_dots
    assert opts.extract
    assert opts.sender == "bob@example.com"
    assert opts.full_name == "Bob B"
    assert opts.recipients == ["x@example.com"]
    opts = parse_options(["-f", "<>", "-N", "success,delay", "-R", "hdrs", "-V", "id1", "-bv", "a"])
    assert (opts.sender, opts.notify, opts.ret, opts.envid, opts.mode) == (
        "<>",
        ("SUCCESS", "DELAY"),
        "HDRS",
        "id1",
        "verify",
    )
    assert parse_options(["-ti"]).extract


def test_queue_run_options_as_postfix() -> None:
    assert parse_options(["-q"]).mode == "flush"
    opts = parse_options(["-qRrelay.test"])
    assert (opts.mode, opts.site) == ("flush-site", "relay.test")
    assert parse_options(["-q30m"]).mode == "ignore"  # an interval: only with -bd
    for argv, text in (
        (["-qSsite"], "-qS is not implemented"),
        (["-qX"], "-qX is not implemented"),
    ):
        with pytest.raises(SendmailError, match=text) as error:
            parse_options(argv)
        assert error.value.status == 75


@pytest.mark.parametrize(
    "argv", [["-f"], ["-N", "never,success"], ["-R", "body"], ["-bd"], ["-Z"], ["-qR"]]
)
def test_bad_options(argv: list[str]) -> None:
    with pytest.raises(SendmailError):
        parse_options(argv)


def test_dot_ends_message_unless_i() -> None:
    data = b"Subject: x\n\nline\n.\nafter\n"
    assert read_message(io.BytesIO(data), ignore_dots=False) == b"Subject: x\r\n\r\nline\r\n"
    assert read_message(io.BytesIO(data), ignore_dots=True).endswith(b".\r\nafter\r\n")


def test_extract_recipients_removes_bcc() -> None:
    message = (
        b"To: A <a@example.com>, b@example.com\r\nBcc: hidden@example.com,\r\n"
        b" more@example.com\r\nCc: c@example.com\r\nSubject: s\r\n\r\nBcc: body@x\r\n"
    )
    found, rest = extract_recipients(message)
    assert found == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "hidden@example.com",
        "more@example.com",
    ]
    assert b"hidden" not in rest
    assert b"more@" not in rest
    assert rest.endswith(b"\r\n\r\nBcc: body@x\r\n")


def _config(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "main.cf").write_text(
        f"myhostname = mx.test\nmyorigin = example.org\nqueue_directory = {tmp_path}/spool\n"
        "virtual_mailbox_domains = example.com\nvirtual_mailbox_maps = "
        "inline:{ bob@example.com=x/ }\nalias_maps =\n"
    )
    (etc / "master.cf").write_text("")
    return etc


def _sendmail(etc: Path, *args: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "vmail", "-c", str(etc), "sendmail", *args],
        input=data,
        capture_output=True,
        env={**os.environ, "VMAIL_CONFIG_DIR": ""},
        timeout=60,
    )


def test_posts_into_the_queue(tmp_path: Path) -> None:
    etc = _config(tmp_path)
    done = _sendmail(etc, "-t", "-f", "alice", data=b"To: bob@example.com\nSubject: s\n\nhi\n")
    assert done.returncode == 0, done.stderr
    spool = Spool(tmp_path / "spool")
    (queue_id,) = spool.ids(INCOMING)
    entry = spool.load(INCOMING, queue_id)
    assert entry.envelope.sender == "alice@example.org"
    assert [r.address for r in entry.envelope.recipients] == ["bob@example.com"]
    content = entry.read_content()
    assert content.startswith(b"Received: by mx.test (vmail, from userid ")
    assert b"\r\nTo: bob@example.com\r\nSubject: s\r\n" in content
    assert b"\r\nFrom: alice@example.org\r\n" in content  # cleanup adds what is missing
    assert b"\r\nMessage-Id: <" in content or b"\r\nMessage-ID: <" in content
    assert content.endswith(b"\r\n\r\nhi\r\n")


def test_no_recipients_is_a_usage_error(tmp_path: Path) -> None:
    done = _sendmail(_config(tmp_path), data=b"Subject: s\n\nhi\n")
    assert done.returncode == 64
    assert b"sendmail: fatal: no recipients specified" in done.stderr


def test_bs_runs_an_smtp_session_on_stdin_and_stdout(tmp_path: Path) -> None:
    etc = _config(tmp_path)
    conversation = (
        b"EHLO me\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.com>\r\n"
        b"DATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n"
    )
    done = _sendmail(etc, "-bs", data=conversation)
    assert done.returncode == 0, done.stderr
    replies = done.stdout.decode().splitlines()
    assert replies[0].startswith("220 mx.test ESMTP")
    assert any(line.startswith("250 2.0.0 Ok: queued as ") for line in replies)
    assert replies[-1] == "221 2.0.0 Bye"
    spool = Spool(tmp_path / "spool")
    (queue_id,) = spool.ids(INCOMING)
    assert spool.load(INCOMING, queue_id).read_content().endswith(b"\r\n\r\nhi\r\n")


def test_unwritable_queue_is_a_temporary_failure(tmp_path: Path) -> None:
    etc = _config(tmp_path)
    with open(etc / "main.cf", "a") as main_cf:
        main_cf.write("queue_directory = /dev/null/spool\n")
    done = _sendmail(etc, "bob@example.com", data=b"Subject: s\n\nhi\n")
    assert done.returncode == 75
    assert b"sendmail: fatal: queue directory /dev/null/spool: Not a directory" in done.stderr


def test_q_flushes_the_deferred_queue_as_postqueue_f(tmp_path: Path) -> None:
    etc = _config(tmp_path)
    done = _sendmail(etc, "bob@example.com", data=b"Subject: s\n\nhi\n")
    assert done.returncode == 0, done.stderr
    spool = Spool(tmp_path / "spool")
    (queue_id,) = spool.ids(INCOMING)
    spool.move(queue_id, INCOMING, DEFERRED)
    done = _sendmail(etc, "-q", data=b"")
    # no server runs: Postfix's "mail system is down", but the flush is recorded
    assert done.returncode == 75
    assert b"not running" in done.stderr
    assert spool.ids(DEFERRED) == []  # made due and moved back to incoming
    assert [r.get("op") for r in spool.load(INCOMING, queue_id).status_records] == ["flush"]
