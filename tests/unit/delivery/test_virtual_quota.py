"""The virtual agent and Maildir++ quota: limits from a table or maildirsize, bounces,
maildirsize upkeep, quota warnings, and exactly-once retries of a full mailbox."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from vmail.config import MainConfig
from vmail.delivery.request import MessageInfo
from vmail.delivery.virtual import DeliveryRequest, DeliveryResult, Status, VirtualAgent
from vmail.mailstore.filenames import parse_name
from vmail.mailstore.quota import read_maildirsize

BODY = b"Subject: q\r\n\r\n" + b"x" * 200 + b"\r\n"
SIZE = 267  # Return-Path: and Delivered-To: added, LF line ends
FULL_TEXT = "maildir delivery failed: Quota exceeded (mailbox for user is full)"


def full(result: DeliveryResult) -> bool:
    return (result.status, result.dsn, result.text) == (Status.BOUNCED, "5.2.2", FULL_TEXT)


def agent(tmp_path: Path, **settings: str) -> VirtualAgent:
    values = {
        "virtual_mailbox_base": str(tmp_path),
        "virtual_mailbox_maps": "inline:{ user@example.com=example.com/user/, "
        "free@example.com=example.com/free/ }",
        "virtual_mailbox_quota_maps": "inline:{ user@example.com=1000 }",
        "virtual_uid_maps": "static:5000",
        "virtual_gid_maps": "static:5000",
        "recipient_delimiter": "+",
        **settings,
    }
    return VirtualAgent(MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in values.items())))


def deliver(a: VirtualAgent, rcpt: str = "user@example.com", **extra: object) -> DeliveryResult:
    request = DeliveryRequest("4ABC", "s@x.org", rcpt, **extra)  # type: ignore[arg-type]
    return a.deliver(request, [BODY])


def stored(tmp_path: Path, who: str = "user") -> list[int]:
    """The S= sizes of the messages in new/."""
    names = (tmp_path / "example.com" / who / "new").iterdir()
    return sorted(parse_name(p.name).size or 0 for p in names)


def usage(tmp_path: Path, who: str = "user") -> tuple[int | None, int, int]:
    size = read_maildirsize(tmp_path / "example.com" / who / "maildirsize")
    assert size is not None
    return size.storage_limit, size.bytes, size.count


def test_deliveries_until_the_mailbox_is_full_then_bounce(tmp_path: Path) -> None:
    a = agent(tmp_path)
    results = [deliver(a) for _ in range(6)]
    # 4 fill 1068 bytes (the 4th goes over the limit by 68, within the 10% grace)
    assert [r.status for r in results] == [Status.SENT] * 4 + [Status.BOUNCED] * 2
    assert full(results[4])
    assert results[4].mailbox == f"{tmp_path}/example.com/user/"
    assert stored(tmp_path) == [SIZE] * 4
    assert usage(tmp_path) == (1000, 4 * SIZE, 4)
    assert (tmp_path / "example.com/user/maildirsize").read_text() == "1000S\n0 0\n" + (
        f"{SIZE} 1\n" * 4
    )


def test_extension_address_has_the_users_quota(tmp_path: Path) -> None:
    a = agent(tmp_path, virtual_mailbox_quota_maps="inline:{ user@example.com=300 }")
    assert deliver(a, "user+tag@example.com").status is Status.SENT
    assert full(deliver(a, "user+tag@example.com"))


def test_no_quota_entry_means_unlimited_and_no_file(tmp_path: Path) -> None:
    a = agent(tmp_path, virtual_mailbox_quota_maps="inline:{ free@example.com=0 }")
    for _ in range(3):
        assert deliver(a, "free@example.com").status is Status.SENT
        assert deliver(a).status is Status.SENT
    assert not (tmp_path / "example.com/free/maildirsize").exists()
    assert not (tmp_path / "example.com/user/maildirsize").exists()


def test_an_existing_file_is_kept_current_without_a_limit(tmp_path: Path) -> None:
    a = agent(tmp_path, virtual_mailbox_quota_maps="inline:{ free@example.com=0 }")
    deliver(a, "free@example.com")
    (tmp_path / "example.com/free/maildirsize").write_text(f"\n{SIZE} 1\n")  # the IMAP server's
    deliver(a, "free@example.com")
    assert usage(tmp_path, "free") == (None, 2 * SIZE, 2)


def test_quota_table_failure_defers(tmp_path: Path) -> None:
    result = deliver(agent(tmp_path, virtual_mailbox_quota_maps="fail:down"))
    assert result == DeliveryResult(Status.DEFERRED, "4.3.5", "mail system configuration error")
    assert not (tmp_path / "example.com/user/new").exists()


def test_without_a_table_the_maildirsize_limits_apply(tmp_path: Path) -> None:
    a = agent(tmp_path, virtual_mailbox_quota_maps="")
    assert deliver(a).status is Status.SENT  # no file, no limit
    assert not (tmp_path / "example.com/user/maildirsize").exists()
    (tmp_path / "example.com/user/maildirsize").write_text(f"600S\n{SIZE} 1\n")
    assert deliver(a).status is Status.SENT  # 534
    assert full(deliver(a))  # 801 > 600 + 60
    assert usage(tmp_path) == (600, 2 * SIZE, 2)


def wait_for(path: Path, text: str) -> None:
    deadline = time.monotonic() + 10
    while (path.read_text() if path.exists() else "") != text:
        assert time.monotonic() < deadline, text
        time.sleep(0.02)


def test_quota_warning_runs_once_when_crossed(tmp_path: Path) -> None:
    log = tmp_path / "warnings"
    script = tmp_path / "warn.py"
    script.write_text(
        f"import sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
    )
    warning = f"{{ 90={sys.executable} {script} 90 %u }}, 50={sys.executable} {script} 50 %d"
    # the command runs as the mail owner: here the current user (root keeps uid 0 to reach
    # the test's files; a gid of 0 is refused, as virtual(8) refuses it)
    a = agent(
        tmp_path,
        mail_quota_warning=warning,
        virtual_uid_maps=f"static:{os.getuid()}",
        virtual_gid_maps=f"static:{os.getgid() or 65534}",
        virtual_minimum_uid="0",
    )
    sizes = ["", "50 example.com\n", "50 example.com\n", "50 example.com\n90 user@example.com\n"]
    for expected in sizes:  # usage 267, 534, 801, 1068 of 1000
        assert deliver(a).status is Status.SENT
        wait_for(log, expected)
    time.sleep(0.2)
    assert log.read_text() == sizes[-1]


def test_a_retry_after_a_crash_is_not_bounced_nor_counted_twice(tmp_path: Path) -> None:
    a = agent(tmp_path, virtual_mailbox_quota_maps="inline:{ user@example.com=300 }")
    info = MessageInfo("4ABC", "s@x.org", arrival_time=1795766555.0)
    first = deliver(a, message=info, delivery_key="V4ABCR0")
    assert first.status is Status.SENT
    # the mailbox is now full: the same delivery again finds its copy in new/ ...
    assert deliver(a, message=info, delivery_key="V4ABCR0").status is Status.SENT
    # ... or, after a crash, in cur/ where a client moved it
    maildir = tmp_path / "example.com/user"
    [copy] = (maildir / "new").iterdir()
    copy.rename(maildir / "cur" / f"{copy.name}:2,S")
    again = deliver(a, message=info, delivery_key="V4ABCR0", recovered=True)
    assert again.status is Status.SENT
    assert full(deliver(a, message=info, delivery_key="V4ABCR1"))  # another recipient
    assert usage(tmp_path) == (300, SIZE, 1)
    assert list((maildir / "new").iterdir()) == []
    assert list((maildir / "tmp").iterdir()) == []
