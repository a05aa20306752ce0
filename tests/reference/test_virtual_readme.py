"""Postfix's Virtual Domain Hosting Howto (reference document 3), example by example."""

from __future__ import annotations

from pathlib import Path

from tests.routing_helpers import OUTSIDE, finals, make_router, route1


def test_shared_domain_in_mydestination_is_local(tmp_path: Path) -> None:
    router = make_router(
        tmp_path, "mydestination = $myhostname localhost.$mydomain localhost example.com\n"
    )
    report = route1(router, "info@example.com")
    assert finals(report) == [("info@example.com", "local", "mail.example.net")]
    assert report.deliveries[0].address_class == "local"


VIRTUAL_ALIAS = """\
postmaster@example.com postmaster
info@example.com       joe
sales@example.com      jane
# Uncomment entry below to implement a catch-all address
# @example.com         jim
"""


def test_virtual_alias_example(tmp_path: Path) -> None:
    main_cf = "virtual_alias_domains = example.com\nvirtual_alias_maps = hash:{dir}/virtual\n"
    router = make_router(tmp_path, main_cf, {"virtual": VIRTUAL_ALIAS})
    # aliases to UNIX accounts: unqualified results get @$myorigin, which is local
    assert finals(route1(router, "postmaster@example.com")) == [
        ("postmaster@mail.example.net", "local", "mail.example.net")
    ]
    assert finals(route1(router, "info@example.com")) == [
        ("joe@mail.example.net", "local", "mail.example.net")
    ]
    assert finals(route1(router, "sales@example.com")) == [
        ("jane@mail.example.net", "local", "mail.example.net")
    ]
    rejected = route1(router, "nobody@example.com")
    assert str(rejected.rcpt) == (
        "550 5.1.1 <nobody@example.com>: Recipient address rejected: "
        "User unknown in virtual alias table"
    )


def test_virtual_alias_catch_all(tmp_path: Path) -> None:
    main_cf = "virtual_alias_domains = example.com\nvirtual_alias_maps = hash:{dir}/virtual\n"
    table = VIRTUAL_ALIAS.replace("# @example.com         jim", "@example.com         jim")
    router = make_router(tmp_path, main_cf, {"virtual": table})
    assert finals(route1(router, "anything@example.com")) == [
        ("jim@mail.example.net", "local", "mail.example.net")
    ]
    assert finals(route1(router, "info@example.com")) == [
        ("joe@mail.example.net", "local", "mail.example.net")
    ]


VIRTUAL_MAILBOX_CF = """\
virtual_mailbox_domains = example.com
virtual_mailbox_base = /var/mail/vhosts
virtual_mailbox_maps = hash:{dir}/vmailbox
virtual_minimum_uid = 100
virtual_uid_maps = static:5000
virtual_gid_maps = static:5000
virtual_alias_maps = hash:{dir}/virtual
"""
VMAILBOX = """\
info@example.com    example.com/info
sales@example.com   example.com/sales/
# Comment out the entry below to implement a catch-all.
# @example.com      example.com/catchall
"""


