"""Locating an account's Maildir and opening its store (shared by IMAP and POP3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.auth.accounts import Account
from vmail.config import MainConfig
from vmail.servers.mailboxes import MailLocationError, mail_root, open_store, special_use


def config(text: str) -> MainConfig:
    return MainConfig.from_text(text)


def account(username: str = "bob@example.org", maildir: str = "example.org/bob/") -> Account:
    return Account(username, "{PLAIN}x", maildir=maildir, quota_bytes=1000)


def test_default_is_virtual_mailbox_base_plus_maildir(tmp_path: Path) -> None:
    cfg = config(f"virtual_mailbox_base = {tmp_path}\n")
    assert mail_root(cfg, account()) == tmp_path / "example.org" / "bob"


@pytest.mark.parametrize("maildir", ["", "../x/", "a/../../b/", "a\0b/", "/"])
def test_default_refuses_unusable_maildir(tmp_path: Path, maildir: str) -> None:
    cfg = config(f"virtual_mailbox_base = {tmp_path}\n")
    with pytest.raises(MailLocationError):
        mail_root(cfg, account(maildir=maildir))


def test_relative_base_is_refused() -> None:
    with pytest.raises(MailLocationError):
        mail_root(config("virtual_mailbox_base = rel\n"), account())


def test_dovecot_template() -> None:
    cfg = config("mail_location = maildir:/home/vmail/%d/%n:INDEX=/var/idx/%u\n")
    assert mail_root(cfg, account()) == Path("/home/vmail/example.org/bob")
    cfg = config("mail_location = maildir:/srv/%{domain}/%{username}/%%x:LAYOUT=maildir++\n")
    assert mail_root(cfg, account()) == Path("/srv/example.org/bob/%x")
    cfg = config("mail_location = maildir:/srv/users/%u\n")
    assert mail_root(cfg, account()) == Path("/srv/users/bob@example.org")


@pytest.mark.parametrize(
    "username", ["../../etc@example.org", "..@x", "a/b@c", "bob@..", "bob@", "a\0@b"]
)
def test_hostile_usernames_stay_inside(username: str) -> None:
    cfg = config("mail_location = maildir:/home/vmail/%d/%n\n")
    with pytest.raises(MailLocationError):
        mail_root(cfg, account(username))


@pytest.mark.parametrize(
    "location",
    [
        "mbox:~/mail",
        "/home/vmail/%d/%n",
        "maildir:~/Maildir",
        "maildir:/home/%d/%n:LAYOUT=fs",
        "maildir:/home/%h",
        "maildir:/home/%",
    ],
)
def test_unsupported_locations(location: str) -> None:
    with pytest.raises(MailLocationError):
        mail_root(config(f"mail_location = {location}\n"), account())


def test_special_use_setting() -> None:
    assert special_use(config("")) == {
        "Drafts": "\\Drafts",
        "Sent": "\\Sent",
        "Trash": "\\Trash",
        "Junk": "\\Junk",
        "Archive": "\\Archive",
    }
    with pytest.raises(MailLocationError):
        special_use(config("mail_special_use_folders = Drafts\n"))


def test_open_store(tmp_path: Path) -> None:
    cfg = config(
        f"virtual_mailbox_base = {tmp_path}\nmail_autocreate_folders = Sent, Trash\n"
        "myhostname = mx.example.org\n"
    )
    store = open_store(cfg, account())
    assert store.root == tmp_path / "example.org" / "bob"
    assert store.quota_bytes == 1000
    assert store.hostname == "mx.example.org"
    store.ensure()
    assert (store.root / ".Sent" / "cur").is_dir()
    assert store.folder("INBOX").messages == []
