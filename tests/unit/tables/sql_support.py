"""Shared helpers for the SQL table tests: .cf files, real servers, and postmap as oracle.

The MySQL and PostgreSQL tests read where their server is from ``VMAIL_TEST_MYSQL`` and
``VMAIL_TEST_PGSQL`` (``host=... port=... user=... password=... dbname=...``, as printed
by ``dev/services.sh``). Without them the tests skip locally but *fail* when ``CI`` is
set, so a CI run can never pass with the database tests silently left out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vmail.core.errors import TableError
from vmail.tables import Maps, TableContext, open_table

POSTMAP = "/usr/sbin/postmap"


def server(variable: str) -> dict[str, str]:
    """The ``key=value`` settings in ``variable``; skip (or fail under CI) when unset."""
    text = os.environ.get(variable, "").strip()
    if not text:
        message = f'{variable} is not set (run: eval "$(dev/services.sh)")'
        if os.environ.get("CI"):
            pytest.fail(message + " -- database tests must not be skipped in CI")
        pytest.skip(message)
    settings = dict(word.split("=", 1) for word in text.split())
    settings.setdefault("host", "127.0.0.1")
    return settings


def cf_hosts_lines(settings: dict[str, str], **overrides: str) -> str:
    """The connection part of a mysql/pgsql .cf for a server."""
    s = {**settings, **overrides}
    return (
        f"hosts = inet:{s['host']}:{s['port']}\n"
        f"user = {s['user']}\npassword = {s['password']}\ndbname = {s['dbname']}\n"
    )


def write_cf(directory: Path, name: str, text: str) -> Path:
    """Write a .cf file, dated in the past: postmap pauses on files changed just now."""
    path = directory / name
    path.write_text(text)
    os.utime(path, (0, 0))
    return path


def vmail_answer(spec: str, key: str, base_dir: Path | None = None) -> str | None:
    """What vmail says for ``key``: the value, None, or "ERROR" for a failed lookup."""
    table = open_table(spec, TableContext(base_dir))
    try:
        return Maps("test", [table]).find(key)
    except TableError:
        return "ERROR"
    finally:
        table.close()


def vmail_answers(spec: str, keys: list[str], base_dir: Path | None = None) -> list[str | None]:
    """:func:`vmail_answer` for many keys, through one open table."""
    table = open_table(spec, TableContext(base_dir))
    maps = Maps("test", [table])
    answers: list[str | None] = []
    try:
        for key in keys:
            try:
                answers.append(maps.find(key))
            except TableError:
                answers.append("ERROR")
    finally:
        table.close()
    return answers


def postfix_available() -> bool:
    return shutil.which(POSTMAP) is not None


def postmap_answers(spec: str, keys: list[str], config_dir: Path) -> list[str | None]:
    """Ask real postmap for each key: the value, None, or "ERROR" (failed lookup).

    All keys go to one ``postmap -q -`` run; if that run fails, each key is asked alone
    so that the failing ones can be told from the others.
    """
    main_cf = config_dir / "main.cf"
    if not main_cf.exists():
        config_dir.mkdir(exist_ok=True)
        main_cf.touch()
        os.utime(main_cf, (0, 0))  # postmap waits a while for a main.cf changed just now
    assert len(set(keys)) == len(keys)
    assert all(k and "\n" not in k for k in keys)
    batch = _postmap(config_dir, "-", spec, "".join(k + "\n" for k in keys))
    if batch.returncode in (0, 1) and "fatal:" not in batch.stderr:
        found = dict(line.split("\t", 1) for line in batch.stdout.splitlines())
        return [found.get(k) for k in keys]
    answers: list[str | None] = []
    for key in keys:
        proc = _postmap(config_dir, key, spec, None)
        if proc.returncode == 0:
            answers.append(proc.stdout.removesuffix("\n"))
        elif "fatal:" in proc.stderr:
            answers.append("ERROR")
        else:
            answers.append(None)
    return answers


def _postmap(
    config_dir: Path, key: str, spec: str, stdin: str | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POSTMAP, "-c", str(config_dir), "-q", key, spec],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
