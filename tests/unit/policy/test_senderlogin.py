"""reject_*_sender_login_mismatch with smtpd_sender_login_maps, Postfix's replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routing_helpers import BASE
from vmail.config import MainConfig
from vmail.policy.evaluation import Client
from vmail.route import Router

MAPS = (
    "virtual_mailbox_domains = example.com\n"
    "virtual_mailbox_maps = inline:{ alice@example.com=a/, bob@example.com=b/ }\n"
    "recipient_delimiter = +\n"
    "smtpd_sender_login_maps = inline:{ alice@example.com=alice@example.com, "
    "{shared@example.com=alice@example.com, bob@example.com}, @corp.example=boss }\n"
)
RCPT = "bob@example.com"
ALICE = Client("192.0.2.7", "unknown", "h", "alice@example.com")
BOB = Client("192.0.2.7", "unknown", "h", "bob@example.com")
ANON = Client("192.0.2.7", "unknown", "h")
BOSS = Client("192.0.2.7", "unknown", "h", "BOSS")


def reply(tmp_path: Path, restriction: str, client: Client, sender: str, extra: str = "") -> str:
    main_cf = MAPS + f"smtpd_sender_restrictions = {restriction}\n" + extra
    (tmp_path / "main.cf").write_text(BASE + main_cf)
    router = Router(MainConfig.load(tmp_path))
    return str(router.route([RCPT], client, sender)[0].rcpt)


OK = "250 2.1.5 Ok"


def owned(sender: str, login: str) -> str:
    return f"553 5.7.1 <{sender}>: Sender address rejected: not owned by user {login}"


def not_logged_in(sender: str) -> str:
    return f"553 5.7.1 <{sender}>: Sender address rejected: not logged in"


@pytest.mark.parametrize(
    ("restriction", "client", "sender", "expected"),
    [
        # reject_sender_login_mismatch: both directions, unknown senders need a login owner
        ("reject_sender_login_mismatch", ALICE, "alice@example.com", OK),
        ("reject_sender_login_mismatch", ALICE, "alice+tag@example.com", OK),
        ("reject_sender_login_mismatch", ALICE, "Alice@Example.COM", OK),
        ("reject_sender_login_mismatch", BOB, "alice@example.com", owned("alice@example.com", "bob@example.com")),
        ("reject_sender_login_mismatch", BOB, "shared@example.com", OK),
        ("reject_sender_login_mismatch", ALICE, "other@elsewhere.example", owned("other@elsewhere.example", "alice@example.com")),
        ("reject_sender_login_mismatch", ANON, "alice@example.com", not_logged_in("alice@example.com")),
        ("reject_sender_login_mismatch", ANON, "other@elsewhere.example", OK),
        ("reject_sender_login_mismatch", ANON, "", OK),
        ("reject_sender_login_mismatch", ALICE, "", OK),
        ("reject_sender_login_mismatch", BOSS, "anyone@corp.example", OK),
        ("reject_sender_login_mismatch", ALICE, "anyone@corp.example", owned("anyone@corp.example", "alice@example.com")),
        # authenticated only
        ("reject_authenticated_sender_login_mismatch", ANON, "alice@example.com", OK),
        ("reject_authenticated_sender_login_mismatch", BOB, "alice@example.com", owned("alice@example.com", "bob@example.com")),
        ("reject_authenticated_sender_login_mismatch", ALICE, "x@elsewhere.example", owned("x@elsewhere.example", "alice@example.com")),
        # known: unlisted senders pass for logged-in clients
        ("reject_known_sender_login_mismatch", ALICE, "x@elsewhere.example", OK),
        ("reject_known_sender_login_mismatch", BOB, "alice@example.com", owned("alice@example.com", "bob@example.com")),
        ("reject_known_sender_login_mismatch", ANON, "alice@example.com", not_logged_in("alice@example.com")),
        # unauthenticated only
        ("reject_unauthenticated_sender_login_mismatch", BOB, "alice@example.com", OK),
        ("reject_unauthenticated_sender_login_mismatch", ANON, "alice@example.com", not_logged_in("alice@example.com")),
        ("reject_unauthenticated_sender_login_mismatch", ANON, "x@elsewhere.example", OK),
    ],
)  # fmt: skip
def test_login_mismatch(
    tmp_path: Path, restriction: str, client: Client, sender: str, expected: str
) -> None:
    assert reply(tmp_path, restriction, client, sender) == expected


def test_without_maps_nothing_is_checked(tmp_path: Path) -> None:
    (tmp_path / "main.cf").write_text(
        BASE + "smtpd_sender_restrictions = reject_sender_login_mismatch\n"
    )
    router = Router(MainConfig.load(tmp_path))
    assert str(router.route(["postmaster@localhost"], BOB, "a@b.example")[0].rcpt) == OK


def test_soft_bounce_turns_it_into_453(tmp_path: Path) -> None:
    got = reply(
        tmp_path, "reject_sender_login_mismatch", BOB, "alice@example.com", "soft_bounce = yes\n"
    )
    assert (
        got
        == "453 4.7.1 <alice@example.com>: Sender address rejected: not owned by user bob@example.com"
    )


def test_unreadable_table_is_a_configuration_error(tmp_path: Path) -> None:
    main_cf = (
        "smtpd_sender_restrictions = reject_sender_login_mismatch\n"
        f"smtpd_sender_login_maps = hash:{tmp_path}/missing\n"
    )
    (tmp_path / "main.cf").write_text(BASE + main_cf)
    router = Router(MainConfig.load(tmp_path))
    got = str(router.route(["postmaster@localhost"], BOB, "a@b.example")[0].rcpt)
    assert got.startswith("451 4.")
