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


@pytest.fixture
def checks(tmp_path: Path) -> HeaderChecks:
    (tmp_path / "header_checks").write_text(RULES)
    config = MainConfig.from_text(f"header_checks = regexp:{tmp_path}/header_checks\n")
    return HeaderChecks(RoutingContext(config).maps("header_checks"))


def run(
    checks: HeaderChecks, content: bytes, size: int = 0, limit: int = 102400
) -> tuple[bytes, HeaderFilter, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    filt = HeaderFilter(checks, limit, lambda header, action: seen.append((header, action.verb)))
    pieces = [content[i : i + size] for i in range(0, len(content), size)] if size else [content]
    out = b"".join(filt.feed(piece) for piece in pieces) + filt.finish()
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
    assert filt.outcome is None
    assert seen == [
        ("X-Drop: a", "IGNORE"),
        ("X-Warn: b", "WARN"),
        ("X-Swap: c\n  folded", "REPLACE"),
        ("X-Pre: d", "PREPEND"),
    ]


def test_message_outcomes(checks: HeaderChecks) -> None:
    def outcome(subject: bytes) -> HeaderAction | None:
        return run(checks, b"Subject: " + subject + b"\r\n\r\nbody\r\n")[1].outcome

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
    assert filt.outcome == HeaderAction("DISCARD", "")


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
