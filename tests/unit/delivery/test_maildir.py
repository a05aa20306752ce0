"""Maildir writer: names, golden bytes, modes, ownership, crash safety, full disks, paths."""

from __future__ import annotations

import errno
import io
import multiprocessing
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from vmail.core.errors import PermanentError, TemporaryError
from vmail.delivery.maildir import UniqueNames, deliver_maildir, sanitize_hostname
from vmail.delivery.paths import MailboxPath, MailboxPathError, Owner, mailbox_path

NAME = re.compile(r"^(\d+)\.M(\d+)P(\d+)Q(\d+)\.([^/:,]+),S=(\d+),W=(\d+)$")
ROOT = os.geteuid() == 0


def box(base: Path, value: str = "example.com/user/") -> MailboxPath:
    return mailbox_path(str(base), value)


def only(directory: Path) -> Path:
    files = list(directory.iterdir())
    assert len(files) == 1, files
    return files[0]


def test_hostname_sanitising() -> None:
    assert sanitize_hostname("a/b:c,d") == "a\\057b\\072c\\054d"
    assert UniqueNames("h/x:y").next().endswith(".h\\057x\\072y")


def test_delivery_golden_bytes_and_name(tmp_path: Path) -> None:
    headers = b"Return-Path: <s@x>\nDelivered-To: user@example.com\n"
    result = deliver_maildir(box(tmp_path), [b"Subject: hi\r\n\r\nline\r\n"], headers=headers)
    new = tmp_path / "example.com/user/new"
    path = only(new)
    expected = headers + b"Subject: hi\n\nline\n"
    assert path.read_bytes() == expected
    match = NAME.match(path.name)
    assert match, path.name
    assert int(match.group(3)) == os.getpid()
    assert int(match.group(6)) == len(expected) == result.size
    assert int(match.group(7)) == len(expected) + expected.count(b"\n") == result.virtual_size
    assert result.path == str(path)
    assert list((tmp_path / "example.com/user/tmp").iterdir()) == []
    for sub in ("", "cur", "new", "tmp"):
        mode = stat.S_IMODE((tmp_path / "example.com/user" / sub).stat().st_mode)
        assert mode == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_streams_from_a_file_object(tmp_path: Path) -> None:
    data = (b"x" * 1000 + b"\r\n") * 300
    deliver_maildir(box(tmp_path), io.BytesIO(data))
    assert only(tmp_path / "example.com/user/new").read_bytes() == data.replace(b"\r\n", b"\n")


def test_unique_names_threads(tmp_path: Path) -> None:
    names = UniqueNames("host")
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _i: names.next(), range(2000)))
    assert len(set(got)) == 2000
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: deliver_maildir(box(tmp_path), [b"%d\n" % i]), range(200)))
    new = tmp_path / "example.com/user/new"
    bodies = sorted(int(p.read_bytes()) for p in new.iterdir())
    assert bodies == list(range(200))


def _deliver_in_child(base: str, n: int) -> None:
    for i in range(n):
        deliver_maildir(mailbox_path(base, "example.com/user/"), [b"%d %d\n" % (os.getpid(), i)])


