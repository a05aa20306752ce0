"""Rows as plain dicts keyed by PostfixAdmin's column names (what list/show return).

Secrets (password hashes, reset tokens, TOTP secrets, API token hashes) are left out.
Values keep their Python types (datetime, bool, int); the CLI decides how to print them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect

from vmail.directory.models import Base

Record = dict[str, Any]

HIDDEN = frozenset({"password", "token", "token_validity", "totp_secret", "secret_hash"})


def record(row: Base, **extra: Any) -> Record:
    """The row's columns (minus secrets), in table order, plus ``extra`` fields."""
    mapper = inspect(type(row))
    values: Record = {
        column.key: getattr(row, column.key)
        for column in mapper.column_attrs
        if column.key not in HIDDEN
    }
    values.update(extra)
    return values
