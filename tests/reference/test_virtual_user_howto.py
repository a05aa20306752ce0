"""The virtual-user how-to (reference document 2): Postfix on a PostfixAdmin database.

The how-to uses MySQL; the same queries run here against SQLite (``proxy:sqlite:``), and
against an unreachable MySQL server for the "Temporary lookup failure" troubleshooting
case, which needs no server at all.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.routing_helpers import OUTSIDE, finals, make_router, route1
from vmail.policy.evaluation import Client
from vmail.route import Router

HOWTO_MAIN_CF = """\
relay_domains = $mydestination
virtual_alias_maps = proxy:sqlite:{dir}/virtual_alias_maps.cf, proxy:sqlite:{dir}/virtual_alias_domain_maps.cf
virtual_mailbox_domains = proxy:sqlite:{dir}/virtual_mailbox_domains.cf
virtual_mailbox_maps = proxy:sqlite:{dir}/virtual_mailbox_maps.cf
virtual_mailbox_base = /home/vmail
virtual_mailbox_limit = 512000000
virtual_minimum_uid = 5000
virtual_transport = virtual
virtual_uid_maps = static:5000
virtual_gid_maps = static:5000
local_transport = virtual
local_recipient_maps = $virtual_mailbox_maps
transport_maps = hash:{dir}/transport
smtpd_sasl_auth_enable = yes
smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_security_options = noanonymous
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
"""

CF = {
    "virtual_alias_maps.cf": "query = SELECT goto FROM alias WHERE address='%s' AND active = '1'",
    "virtual_alias_domain_maps.cf": (
        "query = SELECT goto FROM alias,alias_domain WHERE alias_domain.alias_domain = '%d'"
        " and alias.address = '%u' || '@' || alias_domain.target_domain"
        " AND alias.active = 1 AND alias_domain.active='1'"
    ),
    "virtual_mailbox_domains.cf": (
        "query = SELECT domain FROM domain WHERE domain='%s' AND backupmx = '0' AND active = '1'"
    ),
    "virtual_mailbox_maps.cf": (
        "query = SELECT maildir FROM mailbox WHERE username='%s' AND active = '1'"
    ),
}


def _database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE domain (domain TEXT, backupmx INT DEFAULT 0, active INT DEFAULT 1);
        CREATE TABLE mailbox (username TEXT, maildir TEXT, active INT DEFAULT 1);
        CREATE TABLE alias (address TEXT, goto TEXT, active INT DEFAULT 1);
        CREATE TABLE alias_domain (alias_domain TEXT, target_domain TEXT, active INT DEFAULT 1);
        INSERT INTO domain (domain) VALUES ('test.com'), ('alias.test');
        INSERT INTO mailbox (username, maildir) VALUES
            ('lisi@test.com', 'test.com/lisi/'), ('ann@test.com', 'test.com/ann/');
        INSERT INTO alias (address, goto) VALUES
            ('lisi@test.com', 'lisi@test.com'), ('ann@test.com', 'ann@test.com'),
            ('team@test.com', 'lisi@test.com,ann@test.com'),
            ('fwd@test.com', 'someone@elsewhere.example');
        INSERT INTO alias_domain (alias_domain, target_domain) VALUES ('alias.test', 'test.com');
        """
    )
    db.commit()
    db.close()


@pytest.fixture
def router(tmp_path: Path) -> Router:
    _database(tmp_path / "postfix.sqlite")
    files = {name: f"dbpath = {tmp_path}/postfix.sqlite\n{q}\n" for name, q in CF.items()}
    files["transport"] = ""
    return make_router(tmp_path, HOWTO_MAIN_CF, files)


def test_mailbox_user_is_delivered_to_maildir(router: Router) -> None:
    report = route1(router, "lisi@test.com")
    assert report.rcpt.code == 250
    assert finals(report) == [("lisi@test.com", "virtual", "test.com")]
    assert report.deliveries[0].mailbox == "test.com/lisi/"


def test_multi_target_alias_and_forwarding(router: Router) -> None:
    assert [d.recipient for d in route1(router, "team@test.com").deliveries] == [
        "lisi@test.com",
        "ann@test.com",
    ]
    assert finals(route1(router, "fwd@test.com")) == [
        ("someone@elsewhere.example", "smtp", "elsewhere.example")
    ]


def test_alias_domain_maps_to_target_domain(router: Router) -> None:
    report = route1(router, "ann@alias.test", OUTSIDE)
    assert report.rcpt.code == 250
    assert finals(report) == [("ann@test.com", "virtual", "test.com")]
    assert report.deliveries[0].original_recipient == "ann@alias.test"


def test_unknown_user_reply(router: Router) -> None:
    # "550 5.1.1 <email@spam.me>: Recipient address rejected: User unknown in virtual
    # mailbox table" — the how-to's troubleshooting text
    assert str(route1(router, "email@test.com", OUTSIDE).rcpt) == (
        "550 5.1.1 <email@test.com>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )


def test_relay_denied_for_outside_clients_and_allowed_after_auth(router: Router) -> None:
    assert str(route1(router, "x@elsewhere.example", OUTSIDE).rcpt) == (
        "554 5.7.1 <x@elsewhere.example>: Relay access denied"
    )
    authed = Client("192.0.2.7", "unknown", None, "lisi@test.com")
    report = route1(router, "x@elsewhere.example", authed)
    assert report.rcpt.code == 250
    assert finals(report) == [("x@elsewhere.example", "smtp", "elsewhere.example")]
    assert route1(router, "x@elsewhere.example").rcpt.code == 250  # mynetworks


def test_local_domain_uses_virtual_transport(router: Router) -> None:
    report = route1(router, "lisi@localhost", OUTSIDE)
    # local_recipient_maps = $virtual_mailbox_maps: lisi@localhost is not listed there
    assert str(report.rcpt) == (
        "550 5.1.1 <lisi@localhost>: Recipient address rejected: "
        "User unknown in local recipient table"
    )


def test_unreachable_database_is_a_temporary_lookup_failure(tmp_path: Path) -> None:
    cf = (
        "hosts = inet:127.0.0.1:1\nuser = postfix_user\npassword = hunter2\n"
        "dbname = postfix_db\nquery = SELECT maildir FROM mailbox WHERE username='%s'\n"
    )
    router = make_router(
        tmp_path,
        "virtual_mailbox_domains = test.com\n"
        "virtual_mailbox_maps = proxy:mysql:{dir}/virtual_mailbox_maps.cf\n",
        {"virtual_mailbox_maps.cf": cf},
    )
    assert str(route1(router, "lisi@test.com", OUTSIDE).rcpt) == (
        "451 4.3.0 <lisi@test.com>: Temporary lookup failure"
    )
