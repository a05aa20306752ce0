"""Restrictions that ask DNS about hosts: check_*_{a,mx,ns}_access, permit_mx_backup,
permit_rhswl_client and the replies of DNS lists (rbl_reply_maps).

Every expected reply is what Postfix 3.7.11 answered to the same configuration, with a
DNS server serving FakeDNS.ZONE (a private instance in a network namespace).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routing_helpers import BASE, OUTSIDE
from tests.unit.policy.fake_dns import FakeDNS
from vmail.config import MainConfig
from vmail.policy.evaluation import Client, MessageAction
from vmail.route import Router

HOST = Client("192.0.2.7", "host.test", "client.example")
REVERSE = Client("192.0.2.7", "unknown", "client.example", reverse_name="host.test")
REVERSE_GOOD = Client("192.0.2.7", "unknown", "client.example", reverse_name="good.example")


def _check(
    tmp_path: Path,
    main_cf: str,
    recipient: str,
    client: Client = OUTSIDE,
    sender: str = "s@example.org",
    actions: list[MessageAction] | None = None,
) -> str:
    (tmp_path / "main.cf").write_text(BASE + "inet_interfaces = 127.0.0.1, 192.0.2.10\n" + main_cf)
    router = Router(MainConfig.load(tmp_path), dns=FakeDNS())
    return str(router.policy.check_recipient(client, sender, recipient, actions=actions))


def _inline(entries: str) -> str:
    return "inline:{ " + ", ".join("{" + e + "}" for e in entries.split("; ")) + " }"


@pytest.mark.parametrize(
    ("restriction", "table", "recipient", "client", "reply"),
    [
        (
            "check_recipient_mx_access",
            "mx1.mx.test=REJECT mx host",
            "a@mx.test",
            OUTSIDE,
            "554 5.7.1 <a@mx.test>: Recipient address rejected: mx host",
        ),
        (  # a parent domain of the MX host
            "check_recipient_mx_access",
            "mx.test=REJECT parent",
            "a@mx.test",
            OUTSIDE,
            "554 5.7.1 <a@mx.test>: Recipient address rejected: parent",
        ),
        (  # the network of the second MX host's address
            "check_recipient_mx_access",
            "198.51.100=REJECT net",
            "a@mx.test",
            OUTSIDE,
            "554 5.7.1 <a@mx.test>: Recipient address rejected: net",
        ),
        (  # no MX record: the name is its own MX host, by name and address
            "check_recipient_mx_access",
            "host.test=REJECT self",
            "a@host.test",
            OUTSIDE,
            "554 5.7.1 <a@host.test>: Recipient address rejected: self",
        ),
        (
            "check_recipient_mx_access",
            "192.0.2.33=REJECT selfaddr",
            "a@host.test",
            OUTSIDE,
            "554 5.7.1 <a@host.test>: Recipient address rejected: selfaddr",
        ),
        (  # a null MX: nothing to check
            "check_recipient_mx_access",
            "nullmx.test=REJECT null",
            "a@nullmx.test",
            OUTSIDE,
            "250 2.1.5 Ok",
        ),
        (  # no such domain: its own MX host too
            "check_recipient_mx_access",
            "nx.test=REJECT nx",
            "a@nx.test",
            OUTSIDE,
            "554 5.7.1 <a@nx.test>: Recipient address rejected: nx",
        ),
        (  # DNS failure: skipped
            "check_recipient_mx_access",
            "x.fail.test=REJECT fail",
            "a@x.fail.test",
            OUTSIDE,
            "250 2.1.5 Ok",
        ),
        (  # DUNNO for the first MX host ends the search
            "check_recipient_mx_access",
            "mx1.mx.test=DUNNO; 198.51.100.22=REJECT second",
            "a@mx.test",
            OUTSIDE,
            "250 2.1.5 Ok",
        ),
        (  # an MX record holding an address
            "check_recipient_mx_access",
            "192.0.2.99=REJECT ipmx",
            "a@lit.test",
            OUTSIDE,
            "554 5.7.1 <a@lit.test>: Recipient address rejected: ipmx",
        ),
        (  # NS records of the nearest parent domain that has some, by address
            "check_recipient_ns_access",
            "192.0.2.44=REJECT nsaddr",
            "a@sub.zone.test",
            OUTSIDE,
            "554 5.7.1 <a@sub.zone.test>: Recipient address rejected: nsaddr",
        ),
        (  # an address literal is its own A record ...
            "check_recipient_a_access",
            "192.0.2=REJECT lit",
            "a@[192.0.2.5]",
            OUTSIDE,
            "554 5.7.1 <a@[192.0.2.5]>: Recipient address rejected: lit",
        ),
        (  # ... but has no name servers
            "check_recipient_ns_access",
            "192.0.2=REJECT lit",
            "a@[192.0.2.5]",
            OUTSIDE,
            "250 2.1.5 Ok",
        ),
        (
            "check_client_mx_access",
            "host.test=REJECT climx",
            "a@mx.test",
            HOST,
            "554 5.7.1 <host.test[192.0.2.7]>: Client host rejected: climx",
        ),
        (
            "check_client_a_access",
            "192.0.2.33=REJECT clia",
            "a@mx.test",
            HOST,
            "554 5.7.1 <host.test[192.0.2.7]>: Client host rejected: clia",
        ),
        (  # a client without a name is not looked up
            "check_client_a_access",
            "unknown=REJECT; 192.0.2=REJECT",
            "a@mx.test",
            OUTSIDE,
            "250 2.1.5 Ok",
        ),
        (
            "check_reverse_client_hostname_mx_access",
            "host.test=REJECT revmx",
            "a@mx.test",
            REVERSE,
            "554 5.7.1 <host.test>: Unverified Client host rejected: revmx",
        ),
        (
            "check_reverse_client_hostname_a_access",
            "192.0.2.33=REJECT reva",
            "a@mx.test",
            REVERSE,
            "554 5.7.1 <host.test>: Unverified Client host rejected: reva",
        ),
        (
            "check_helo_a_access",
            "192.0.2.33=REJECT a",
            "a@mx.test",
            Client("192.0.2.7", "unknown", "host.test"),
            "554 5.7.1 <host.test>: Helo command rejected: a",
        ),
        (  # the A check looks up addresses only, not the name
            "check_helo_a_access",
            "host.test=REJECT name",
            "a@mx.test",
            Client("192.0.2.7", "unknown", "host.test"),
            "250 2.1.5 Ok",
        ),
        (  # a HELO name that is an address
            "check_helo_a_access",
            "192.0.2.33=REJECT iphelo",
            "a@mx.test",
            Client("192.0.2.7", "unknown", "192.0.2.33"),
            "554 5.7.1 <192.0.2.33>: Helo command rejected: iphelo",
        ),
        (
            "check_helo_mx_access",
            "mx1.mx.test=REJECT helomx",
            "a@mx.test",
            Client("192.0.2.7", "unknown", "mx.test"),
            "554 5.7.1 <mx.test>: Helo command rejected: helomx",
        ),
        (  # OK may not permit: a configuration error
            "check_recipient_mx_access",
            "mx1.mx.test=OK",
            "a@mx.test",
            OUTSIDE,
            "451 4.3.5 Server configuration error",
        ),
        (  # nor may a restriction list that ends in OK
            "check_recipient_mx_access",
            "mx1.mx.test=permit_mynetworks",
            "a@mx.test",
            Client("127.0.0.1", "localhost"),
            "451 4.3.5 Server configuration error",
        ),
        (  # DISCARD ends the evaluation and is allowed
            "check_recipient_mx_access",
            "mx1.mx.test=DISCARD",
            "a@mx.test",
            OUTSIDE,
            "250 2.1.5 Ok",
        ),
    ],
)
def test_server_access(
    tmp_path: Path, restriction: str, table: str, recipient: str, client: Client, reply: str
) -> None:
    main_cf = (
        "smtpd_relay_restrictions =\n"
        f"smtpd_recipient_restrictions = {restriction} {_inline(table)}, permit\n"
    )
    assert _check(tmp_path, main_cf, recipient, client) == reply


def test_server_access_by_sender_ns_and_pattern(tmp_path: Path) -> None:
    main_cf = (
        "smtpd_relay_restrictions =\n"
        "smtpd_recipient_restrictions ="
        " check_sender_ns_access inline:{ {ns1.zone.test=REJECT ns} },"
        " check_recipient_mx_access regexp:{{/^mx1\\./ REJECT re}}, permit\n"
    )
    assert _check(tmp_path, main_cf, "a@host.test", sender="a@sub.zone.test") == (
        "554 5.7.1 <a@sub.zone.test>: Sender address rejected: ns"
    )
    # a pattern table sees the MX host's name
    assert _check(tmp_path, main_cf, "a@mx.test") == (
        "554 5.7.1 <a@mx.test>: Recipient address rejected: re"
    )
    assert _check(tmp_path, main_cf, "a@host.test", sender="") == "250 2.1.5 Ok"


def test_server_access_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    main_cf = (
        "smtpd_relay_restrictions =\n"
        "smtpd_recipient_restrictions = warn_if_reject,"
        " check_recipient_mx_access inline:{ {mx1.mx.test=OK}, {x.test=REJECT} }, permit\n"
    )
    # warn_if_reject does not soften the configuration error
    assert _check(tmp_path, main_cf, "a@mx.test") == "451 4.3.5 Server configuration error"
    assert "restriction check_recipient_mx_access returns OK for a@mx.test" in caplog.text
    assert "use DUNNO instead of OK if you want to make an exception" in caplog.text
    assert _check(tmp_path, main_cf, "a@x.fail.test") == "250 2.1.5 Ok"
    assert "Unable to look up MX host for x.fail.test: Host not found, try again" in caplog.text
    assert _check(tmp_path, main_cf, "a@brokenmx.test") == "250 2.1.5 Ok"
    assert (
        "Unable to look up MX host nowhere.test for Recipient address a@brokenmx.test:"
        " Name or service not known" in caplog.text
    )
    # no name servers up to the top-level domain
    ns_cf = main_cf.replace("check_recipient_mx_access", "check_sender_ns_access")
    assert _check(tmp_path, ns_cf, "a@mx.test", sender="a@nx.test") == "250 2.1.5 Ok"
    assert (
        "Unable to look up NS host for a@nx.test: Host found but no data record of"
        " requested type" in caplog.text
    )


def test_server_access_hold_goes_on(tmp_path: Path) -> None:
    main_cf = (
        "smtpd_relay_restrictions =\n"
        "smtpd_recipient_restrictions ="
        " check_recipient_mx_access inline:{ {mx1.mx.test=HOLD} }, permit\n"
    )
    actions: list[MessageAction] = []
    assert _check(tmp_path, main_cf, "a@mx.test", actions=actions) == "250 2.1.5 Ok"
    assert actions == [MessageAction("hold", "<a@mx.test>: Recipient address triggers HOLD action")]


@pytest.mark.parametrize(
    ("networks", "domain", "reply"),
    [
        ("", "backup.test", "250 2.1.5 Ok"),  # 192.0.2.10, a backup MX host, is ours
        ("", "primary.test", "554 5.7.1 <a@primary.test>: Relay access denied"),
        ("", "mx.test", "554 5.7.1 <a@mx.test>: Relay access denied"),
        (
            "",
            "x.fail.test",
            "450 4.4.4 <a@x.fail.test>: Recipient address rejected: Unable to look up mail"
            " exchanger information: Host not found, try again",
        ),
        ("", "nx.test", "554 5.7.1 <a@nx.test>: Relay access denied"),
        ("", "nullmx.test", "554 5.7.1 <a@nullmx.test>: Relay access denied"),
        ("", "brokenmx.test", "250 2.1.5 Ok"),  # a primary that cannot be looked up
        ("", "failmx.test", "250 2.1.5 Ok"),
        ("", "namebackup.test", "250 2.1.5 Ok"),  # the backup is named $myhostname
        ("", "mail.example.net", "250 2.1.5 Ok"),  # our own domain
        ("198.51.100.0/24", "backup.test", "250 2.1.5 Ok"),
        ("10.0.0.0/8", "backup.test", "554 5.7.1 <a@backup.test>: Relay access denied"),
        (
            "198.51.100.0/24",
            "brokenmx.test",
            "450 4.4.4 <a@brokenmx.test>: Recipient address rejected: Unable to look up mail"
            " exchanger host nowhere.test: Name or service not known",
        ),
        (
            "198.51.100.0/24",
            "failmx.test",
            "450 4.4.4 <a@failmx.test>: Recipient address rejected: Unable to look up mail"
            " exchanger host x.fail.test: Temporary failure in name resolution",
        ),
    ],
)
def test_permit_mx_backup(tmp_path: Path, networks: str, domain: str, reply: str) -> None:
    main_cf = (
        f"permit_mx_backup_networks = {networks}\n"
        "smtpd_relay_restrictions = permit_mx_backup, reject_unauth_destination\n"
    )
    assert _check(tmp_path, main_cf, f"a@{domain}") == reply


def test_rbl_reply_maps(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "rbl").write_text(
        "bl.test $rbl_code 4.7.9 custom $rbl_what via $rbl_domain: $rbl_reason ($rbl_class)"
        " [$sender_domain] [$recipient_name] [$client] [$sender]\n"
        "bl.test=127.0.0.2 $rbl_code keyed with value\n"
        "bad.test hello\n"
        "und.test $rbl_code $nosuch x\n"
    )

    def reply(restriction: str, client: Client = HOST, sender: str = "s@example.org") -> str:
        main_cf = (
            f"rbl_reply_maps = texthash:{tmp_path}/rbl\n"
            f"smtpd_recipient_restrictions = {restriction}, permit\n"
        )
        return _check(tmp_path, main_cf, "r1@mail.example.net", client, sender)

    good = Client("192.0.2.7", "good.example", "client.example")
    assert reply("reject_rhsbl_client bl.test", good) == (
        "554 5.7.9 custom good.example via bl.test: listed good (Client host) [example.org]"
        " [r1] [good.example[192.0.2.7]] [s@example.org]"
    )
    # the TXT records are joined with " / ", and not expanded
    assert reply("reject_rhsbl_client bl.test", Client("192.0.2.7", "sp.example")) == (
        '554 5.7.9 custom sp.example via bl.test: a $rbl_code b" c / second one (Client host)'
        " [example.org] [r1] [sp.example[192.0.2.7]] [s@example.org]"
    )
    # the key is the restriction's argument as written
    assert reply("reject_rbl_client bl.test=127.0.0.2", OUTSIDE) == "554 5.7.1 keyed with value"
    assert reply("reject_rhsbl_sender bl.test", sender="r3@good.example").startswith(
        "554 5.7.9 custom r3@good.example via bl.test: listed good (Sender address) [good.example]"
    )
    assert reply("reject_rhsbl_reverse_client bl.test", REVERSE_GOOD) == (
        "554 5.7.9 custom good.example via bl.test: listed good (Unverified Client host)"
        " [example.org] [r1] [unknown[192.0.2.7]] [s@example.org]"
    )
    # a template without a reply code
    assert reply("reject_rhsbl_client bad.test", good) == "450 4.7.1 Service unavailable"
    assert "rbl response code configuration error: hello" in caplog.text
    # a template naming something unknown: the default reply
    assert reply("reject_rhsbl_client und.test", good) == (
        "554 5.7.1 Service unavailable; Client host [good.example] blocked using und.test"
    )
    assert 'unknown macro name "nosuch" in expansion request' in caplog.text
    assert "bad rbl reply template for domain und.test: $rbl_code $nosuch x" in caplog.text


def test_default_rbl_reply_names_the_unverified_client(tmp_path: Path) -> None:
    main_cf = "smtpd_recipient_restrictions = reject_rhsbl_reverse_client bl.test, permit\n"
    assert _check(tmp_path, main_cf, "a@mail.example.net", REVERSE_GOOD) == (
        "554 5.7.1 Service unavailable; Unverified Client host [good.example] blocked using"
        " bl.test; listed good"
    )


def test_allow_lists(tmp_path: Path) -> None:
    good = Client("192.0.2.200", "good.example", "client.example")

    def reply(restriction: str, recipient: str, client: Client = good) -> str:
        main_cf = (
            f"smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = {restriction}, reject\n"
        )
        return _check(tmp_path, main_cf, recipient, client)

    assert reply("permit_rhswl_client wl.test", "a@mail.example.net") == "250 2.1.5 Ok"
    # never an exception for a recipient we do not relay to
    assert reply("permit_rhswl_client wl.test", "a@elsewhere.test") == (
        "554 5.7.1 <a@elsewhere.test>: Recipient address rejected: Access denied"
    )
    assert reply("permit_dnswl_client wl.test", "a@elsewhere.test", OUTSIDE).startswith("554")
    # an allow list that cannot be asked turns the rejection into a deferral
    assert reply("permit_rhswl_client down.test", "a@mail.example.net") == (
        "450 4.7.1 <good.example>: Client host rejected: Service unavailable"
    )
    assert reply("permit_dnswl_client down.test", "a@mail.example.net") == (
        "450 4.7.1 <192.0.2.200>: Client host rejected: Service unavailable"
    )
    unknown = Client("192.0.2.200", "unknown", "client.example")
    assert reply("permit_rhswl_client wl.test", "a@mail.example.net", unknown).startswith("554")
