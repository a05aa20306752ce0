"""Mailbox names ↔ Maildir++ directories: Dovecot's rules, and nothing maps outside the root."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmail.core.mutf7 import encode_mutf7
from vmail.mailstore.errors import InvalidNameError, MailstoreError
from vmail.mailstore.names import folder_dir, folder_name, validate_name

ROOT = Path("/srv/mail/example.org/alice/Maildir")


@pytest.mark.parametrize(
    ("name", "separator", "dirname"),
    [
        ("INBOX", ".", ""),
        ("inbox", ".", ""),
        ("Sent", ".", ".Sent"),
        ("A.B", ".", ".A.B"),
        ("A/B", "/", ".A.B"),
        ("inbox.Foo", ".", ".INBOX.Foo"),  # as Dovecot created it
        ("iNbOx.x.y", ".", ".INBOX.x.y"),
        ("b.", ".", ".b"),  # trailing separator dropped, as Dovecot
        ("a*b", ".", ".a*b"),
        ("a%b", ".", ".a%b"),
        ("a\\b", ".", ".a\\b"),
        ("Entw&APw-rfe", ".", ".Entw&APw-rfe"),
        ("&-", ".", ".&-"),
    ],
)
def test_folder_dir(name: str, separator: str, dirname: str) -> None:
    assert folder_dir(ROOT, name, separator) == (ROOT / dirname if dirname else ROOT)


@pytest.mark.parametrize(
    ("name", "separator", "message"),
    [
        ("", ".", "empty"),
        (".", ".", "begins with"),
        ("/", "/", "begins with"),
        (".x", ".", "begins with"),
        ("a..b", ".", "adjacent"),
        ("a//b", "/", "adjacent"),
        ("x/y", ".", "'/' not allowed"),
        ("../etc", ".", "'/' not allowed"),
        ("a.b", "/", "'.' not allowed"),
        ("..", "/", "'.' not allowed"),
        ("~x", ".", "'~'"),
        ("a\x00b", ".", "control"),
        ("a\tb", ".", "control"),
        ("a\x7fb", ".", "control"),
        ("x" * 255, ".", "too long"),
        ("&AGE-", ".", "modified UTF-7"),
        ("Entwürfe", ".", "modified UTF-7"),
        ("&Jjo", ".", "modified UTF-7"),
        ("x", ":", "separator"),
    ],
)
def test_invalid_names(name: str, separator: str, message: str) -> None:
    with pytest.raises(InvalidNameError, match=message) as info:
        folder_dir(ROOT, name, separator)
    assert isinstance(info.value, MailstoreError)


def test_longest_name_fits() -> None:
    assert folder_dir(ROOT, "x" * 254, ".").name == "." + "x" * 254


@pytest.mark.parametrize(
    ("dirname", "dot", "slash"),
    [
        (".Sent", "Sent", "Sent"),
        (".A.B", "A.B", "A/B"),
        (".INBOX.Foo", "INBOX.Foo", "INBOX/Foo"),
        (".Entw&APw-rfe", "Entw&APw-rfe", "Entw&APw-rfe"),
        (".", None, None),
        ("..", None, None),
        ("cur", None, None),
        ("dovecot-uidlist", None, None),
        ("..x", None, None),
        (".x.", None, None),
        (".INBOX", None, None),
        (".inbox", None, None),
        (".&AGE-", None, None),
        (".a\tb", None, None),
    ],
)
def test_folder_name(dirname: str, dot: str | None, slash: str | None) -> None:
    assert folder_name(dirname, ".") == dot
    assert folder_name(dirname, "/") == slash


PIECES = ["a", "B", ".", "/", "..", "../", "%2e", "\x00", "~", "&", "-", "é", "日", "*", " "]


@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join), st.sampled_from([".", "/"]))
def test_no_name_maps_outside_the_root(name: str, separator: str) -> None:
    for candidate in (name, encode_mutf7(name)):
        try:
            path = folder_dir(ROOT, candidate, separator)
        except InvalidNameError:
            continue
        assert path == ROOT or path.parent == ROOT
        assert path.name not in (".", "..")
        assert "/" not in path.name
        assert "\x00" not in str(path)
        if path != ROOT:
            assert folder_name(path.name, separator) == validate_name(candidate, separator)


@given(st.text(max_size=40), st.sampled_from([".", "/"]))
def test_any_text_either_fails_cleanly_or_stays_inside(name: str, separator: str) -> None:
    try:
        path = folder_dir(ROOT, name, separator)
    except InvalidNameError:
        return
    assert path == ROOT or path.parent == ROOT
    assert len(path.name.encode()) <= 255
