"""UIDL strings from ``pop3d_uidl_format`` (Dovecot's ``pop3_uidl_format``).

Dovecot expands ``%08Xu%08Xv`` with its own ``var_expand``, whose ``X`` modifier prints
*lower-case* hex (Dovecot 2.3 answers ``000000016b0973f7``); vmail prints the same so a
client that used Dovecot does not download everything again. Variables: ``%u`` UID,
``%v`` UIDVALIDITY, ``%f`` and ``%g`` the Maildir base file name (Dovecot's GUID of a
Maildir message without a ``G`` uidlist field is that name), ``%%``; also the long forms
``%{uid}``, ``%{uidvalidity}``, ``%{filename}``, ``%{guid}``. Modifiers: a width
(``08``, ``-8``), ``X``/``x`` (hex), ``L``/``U`` (case). ``%m`` (header MD5) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vmail.core.errors import VmailError

_NAMES = {"u": "uid", "v": "uidvalidity", "f": "filename", "g": "guid"}
_LONG = {"uid": "u", "uidvalidity": "v", "filename": "f", "guid": "g"}
_TOKEN = re.compile(r"%(-?)(0?)(\d*)([XxLU]*)(?:\{([a-z]+)\}|(.)|$)", re.DOTALL)
MAX_UIDL = 70  # RFC 1939: 1 to 70 characters in 0x21..0x7E


class UidlFormatError(VmailError, ValueError):
    """``pop3d_uidl_format`` cannot be used."""


Part = Callable[[int, int, str], str]


class UidlFormat:
    """A compiled format; :meth:`render` is cheap enough to call for every message."""

    def __init__(self, template: str) -> None:
        if not template:
            raise UidlFormatError("pop3d_uidl_format is empty")
        self.template = template
        self._parts: list[Part] = []
        self.uses_uid = False
        pos = 0
        for match in _TOKEN.finditer(template):
            if match.start() > pos:
                self._parts.append(_literal(template[pos : match.start()]))
            pos = match.end()
            self._parts.append(self._compile(match))
        if pos < len(template):
            self._parts.append(_literal(template[pos:]))

    def _compile(self, match: re.Match[str]) -> Part:
        left, zero, width_text, modifiers, long_name, short = match.groups()
        if short == "%" and not (left or zero or width_text or modifiers):
            return _literal("%")
        key = _LONG.get(long_name or "", "") if long_name else (short or "")
        if key not in _NAMES:
            shown = long_name or short or "end of format"
            raise UidlFormatError(f"pop3d_uidl_format {self.template!r}: unsupported %{shown}")
        self.uses_uid = self.uses_uid or key == "u"
        width = int(width_text) if width_text else 0
        hexa = "X" in modifiers or "x" in modifiers
        if hexa and key in ("f", "g"):
            raise UidlFormatError(f"pop3d_uidl_format {self.template!r}: hex of a file name")
        align = "<" if left else ">"
        fill = "0" if zero and not left else " "
        spec = f"{fill}{align}{width}" if width else ""
        upper, lower = "U" in modifiers, "L" in modifiers

        def render(uid: int, uidvalidity: int, base: str) -> str:
            value: int | str = {"u": uid, "v": uidvalidity}.get(key, base)
            text = format(value, "x") if hexa else str(value)
            text = text.upper() if upper else text.lower() if lower else text
            return format(text, spec) if spec else text

        return render

    def render(self, uid: int, uidvalidity: int, base: str) -> str:
        """The UIDL of one message; characters outside 0x21..0x7E become ``_``."""
        text = "".join(part(uid, uidvalidity, base) for part in self._parts)
        if not text.isascii() or not text.isprintable() or " " in text:
            text = "".join(ch if "!" <= ch <= "~" else "_" for ch in text)
        return text[:MAX_UIDL]


def _literal(text: str) -> Part:
    return lambda _uid, _uidvalidity, _base: text
