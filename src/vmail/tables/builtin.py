"""Registers the built-in table types with the registry (imported lazily by it)."""

from __future__ import annotations

from vmail.tables import simple  # noqa: F401
