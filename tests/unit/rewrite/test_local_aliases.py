from __future__ import annotations

from vmail.config import MainConfig
from vmail.core.address import Address
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.local_aliases import LocalAliasExpander, LocalTarget
from vmail.tables import Maps
from vmail.tables.base import Trace
from vmail.tables.simple import InlineTable

USERS = {"root", "joe"}


def _expander(aliases: dict[str, str]) -> LocalAliasExpander:
    canonical = Canonicalizer(MainConfig({"myhostname": "mail.example.net"}))
    return LocalAliasExpander(
        Maps("alias_maps", [InlineTable("inline:{aliases}", aliases)]),
        lambda name, trace: name in USERS,
        canonical,
        lambda domain: domain == "mail.example.net",
        "+",
    )


def _targets(aliases: dict[str, str], who: str) -> list[tuple[str, str, str]]:
    found = _expander(aliases).expand(Address.parse(f"{who}@mail.example.net"), Trace())
    return [(t.recipient.local, t.kind, t.target) for t in found]


def test_alias_chain_to_file_command_and_forward() -> None:
    aliases = {
        "postmaster": "root",
        "root": "/dev/null, |/usr/bin/logger, someone@elsewhere.example",
    }
    assert _targets(aliases, "postmaster") == [
        ("root", "file", "/dev/null"),
        ("root", "command", "/usr/bin/logger"),
        ("someone", "forward", ""),
    ]


def test_alias_in_its_own_expansion_goes_to_the_mailbox() -> None:
    assert _targets({"joe": "joe, copy@elsewhere.example"}, "joe") == [
        ("joe", "mailbox", "joe"),
        ("copy", "forward", ""),
    ]


def test_unknown_user() -> None:
    assert _targets({}, "nobody") == [("nobody", "unknown", "nobody")]


def test_extension_falls_back_to_base_alias() -> None:
    assert _targets({"list": ":include:/etc/list"}, "list+tag") == [
        ("list+tag", "include", "/etc/list")
    ]


def test_target_type() -> None:
    assert LocalTarget(Address.parse("a@b"), "mailbox").target == ""
