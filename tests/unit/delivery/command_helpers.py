"""Helpers for tests that run real commands: a directory every user can reach.

vmail runs commands as ``user=`` (pipe) or ``default_privs`` (local) when it is root, so
test scripts and the files they write must be reachable by that user; pytest's own
``tmp_path`` lives under a 0700 directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A fresh directory under /tmp with mode 0777 (removed afterwards)."""
    path = Path(tempfile.mkdtemp(prefix="vmail-cmd-", dir="/tmp"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def script(directory: Path, name: str, body: str) -> Path:
    """An executable ``/bin/sh`` script ``name`` in ``directory``."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def nobody_uid() -> int:
    import pwd

    return pwd.getpwnam("nobody").pw_uid


AS_ROOT = os.geteuid() == 0
