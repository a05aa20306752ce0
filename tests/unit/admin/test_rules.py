"""Value rules of the admin service: limits, quotas and sizes stay inside their columns."""

from __future__ import annotations

import pytest

from vmail.admin import rules
from vmail.admin.errors import InvalidError


def test_limits_fit_the_32_bit_columns() -> None:
    assert rules.limit(-1, "aliases") == -1
    assert rules.limit(rules.MAX_LIMIT, "aliases") == 2**31 - 1
    for bad in (-2, 2**31, 10**30):
        with pytest.raises(InvalidError, match="invalid mailboxes limit"):
            rules.limit(bad, "mailboxes")


def test_quotas_and_sizes_have_an_upper_bound() -> None:
    assert rules.megabytes(rules.MAX_MEGABYTES, "quota") == 2**33
    with pytest.raises(InvalidError, match="invalid quota"):
        rules.megabytes(2**33 + 1, "quota")
    assert rules.size("2G") == 2 * 1024**3
    with pytest.raises(InvalidError, match="larger than"):
        rules.size("99999999999999999999G")