def test_unique_names_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_deliver_in_child, args=(str(tmp_path), 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert len(list((tmp_path / "example.com/user/new").iterdir())) == 200


def test_crash_mid_stream_leaves_nothing(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield b"Subject: x\r\n\r\n"
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(PermanentError) as info:
        deliver_maildir(box(tmp_path), broken())
    assert info.value.reply.enhanced == "5.3.0"
    assert "error reading message" in info.value.reply.text
    for sub in ("new", "tmp", "cur"):
        assert list((tmp_path / "example.com/user" / sub).iterdir()) == []


def test_size_limit_is_mailbox_full(tmp_path: Path) -> None:
    with pytest.raises(PermanentError) as info:
        deliver_maildir(box(tmp_path), [b"x" * 5000], limit=1000)
    assert info.value.reply.enhanced == "5.2.2"
    assert info.value.reply.text == "error writing message: File too large"
    assert list((tmp_path / "example.com/user/new").iterdir()) == []
    assert list((tmp_path / "example.com/user/tmp").iterdir()) == []


def test_enospc_monkeypatched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync
    calls = []

    def full(fd: int) -> None:
        calls.append(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(TemporaryError) as info:
        deliver_maildir(box(tmp_path), [b"x\n"])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert calls
    assert info.value.reply.enhanced == "4.3.0"
    assert list((tmp_path / "example.com/user/new").iterdir()) == []
    assert list((tmp_path / "example.com/user/tmp").iterdir()) == []


@pytest.mark.skipif(not ROOT, reason="mounting a tmpfs needs root")
def test_enospc_on_a_tiny_tmpfs(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=False
    )
    if done.returncode != 0:
        pytest.skip("cannot mount tmpfs here")
    try:
        deliver_maildir(box(mnt), [b"small\n"])
        with pytest.raises(TemporaryError) as info:
            deliver_maildir(box(mnt), [b"x" * 1000 + b"\n"] * 200)
        assert info.value.reply.enhanced == "4.3.0"
        assert "No space left on device" in info.value.reply.text
        assert len(list((mnt / "example.com/user/new").iterdir())) == 1
        assert list((mnt / "example.com/user/tmp").iterdir()) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.skipif(not ROOT, reason="chown needs root")
def test_root_gives_files_to_the_recipient(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    deliver_maildir(box(tmp_path), [b"x\n"], owner=Owner(5000, 5001))
    for path in [
        tmp_path / "example.com",
        tmp_path / "example.com/user",
        tmp_path / "example.com/user/new",
        only(tmp_path / "example.com/user/new"),
    ]:
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (5000, 5001), path


@pytest.mark.parametrize(
    ("value", "parts", "maildir"),
    [
        ("example.com/u/", ("example.com", "u"), True),
        ("/example.com//u/./", ("example.com", "u"), True),
        ("example.com/u", ("example.com", "u"), False),
        ("d/$(rm -rf x)|;`id`/", ("d", "$(rm -rf x)|;`id`"), True),
    ],
)
def test_mailbox_path_rules(value: str, parts: tuple[str, ...], maildir: bool) -> None:
    path = mailbox_path("/base", value)
    assert (path.parts, path.maildir) == (parts, maildir)


@pytest.mark.parametrize("value", ["../x/", "a/../../x/", "a/..", "/", "", "a\0b/"])
def test_mailbox_path_refusals(value: str) -> None:
    with pytest.raises(MailboxPathError):
        mailbox_path("/base", value)


def test_relative_base_refused() -> None:
    with pytest.raises(MailboxPathError, match="relative pathname"):
        mailbox_path("base", "x/")


def test_symlink_inside_the_base_is_not_followed(tmp_path: Path) -> None:
    base = tmp_path / "base"
    outside = tmp_path / "outside"
    (base / "example.com").mkdir(parents=True)
    outside.mkdir()
    (base / "example.com/user").symlink_to(outside)
    with pytest.raises(TemporaryError) as info:
        deliver_maildir(box(base), [b"x\n"])
    assert info.value.reply.enhanced == "4.2.0"
    assert list(outside.iterdir()) == []


def test_symlinked_new_dir_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    user = tmp_path / "base/example.com/user"
    user.mkdir(parents=True)
    (user / "new").symlink_to(outside)
    with pytest.raises(TemporaryError):
        deliver_maildir(box(tmp_path / "base"), [b"x\n"])
    assert list(outside.iterdir()) == []


def test_shell_characters_are_just_names(tmp_path: Path) -> None:
    deliver_maildir(box(tmp_path, "d/$(touch pwned);`id`|x/"), [b"x\n"])
    assert only(tmp_path / "d/$(touch pwned);`id`|x/new").read_bytes() == b"x\n"
    assert not Path("pwned").exists()


def test_stable_name_never_adds_a_second_copy(tmp_path: Path) -> None:
    name = "1795766555.VQ4ABCR0.host"
    first = deliver_maildir(box(tmp_path), [b"Subject: a\r\n\r\nx\r\n"], stable_name=name)
    assert first.name == f"{name},S=14,W=17"  # LF line ends on disk
    assert not first.existing
    (tmp_path / "example.com/user/tmp" / name).write_bytes(b"left by a crash")
    again = deliver_maildir(box(tmp_path), [b"Subject: a\r\n\r\nx\r\n"], stable_name=name)
    assert again.existing
    assert [p.name for p in (tmp_path / "example.com/user/new").iterdir()] == [first.name]
    assert list((tmp_path / "example.com/user/tmp").iterdir()) == []


def test_look_first_finds_a_copy_a_client_moved_to_cur(tmp_path: Path) -> None:
    name = "1795766555.VQ4ABCR1.host"
    first = deliver_maildir(box(tmp_path), [b"x\r\n"], stable_name=name)
    maildir = tmp_path / "example.com/user"
    (maildir / "new" / first.name).rename(maildir / "cur" / f"{first.name}:2,RS")
    found = deliver_maildir(box(tmp_path), [b"x\r\n"], stable_name=name, look_first=True)
    assert found.existing
    assert found.name == f"cur/{first.name}:2,RS"
    assert list((maildir / "new").iterdir()) == []
    other = deliver_maildir(box(tmp_path), [b"x\r\n"], stable_name=name + "0", look_first=True)
    assert not other.existing  # a longer name with the same start is another message
