"""Reading the corpus and Dovecot 2.3's recorded answers for it (fixtures/*.eml + answers).

``fixtures/NN-name.eml`` are the messages; ``.dovecot`` holds Dovecot's
``FETCH 1 (ENVELOPE BODY BODYSTRUCTURE RFC822.SIZE)`` line and ``.sections`` its answer
to a fixed list of ``BODY.PEEK[...]`` items (see :data:`SECTIONS`).
"""

from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
MESSAGES = sorted(FIXTURES.glob("*.eml"))

SECTIONS: dict[bytes, tuple[tuple[int, ...], str | None, tuple[str, ...]]] = {
    b"1": ((1,), None, ()),
    b"1.MIME": ((1,), "MIME", ()),
    b"HEADER.FIELDS (SUBJECT FROM)": ((), "HEADER.FIELDS", ("SUBJECT", "FROM")),
    b"HEADER.FIELDS.NOT (SUBJECT FROM)": ((), "HEADER.FIELDS.NOT", ("SUBJECT", "FROM")),
    b"TEXT": ((), "TEXT", ()),
    b"5": ((5,), None, ()),
    b"2": ((2,), None, ()),
    b"2.HEADER": ((2,), "HEADER", ()),
    b"2.TEXT": ((2,), "TEXT", ()),
    b"2.1": ((2, 1), None, ()),
    b"1.1": ((1, 1), None, ()),
}

_ITEM = re.compile(rb'BODY\[([^\]]*)\] (?:\{(\d+)\}\r\n|"([^"]*)")')


def sections(path: Path) -> list[tuple[bytes, bytes]]:
    """(section spec, Dovecot's contents) pairs of ``path``'s ``.sections`` answer."""
    resp = path.with_suffix(".sections").read_bytes()
    items, pos = [], 0
    while (m := _ITEM.search(resp, pos)) is not None:
        if m.group(2) is not None:
            n = int(m.group(2))
            items.append((m.group(1), resp[m.end() : m.end() + n]))
            pos = m.end() + n
        else:
            items.append((m.group(1), m.group(3)))
            pos = m.end()
    return items
