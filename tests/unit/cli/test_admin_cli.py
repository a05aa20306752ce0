"""``vmail domain|mailbox|alias|alias-domain|admin`` in-process: output, passwords, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from tests.unit.cli.helpers import PASSWORD, Vmail

from vmail.cli.main import main
from vmail.directory.database import open_database
from vmail.directory.schema import upgrade_database


def test_domain_and_mailbox_json(vmail: Vmail) -> None:
    assert vmail.ok("domain", "add", "Example.COM", "--maxquota", "100", "--mailboxes", "5") == (
        "domain example.com added\n"
    )
    vmail.ok(
        "mailbox", "add", "Joe@example.com", "--name", "Joe", "--quota", "50M",
        "--password-file", "-", stdin=PASSWORD + "\n",
    )  # fmt: skip
    rc, _, err = vmail(
        "mailbox", "add", "ann@example.com", "--quota", "2G", "--password-file", "-", stdin=PASSWORD
    )
    assert (rc, err) == (
        5,
        "vmail mailbox: fatal: quota 2048 MB exceeds domain example.com's maximum of 100 MB per mailbox\n",
    )
    vmail.ok(
        "mailbox",
        "add",
        "ann@example.com",
        "--quota",
        "512K",
        "--password-file",
        "-",
        stdin=PASSWORD,
    )
    domains = vmail.json("domain", "list")
    assert isinstance(domains, list)
    assert [d["domain"] for d in domains] == ["example.com"]
    assert set(domains[0]) >= {
        "domain",
        "description",
        "aliases",
        "mailboxes",
        "maxquota",
        "quota",
        "transport",
        "backupmx",
        "active",
        "created",
        "modified",
    }
    shown = vmail.json("domain", "show", "example.com")
    assert isinstance(shown, dict)
    assert (shown["mailbox_count"], shown["quota_allocated"]) == (2, 50 * 1024**2 + 524288)
    mailbox = vmail.json("mailbox", "show", "joe@example.com")
    assert isinstance(mailbox, dict)
    assert {
        k: mailbox[k]
        for k in ("username", "name", "maildir", "quota", "local_part", "domain", "active")
    } == {
        "username": "joe@example.com",
        "name": "Joe",
        "maildir": "example.com/joe/",
        "quota": 50 * 1024**2,
        "local_part": "joe",
        "domain": "example.com",
        "active": True,
    }
    assert "password" not in mailbox
    listed = vmail.json("mailbox", "list", "example.com")
    assert isinstance(listed, list)
    assert [m["username"] for m in listed] == ["ann@example.com", "joe@example.com"]
    text = vmail.ok("mailbox", "list")
    assert text.splitlines()[0].split() == ["username", "name", "quota", "maildir", "active"]


def test_aliases_alias_domains_and_admins(vmail: Vmail) -> None:
    vmail.ok("domain", "add", "example.com")
    vmail.ok("domain", "add", "example.net")
    assert vmail.ok(
        "alias",
        "add",
        "info@example.com",
        "--goto",
        "a@example.com,b@x.example",
        "--goto",
        "A@example.com",
    ) == ("alias info@example.com -> a@example.com,b@x.example added\n")
    aliases = vmail.json("alias", "list", "example.com")
    assert aliases == [
        {
            **aliases[0],
            "address": "info@example.com",
            "goto": "a@example.com,b@x.example",
            "domain": "example.com",
            "active": True,
        }  # type: ignore[index]
    ]
    vmail.ok("alias", "edit", "info@example.com", "--inactive")
    assert vmail.json("alias", "show", "info@example.com")["active"] is False  # type: ignore[index]
    vmail.ok("alias-domain", "add", "example.net", "example.com")
    assert [r["alias_domain"] for r in vmail.json("alias-domain", "list")] == ["example.net"]  # type: ignore[union-attr, index]
    vmail.ok(
        "admin", "add", "boss@example.com", "--superadmin", "--password-file", "-", stdin=PASSWORD
    )
    vmail.ok(
        "admin",
        "add",
        "da@example.com",
        "--domain",
        "example.com",
        "--domain",
        "example.net",
        "--password-file",
        "-",
        stdin=PASSWORD,
    )
    admins = vmail.json("admin", "list")
    assert [(a["username"], a["superadmin"], a["domains"]) for a in admins] == [  # type: ignore[union-attr, index]
        ("boss@example.com", True, []),
        ("da@example.com", False, ["example.com", "example.net"]),
    ]
    out = vmail.ok("domain", "delete", "example.com")
    assert out == "domain example.com deleted with 0 mailboxes, 1 aliases and 1 alias domains\n"


def test_passwords_from_file_stdin_and_prompt(
    vmail: Vmail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from vmail.auth.passwords import verify_password
    from vmail.directory.models import Mailbox

    def stored() -> str:
        engine = open_database(f"sqlite:///{vmail.db}")
        with Session(engine) as s:
            password = s.scalars(select(Mailbox.password)).one()
        engine.dispose()
        return password

    vmail.ok("domain", "add", "example.com")
    secret = tmp_path / "pw"
    secret.write_text("from the file\nsecond line ignored\n")
    vmail.ok("mailbox", "add", "a@example.com", "--password-file", str(secret))
    assert verify_password("from the file", stored())
    vmail.ok("mailbox", "passwd", "a@example.com", "--password-file", "-", stdin="from stdin 1\r\n")
    assert verify_password("from stdin 1", stored())
    answers = iter(["typed twice", "typed twice"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("vmail.cli.admin_support.sys.stdin", Tty(""))
    rc = main(["mailbox", "passwd", "a@example.com"])
    assert rc == 0
    assert verify_password("typed twice", stored())
    answers = iter(["one thing", "another"])
    assert main(["mailbox", "passwd", "a@example.com"]) == 6
    rc, _, err = vmail("mailbox", "passwd", "a@example.com")  # stdin is no terminal
    assert rc == 2
    assert "use --password-file" in err
    rc, _, err = vmail(
        "mailbox", "passwd", "a@example.com", "--password-file", str(tmp_path / "missing")
    )
    assert rc == 2
    assert err.startswith("vmail mailbox: fatal: cannot read password file")
    rc, _, err = vmail("mailbox", "passwd", "a@example.com", "--password-file", "-", stdin="\n")
    assert (rc, err) == (6, "vmail mailbox: fatal: no password in stdin\n")
    # a password is never accepted on the command line
    assert vmail("mailbox", "passwd", "a@example.com", "--password", "x")[0] == 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["mailbox", "show", "nobody@example.com"],
            3,
            "vmail mailbox: fatal: mailbox not found: nobody@example.com",
        ),
        (
            ["domain", "add", "example.com"],
            4,
            "vmail domain: fatal: domain already exists: example.com",
        ),
        (
            ["alias", "add", "a@example.com", "--goto", "x@example.org"],
            5,
            "vmail alias: fatal: domain example.com has reached its limit of 1 aliases",
        ),
        (
            ["alias", "add", "b@example.com", "--goto", "not an address"],
            6,
            "vmail alias: fatal: invalid address: not (no @domain)",
        ),
        (
            ["domain", "add", "bad_name.example"],
            6,
            "vmail domain: fatal: invalid domain name: bad_name.example (bad label 'bad_name')",
        ),
        (
            ["domain", "add", "new.example", "--as-admin", "da@example.com"],
            7,
            "vmail domain: fatal: da@example.com may not create domains: only a superadmin may",
        ),
        (
            ["alias", "list", "other.example", "--as-admin", "da@example.com"],
            7,
            "vmail alias: fatal: da@example.com may not manage domain other.example",
        ),
        (
            ["domain", "list", "--as-admin", "nobody@example.com"],
            7,
            "vmail domain: fatal: nobody@example.com is not an active admin",
        ),
        (
            ["domain", "edit", "example.com"],
            2,
            "vmail domain: fatal: nothing to change: give at least one option",
        ),
        (
            ["admin", "add", "x@example.com", "--password-file", "-"],
            2,
            "vmail admin: fatal: give --superadmin or at least one --domain DOMAIN",
        ),
        (
            ["domain", "list", "--database", "postgresql://u:pw@127.0.0.1:1/none"],
            1,
            "vmail domain: fatal: directory database unavailable: connection failed",
        ),
    ],
)
def test_exit_codes_and_error_lines(vmail: Vmail, args: list[str], code: int, message: str) -> None:
    vmail.ok("domain", "add", "example.com", "--aliases", "1")
    vmail.ok("alias", "add", "first@example.com", "--goto", "x@example.org")
    vmail.ok(
        "admin",
        "add",
        "da@example.com",
        "--domain",
        "example.com",
        "--password-file",
        "-",
        stdin=PASSWORD,
    )
    rc, out, err = vmail(*args, stdin=PASSWORD)
    assert rc == code
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_usage_errors_exit_2(vmail: Vmail) -> None:
    assert vmail("domain")[0] == 2
    assert vmail("domain", "frob")[0] == 2
    assert vmail("mailbox", "add")[0] == 2
    assert vmail("mailbox", "add", "a@example.com", "--quota", "lots")[0] == 2
    assert vmail("alias", "add", "a@example.com")[0] == 2  # --goto is required


def test_database_from_main_cf_then_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VMAIL_DATABASE", raising=False)
    conf = tmp_path / "conf"
    conf.mkdir()
    engine = open_database(f"sqlite:///{conf / 'vmail.db'}")
    upgrade_database(engine)
    engine.dispose()
    # no main.cf: sqlite:///CONFIG_DIR/vmail.db
    assert main(["domain", "add", "one.example", "-c", str(conf)]) == 0
    other = tmp_path / "other.db"
    engine = open_database(f"sqlite:///{other}")
    upgrade_database(engine)
    engine.dispose()
    (conf / "main.cf").write_text(f"vmail_database = sqlite:///{other}\n")
    assert main(["-c", str(conf), "domain", "add", "two.example"]) == 0
    capsys.readouterr()
    assert main(["domain", "list", "--json", "-c", str(conf)]) == 0
    assert [d["domain"] for d in json.loads(capsys.readouterr().out)] == ["two.example"]


def test_postfixadmin_maildir_query_through_postmap(vmail: Vmail, tmp_path: Path) -> None:
    vmail.ok("domain", "add", "example.com")
    vmail.ok("mailbox", "add", "user@example.com", "--password-file", "-", stdin=PASSWORD)
    vmail.ok(
        "mailbox", "add", "off@example.com", "--inactive", "--password-file", "-", stdin=PASSWORD
    )
    cf = tmp_path / "mailboxes.cf"
    cf.write_text(
        f"dbpath = {vmail.db}\n"
        "query = SELECT maildir FROM mailbox WHERE username='%s' AND active = '1'\n"
    )
    aliases = tmp_path / "aliases.cf"
    aliases.write_text(
        f"dbpath = {vmail.db}\nquery = SELECT goto FROM alias WHERE address='%s' AND active = '1'\n"
    )
    assert vmail("postmap", "-q", "user@example.com", f"sqlite:{cf}")[:2] == (
        0,
        "example.com/user/\n",
    )
    assert vmail("postmap", "-q", "off@example.com", f"sqlite:{cf}")[:2] == (1, "")
    assert vmail("postmap", "-q", "user@example.com", f"sqlite:{aliases}")[:2] == (
        0,
        "user@example.com\n",
    )
