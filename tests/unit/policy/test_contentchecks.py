"""Content inspection: the action per logical header or body line, and the streaming
filter cleanup uses (header, MIME header, nested header and body checks)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.policy.contentchecks import ContentFilter, ContentTables
from vmail.policy.headerchecks import HeaderAction, HeaderChecks
from vmail.rewrite.context import RoutingContext

RULES = """\
/^Subject:.*rejectme/ REJECT
/^Subject:.*dsnreject/ REJECT 5.7.9 custom dsn
/^Subject:.*holdme/ HOLD held by header
/^Subject:.*discardme/ DISCARD
/^X-Drop:/ IGNORE
/^X-Swap:/ REPLACE X-Swapped: yes
/^X-Pre:/ PREPEND X-Before: 1
/^X-Warn:/ WARN watch this
/^X-Fine:/ DUNNO
/^Subject:.*multi.*line/ REJECT folded
"""


def _table(tmp_path: Path, parameter: str, rules: str) -> HeaderChecks:
    """``parameter = regexp:FILE`` with ``rules`` in FILE."""
    (tmp_path / parameter).write_text(rules)
    config = MainConfig.from_text(f"{parameter} = regexp:{tmp_path}/{parameter}\n")
    return HeaderChecks(RoutingContext(config).maps(parameter))


NONE = HeaderChecks(RoutingContext(MainConfig.from_text("")).maps("body_checks"))


def _filter(
    tables: ContentTables, seen: list[tuple[str, str, str]], limit: int = 102400
) -> ContentFilter:
    """A filter that records (header or body, line, verb) of each action in ``seen``."""
    return ContentFilter(
        tables, limit, lambda what, line, action: seen.append((what, line, action.verb))
    )


def _feed(filt: ContentFilter, content: bytes, size: int) -> bytes:
    """What ``filt`` writes for ``content`` given in pieces of ``size`` bytes (0: one)."""
    pieces = [content[i : i + size] for i in range(0, len(content), size)] if size else [content]
    return b"".join(filt.feed(piece) for piece in pieces) + filt.finish()


@pytest.fixture
def checks(tmp_path: Path) -> HeaderChecks:
    return _table(tmp_path, "header_checks", RULES)


def run(
    checks: HeaderChecks, content: bytes, size: int = 0, limit: int = 102400
) -> tuple[bytes, ContentFilter, list[tuple[str, str]]]:
    """header_checks alone (MIME and nested header checks default to it)."""
    seen: list[tuple[str, str, str]] = []
    filt = _filter(ContentTables(checks, checks, checks, NONE), seen, limit)
    out = _feed(filt, content, size)
    return out, filt, [(line, verb) for _what, line, verb in seen]


MESSAGE = (
    b"X-Drop: a\r\nX-Warn: b\r\nX-Swap: c\r\n  folded\r\nX-Pre: d\r\nX-Fine: e\r\n"
    b"Subject: fine\r\n\r\nX-Drop: in the body\r\n"
)
EDITED = (
    b"X-Warn: b\r\nX-Swapped: yes\r\nX-Before: 1\r\nX-Pre: d\r\nX-Fine: e\r\n"
    b"Subject: fine\r\n\r\nX-Drop: in the body\r\n"
)


@pytest.mark.parametrize("size", [0, 1, 3, 7])
def test_header_edits_in_any_chunking(checks: HeaderChecks, size: int) -> None:
    # the same edits Postfix 3.7.11 made for these rules (body lines are not checked)
    out, filt, seen = run(checks, MESSAGE, size)
    assert out == EDITED
    assert filt.verdict.outcome is None
    assert seen == [
        ("X-Drop: a", "IGNORE"),
        ("X-Warn: b", "WARN"),
        ("X-Swap: c\n  folded", "REPLACE"),
        ("X-Pre: d", "PREPEND"),
    ]


def test_message_outcomes(checks: HeaderChecks) -> None:
    def outcome(subject: bytes) -> HeaderAction | None:
        return run(checks, b"Subject: " + subject + b"\r\n\r\nbody\r\n")[1].verdict.outcome

    assert outcome(b"rejectme") == HeaderAction("REJECT", "")
    assert outcome(b"rejectme").reject_reply() == ("5.7.1", "message content rejected")  # type: ignore[union-attr]
    assert outcome(b"dsnreject").reject_reply() == ("5.7.9", "custom dsn")  # type: ignore[union-attr]
    assert outcome(b"holdme") == HeaderAction("HOLD", "held by header")
    assert outcome(b"discardme") == HeaderAction("DISCARD", "")
    assert outcome(b"multi\r\n line") == HeaderAction("REJECT", "folded")  # the whole header


def test_a_reject_ends_the_checks_and_hold_does_not(checks: HeaderChecks) -> None:
    _, filt, seen = run(checks, b"Subject: rejectme\r\nX-Drop: x\r\n\r\n")
    assert [verb for _, verb in seen] == ["REJECT"]
    _, filt, seen = run(checks, b"Subject: holdme\r\nSubject: discardme\r\n\r\n")
    assert filt.verdict.outcome == HeaderAction("DISCARD", "")


def test_header_section_ends_and_limits(checks: HeaderChecks) -> None:
    # no empty line: the first non-header line ends the header section
    out, _, seen = run(checks, b"X-Drop: a\r\nnot a header\r\nX-Drop: b\r\n")
    assert out == b"not a header\r\nX-Drop: b\r\n"
    assert len(seen) == 1
    # a header over the limit passes unchecked, and so does the rest
    long_header = b"X-Drop: " + b"x" * 200 + b"\r\nX-Drop: b\r\n\r\n"
    out, _, seen = run(checks, long_header, size=16, limit=100)
    assert out == long_header
    assert seen == []
    # content without a line end at all
    assert run(checks, b"X-Drop: a")[0] == b""


BODY_RULES = """\
/^X-Drop:/ IGNORE
/viagra/ REJECT 5.7.1 no spam
/^swap me$/ REPLACE swapped
/^before me/ PREPEND inserted
/^scan me/ FILTER scan:[127.0.0.1]:10024
/^Subject:/ WARN a header is not a body line
"""


@pytest.fixture
def body_checks(tmp_path: Path) -> HeaderChecks:
    return _table(tmp_path, "body_checks", BODY_RULES)


def run_body(
    body_checks: HeaderChecks, content: bytes, size: int = 0, body_limit: int = 51200
) -> tuple[bytes, ContentFilter, list[tuple[str, str, str]]]:
    """body_checks alone."""
    seen: list[tuple[str, str, str]] = []
    filt = _filter(ContentTables(NONE, NONE, NONE, body_checks, body_limit), seen)
    out = _feed(filt, content, size)
    return out, filt, seen


@pytest.mark.parametrize("size", [0, 1, 5])
def test_body_checks_edit_body_lines_in_any_chunking(body_checks: HeaderChecks, size: int) -> None:
    content = (
        b"Subject: x\r\nX-Drop: kept in the header\r\n\r\n"
        b"X-Drop: dropped\r\nswap me\r\nbefore me\r\nscan me\r\nlast line without end"
    )
    out, filt, seen = run_body(body_checks, content, size)
    assert out == (
        b"Subject: x\r\nX-Drop: kept in the header\r\n\r\n"
        b"swapped\r\ninserted\r\nbefore me\r\nscan me\r\nlast line without end"
    )
    assert [(what, verb) for what, _line, verb in seen] == [
        ("body", "IGNORE"),
        ("body", "REPLACE"),
        ("body", "PREPEND"),
        ("body", "FILTER"),
    ]
    assert filt.verdict.filter == "scan:[127.0.0.1]:10024"
    assert filt.verdict.outcome is None


def test_body_checks_reject_and_the_size_limit(body_checks: HeaderChecks) -> None:
    spam = b"Subject: x\r\n\r\nhello\r\nbuy viagra\r\n"
    _out, filt, seen = run_body(body_checks, spam)
    assert filt.verdict.outcome == HeaderAction("REJECT", "5.7.1 no spam")
    assert seen == [("body", "buy viagra", "REJECT")]
    # past body_checks_size_limit bytes of body, lines are not looked at
    late = b"Subject: x\r\n\r\n" + b"x" * 98 + b"\r\n" + b"buy viagra\r\n"
    assert run_body(body_checks, late, body_limit=100)[1].verdict.outcome is None
    assert run_body(body_checks, late, body_limit=101)[1].verdict.outcome is not None


def test_body_checks_skip_empty_lines_and_mime_part_headers(tmp_path: Path) -> None:
    # what Postfix 3.7.11 gave body_checks for the same message: boundaries, not part headers
    checks = _table(tmp_path, "body_checks", "/^/ WARN seen\n")
    content = (
        b'Subject: y\r\nContent-Type: multipart/mixed;\r\n boundary="b1"\r\n\r\npre\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nswap me\r\n\r\n--b1--\r\nepilogue\r\n"
    )
    _out, _filt, seen = run_body(checks, content)
    assert [line for _what, line, _verb in seen] == ["pre", "--b1", "swap me", "--b1--", "epilogue"]


MIME_MESSAGE = (
    b'Subject: one\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary="b1"\r\n'
    b"X-Other: o\r\n\r\npreamble\r\n"
    b"--b1\r\nContent-Type: text/plain\r\nX-Part: p\r\n\r\ntext body\r\n\r\n"
    b"--b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
    b"Subject: inner\r\nFrom: x@y\r\nContent-Type: text/plain\r\n\r\ninner body\r\n"
    b"--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n"
    b"--b2\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--b2--\r\n"
    b"--b1--\r\nepilogue\r\n"
)
# which table Postfix 3.7.11 asked about each line of MIME_MESSAGE (H: header_checks,
# M: mime_header_checks, N: nested_header_checks, B: body_checks)
POSTFIX_CLASSES = [
    ("H", "Subject: one"),
    ("M", "MIME-Version: 1.0"),
    ("M", 'Content-Type: multipart/mixed;\n boundary="b1"'),
    ("H", "X-Other: o"),
    ("B", "preamble"),
    ("B", "--b1"),
    ("M", "Content-Type: text/plain"),
    ("M", "X-Part: p"),
    ("B", "text body"),
    ("B", "--b1"),
    ("M", "Content-Type: message/rfc822"),
    ("M", "Content-Disposition: attachment"),
    ("N", "Subject: inner"),
    ("N", "From: x@y"),
    ("M", "Content-Type: text/plain"),
    ("B", "inner body"),
    ("B", "--b1"),
    ("M", "Content-Type: multipart/alternative; boundary=b2"),
    ("B", "--b2"),
    ("M", "Content-Type: text/html"),
    ("B", "<p>hi</p>"),
    ("B", "--b2--"),
    ("B", "--b1--"),
    ("B", "epilogue"),
]


@pytest.mark.parametrize("size", [0, 1, 9])
def test_each_line_goes_to_its_class_of_checks(tmp_path: Path, size: int) -> None:
    tables = ContentTables(
        *(
            _table(tmp_path, name, f"/^/ WARN {letter}\n")
            for name, letter in (
                ("header_checks", "H"),
                ("mime_header_checks", "M"),
                ("nested_header_checks", "N"),
                ("body_checks", "B"),
            )
        )
    )
    found: list[tuple[str, str]] = []
    filt = ContentFilter(
        tables, 102400, lambda _what, line, action: found.append((action.text, line))
    )
    assert _feed(filt, MIME_MESSAGE, size) == MIME_MESSAGE
    assert found == POSTFIX_CLASSES
    # disable_mime_input_processing = yes: every line after the primary header is body
    found.clear()
    plain = ContentFilter(
        dataclasses.replace(tables, mime_parsing=False),
        102400,
        lambda _what, line, action: found.append((action.text, line)),
    )
    _feed(plain, MIME_MESSAGE, size)
    assert {letter for letter, _line in found[4:]} == {"B"}
    assert ("H", "MIME-Version: 1.0") in found


def test_an_attachment_name_rule_in_header_checks_reaches_the_part_headers(
    tmp_path: Path,
) -> None:
    # the classic: header_checks (hence mime_header_checks) against executable attachments
    rule = "/^Content-(Type|Disposition):.*name=.*\\.exe/ REJECT executables not accepted\n"
    checks = _table(tmp_path, "header_checks", rule)
    message = (
        b"Subject: x\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
        b'Content-Disposition: attachment; filename="a.exe"\r\n\r\nMZ\r\n--zz--\r\n'
    )
    _out, filt, seen = run(checks, message)
    assert filt.verdict.outcome == HeaderAction("REJECT", "executables not accepted")
    assert seen == [('Content-Disposition: attachment; filename="a.exe"', "REJECT")]
