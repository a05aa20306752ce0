"""Automatic BCC addresses: the lookups behind sender_bcc_maps and recipient_bcc_maps."""

from __future__ import annotations

from pathlib import Path

from tests.routing_helpers import BASE, make_router
from vmail.core.address import Address
from vmail.rewrite.bcc import BccMaps


def test_lookups_and_the_null_sender(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        BASE
        + "sender_bcc_maps = inline:{ @example.org=copy@example.com }\n"
        + "recipient_bcc_maps = inline:{ bob@example.com=watch@example.com }\n"
        + "recipient_delimiter = +\n",
    )
    bcc = BccMaps(router.context, router.resolver.is_local)
    assert bcc
    assert bcc.for_sender(Address.from_internal("anyone@example.org")) == "copy@example.com"
    assert bcc.for_sender(Address.from_internal("")) is None  # bounces get none
    # user+ext@domain falls back to user@domain, as cleanup's lookups do
    assert bcc.for_recipient(Address.from_internal("bob+x@example.com")) == "watch@example.com"
    assert bcc.for_recipient(Address.from_internal("carol@example.com")) is None
    assert bcc.always == ""
    (tmp_path / "none").mkdir()
    assert not BccMaps(make_router(tmp_path / "none", BASE).context, lambda domain: False)
