"""Raw message parsing for IMAP: summaries, sections, decoded text, sort keys.

Messages are the raw bytes of a Maildir file (LF or CRLF line ends); everything the
client sees (sizes, offsets, section contents) is of the CRLF form.
"""

from __future__ import annotations

from .dates import parse_date
from .raw import body_offset, crlf, crlf_size, header_block
from .sections import SectionError, UnknownEncodingError, binary, section
from .summary import (
    SUMMARY_VERSION,
    MessageSummary,
    envelope_summary,
    header_summary,
    summarize,
    summary_values,
)
from .text import header_values, matches, search_body, search_text
from .words import decode_words

__all__ = [
    "SUMMARY_VERSION",
    "MessageSummary",
    "SectionError",
    "UnknownEncodingError",
    "binary",
    "body_offset",
    "crlf",
    "crlf_size",
    "decode_words",
    "envelope_summary",
    "header_block",
    "header_summary",
    "header_values",
    "matches",
    "parse_date",
    "search_body",
    "search_text",
    "section",
    "summarize",
    "summary_values",
]
