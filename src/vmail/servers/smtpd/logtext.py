"""Client bytes as Postfix writes them in its logs (``escape()`` of Postfix's util library).

Printable ASCII stays as it is; ``\\a \\b \\t \\n \\v \\f \\r`` and the backslash get their C
escapes, every other byte is ``\\ooo`` in octal (``\\000`` for NUL, ``\\377`` for 0xff).
"""

from __future__ import annotations

_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 92: "\\\\"}


def escape(data: bytes) -> str:
    """``data`` as Postfix's escape() writes it in logs: C escapes, octal for the rest."""
    return "".join(
        _ESCAPES.get(byte) or (chr(byte) if 32 <= byte < 127 else f"\\{byte:03o}") for byte in data
    )
