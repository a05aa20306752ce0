"""MainConfig: loading, defaults, host-derived values, validation, unused parameters."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.config.schema import PARAMETERS, Kind, lookup, service_parameters
from vmail.core.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "main.cf").write_text(text)
    return tmp_path


def test_load_and_expand(tmp_path: Path) -> None:
    config = MainConfig.load(write(tmp_path, "mydomain = example.org\nmyorigin = $mydomain\n"))
    assert config.get("myorigin") == "example.org"
    assert config.raw("myorigin") == "$mydomain"
    assert config.locations["myorigin"].line == 2
    assert config.config_dir == tmp_path
    assert config.get("config_directory") == str(tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"main\.cf: No such file or directory"):
        MainConfig.load(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a = 1\n") / "main.cf"
    path.chmod(0)
    with pytest.raises(ConfigError, match="cannot read"):
        MainConfig.load(tmp_path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "main.cf").mkdir()
    with pytest.raises(ConfigError, match=r"main\.cf: cannot read"):
        MainConfig.load(tmp_path)


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "main.cf").write_bytes(b"a = \xff\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        MainConfig.load(tmp_path)


def test_env_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMAIL_CONFIG_DIR", str(write(tmp_path, "relayhost = x\n")))
    assert MainConfig.load().get("relayhost") == "x"


def test_recursion_error_names_parameter_file_and_line() -> None:
    config = MainConfig.from_text("relayhost = $a\na = $b\nb = $relayhost\n", "/c/main.cf")
    with pytest.raises(ConfigError) as info:
        config.get("relayhost")
    assert str(info.value) == (
        "/c/main.cf:1: parameter relayhost: recursive parameter expansion: "
        "relayhost -> a -> b -> relayhost"
    )


def test_mydomain_myhostname_cycle_is_an_error_not_a_crash() -> None:
    config = MainConfig.from_text("mydomain = x.$myhostname\n", "/c/main.cf")
    with pytest.raises(ConfigError, match="recursive"):
        config.get("myhostname")


@pytest.mark.parametrize(
    ("text", "hostname", "domain"),
    [
        ("myhostname = mail.example\n", "mail.example", "example"),
        ("myhostname = a.b.example\n", "a.b.example", "b.example"),
        ("myhostname = nodot\n", "nodot", "localdomain"),
    ],
)
def test_host_and_domain(text: str, hostname: str, domain: str) -> None:
    config = MainConfig.from_text(text)
    assert (config.get("myhostname"), config.get("mydomain")) == (hostname, domain)


def test_default_hostname_uses_mydomain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "vm")
    assert MainConfig.from_text("mydomain = example.org\n").get("myhostname") == "vm.example.org"
    assert MainConfig.from_text("").get("myhostname") == "vm.localdomain"
    monkeypatch.setattr(socket, "gethostname", lambda: "box.example.net")
    assert MainConfig.from_text("").get("mydomain") == "example.net"


def test_mynetworks_follows_style() -> None:
    host = MainConfig.from_text("").get_list("mynetworks")
    assert "127.0.0.1/32" in host
    subnet = MainConfig.from_text("mynetworks_style = subnet\n").get_list("mynetworks")
    assert "127.0.0.0/8" in subnet
    assert MainConfig.from_text("mynetworks = 10.0.0.0/8\n").get("mynetworks") == "10.0.0.0/8"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("append_dot_mydomain", "no"),
        ("smtputf8_enable", "yes"),
        ("relay_domains", ""),
        ("mynetworks_style", "host"),
        (
            "smtpd_relay_restrictions",
            "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
        ),
        ("compatibility_level", "3.6"),
        ("smtpd_tls_fingerprint_digest", "sha256"),
        ("config_directory", "/etc/vmail"),
    ],
)
def test_compatibility_level_36_defaults(name: str, value: str) -> None:
    assert MainConfig.from_text("").raw(name) == value


def test_typed_getters() -> None:
    config = MainConfig.from_text("maximal_queue_lifetime = 2\nsmtpd_timeout = 1h30m\n")
    assert config.get_time("maximal_queue_lifetime") == 2 * 86400  # default unit: days
    assert config.get_time("smtpd_timeout") == 5400
    assert config.get_time("delay_warning_time") == 0
    assert config.get_time("minimal_backoff_time") == 300
    assert config.get_bool("smtputf8_enable") is True
    assert config.get_int("unknown_local_recipient_reject_code") == 550
    assert config.get_size("message_size_limit") == 10240000
    assert config.get_time("smtpd_timeout") == 5400
    assert MainConfig.from_text("stress = yes\n").get_time("smtpd_timeout") == 10
    assert config.get_list("mydestination")[1:] == ["localhost.localdomain", "localhost"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "x = 1\nsmtputf8_enable = maybe\n",
            "/c/main.cf:2: bad boolean configuration: smtputf8_enable = maybe",
        ),
        (
            "maximal_queue_lifetime = 5x\n",
            "/c/main.cf:1: parameter maximal_queue_lifetime: bad time value or unit: 5x",
        ),
        (
            "message_size_limit = 10M\n",
            "/c/main.cf:1: bad numerical configuration: message_size_limit = 10M",
        ),
        (
            "hopcount_limit = many\n",
            "/c/main.cf:1: bad numerical configuration: hopcount_limit = many",
        ),
        ("relayhost = $\n", "/c/main.cf:1: parameter relayhost: empty macro name"),
        (
            "a = $b\nb = $a\n",
            "/c/main.cf:1: parameter a: recursive parameter expansion: a -> b -> a",
        ),
    ],
)
def test_validate_reports_file_and_line(text: str, message: str) -> None:
    config = MainConfig.from_text(text, "/c/main.cf")
    with pytest.raises(ConfigError) as info:
        config.validate()
    assert str(info.value).startswith(message)


def test_validate_clean_config() -> None:
    config = MainConfig.from_text("relayhost = [x]\nsmtpd_timeout = 60\n", "/c/main.cf")
    assert config.validate() is config
    assert config.problems() == []


def test_raw_parameters_are_not_expanded() -> None:
    config = MainConfig.from_text("")
    assert "$rbl_code" in config.get("default_rbl_reply")
    assert "$" in config.get("smtpd_expansion_filter")


def test_with_overrides_keeps_locations() -> None:
    from vmail.core.errors import Location

    base = MainConfig.from_text("relayhost = a\nsmtputf8_enable = yes\n", "/c/main.cf")
    loc = Location("/c/master.cf", 7)
    over = base.with_overrides({"smtputf8_enable": "bad"}, {"smtputf8_enable": loc})
    assert over.get("relayhost") == "a"
    with pytest.raises(ConfigError, match=r"^/c/master\.cf:7: bad boolean"):
        over.get_bool("smtputf8_enable")
    assert base.get_bool("smtputf8_enable") is True


def test_unused_parameters() -> None:
    config = MainConfig.from_text(
        "foo = 1\nbar = 2\nmyorigin = $bar\nbaz = ${qux?x}\nqux = 1\n"
        "smtpd_restriction_classes = cls\ncls = permit\nrelay_destination_concurrency_limit = 1\n"
    )
    assert config.unused_parameters() == ["foo", "baz", "relay_destination_concurrency_limit"]
    assert config.unused_parameters(known=["relay_destination_concurrency_limit"]) == ["foo", "baz"]
    assert config.unused_parameters(extra_values=["$foo"]) == [
        "baz",
        "relay_destination_concurrency_limit",
    ]


def test_schema_is_complete_and_consistent() -> None:
    for name in (
        "myhostname",
        "mydomain",
        "myorigin",
        "mydestination",
        "inet_interfaces",
        "proxy_interfaces",
        "mynetworks",
        "mynetworks_style",
        "relay_domains",
        "relayhost",
        "transport_maps",
        "default_transport",
        "relay_transport",
        "local_transport",
        "virtual_transport",
        "virtual_alias_maps",
        "virtual_alias_domains",
        "virtual_mailbox_maps",
        "virtual_mailbox_domains",
        "virtual_mailbox_base",
        "virtual_uid_maps",
        "virtual_gid_maps",
        "virtual_minimum_uid",
        "virtual_mailbox_limit",
        "recipient_delimiter",
        "propagate_unmatched_extensions",
        "swap_bangpath",
        "allow_percent_hack",
        "append_at_myorigin",
        "append_dot_mydomain",
        "resolve_dequoted_address",
        "resolve_null_domain",
        "resolve_numeric_domain",
        "local_recipient_maps",
        "alias_maps",
        "relay_recipient_maps",
        "parent_domain_matches_subdomains",
        "empty_address_recipient",
        "owner_request_special",
        "smtpd_client_restrictions",
        "smtpd_helo_restrictions",
        "smtpd_sender_restrictions",
        "smtpd_relay_restrictions",
        "smtpd_recipient_restrictions",
        "smtpd_data_restrictions",
        "smtpd_end_of_data_restrictions",
        "smtpd_etrn_restrictions",
        "smtpd_reject_unlisted_recipient",
        "smtpd_reject_unlisted_sender",
        "show_user_unknown_table_name",
        "default_database_type",
        "smtputf8_enable",
        "message_size_limit",
        "queue_directory",
        "minimal_backoff_time",
        "maximal_backoff_time",
        "maximal_queue_lifetime",
        "bounce_queue_lifetime",
        "delay_warning_time",
        "default_destination_concurrency_limit",
        "default_destination_recipient_limit",
        "mailbox_size_limit",
        "maillog_file",
        "smtp_tls_security_level",
        "lmtp_tls_security_level",
        "smtpd_tls_security_level",
        "smtpd_sasl_auth_enable",
        "access_map_reject_code",
        "access_map_defer_code",
        "unknown_local_recipient_reject_code",
        "unverified_recipient_defer_code",
    ):
        assert name in PARAMETERS, name
    for param in PARAMETERS.values():
        assert param.doc.endswith("."), param.name
        assert "compatibility_level}" not in param.default, param.name
        if param.kind is Kind.TIME:
            assert param.time_unit in "smhdw"
    # every $name in a default is itself declared
    from vmail.config.expand import references

    for param in PARAMETERS.values():
        if not param.raw:
            assert references(param.default) <= set(PARAMETERS), param.name


def test_per_transport_parameters() -> None:
    names = {p.name for p in service_parameters("maildrop", "pipe")}
    assert "maildrop_time_limit" in names
    assert "maildrop_destination_recipient_limit" in names
    assert service_parameters("pickup", "pickup") == []
    assert "relay_time_limit" not in {p.name for p in service_parameters("relay", "smtp")}
    param = lookup("virtual_destination_concurrency_limit")
    assert param is not None
    assert param.default == "$default_destination_concurrency_limit"
    assert MainConfig.from_text("").get_int("virtual_destination_recipient_limit") == 50
    assert MainConfig.from_text("").get_int("local_destination_recipient_limit") == 1
