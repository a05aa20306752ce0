"""Importing a Postfix setup and a Dovecot passwd-file: results, idempotence, conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from vmail.admin import Actor, AdminService, ForbiddenError
from vmail.admin.import_dovecot import plan_from_passwd_file
from vmail.admin.import_postfix import plan_from_postfix
from vmail.admin.importing import NO_PASSWORD, ImportReport
from vmail.auth.passwords import verify_password
from vmail.core.errors import ConfigError
from vmail.directory.models import Mailbox


def _postfix(tmp_path: Path) -> Path:
    pf = tmp_path / "postfix"
    pf.mkdir()
    (pf / "main.cf").write_text(
        "myhostname = mail.example.net\n"
        "virtual_mailbox_domains = example.com, hash:vdomains\n"
        "virtual_mailbox_maps = hash:vmailbox\n"
        "virtual_alias_maps = hash:virtual, regexp:rx\n"
    )
    (pf / "vdomains").write_text("example.org  anything\n")
    (pf / "vmailbox").write_text(
        "info@example.com   example.com/info/\n"
        "sales@example.com  example.com/sales/\n"
        "@example.com       example.com/catchall/\n"
        "bob@example.org    example.org/bob/\n"
    )
    (pf / "virtual").write_text(
        "forward.example        anything\n"
        "postmaster@example.com postmaster\n"
        "joe@forward.example    joe@somewhere.example, jane\n"
        "@forward.example       info@example.com\n"
        "sales@example.com      sales@example.com, copy@elsewhere.example\n"
    )
    (pf / "rx").write_text("/^x/ y\n")
    return pf


def _password(svc: AdminService, username: str) -> str:
    with Session(svc.engine) as session:
        row = session.get(Mailbox, username)
        assert row is not None
        return row.password


def _results(report: ImportReport) -> dict[tuple[str, str], str]:
    return {(o.kind, o.name): o.result for o in report.outcomes}


def test_postfix_import_and_reimport(svc: AdminService, cli: Actor, tmp_path: Path) -> None:
    plan = plan_from_postfix(_postfix(tmp_path))
    first = _results(svc.import_plan(cli, plan, "postfix"))
    assert first[("domain", "example.com")] == "created"
    assert first[("domain", "example.org")] == "created"
    assert first[("domain", "forward.example")] == "created"
    assert first[("mailbox", "info@example.com")] == "created"
    assert first[("mailbox", "@example.com")] == "skipped"
    assert first[("table", "regexp:rx")] == "skipped"
    assert first[("alias", "sales@example.com")] == "updated"  # the mailbox's forwarding
    assert svc.get_mailbox(cli, "bob@example.org")["maildir"] == "example.org/bob/"
    assert _password(svc, "info@example.com") == NO_PASSWORD
    assert svc.get_alias(cli, "joe@forward.example")["goto"] == (
        "joe@somewhere.example,jane@mail.example.net"
    )
    again = svc.import_plan(cli, plan_from_postfix(tmp_path / "postfix"), "postfix")
    assert again.count("created") == again.count("updated") == again.count("conflict") == 0


def test_passwd_file_fills_in_passwords(svc: AdminService, cli: Actor, tmp_path: Path) -> None:
    svc.import_plan(cli, plan_from_postfix(_postfix(tmp_path)), "postfix")
    passwd = tmp_path / "passwd"
    passwd.write_text(
        "# users\n"
        "info@example.com:{PLAIN}s3cret::::::userdb_quota_rule=*:bytes=10M\n"
        "new@example.net:{PLAIN}other:5000:5000:New User,Room 1::\n"
        "not a line\n"
        "localonly:{PLAIN}x\n"
    )
    report = svc.import_plan(cli, plan_from_passwd_file(passwd), "passwd")
    results = _results(report)
    assert results[("mailbox", "info@example.com")] == "updated"
    assert results[("mailbox", "new@example.net")] == "created"
    assert results[("domain", "example.net")] == "created"
    assert report.count("skipped") == 2
    assert verify_password("s3cret", _password(svc, "info@example.com"))
    new = svc.get_mailbox(cli, "new@example.net")
    assert new["name"] == "New User"
    assert svc.import_plan(cli, plan_from_passwd_file(passwd), "passwd").count("updated") == 0


def test_conflicts_are_reported_not_overwritten(
    svc: AdminService, cli: Actor, tmp_path: Path
) -> None:
    svc.add_domain(cli, "example.com")
    svc.add_mailbox(cli, "info@example.com", "correct horse")
    svc.add_alias(cli, "postmaster@example.com", "someone@elsewhere.example")
    report = svc.import_plan(cli, plan_from_postfix(_postfix(tmp_path)), "postfix")
    conflicts = {o.name for o in report.conflicts}
    assert conflicts == {"postmaster@example.com"}
    assert svc.get_alias(cli, "postmaster@example.com")["goto"] == "someone@elsewhere.example"
    passwd = tmp_path / "passwd"
    passwd.write_text("info@example.com:{PLAIN}different\n")
    assert [o.name for o in svc.import_plan(cli, plan_from_passwd_file(passwd), "p").conflicts] == [
        "info@example.com"
    ]
    assert verify_password("correct horse", _password(svc, "info@example.com"))


def test_preview_writes_nothing(svc: AdminService, cli: Actor, tmp_path: Path) -> None:
    report = svc.preview_import(cli, plan_from_postfix(_postfix(tmp_path)), "postfix")
    assert report.count("created") > 0
    assert svc.list_domains(cli) == []


def test_domain_admin_may_not_import(svc: AdminService, tmp_path: Path) -> None:
    with pytest.raises(ForbiddenError):
        svc.import_plan(Actor.domain_admin("a@example.com", {"example.com"}),
                        plan_from_postfix(_postfix(tmp_path)), "postfix")  # fmt: skip


def test_missing_sources_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"main\.cf"):
        plan_from_postfix(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="passwd"):
        plan_from_passwd_file(tmp_path / "passwd")


def test_login_rehash_is_compare_and_swap(svc: AdminService, cli: Actor, tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text("a@example.com:{PLAIN}legacy-password\n")
    svc.import_plan(cli, plan_from_passwd_file(passwd), "passwd")
    assert not svc.upgrade_password_hash("a@example.com", "{PLAIN}stale", "{PLAIN}new")
    assert svc.upgrade_password_hash("A@example.com", "{PLAIN}legacy-password", "{PLAIN}new")
    assert _password(svc, "a@example.com") == "{PLAIN}new"
