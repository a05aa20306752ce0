"""``vmail init``: the files it creates, idempotence, --force, modes, errors, and an
end-to-end check that the generated maps answer through ``vmail postmap -q``, real
``/usr/sbin/postmap -q`` and ``vmail route``."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from tests.unit.directory.db_support import SERVER_KINDS, throwaway_database
from tests.unit.tables.sql_support import postfix_available, postmap_answers

from vmail.cli import init_tls
from vmail.cli.init_templates import MAPS
from vmail.cli.main import main
from vmail.directory.database import open_database
from vmail.directory.models import Alias, AliasDomain, Domain, Mailbox

# as root the key is group-readable by the mailbox group: vmail serve reads it after
# dropping root (on reload); otherwise only its owner reads it
KEY_MODE = 0o640 if os.geteuid() == 0 else 0o400
HOST = "mail.example.net"
FILES = [
    "main.cf",
    "master.cf",
    "vmail.crt",
    "vmail.key",
    *(f"{name}.cf" for name in MAPS),
]


@pytest.fixture(autouse=True)
def quick_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """2048-bit keys: RSA 4096 (the default, as in the how-to) takes a second each."""
    monkeypatch.setattr(init_tls, "KEY_BITS", 2048)


def _init(
    capsys: pytest.CaptureFixture[str], directory: Path, *options: str
) -> tuple[int, str, str]:
    code = main(["init", str(directory), "--hostname", HOST, *options])
    out, err = capsys.readouterr()
    return code, out, err


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_a_configuration_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "etc"
    code, out, err = _init(capsys, conf)
    assert (code, err) == (0, "")
    for name in FILES:
        assert (conf / name).is_file(), name
        assert f"created  {conf / name}" in out
    data = conf / "data"
    assert (data / "mail").is_dir()
    assert (data / "spool").is_dir()
    assert "created  database sqlite:///" in out
    assert _mode(conf / "vmail.key") == KEY_MODE
    assert _mode(conf / "vmail.crt") == 0o444
    assert _mode(conf / "virtual_mailbox_maps.cf") == 0o640
    assert _mode(conf / "main.cf") == 0o644
    assert _mode(data / "mail") == 0o700
    assert _mode(data / "spool") == 0o700
    assert _mode(data / "vmail.db") == 0o600

    cert = x509.load_pem_x509_certificate((conf / "vmail.crt").read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOST

    main_cf = (conf / "main.cf").read_text()
    assert f"myhostname = {HOST}\n" in main_cf
    assert f"vmail_data_directory = {data}\n" in main_cf
    assert "smtpd_tls_auth_only = yes\n" in main_cf
    assert "local_recipient_maps = $virtual_mailbox_maps\n" in main_cf
    # vmail reads it without a warning, and sees what the how-to sets
    assert main(["postconf", "-c", str(conf), "-n"]) == 0
    shown, warnings = capsys.readouterr()
    assert warnings == ""
    assert (
        "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,"
        " reject_unauth_destination"
    ) in shown
    assert f"vmail_database = sqlite:///{data}/vmail.db" in _postconf(capsys, conf, "-x")
    services = _postconf(capsys, conf, "-M")
    assert services.split("\n")[0].split()[:2] == ["2525", "inet"]
    assert "5587       inet" in services
    assert "4465       inet" in services
    assert "smtpd_tls_wrappermode=yes" in services


def _postconf(capsys: pytest.CaptureFixture[str], conf: Path, *args: str) -> str:
    assert main(["postconf", "-c", str(conf), *args]) == 0
    return capsys.readouterr().out


def test_second_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "etc"
    _init(capsys, conf)
    (conf / "main.cf").write_text((conf / "main.cf").read_text() + "# my own change\n")
    before = {name: (conf / name).read_bytes() for name in FILES}
    code, out, err = _init(capsys, conf)
    assert (code, err) == (0, "")
    assert "created" not in out
    for name in FILES:
        assert (conf / name).read_bytes() == before[name], name
        assert f"kept     {conf / name}" in out
    assert "kept     database sqlite:///" in out
    assert "up to date" in out


def test_force_rewrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "etc"
    _init(capsys, conf)
    (conf / "main.cf").write_text("broken\n")
    old_cert = (conf / "vmail.crt").read_bytes()
    code, out, _ = _init(capsys, conf, "--force", "--standard-ports")
    assert code == 0
    assert f"replaced {conf / 'main.cf'}" in out
    assert "myhostname = mail.example.net" in (conf / "main.cf").read_text()
    assert (conf / "vmail.crt").read_bytes() != old_cert
    assert _mode(conf / "vmail.key") == KEY_MODE
    master = (conf / "master.cf").read_text()
    assert "\nsmtp      inet" in master
    assert "\nsubmissions inet" in master


def test_default_directory_from_c_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "from-c"
    assert main(["-c", str(conf), "init", "--hostname", HOST]) == 0
    assert (conf / "main.cf").is_file()
    capsys.readouterr()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--database", "oracle://x/y"], "unsupported database URL 'oracle://x/y'"),
        (["--database", "postgresql://u:pw@h:port/db"], "bad database URL"),
        (["--hostname", "bad host"], "bad host name"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], expected: str
) -> None:
    conf = tmp_path / "etc"
    code = main(["init", str(conf), *options])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.startswith("vmail init: fatal: ")
    assert expected in err
    assert err.count("\n") == 1
    assert "pw@" not in err
    assert not conf.exists()


def test_unwritable_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _out, err = _init(capsys, blocker / "etc")
    assert code == 1
    assert err.startswith("vmail init: fatal: cannot create directory ")
    assert err.count("\n") == 1


def test_unreachable_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "etc"
    code, _, err = _init(capsys, conf, "--database", "postgresql://u:secret@127.0.0.1:1/db")
    assert code == 1
    assert err.startswith("vmail init: fatal: cannot connect to database postgresql")
    assert "secret" not in err
    assert err.count("\n") == 1
    assert not (conf / "main.cf").exists()


# -- end to end: the generated maps and routing -----------------------------------------

KEYS = [
    "ann@example.com",
    "ANN@Example.COM",
    "team@example.com",
    "nobody@example.com",
    "ann@alias.example",
    "team@alias.example",
    "nobody@alias.example",
    "ann@off.example",
    "example.com",
    "alias.example",
    "off.example",
    "other.example",
    "ann",
]

EXPECTED = {
    "virtual_mailbox_domains": {
        "example.com": "example.com",
        "alias.example": "alias.example",
        "off.example": "off.example",
    },
    "virtual_mailbox_maps": {"ann@example.com": "example.com/ann/"},
    "virtual_alias_domain_mailbox_maps": {"ann@alias.example": "example.com/ann/"},
    "virtual_mailbox_quota_maps": {"ann@example.com": "0"},
    "virtual_alias_domain_quota_maps": {"ann@alias.example": "0"},
    "virtual_alias_maps": {
        "ann@example.com": "ann@example.com",
        "team@example.com": "ann@example.com,bob@elsewhere.example",
    },
    "virtual_alias_domain_maps": {
        "ann@alias.example": "ann@example.com",
        "team@alias.example": "ann@example.com,bob@elsewhere.example",
    },
    "virtual_alias_domain_catchall_maps": {
        "ann@alias.example": "ann@example.com",
        "team@alias.example": "ann@example.com",
        "nobody@alias.example": "ann@example.com",
    },
    "transport_maps": {
        "example.com": "virtual",
        "alias.example": "virtual",
        "off.example": "virtual",
    },
}


def _fill(url: URL | str) -> None:
    """A domain, a mailbox (with its PostfixAdmin self-alias), aliases, alias domains."""
    engine = open_database(url)
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                Domain(domain="example.com", transport="virtual"),
                Domain(domain="alias.example", transport="virtual"),
                Domain(domain="off.example", transport="virtual"),
            ]
        )
        session.flush()
        session.add_all(
            [
                Mailbox(
                    username="ann@example.com",
                    password="{PLAIN}x",
                    name="Ann",
                    maildir="example.com/ann/",
                    local_part="ann",
                    domain="example.com",
                ),
                Alias(address="ann@example.com", goto="ann@example.com", domain="example.com"),
                Alias(
                    address="team@example.com",
                    goto="ann@example.com,bob@elsewhere.example",
                    domain="example.com",
                ),
                Alias(address="@example.com", goto="ann@example.com", domain="example.com"),
                AliasDomain(alias_domain="alias.example", target_domain="example.com"),
                AliasDomain(alias_domain="off.example", target_domain="example.com", active=False),
            ]
        )
    engine.dispose()


def _expected(name: str) -> list[str | None]:
    found = {k.lower(): v for k, v in EXPECTED[name].items()}
    return [found.get(key.lower()) for key in KEYS]


def _vmail_answers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, conf: Path, spec: str
) -> list[str | None]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(KEYS) + "\n"))
    code = main(["postmap", "-c", str(conf), "-q", "-", spec])
    out, err = capsys.readouterr()
    assert err == ""
    assert code in (0, 1)
    found = dict(line.split("\t", 1) for line in out.splitlines())
    return [found.get(key) for key in KEYS]


def _check_maps(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, conf: Path, kind: str
) -> None:
    for name in MAPS:
        spec = f"{kind}:{conf / name}.cf"
        assert _vmail_answers(capsys, monkeypatch, conf, spec) == _expected(name), name
        if postfix_available():
            assert postmap_answers(spec, KEYS, conf) == _expected(name), f"postfix {name}"


def test_maps_and_routing_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "etc"
    assert _init(capsys, conf)[0] == 0
    _fill(f"sqlite:///{conf / 'data' / 'vmail.db'}")
    os.utime(conf / "main.cf", (0, 0))  # real postmap pauses on a main.cf changed just now
    _check_maps(capsys, monkeypatch, conf, "sqlite")

    assert main(["-c", str(conf), "route", "--json", "ann@example.com", "ann@alias.example"]) == 0
    ann, via_alias_domain = json.loads(capsys.readouterr().out)["recipients"]
    for report in (ann, via_alias_domain):
        assert report["accepted"] is True
        [delivery] = report["deliveries"]
        assert (delivery["recipient"], delivery["transport"], delivery["class"]) == (
            "ann@example.com",
            "virtual",
            "virtual",
        )
        assert delivery["mailbox"] == "example.com/ann/"
    assert via_alias_domain["deliveries"][0]["original_recipient"] == "ann@alias.example"

    assert main(["-c", str(conf), "route", "--json", "x@other.example"]) == 0
    [outside] = json.loads(capsys.readouterr().out)["recipients"]
    assert outside["accepted"] is True  # from 127.0.0.1: permit_mynetworks
    outside_client = ["--client-ip", "192.0.2.1"]
    assert main(["-c", str(conf), "route", "--json", *outside_client, "x@other.example"]) == 0
    [relay] = json.loads(capsys.readouterr().out)["recipients"]
    assert relay["rcpt"]["code"] == 554  # reject_unauth_destination


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_server_database_end_to_end(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "etc"
    with throwaway_database(kind, tmp_path) as url:
        text_url = url.render_as_string(hide_password=False)
        code, out, _ = _init(capsys, conf, "--database", text_url)
        assert code == 0
        assert "sqlite" not in out
        assert not (conf / "data" / "vmail.db").exists()
        assert _mode(conf / "main.cf") == 0o640  # it holds the password
        main_cf = (conf / "main.cf").read_text()
        assert f"virtual_mailbox_maps = proxy:{kind}:${{config_directory}}/" in main_cf
        cf = (conf / "virtual_alias_maps.cf").read_text()
        assert f"dbname = {url.database}\n" in cf
        assert f"user = {url.username}\n" in cf
        _fill(url)
        os.utime(conf / "main.cf", (0, 0))
        _check_maps(capsys, monkeypatch, conf, kind)
        # a second run finds the database in main.cf and only checks it
        code, out, _ = _init(capsys, conf)
        assert code == 0
        assert "up to date" in out
        assert not (conf / "data" / "vmail.db").exists()
