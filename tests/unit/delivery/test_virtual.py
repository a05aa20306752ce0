"""The virtual agent: virtual(5)-order lookups, uid/gid, loops, limits, results."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.delivery.virtual import DeliveryRequest, DeliveryResult, Status, VirtualAgent, atol
from vmail.tables import Maps

MESSAGE = b"Subject: hi\r\n\r\nbody\r\n"


def agent(tmp_path: Path, **settings: str) -> VirtualAgent:
    values = {
        "virtual_mailbox_base": str(tmp_path),
        "virtual_mailbox_maps": (
            "inline:{ user@example.com=example.com/user/, box@example.com=example.com/box, "
            "@catch.org=catch.org/all/, user+special@example.com=example.com/special/ }"
        ),
        "virtual_uid_maps": "static:5000",
        "virtual_gid_maps": "static:5000",
        "recipient_delimiter": "+",
        **settings,
    }
    text = "".join(f"{k} = {v}\n" for k, v in values.items())
    return VirtualAgent(MainConfig.from_text(text))


def deliver(a: VirtualAgent, rcpt: str, data: bytes = MESSAGE, orig: str = "") -> DeliveryResult:
    return a.deliver(DeliveryRequest("4ABC", "s@x.org", rcpt, orig), [data])


def new_files(tmp_path: Path, maildir: str) -> list[Path]:
    return sorted((tmp_path / maildir / "new").iterdir())


def test_maildir_delivery_golden(tmp_path: Path) -> None:
    result = deliver(agent(tmp_path), "User@Example.com", orig="alias@example.com")
    assert result == DeliveryResult(
        Status.SENT, "2.0.0", "delivered to maildir", f"{tmp_path}/example.com/user/"
    )
    [path] = new_files(tmp_path, "example.com/user")
    assert path.read_bytes() == (
        b"Return-Path: <s@x.org>\nX-Original-To: alias@example.com\n"
        b"Delivered-To: User@Example.com\nSubject: hi\n\nbody\n"
    )
    assert (result.status, result.dsn, result.text) == (
        Status.SENT,
        "2.0.0",
        "delivered to maildir",
    )


def test_mbox_delivery(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    result = deliver(agent(tmp_path), "box@example.com")
    assert (result.status, result.text) == (Status.SENT, "delivered to mailbox")
    assert (tmp_path / "example.com/box").read_bytes().startswith(b"From s@x.org  ")


def test_extension_then_base_then_catch_all(tmp_path: Path) -> None:
    a = agent(tmp_path)
    assert deliver(a, "user+special@example.com").mailbox == f"{tmp_path}/example.com/special/"
    assert deliver(a, "user+other@example.com").mailbox == f"{tmp_path}/example.com/user/"
    assert deliver(a, "anyone@catch.org").mailbox == f"{tmp_path}/catch.org/all/"


def test_unknown_user_bounces_with_virtual8_text(tmp_path: Path) -> None:
    result = deliver(agent(tmp_path), "Nobody@Example.com")
    assert result == DeliveryResult(Status.BOUNCED, "5.1.1", 'unknown user: "nobody@example.com"')


def test_bare_localpart_is_not_looked_up(tmp_path: Path) -> None:
    a = agent(tmp_path, virtual_mailbox_maps="inline:{ user=example.com/user/ }")
    assert deliver(a, "user@example.com").status is Status.BOUNCED


def test_lookup_failure_defers(tmp_path: Path) -> None:
    result = deliver(agent(tmp_path, virtual_mailbox_maps="fail:down"), "user@example.com")
    assert result == DeliveryResult(Status.DEFERRED, "4.3.5", "mail system configuration error")
    result = deliver(agent(tmp_path, virtual_uid_maps="fail:down"), "user@example.com")
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.3.5")


@pytest.mark.parametrize(
    ("uid_maps", "gid_maps", "ok"),
    [
        ("static:5000", "static:5000", True),
        ("static:99", "static:5000", False),  # below virtual_minimum_uid = 100
        ("static:100", "static:5000", True),
        ("static:abc", "static:5000", False),
        ("static:5000", "static:0", False),
        ("inline:{ other@example.com=5000 }", "static:5000", False),
        ("inline:{ @example.com=5000 }", "inline:{ user@example.com=6000 }", True),
    ],
)
def test_uid_gid_maps(tmp_path: Path, uid_maps: str, gid_maps: str, ok: bool) -> None:
    result = deliver(
        agent(tmp_path, virtual_uid_maps=uid_maps, virtual_gid_maps=gid_maps), "user@example.com"
    )
    if ok:
        assert result.status is Status.SENT
    else:
        assert result == DeliveryResult(Status.DEFERRED, "4.3.5", "mail system configuration error")


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership needs root")
def test_files_belong_to_the_mapped_ids(tmp_path: Path) -> None:
    a = agent(
        tmp_path,
        virtual_uid_maps="inline:{ @example.com=5000 }",
        virtual_gid_maps="inline:{ user@example.com=6000 }",
    )
    deliver(a, "user@example.com")
    [path] = new_files(tmp_path, "example.com/user")
    assert (path.stat().st_uid, path.stat().st_gid) == (5000, 6000)


def test_minimum_uid_is_configurable(tmp_path: Path) -> None:
    a = agent(tmp_path, virtual_uid_maps="static:50", virtual_minimum_uid="10")
    assert deliver(a, "user@example.com").status is Status.SENT


def test_atol() -> None:
    assert [atol(s) for s in ("5000", " 42x", "abc", "-3", "")] == [5000, 42, 0, -3, 0]


def test_loop_detection(tmp_path: Path) -> None:
    looped = b"Delivered-To: other@example.com\r\nDelivered-To: USER@example.com\r\n\r\nx\r\n"
    result = deliver(agent(tmp_path), "user@example.com", looped)
    assert result == DeliveryResult(
        Status.BOUNCED, "5.4.6", "mail forwarding loop for user@example.com"
    )
    # a Delivered-To line in the body is not a header
    fine = b"Subject: x\r\n\r\nDelivered-To: user@example.com\r\n"
    assert deliver(agent(tmp_path), "user@example.com", fine).status is Status.SENT
    off = VirtualAgent(agent(tmp_path).config, loop_detection=False)
    assert deliver(off, "user@example.com", looped).status is Status.SENT


def test_size_limit_bounces_mailbox_full(tmp_path: Path) -> None:
    a = agent(tmp_path, virtual_mailbox_limit="2000", message_size_limit="1000")
    result = deliver(a, "user@example.com", b"x" * 3000)
    assert result.status is Status.BOUNCED
    assert result.dsn == "5.2.2"
    assert result.text == "maildir delivery failed: error writing message: File too large"
    assert new_files(tmp_path, "example.com/user") == []


def test_mbox_failure_text(tmp_path: Path) -> None:
    result = deliver(agent(tmp_path), "box@example.com")  # directory example.com missing
    assert result.status is Status.DEFERRED
    assert result.text.startswith(f"delivery failed to mailbox {tmp_path}/example.com/box: ")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"virtual_mailbox_base": "relative"}, "relative pathname"),
        ({"virtual_mailbox_base": ""}, "relative pathname"),
        ({"virtual_mailbox_limit": "1000"}, "smaller than message_size_limit"),
        ({"message_size_limit": "0"}, "limited but message_size_limit is unlimited"),
    ],
)
def test_configuration_errors(tmp_path: Path, settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        agent(tmp_path, **settings)


def test_pattern_table_cannot_escape_the_base(tmp_path: Path) -> None:
    rules = tmp_path / "maps.regexp"
    rules.write_text("/^(.*)@example\\.com$/ example.com/$1/\n")
    base = tmp_path / "base"
    base.mkdir()
    a = agent(base, virtual_mailbox_maps=f"regexp:{rules}")
    for local in ("../../etc", "a/../../../x"):
        result = deliver(a, f"{local}@example.com")
        assert (result.status, result.dsn) == (Status.DEFERRED, "4.3.5"), local
    # keys are in external form: these local parts are quoted, so they are plain names
    for local in ("..", "$(id);`id`|x"):
        assert deliver(a, f"{local}@example.com").status is Status.SENT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "maps.regexp"]
    assert sorted(p.name for p in (base / "example.com").iterdir()) == [
        '"$(id);`id`|x"',
        '".."',
    ]


def test_async_delivery(tmp_path: Path) -> None:
    a = agent(tmp_path)
    request = DeliveryRequest("Q", "", "user@example.com")
    result = asyncio.run(a.deliver_async(request, MESSAGE))
    assert result.status is Status.SENT
    [path] = new_files(tmp_path, "example.com/user")
    assert path.read_bytes().startswith(b"Return-Path: <>\nDelivered-To: user@example.com\n")


def test_found_answers_are_cached_for_a_second(tmp_path: Path) -> None:
    now = [0.0]
    config = agent(tmp_path).config
    a = VirtualAgent(config, clock=lambda: now[0])
    asked: list[str] = []
    real_maps = a.context.maps

    def counting_maps(parameter: str) -> Maps:
        asked.append(parameter)
        return real_maps(parameter)

    a.context.maps = counting_maps  # type: ignore[method-assign]
    assert deliver(a, "user@example.com").status is Status.SENT
    assert len(asked) == 3  # mailbox, uid, gid
    now[0] = 0.9
    assert deliver(a, "user@example.com").status is Status.SENT
    assert len(asked) == 3
    assert deliver(a, "nobody@example.com").status is Status.BOUNCED
    assert deliver(a, "nobody@example.com").status is Status.BOUNCED
    assert len(asked) == 5  # "not found" is asked again every time
    now[0] = 1.1
    assert deliver(a, "user@example.com").status is Status.SENT
    assert len(asked) == 8
