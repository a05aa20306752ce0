"""Postfix lookup tables (``type:name``) behind one interface.

``open_table("hash:/etc/postfix/virtual")`` returns a :class:`Table`; :class:`Maps` searches an
ordered list of them as Postfix's maps(3) does. A lookup returns the value, or None when the
key is not found, and raises :class:`~vmail.core.errors.TableError` when it *failed*.
"""

from vmail.tables.base import LookupEvent, Table, TableContext
from vmail.tables.maps import Maps
from vmail.tables.registry import open_table

__all__ = ["LookupEvent", "Maps", "Table", "TableContext", "open_table"]
