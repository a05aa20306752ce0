"""Fixtures: a configured ``vmail serve`` per test (see harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess, make_config, running


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """``vmail serve`` with bob@example.com and carol@example.com."""
    config_dir = make_config(tmp_path)
    yield from _with_mailboxes(config_dir)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One such server for a whole test module (tests must not depend on mailbox counts)."""
    config_dir = make_config(tmp_path_factory.mktemp("shared"))
    yield from _with_mailboxes(config_dir)


def _with_mailboxes(config_dir: Path) -> Iterator[ServerProcess]:
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        server.add_mailbox("carol@example.com")
        yield server
