"""``vmail route``: text and JSON output, exit codes, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vmail.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "virtual-mailbox"


def _config(tmp_path: Path, main_cf: str, **files: str) -> Path:
    (tmp_path / "main.cf").write_text(main_cf)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


SIMPLE = """\
myhostname = mail.example.net
mydestination = $myhostname
alias_maps =
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{ info@example.com=example.com/info/ }
virtual_alias_maps = inline:{ {team@example.com = info@example.com, ext@else.example} }
"""


def test_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, SIMPLE)
    code = main(
        [
            "route",
            "-c",
            str(config),
            "--json",
            "--client-ip",
            "192.0.2.7",
            "team@example.com",
            "nobody@example.com",
        ]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == 1
    assert document["client"] == {
        "address": "192.0.2.7",
        "name": "unknown",
        "helo": None,
        "sasl_username": None,
    }
    team, nobody = document["recipients"]
    assert team["rcpt"]["reply"] == "250 2.1.5 Ok"
    assert team["accepted"] is True
    assert [
        (d["recipient"], d["class"], d["transport"], d["nexthop"], d["status"], d["mailbox"])
        for d in team["deliveries"]
    ] == [
        (
            "info@example.com",
            "virtual",
            "virtual",
            "example.com",
            "deliverable",
            "example.com/info/",
        ),
        ("ext@else.example", "default", "smtp", "else.example", "deliverable", None),
    ]
    assert all(d["original_recipient"] == "team@example.com" for d in team["deliveries"])
    assert {"table", "key", "result", "error"} == set(team["lookups"][0])
    assert nobody["accepted"] is False
    assert nobody["rcpt"]["code"] == 550
    assert nobody["deliveries"] == []


def test_duplicates_across_addresses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, SIMPLE)
    assert main(["-c", str(config), "route", "--json", "info@example.com", "INFO@example.com"]) == 0
    first, second = json.loads(capsys.readouterr().out)["recipients"]
    assert len(first["deliveries"]) == 1
    assert second["deliveries"] == []
    assert second["duplicates"] == ["INFO@example.com"]


def test_text_output_names_transport_and_mailbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, SIMPLE)
    assert main(["route", "-c", str(config), "info@example.com"]) == 0
    out = capsys.readouterr().out
    assert "RCPT TO: 250 2.1.5 Ok" in out
    assert "via virtual:example.com: deliverable, mailbox example.com/info/" in out
    assert "lookups:" in out


def test_config_dir_from_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VMAIL_CONFIG_DIR", str(_config(tmp_path, SIMPLE)))
    assert main(["route", "info@example.com"]) == 0
    assert "mailbox example.com/info/" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("main_cf", "message"),
    [
        (
            "virtual_alias_maps = nosuch:/x\n",
            "main.cf:2: virtual_alias_maps: unsupported dictionary type: nosuch",
        ),
        ("virtual_alias_maps = hash:/nonexistent/virtual\n", "/nonexistent/virtual"),
        ("this is not a setting\n", "main.cf:2: missing '='"),
        ("virtual_alias_recursion_limit = many\n", "main.cf:2: bad numerical configuration"),
        ("relayhost = $a\na = $relayhost\n", "recursive parameter expansion"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], main_cf: str, message: str
) -> None:
    config = _config(tmp_path, "alias_maps =\n" + main_cf)
    assert main(["route", "-c", str(config), "a@example.com"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vmail route: fatal: ")
    assert message in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_missing_config_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "-c", str(tmp_path / "nope"), "a@example.com"]) == 1
    assert "main.cf" in capsys.readouterr().err


def test_invalid_address_gets_smtp_syntax_reply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, SIMPLE)
    assert main(["route", "-c", str(config), "--json", '"unbalanced@example.com']) == 0
    (report,) = json.loads(capsys.readouterr().out)["recipients"]
    assert report["rcpt"]["reply"] == "501 5.1.3 Bad recipient address syntax"


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["route"])
    assert exc.value.code == 2


def test_sample_configuration_as_installed_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vmail", "-c", str(EXAMPLE), "route", "--json", "sales@example.com"],
        capture_output=True,
        text=True,
        check=True,
    )
    (report,) = json.loads(result.stdout)["recipients"]
    assert [(d["recipient"], d["transport"]) for d in report["deliveries"]] == [
        ("sales@example.com", "virtual"),
        ('"sales@example.com"@autoreply.example.net', "autoreply"),
    ]


def test_recipients_go_through_the_canonical_maps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(
        tmp_path, SIMPLE + "recipient_canonical_maps = inline:{ @legacy.example=@example.com }\n"
    )
    assert main(["-c", str(config), "route", "--json", "info@legacy.example"]) == 0
    (report,) = json.loads(capsys.readouterr().out)["recipients"]
    (delivery,) = report["deliveries"]
    assert delivery["recipient"] == "info@example.com"
    assert any(event["table"].startswith("inline:") for event in report["lookups"])


def test_the_sender_picks_the_relayhost(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(
        tmp_path,
        SIMPLE
        + "relayhost = [main.relay]\n"
        + "sender_dependent_relayhost_maps = inline:{ @a.example=[a.relay]:587 }\n",
    )
    for sender, nexthop in (("", "[main.relay]"), ("s@a.example", "[a.relay]:587")):
        args = ["-c", str(config), "route", "--json", "--sender", sender, "x@else.example"]
        assert main(args) == 0
        (report,) = json.loads(capsys.readouterr().out)["recipients"]
        assert report["deliveries"][0]["nexthop"] == nexthop
