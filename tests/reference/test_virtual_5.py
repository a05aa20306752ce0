"""The virtual(5) text (reference document 1): alias semantics, lookup order, extensions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routing_helpers import finals, make_router, route1

TYPICAL = """\
virtual.domain      anything (the right-hand content does not matter)
user1@virtual.domain address1@elsewhere.example
user2@virtual.domain address2@elsewhere.example, address3@elsewhere.example
"""


def test_typical_virtual_domain_accepts_listed_and_rejects_unknown(tmp_path: Path) -> None:
    router = make_router(
        tmp_path, "virtual_alias_maps = hash:{dir}/virtual\n", {"virtual": TYPICAL}
    )
    ok = route1(router, "user2@virtual.domain")
    assert ok.rcpt.code == 250
    assert finals(ok) == [
        ("address2@elsewhere.example", "smtp", "elsewhere.example"),
        ("address3@elsewhere.example", "smtp", "elsewhere.example"),
    ]
    assert all(d.original_recipient == "user2@virtual.domain" for d in ok.deliveries)
    unknown = route1(router, "unknown@virtual.domain")
    assert str(unknown.rcpt) == (
        "550 5.1.1 <unknown@virtual.domain>: Recipient address rejected: "
        "User unknown in virtual alias table"
    )


LOOKUP_ORDER = """\
user@example.com    full@dest.example
user                localpart@dest.example
@example.com        catchall@dest.example
"""


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        # user@domain has the highest priority
        ("user@example.com", "full@dest.example"),
        # user applies only when the domain is local ($mydestination)
        ("user@mail.example.net", "localpart@dest.example"),
        ("user@localhost", "localpart@dest.example"),
        # @domain has the lowest priority
        ("other@example.com", "catchall@dest.example"),
    ],
)
def test_lookup_order(tmp_path: Path, address: str, expected: str) -> None:
    router = make_router(
        tmp_path,
        "virtual_alias_domains = example.com\nvirtual_alias_maps = hash:{dir}/virtual\n",
        {"virtual": LOOKUP_ORDER},
    )
    assert [d.recipient for d in route1(router, address).deliveries] == [expected]


def test_localpart_form_not_used_for_nonlocal_domains(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        "virtual_alias_domains = other.example\nvirtual_alias_maps = hash:{dir}/virtual\n",
        {"virtual": "user  localpart@dest.example\n"},
    )
    report = route1(router, "user@other.example")
    assert report.rcpt.code == 550  # user (without domain) does not match other.example


def test_at_otherdomain_keeps_the_user(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        "virtual_alias_domains = old.example\nvirtual_alias_maps = hash:{dir}/virtual\n",
        {"virtual": "@old.example  @new.example, archive@new.example\n"},
    )
    report = route1(router, "jane@old.example")
    # only the first address of the result gets the user
    assert [d.recipient for d in report.deliveries] == ["jane@new.example", "archive@new.example"]


EXTENSIONS = """\
user@example.com    base@dest.example
@example.com        catchall@dest.example
"""


def test_extension_lookup_order_and_propagation(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        "recipient_delimiter = +\nvirtual_alias_domains = example.com\n"
        "virtual_alias_maps = hash:{dir}/virtual\n",
        {"virtual": EXTENSIONS},
    )
    report = route1(router, "user+foo@example.com")
    # user+foo@example.com is not listed; user@example.com matches, and the unmatched
    # extension is propagated to the result
    assert [d.recipient for d in report.deliveries] == ["base+foo@dest.example"]
    keys = [e.key for e in report.lookups if e.table.startswith("hash:")]
    assert keys.index("user+foo@example.com") < keys.index("user@example.com")


def test_extension_localpart_forms_for_local_domain(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        "recipient_delimiter = +\nvirtual_alias_maps = hash:{dir}/virtual\n",
        {"virtual": "user  base@dest.example\n"},
    )
    report = route1(router, "user+foo@mail.example.net")
    assert [d.recipient for d in report.deliveries] == ["base+foo@dest.example"]
    keys = [e.key for e in report.lookups if e.table.startswith("hash:")]
    order = ["user+foo@mail.example.net", "user@mail.example.net", "user+foo", "user"]
    assert [k for k in keys if k in order][:4] == order


def test_envelope_only_and_recursive(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        "virtual_alias_domains = example.com\nvirtual_alias_maps = hash:{dir}/virtual\n",
        {"virtual": "a@example.com b@example.com\nb@example.com c@dest.example\n"},
    )
    report = route1(router, "a@example.com")
    assert [d.recipient for d in report.deliveries] == ["c@dest.example"]
    assert report.deliveries[0].original_recipient == "a@example.com"
