"""smtpd_milters as Postfix reads it: endpoints, { endpoint, name = value } groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.milter.spec import milter_specs


def _config(tmp_path: Path, text: str) -> MainConfig:
    (tmp_path / "main.cf").write_text(text)
    return MainConfig.load(tmp_path)


def test_groups_override_the_milter_parameters(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "milter_command_timeout = 20s\n"
        "smtpd_milters = unix:/run/opendkim.sock,\n"
        "    { inet:127.0.0.1:11332, connect_timeout=10s, { default_action = accept } }\n",
    )
    first, second = milter_specs(config, "smtpd_milters")
    assert (first.endpoint, first.default_action, first.command_timeout) == (
        "unix:/run/opendkim.sock",
        "tempfail",
        20.0,
    )
    assert (second.endpoint, second.connect_timeout, second.default_action) == (
        "inet:127.0.0.1:11332",
        10.0,
        "accept",
    )
    connect = dict(first.macro_lists)[0]
    assert connect == ("j", "{daemon_name}", "{daemon_addr}", "v", "_")  # braces kept


def test_an_unknown_setting_is_a_configuration_error(tmp_path: Path) -> None:
    config = _config(tmp_path, "smtpd_milters = { inet:127.0.0.1:1, timeout=5s }\n")
    with pytest.raises(ConfigError, match="unknown milter setting 'timeout=5s'"):
        milter_specs(config, "smtpd_milters")


def test_milter_macro_defaults(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "smtpd_milters = inet:127.0.0.1:1\n"
        "milter_macro_defaults = {auth_type}=none, { {client_name} = a b }, v=x\n",
    )
    (spec,) = milter_specs(config, "smtpd_milters")
    assert spec.macro_defaults == (
        ("{auth_type}", "none"),
        ("{client_name}", "a b"),
        ("{v}", "x"),
    )
    bad = _config(tmp_path, "smtpd_milters = inet:127.0.0.1:1\nmilter_macro_defaults = nonsense\n")
    with pytest.raises(ConfigError, match=r"main\.cf:2: milter_macro_defaults: bad name=value"):
        milter_specs(bad, "smtpd_milters")
