"""Fixtures of the account tests: a web server over a directory of the test's own, and
TOTP codes for the admins' second factor."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest

from tests.unit.web.conftest import RunningWeb, make_web
from vmail.admin import AdminService

SECRET_IN_URI = re.compile(r"secret=([A-Z2-7]+)")


@pytest.fixture
def account_web(fresh_directory: AdminService) -> Iterator[RunningWeb]:
    """A running web server over :func:`fresh_directory` (these tests change data)."""
    running = make_web(fresh_directory)
    yield running
    running.close()


def code(secret: str, steps_ahead: int = 0) -> str:
    """The TOTP code of ``secret`` for the current 30-second step (or one ``steps_ahead``).

    The server accepts the current step and one either side, each once: a test that needs
    two codes uses steps 0 then 1, which stay valid across a step boundary.
    """
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def wrong_code(secret: str) -> str:
    """A 6-digit code that is none of the codes the server would accept now."""
    valid = {code(secret, step) for step in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def secret_of(page: str) -> str:
    found = SECRET_IN_URI.search(page)
    assert found, "no otpauth URI in the page"
    return found.group(1)
