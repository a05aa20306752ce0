"""wrapper_context: the TLS context of implicit-TLS-only listeners (webd), and web_tls."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.routing_helpers import BASE
from tests.unit.servers.helpers import certificate
from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.servers.app import web_tls
from vmail.servers.tls import wrapper_context


def config(tmp_path: Path, text: str) -> MainConfig:
    (tmp_path / "main.cf").write_text(BASE + text)
    return MainConfig.load(tmp_path)


def test_none_without_wrapper_mode(tmp_path: Path) -> None:
    assert wrapper_context(config(tmp_path, certificate(tmp_path)), "web") is None
    assert web_tls(config(tmp_path, "")) is None


def test_certificate_defaults_to_the_smtp_servers(tmp_path: Path) -> None:
    lines = certificate(tmp_path) + "web_tls_wrappermode = yes\nsmtpd_tls_protocols = >=TLSv1.3\n"
    context = wrapper_context(config(tmp_path, lines), "web")
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert web_tls(config(tmp_path, lines)) is not None


def test_missing_or_unreadable_certificate_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="web_tls_cert_file is not"):
        wrapper_context(config(tmp_path, "web_tls_wrappermode = yes\n"), "web")
    bad = f"web_tls_wrappermode = yes\nweb_tls_cert_file = {tmp_path}/missing.pem\n"
    with pytest.raises(ConfigError, match="cannot load TLS certificate"):
        wrapper_context(config(tmp_path, bad), "web")
