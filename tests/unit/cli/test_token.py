"""``vmail token add|list|revoke`` in-process."""

from __future__ import annotations

import json

from tests.unit.cli.helpers import PASSWORD, Vmail

from vmail.admin import AdminService, AuthenticationError
from vmail.cli.admin_support import EXIT_CODES, EXIT_ERROR, EXIT_OK, EXIT_USAGE, exit_code
from vmail.directory.database import open_database


def test_add_list_revoke(vmail: Vmail) -> None:
    vmail.ok("domain", "add", "a.example")
    out = vmail.ok("token", "add", "backup", "--superadmin")
    secret = out.splitlines()[1]
    assert out.startswith("token 1 (backup) created")
    assert secret.startswith("vmail_")
    svc = AdminService(open_database(f"sqlite:///{vmail.db}"))
    assert svc.actor_for_token(secret).is_superadmin
    added = vmail.json("token", "add", "ci", "--domain", "a.example", "--expires", "2099-01-01")
    assert isinstance(added, dict)
    assert (added["role"], added["domains"], added["secret"][:6]) == (
        "domain_admin",
        ["a.example"],
        "vmail_",
    )
    listed = vmail.json("token", "list")
    assert isinstance(listed, list)
    assert [t["name"] for t in listed] == ["backup", "ci"]
    assert "secret" not in json.dumps(listed)
    assert vmail.ok("token", "revoke", "1") == "token 1 (backup) revoked\n"
    assert "backup" in vmail.ok("token", "list")


def test_errors(vmail: Vmail) -> None:
    vmail.ok("domain", "add", "a.example")
    vmail.ok(
        "admin",
        "add",
        "da@a.example",
        "--domain",
        "a.example",
        "--password-file",
        "-",
        stdin=PASSWORD + "\n",
    )
    rc, _, err = vmail("token", "add", "x", "--superadmin", "--as-admin", "da@a.example")
    assert rc == 7
    assert "may not create a superadmin token" in err
    rc, _, err = vmail("token", "add", "x", "--domain", "a.example", "--expires", "soon")
    assert rc == 2
    assert "invalid --expires" in err
    rc, _, err = vmail("token", "revoke", "42")
    assert rc == 3
    assert "API token not found: 42" in err
    rc, _, _ = vmail("token", "add", "x")
    assert rc == 2  # --superadmin or --domain is required


def test_authentication_errors_have_their_own_exit_status() -> None:
    codes = set(EXIT_CODES.values())
    assert exit_code(AuthenticationError("wrong TOTP code")) == 8
    assert len(codes) == len(EXIT_CODES)
    assert {EXIT_OK, EXIT_ERROR, EXIT_USAGE}.isdisjoint(codes)
