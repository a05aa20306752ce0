"""Date parsing, cross-checked with email.utils."""

from __future__ import annotations

import email.utils

import pytest

from vmail.mailstore.message import parse_date

DATES = [
    "Mon, 2 Jan 2023 10:00:00 +0100",
    "3 Jan 2023 11:12:13 -0500 (EST)",
    "Tue, 4 Jan 2022 00:00:00 GMT",
    "Wed, 5 Jan 2022 01:02:03 +0000",
    "Fri, 21 Nov 1997 09:55:06 -0600",
    "Thu, 13 Feb 1969 23:32 -0330",
    "1 Feb 99 10:00:00 PST",
    "01 Mar 2021 10:00:00 EDT",
]


@pytest.mark.parametrize("value", DATES)
def test_agrees_with_email_utils(value: str) -> None:
    assert parse_date(value) == email.utils.mktime_tz(email.utils.parsedate_tz(value))  # type: ignore[arg-type]


def test_obsolete_forms() -> None:
    assert parse_date("Mon, 2 Jan 23 10:00:00 +0000") == parse_date("2 Jan 2023 10:00:00 +0000")
    assert parse_date("2 Jan 2023 10:00:00 Z") == parse_date("2 Jan 2023 10:00:00 +0000")
    assert parse_date("2 Jan 2023 10:00:00 A") == parse_date("2 Jan 2023 10:00:00 -0000")


@pytest.mark.parametrize("value", ["", "garbage date", "32 Jan 2023 10:00:00", "1 Foo 2023 1:00"])
def test_garbage_is_none(value: str) -> None:
    assert parse_date(value) is None
