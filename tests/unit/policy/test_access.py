from __future__ import annotations

import pytest

from vmail.core.address import Address
from vmail.policy.access import Action, address_keys, client_keys, domain_keys, parse_action


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("OK", Action("OK")),
        ("ok", Action("OK")),
        ("200", Action("OK")),
        ("DUNNO", Action("DUNNO")),
        ("REJECT", Action("REJECT")),
        ("REJECT no thanks", Action("REJECT", text="no thanks")),
        ("REJECT 5.7.9 policy", Action("REJECT", dsn="5.7.9", text="policy")),
        ("550 go away", Action("CODE", 550, "", "go away")),
        ("550 5.1.1 gone", Action("CODE", 550, "5.1.1", "gone")),
        ("450 4.7.1 later", Action("CODE", 450, "4.7.1", "later")),
        ("DEFER_IF_PERMIT", Action("DEFER_IF_PERMIT")),
        (
            "permit_mynetworks, reject",
            Action("RESTRICTIONS", restrictions=("permit_mynetworks", "reject")),
        ),
    ],
)
def test_parse_action(value: str, expected: Action) -> None:
    assert parse_action(value) == expected


def test_address_keys_order() -> None:
    keys = [k for k, _ in address_keys(Address.parse("user+ext@a.example.com"), "+", True)]
    assert keys == [
        "user+ext@a.example.com",
        "user@a.example.com",
        "a.example.com",
        "example.com",
        "com",
        "user+ext@",
        "user@",
    ]


def test_only_the_full_address_is_asked_of_pattern_tables() -> None:
    partial = dict(address_keys(Address.parse("user@example.com"), "", False))
    assert partial["user@example.com"] is False
    assert all(partial[k] for k in partial if k != "user@example.com")


def test_domain_keys_dotted() -> None:
    assert list(domain_keys("A.Example.com.", False)) == ["a.example.com", ".example.com", ".com"]


def test_client_keys() -> None:
    assert list(client_keys("192.0.2.7")) == ["192.0.2.7", "192.0.2", "192.0", "192"]
    assert next(client_keys("2001:db8::1")) == "2001:db8::1"
