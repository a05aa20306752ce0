"""The mail log's line layout and its lock-free line writer."""

from __future__ import annotations

import contextvars
import logging
import os
import re
import threading
from pathlib import Path

import pytest

from vmail.cli.maillog import LineHandler, PostfixFormatter
from vmail.core.logname import SERVICE_LOG_NAME


def logger_to(path: Path, name: str = "vmail.qmgr") -> tuple[logging.Logger, int]:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    handler = LineHandler(fd)
    handler.setFormatter(PostfixFormatter("mx.example", "vmail"))
    logger = logging.Logger(name)
    logger.addHandler(handler)
    return logger, fd


def test_records_are_lines_in_postfix_layout(tmp_path: Path) -> None:
    logger, fd = logger_to(tmp_path / "maillog")
    logger.info("%s: removed", "4jbyQ")
    logger.warning("table %s: lookup failed", "sqlite:x")
    logging.Logger("vmail").info("daemon started")
    os.close(fd)
    lines = (tmp_path / "maillog").read_text().splitlines()
    pid = os.getpid()
    assert re.fullmatch(
        rf"\w{{3}} [ \d]\d \d\d:\d\d:\d\d mx\.example vmail/qmgr\[{pid}\]: 4jbyQ: removed", lines[0]
    )
    assert lines[1].endswith(f"vmail/qmgr[{pid}]: warning: table sqlite:x: lookup failed")
    assert len(lines) == 2  # the other logger has no handler


def test_a_services_syslog_name_names_its_own_programs_lines(tmp_path: Path) -> None:
    """master.cf "-o syslog_name=postfix/submission": that session's smtpd lines say
    postfix/submission/smtpd, its cleanup lines keep main.cf's name (as in Postfix)."""
    smtpd, fd = logger_to(tmp_path / "maillog", "vmail.smtpd")
    cleanup = logging.Logger("vmail.cleanup")
    cleanup.addHandler(smtpd.handlers[0])

    def session() -> None:
        SERVICE_LOG_NAME.set(("smtpd", "postfix/submission"))
        smtpd.info("connect from unknown[127.0.0.1]")
        cleanup.info("Q: message-id=<m@x>")

    contextvars.copy_context().run(session)
    smtpd.info("connect from unknown[127.0.0.2]")  # another session: no override
    os.close(fd)
    programs = [line.split()[4] for line in (tmp_path / "maillog").read_text().splitlines()]
    pid = os.getpid()
    assert programs == [
        f"postfix/submission/smtpd[{pid}]:",
        f"vmail/cleanup[{pid}]:",
        f"vmail/smtpd[{pid}]:",
    ]


def test_lines_from_many_threads_stay_whole(tmp_path: Path) -> None:
    logger, fd = logger_to(tmp_path / "maillog")
    text = "x" * 300

    def log_many(n: int) -> None:
        for i in range(200):
            logger.info("%d %d %s", n, i, text)

    threads = [threading.Thread(target=log_many, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    os.close(fd)
    lines = (tmp_path / "maillog").read_text().splitlines()
    assert len(lines) == 1600
    assert all(line.endswith(" " + text) for line in lines)


def test_text_that_is_not_utf8_is_escaped_not_lost(tmp_path: Path) -> None:
    logger, fd = logger_to(tmp_path / "maillog")
    logger.info("from=<%s>", "caf\udce9@example.com")  # an undecodable byte, as read
    os.close(fd)
    assert (tmp_path / "maillog").read_bytes().endswith(b"from=<caf\\udce9@example.com>\n")


def test_a_failed_write_goes_to_handle_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, fd = logger_to(tmp_path / "maillog")
    os.close(fd)
    failed: list[logging.LogRecord] = []
    handler = logger.handlers[0]
    monkeypatch.setattr(handler, "handleError", failed.append)
    logger.info("lost")
    assert [r.getMessage() for r in failed] == ["lost"]
