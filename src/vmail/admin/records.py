"""Rows as plain dicts keyed by PostfixAdmin's column names (what list/show return).

Secrets (password hashes, reset tokens, TOTP secrets, API token hashes) are left out.
Values keep their Python types (datetime, bool, int); the CLI decides how to print them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import inspect

from vmail.directory.models import Base

Record = dict[str, Any]

HIDDEN = frozenset({"password", "token", "token_validity", "totp_secret", "secret_hash"})


def record(row: Base, **extra: Any) -> Record:
    """The row's columns (minus secrets), in table order, plus ``extra`` fields."""
    values: Record = {key: getattr(row, key) for key in _shown(type(row))}
    values.update(extra)
    return values


@cache
def _shown(model: type[Base]) -> tuple[str, ...]:
    return tuple(c.key for c in inspect(model).column_attrs if c.key not in HIDDEN)
