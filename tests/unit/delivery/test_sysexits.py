"""Postfix's sys_exits table: exit status to DSN status and text."""

from __future__ import annotations

import pytest

from vmail.delivery.sysexits import exit_detail, is_sysexits_code


@pytest.mark.parametrize(
    ("code", "dsn", "text"),
    [
        (64, "5.3.0", "command line usage error"),
        (65, "5.6.0", "data format error"),
        (66, "5.3.0", "cannot open input"),
        (67, "5.1.1", "user unknown"),
        (68, "5.1.2", "host name unknown"),
        (69, "5.3.0", "service unavailable"),
        (70, "5.3.0", "internal software error"),
        (71, "4.3.0", "system resource problem"),
        (72, "5.3.0", "critical OS file missing"),
        (73, "5.2.0", "can't create user output file"),
        (74, "5.3.0", "input/output error"),
        (75, "4.3.0", "temporary failure"),
        (76, "5.5.0", "remote error in protocol"),
        (77, "5.7.0", "permission denied"),
        (78, "5.3.5", "local configuration error"),
    ],
)
def test_table(code: int, dsn: str, text: str) -> None:
    detail = exit_detail(code)
    assert (detail.code, detail.dsn, detail.text) == (code, dsn, text)
    assert is_sysexits_code(code)
    assert detail.soft == (code in (71, 75))


@pytest.mark.parametrize("code", [1, 2, 63, 79, 127, 255])
def test_unknown_codes(code: int) -> None:
    detail = exit_detail(code)
    assert (detail.dsn, detail.text) == ("5.3.0", f"unknown mail system error {code}")
    assert not is_sysexits_code(code)
    assert not detail.soft
