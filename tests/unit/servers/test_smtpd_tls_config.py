"""smtpd TLS settings (levels, certificates, protocol floor) and XCLIENT/XFORWARD parsing."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.routing_helpers import BASE
from tests.unit.servers.helpers import certificate
from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.core.reply import Reply
from vmail.servers.smtpd import xclient
from vmail.servers.smtpd.tls import received_details, security_level, server_context


def config(tmp_path: Path, text: str) -> MainConfig:
    (tmp_path / "main.cf").write_text(BASE + text)
    return MainConfig.load(tmp_path)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("", "none"),
        ("smtpd_tls_security_level = may\n", "may"),
        ("smtpd_tls_security_level = Encrypt\n", "encrypt"),
        ("smtpd_use_tls = yes\n", "may"),
        ("smtpd_enforce_tls = yes\n", "encrypt"),
    ],
)
def test_security_level(tmp_path: Path, text: str, level: str) -> None:
    assert security_level(config(tmp_path, text)) == level


def test_unknown_level_and_missing_certificate_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported level"):
        security_level(config(tmp_path, "smtpd_tls_security_level = dane\n"))
    with pytest.raises(ConfigError, match="smtpd_tls_cert_file is not set"):
        server_context(config(tmp_path, "smtpd_tls_security_level = may\n"))
    with pytest.raises(ConfigError, match="cannot load TLS certificate"):
        server_context(
            config(tmp_path, f"smtpd_tls_wrappermode = yes\nsmtpd_tls_cert_file = {tmp_path}/x\n")
        )
    assert server_context(config(tmp_path, "")) is None


def test_context_never_below_tls_1_2(tmp_path: Path) -> None:
    lines = certificate(tmp_path) + "smtpd_tls_security_level = may\n"
    context = server_context(config(tmp_path, lines))
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    strict = server_context(config(tmp_path, lines + "smtpd_tls_protocols = >=TLSv1.3\n"))
    assert strict is not None
    assert strict.minimum_version == ssl.TLSVersion.TLSv1_3
    with pytest.raises(ConfigError, match="no version left"):
        server_context(config(tmp_path, lines + "smtpd_tls_protocols = !TLSv1.2, !TLSv1.3\n"))


def test_chain_files_key_then_certificate_or_combined(tmp_path: Path) -> None:
    certificate(tmp_path)
    combined = tmp_path / "both.pem"
    combined.write_bytes((tmp_path / "key.pem").read_bytes() + (tmp_path / "cert.pem").read_bytes())
    for files in (f"{tmp_path}/key.pem, {tmp_path}/cert.pem", str(combined)):
        text = f"smtpd_tls_security_level = may\nsmtpd_tls_chain_files = {files}\n"
        assert server_context(config(tmp_path, text)) is not None
    bad = f"smtpd_tls_security_level = may\nsmtpd_tls_chain_files = {tmp_path}/cert.pem\n"
    with pytest.raises(ConfigError, match="expected a key"):
        server_context(config(tmp_path, bad))


def test_received_details_without_tls() -> None:
    assert received_details(None) == ""


@pytest.mark.parametrize(
    ("verb", "argument", "expected"),
    [
        ("XCLIENT", "ADDR=192.0.2.1 NAME=h.example", {"ADDR": "192.0.2.1", "NAME": "h.example"}),
        ("XCLIENT", "ADDR=IPV6:2001:DB8::1", {"ADDR": "2001:db8::1"}),
        ("XCLIENT", "NAME=[UNAVAILABLE] LOGIN=a+2Bb", {"NAME": None, "LOGIN": "a+b"}),
        ("XCLIENT", "addr=192.0.2.1", {"ADDR": "192.0.2.1"}),
        ("XFORWARD", "PROTO=ESMTPSA IDENT=abc", {"PROTO": "ESMTPSA", "IDENT": "abc"}),
        ("XCLIENT", "ADDR=nonsense", Reply(501, "5.5.4", "Bad ADDR syntax: nonsense")),
        ("XCLIENT", "PORT=99999", Reply(501, "5.5.4", "Bad PORT syntax: 99999")),
        ("XCLIENT", "PROTO=ESMTPSA", Reply(501, "5.5.4", "Bad PROTO syntax: ESMTPSA")),
        ("XCLIENT", "IDENT=x", Reply(501, "5.5.4", "Bad XCLIENT attribute name: IDENT")),
        ("XFORWARD", "LOGIN=x", Reply(501, "5.5.4", "Bad XFORWARD attribute name: LOGIN")),
        ("XCLIENT", "NAME=a+0Ab", Reply(501, "5.5.4", "Bad NAME syntax: a+0Ab")),
    ],
)
def test_xclient_parse(verb: str, argument: str, expected: object) -> None:
    assert xclient.parse(verb, argument) == expected
