"""POSIX bracket-expression classes (``[:alpha:]`` …) as Python ``re`` set contents.

Shared by the ``regexp:`` (POSIX ERE) and ``pcre:`` translators. ``word`` and ``ascii``
exist only in PCRE; the POSIX translator rejects them as glibc does.
"""

from __future__ import annotations

import re

POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\n\r\f\v",
    "blank": r" \t",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").replace(" ", ""),
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
    "cntrl": r"\x00-\x1f\x7f",
    "xdigit": "0-9A-Fa-f",
}

PCRE_ONLY_CLASSES = {"word": r"\w", "ascii": r"\x00-\x7f"}
