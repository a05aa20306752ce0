"""Maildir++ quota of a delivery: Dovecot's test with grace, maildirsize upkeep, the hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.core.errors import PermanentError, TemporaryError
from vmail.delivery.maildir import deliver_maildir
from vmail.delivery.maildir_quota import QUOTA_EXCEEDED, DeliveryQuota, Usage, fits
from vmail.delivery.paths import MailboxPath, mailbox_path
from vmail.mailstore.quota import read_maildirsize

MESSAGE = b"Subject: q\r\n\r\n" + b"x" * 87 + b"\r\n"  # 100 bytes on disk (LF line ends)


def box(base: Path) -> MailboxPath:
    return mailbox_path(str(base), "example.com/user/")


def maildir(base: Path) -> Path:
    return base / "example.com/user"


def fill(base: Path, sizes: list[int], folder: str = "") -> None:
    """Messages already in the mailbox, named with their sizes as Dovecot does."""
    for sub in ("tmp", "new", "cur"):
        (maildir(base) / folder / sub).mkdir(parents=True, exist_ok=True)
    for i, size in enumerate(sizes):
        name = f"17000000{i}.M1P1Q{i}.host,S={size},W={size}:2,S"
        (maildir(base) / folder / "cur" / name).write_bytes(b"x" * size)


@pytest.mark.parametrize(
    ("usage", "size", "expected"),
    [
        (Usage(0, 0), 10**9, True),  # no limits
        (Usage(500, 5, 1000), 500, True),  # exactly up to the limit
        (Usage(500, 5, 1000), 600, True),  # over by 100: within the 10% grace
        (Usage(500, 5, 1000), 601, False),  # over by more than the grace
        (Usage(999, 5, 1000), 101, True),  # the last message may still take the grace
        (Usage(1000, 5, 1000), 1, False),  # at the limit: full
        (Usage(1200, 5, 1000), 0, False),  # over it (an earlier grace, a lowered limit)
        (Usage(0, 9, None, 10), 10**6, True),  # message limit: one left
        (Usage(0, 10, None, 10), 1, False),  # message limit reached
    ],
)
def test_fits_is_dovecots_test_with_grace(usage: Usage, size: int, expected: bool) -> None:
    assert fits(usage, size) is expected


def test_no_limit_and_no_file_writes_nothing(tmp_path: Path) -> None:
    quota = DeliveryQuota(maildir(tmp_path), 0)
    result = deliver_maildir(box(tmp_path), [MESSAGE], check=quota.check)
    assert result.size == 100
    assert quota.record(result.size) is None
    assert not (maildir(tmp_path) / "maildirsize").exists()


def test_limit_recalculates_missing_file_then_appends(tmp_path: Path) -> None:
    fill(tmp_path, [300, 200])
    fill(tmp_path, [50], ".Trash")
    quota = DeliveryQuota(maildir(tmp_path), 10_000)
    result = deliver_maildir(box(tmp_path), [MESSAGE], check=quota.check)
    assert quota.before == Usage(550, 3, 10_000, None)
    assert quota.record(result.size) == Usage(650, 4, 10_000, None)
    text = (maildir(tmp_path) / "maildirsize").read_text()
    assert text == "10000S\n550 3\n100 1\n"


def test_limit_change_rewrites_the_header(tmp_path: Path) -> None:
    fill(tmp_path, [300])
    (maildir(tmp_path) / "maildirsize").write_text("5000S\n300 1\n")
    quota = DeliveryQuota(maildir(tmp_path), 8000)
    quota.check(100)
    assert (maildir(tmp_path) / "maildirsize").read_text() == "8000S\n300 1\n"


def test_unlimited_mailbox_with_a_file_is_still_counted(tmp_path: Path) -> None:
    fill(tmp_path, [])
    (maildir(tmp_path) / "maildirsize").write_text("\n0 0\n")
    quota = DeliveryQuota(maildir(tmp_path), 0)
    result = deliver_maildir(box(tmp_path), [MESSAGE], check=quota.check)
    assert quota.record(result.size) is None  # no limit: no warnings to compute
    assert (maildir(tmp_path) / "maildirsize").read_text() == "\n0 0\n100 1\n"


def test_full_mailbox_fails_permanently_and_leaves_nothing(tmp_path: Path) -> None:
    fill(tmp_path, [950])
    quota = DeliveryQuota(maildir(tmp_path), 900)  # lowered below the usage
    with pytest.raises(PermanentError) as caught:
        deliver_maildir(box(tmp_path), [MESSAGE], check=quota.check)
    assert (caught.value.reply.enhanced, caught.value.reply.text) == ("5.2.2", QUOTA_EXCEEDED)
    for sub in ("tmp", "new"):
        assert list((maildir(tmp_path) / sub).iterdir()) == []
    usage = read_maildirsize(maildir(tmp_path) / "maildirsize")
    assert usage is not None
    assert (usage.storage_limit, usage.bytes, usage.count) == (900, 950, 1)


def test_grace_lets_the_last_message_in_then_the_mailbox_is_full(tmp_path: Path) -> None:
    fill(tmp_path, [950])
    quota = DeliveryQuota(maildir(tmp_path), 1000)
    (maildir(tmp_path) / "maildirsize").write_text("1000S\n950 1\n")
    small = b"x" * 99 + b"\n"
    result = deliver_maildir(box(tmp_path), [small], check=quota.check)  # 1050: within grace
    assert quota.record(result.size) == Usage(1050, 2, 1000, None)
    with pytest.raises(PermanentError):
        deliver_maildir(box(tmp_path), [b"x\n"], check=DeliveryQuota(maildir(tmp_path), 1000).check)


def test_limits_from_the_file_when_no_table(tmp_path: Path) -> None:
    fill(tmp_path, [900])
    (maildir(tmp_path) / "maildirsize").write_text("1000S,2C\n900 1\n")
    quota = DeliveryQuota(maildir(tmp_path), None, from_file=True)
    result = deliver_maildir(box(tmp_path), [b"x\n"], check=quota.check)
    assert quota.record(result.size) == Usage(902, 2, 1000, 2)
    with pytest.raises(PermanentError):  # the message limit: 2 messages
        deliver_maildir(
            box(tmp_path),
            [b"x\n"],
            check=DeliveryQuota(maildir(tmp_path), None, from_file=True).check,
        )


def test_from_file_without_limits_checks_nothing(tmp_path: Path) -> None:
    fill(tmp_path, [10**6])
    quota = DeliveryQuota(maildir(tmp_path), None, from_file=True)
    quota.check(10**9)
    assert quota.before is None
    assert not (maildir(tmp_path) / "maildirsize").exists()


def test_unreadable_quota_defers(tmp_path: Path) -> None:
    fill(tmp_path, [])
    (maildir(tmp_path) / "maildirsize").mkdir()  # cannot be read nor replaced
    quota = DeliveryQuota(maildir(tmp_path), 1000)
    with pytest.raises(TemporaryError) as caught:
        deliver_maildir(box(tmp_path), [MESSAGE], check=quota.check)
    assert caught.value.reply.enhanced == "4.3.0"
    assert list((maildir(tmp_path) / "new").iterdir()) == []


def test_a_delivered_stable_name_is_never_failed_by_the_quota(tmp_path: Path) -> None:
    """Exactly-once: the retry of a delivery that was done (its copy counts against the
    quota) reports the copy instead of bouncing."""
    name = "1795766555.VQ4ABCR0.host"
    first = deliver_maildir(box(tmp_path), [MESSAGE], stable_name=name)
    quota = DeliveryQuota(maildir(tmp_path), 100)  # the copy alone fills the mailbox
    again = deliver_maildir(box(tmp_path), [MESSAGE], stable_name=name, check=quota.check)
    assert again.existing
    assert again.name == f"new/{first.name}"
    moved = maildir(tmp_path) / "cur" / f"{first.name}:2,S"
    (maildir(tmp_path) / "new" / first.name).rename(moved)
    quota = DeliveryQuota(maildir(tmp_path), 100)
    again = deliver_maildir(box(tmp_path), [MESSAGE], stable_name=name, check=quota.check)
    assert again.existing
    assert again.name == f"cur/{moved.name}"
    with pytest.raises(PermanentError):  # another delivery is refused
        deliver_maildir(box(tmp_path), [MESSAGE], stable_name=name + "1", check=quota.check)
    assert list((maildir(tmp_path) / "tmp").iterdir()) == []
