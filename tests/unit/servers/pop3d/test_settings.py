"""The POP3 listener's configuration snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.servers.pop3d.support import main_cf
from vmail.core.errors import ConfigError
from vmail.servers.pop3d.settings import Pop3Settings


def test_defaults(tmp_path: Path) -> None:
    settings = Pop3Settings.from_config(main_cf(tmp_path))
    assert settings.greeting == "vmail ready."
    assert settings.timeout == 600
    assert settings.plaintext_needs_tls
    assert settings.lock_session
    assert not settings.offers_stls
    assert settings.uidl_format.render(1, 2, "b") == "0000000100000002"


def test_banner_and_bad_uidl_format(tmp_path: Path) -> None:
    settings = Pop3Settings.from_config(main_cf(tmp_path, "pop3d_banner = Hello there\n"))
    assert settings.greeting == "Hello there"
    with pytest.raises(ConfigError, match="unsupported %m"):
        Pop3Settings.from_config(main_cf(tmp_path, "pop3d_uidl_format = %m\n"))


def test_tls_without_certificate_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pop3d_tls_cert_file"):
        Pop3Settings.from_config(main_cf(tmp_path, "pop3d_tls_security_level = encrypt\n"))


def test_may_without_certificate_offers_no_stls(tmp_path: Path) -> None:
    settings = Pop3Settings.from_config(main_cf(tmp_path, "pop3d_tls_security_level = may\n"))
    assert settings.tls_context is None
