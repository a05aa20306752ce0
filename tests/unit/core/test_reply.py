"""Reading SMTP replies that other programs wrote."""

from __future__ import annotations

from vmail.core.reply import parse_reply_lines


def test_reply_lines_another_program_wrote() -> None:
    # a milter's or a proxy filter's reply: the first code and enhanced code, each text
    assert parse_reply_lines(["550-5.7.1 first", "550 5.7.1 second"]) == (
        550,
        "5.7.1",
        ["first", "second"],
    )
    assert parse_reply_lines(["250"]) == (250, "", [""])
    assert parse_reply_lines(["553 no enhanced code"]) == (553, "", ["no enhanced code"])
    assert parse_reply_lines(["garbage", "451 4.3.0 late"]) == (451, "4.3.0", ["garbage", "late"])
    assert parse_reply_lines(["hello"]) == (0, "", ["hello"])