def test_virtual_mailbox_example(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        VIRTUAL_MAILBOX_CF,
        {"vmailbox": VMAILBOX, "virtual": "postmaster@example.com postmaster\n"},
    )
    info = route1(router, "info@example.com")
    assert finals(info) == [("info@example.com", "virtual", "example.com")]
    assert info.deliveries[0].mailbox == "example.com/info"
    assert info.deliveries[0].detail == "delivers to mailbox"
    sales = route1(router, "sales@example.com")
    assert sales.deliveries[0].mailbox == "example.com/sales/"
    assert sales.deliveries[0].detail == "delivers to maildir"
    # mixing aliases with mailboxes: postmaster goes to the local postmaster
    assert finals(route1(router, "postmaster@example.com")) == [
        ("postmaster@mail.example.net", "local", "mail.example.net")
    ]
    unknown = route1(router, "nobody@example.com")
    assert str(unknown.rcpt) == (
        "550 5.1.1 <nobody@example.com>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )


def test_virtual_mailbox_catch_all(tmp_path: Path) -> None:
    table = VMAILBOX.replace(
        "# @example.com      example.com/catchall", "@example.com example.com/catchall"
    )
    router = make_router(tmp_path, VIRTUAL_MAILBOX_CF, {"vmailbox": table, "virtual": ""})
    report = route1(router, "whoever@example.com")
    assert report.rcpt.code == 250
    assert report.deliveries[0].mailbox == "example.com/catchall"


def test_non_postfix_mailbox_store(tmp_path: Path) -> None:
    for transport, expected in [
        ("lmtp:unix:/path/name", ("lmtp", "unix:/path/name")),
        ("lmtp:hostname:port", ("lmtp", "hostname:port")),
        ("maildrop:", ("maildrop", "example.com")),
    ]:
        router = make_router(
            tmp_path,
            f"virtual_transport = {transport}\nvirtual_mailbox_domains = example.com\n"
            "virtual_mailbox_maps = hash:{dir}/vmailbox\nvirtual_alias_maps = hash:{dir}/virtual\n",
            {
                "vmailbox": "info@example.com whatever\nsales@example.com whatever\n",
                "virtual": "postmaster@example.com postmaster\n",
            },
        )
        report = route1(router, "info@example.com")
        assert [(d.transport, d.nexthop) for d in report.deliveries] == [expected]
        assert route1(router, "other@example.com").rcpt.code == 550


FORWARDING = """\
postmaster@example.com postmaster
joe@example.com        joe@somewhere
jane@example.com       jane@somewhere-else
# Uncomment entry below to implement a catch-all address
# @example.com         jim@yet-another-site
"""


def test_mail_forwarding_domain(tmp_path: Path) -> None:
    main_cf = "virtual_alias_domains = example.com\nvirtual_alias_maps = hash:{dir}/virtual\n"
    router = make_router(tmp_path, main_cf, {"virtual": FORWARDING})
    assert finals(route1(router, "joe@example.com")) == [("joe@somewhere", "smtp", "somewhere")]
    assert finals(route1(router, "jane@example.com")) == [
        ("jane@somewhere-else", "smtp", "somewhere-else")
    ]
    assert route1(router, "bob@example.com").rcpt.code == 550
    # an outside client may send to the forwarding domain (we are its final destination)
    assert route1(router, "joe@example.com", OUTSIDE).rcpt.code == 250


def test_mailing_list_via_local_aliases(tmp_path: Path) -> None:
    main_cf = "virtual_alias_domains = example.com\nvirtual_alias_maps = hash:{dir}/virtual\n"
    table = (
        "listname-request@example.com listname-request\n"
        "listname@example.com         listname\n"
        "owner-listname@example.com   owner-listname\n"
    )
    router = make_router(tmp_path, main_cf, {"virtual": table})
    for name in ("listname", "listname-request", "owner-listname"):
        assert finals(route1(router, f"{name}@example.com")) == [
            (f"{name}@mail.example.net", "local", "mail.example.net")
        ]


def test_autoreply_copy_through_transport(tmp_path: Path) -> None:
    main_cf = (
        "virtual_mailbox_domains = domain.tld\nvirtual_mailbox_maps = hash:{dir}/vmailbox\n"
        "virtual_alias_maps = hash:{dir}/virtual\ntransport_maps = hash:{dir}/transport\n"
    )
    router = make_router(
        tmp_path,
        main_cf,
        {
            "virtual": "user@domain.tld user@domain.tld, user@domain.tld@autoreply.mydomain.tld\n",
            "transport": "autoreply.mydomain.tld  autoreply:\n",
            "vmailbox": "user@domain.tld domain.tld/user/\n",
        },
    )
    report = route1(router, "user@domain.tld")
    assert report.rcpt.code == 250
    assert finals(report) == [
        ("user@domain.tld", "virtual", "domain.tld"),
        ('"user@domain.tld"@autoreply.mydomain.tld', "autoreply", "autoreply.mydomain.tld"),
    ]
