"""header_checks: the action per logical header, and the streaming filter cleanup uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.policy.headerchecks import HeaderAction, HeaderChecks, HeaderFilter
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


def _feed(filt: HeaderFilter, content: bytes, size: int) -> bytes:
    """What ``filt`` writes for ``content`` given in pieces of ``size`` bytes (0: one)."""
    pieces = [content[i : i + size] for i in range(0, len(content), size)] if size else [content]
    return b"".join(filt.feed(piece) for piece in pieces) + filt.finish()


@pytest.fixture
def checks(tmp_path: Path) -> HeaderChecks:
    return _table(tmp_path, "header_checks", RULES)


def run(
    checks: HeaderChecks, content: bytes, size: int = 0, limit: int = 102400
) -> tuple[bytes, HeaderFilter, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    filt = HeaderFilter(
        checks, limit, lambda what, header, action: seen.append((header, action.verb))
    )
    out = _feed(filt, content, size)
    return out, filt, seen


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
) -> tuple[bytes, HeaderFilter, list[tuple[str, str, str]]]:
    seen: list[tuple[str, str, str]] = []
    no_header_checks = HeaderChecks(RoutingContext(MainConfig.from_text("")).maps("header_checks"))
    filt = HeaderFilter(
        no_header_checks,
        102400,
        lambda what, line, action: seen.append((what, line, action.verb)),
        body_checks,
        body_limit,
    )
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
    assert run_body(body_checks, late, body_limit=102)[1].verdict.outcome is None
    assert run_body(body_checks, late, body_limit=103)[1].verdict.outcome is not None


def test_body_checks_skip_empty_lines_and_mime_part_headers(tmp_path: Path) -> None:
    # what Postfix 3.7.11 gave body_checks for the same message: boundaries, not part headers
    checks = _table(tmp_path, "body_checks", "/^/ WARN seen\n")
    content = (
        b'Subject: y\r\nContent-Type: multipart/mixed;\r\n boundary="b1"\r\n\r\npre\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nswap me\r\n\r\n--b1--\r\nepilogue\r\n"
    )
    _out, _filt, seen = run_body(checks, content)
    assert [line for _what, line, _verb in seen] == ["pre", "--b1", "swap me", "--b1--", "epilogue"]
