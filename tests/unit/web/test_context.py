"""The session secret file, the login throttle settings, and the post-login target."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.web import load_secret, login_throttle
from vmail.web.pages.login import safe_next


def test_secret_is_created_once_private_and_random(tmp_path: Path) -> None:
    path = tmp_path / "web-secret"
    first = load_secret(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 32
    assert load_secret(path) == first
    assert load_secret(tmp_path / "other") != first


def test_an_empty_secret_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "web-secret"
    path.write_text("\n")
    with pytest.raises(ConfigError, match="holds no key"):
        load_secret(path)


def test_an_uncreatable_secret_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot create"):
        load_secret(tmp_path / "missing-dir" / "web-secret")


def test_login_throttle_from_settings() -> None:
    config = MainConfig(
        {
            "web_login_user_failures": "4",
            "web_login_client_failures": "9",
            "web_login_lockout_time": "2m",
            "web_login_exempt_clients": "192.0.2.1",
        }
    )
    throttle = login_throttle(config)
    assert throttle.users.policy.lockout_failures == 4
    assert throttle.ips.policy.lockout_failures == 9
    assert throttle.users.policy.lockout_time == throttle.ips.policy.lockout_time == 120
    assert throttle.exempt_ips == frozenset({"192.0.2.1"})


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/mailboxes?page=2", "/mailboxes?page=2"),
        ("", "/"),
        ("https://evil.test/", "/"),
        ("//evil.test/", "/"),
        ("/\\evil.test/", "/"),
        ("/a\r\nSet-Cookie: x", "/"),
    ],
)
def test_safe_next(target: str, expected: str) -> None:
    assert safe_next(target, "/") == expected
