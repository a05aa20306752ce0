"""canonical(5) mapping: classes, order, search forms, results and recursion."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.routing_helpers import BASE, make_router
from vmail.core.address import Address
from vmail.rewrite.canonicalmaps import CanonicalMaps


def _maps(tmp_path: Path, settings: str) -> CanonicalMaps:
    router = make_router(tmp_path, BASE + "recipient_delimiter = +\n" + settings)
    return router.canonical_maps


def _map(maps: CanonicalMaps, address: str, kind: str) -> str:
    return maps.map(Address.from_internal(address), kind).internal


def test_kinds_and_order(tmp_path: Path) -> None:
    maps = _maps(
        tmp_path,
        "sender_canonical_maps = inline:{ a@x.example=b@x.example }\n"
        "canonical_maps = inline:{ b@x.example=c@x.example, r@x.example=s@x.example }\n"
        "recipient_canonical_classes = envelope_recipient\n",
    )
    # the sender's table first, then canonical_maps on its result
    assert _map(maps, "a@x.example", "envelope_sender") == "c@x.example"
    assert _map(maps, "a@x.example", "header_sender") == "c@x.example"
    assert _map(maps, "a@x.example", "envelope_recipient") == "a@x.example"
    assert _map(maps, "r@x.example", "header_recipient") == "s@x.example"
    assert maps.applies("header_recipient")  # canonical_maps' classes include it
    (tmp_path / "none").mkdir()
    assert not _maps(tmp_path / "none", "")


def test_search_forms_results_and_extensions(tmp_path: Path) -> None:
    maps = _maps(
        tmp_path,
        "canonical_maps = inline:{ joe@old.example=Joe.Doe@new.example,"
        " @legacy.example=@new.example, root=admin@new.example }\n",
    )
    kind = "envelope_recipient"
    assert _map(maps, "joe+tag@old.example", kind) == "Joe.Doe+tag@new.example"  # propagated
    assert _map(maps, "anyone@legacy.example", kind) == "anyone@new.example"  # @otherdomain
    assert _map(maps, "root@mail.example.net", kind) == "admin@new.example"  # local domain
    assert _map(maps, "root@elsewhere.example", kind) == "root@elsewhere.example"


def test_recursion_stops_at_itself_and_at_ten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    maps = _maps(
        tmp_path,
        "canonical_maps = inline:{ a@x.example=b@x.example, b@x.example=b@x.example,"
        " p@x.example=q@x.example, q@x.example=p@x.example }\n",
    )
    assert _map(maps, "a@x.example", "envelope_sender") == "b@x.example"
    with caplog.at_level(logging.WARNING):
        _map(maps, "p@x.example", "envelope_sender")
    assert any("unreasonable canonical_maps map nesting" in m for m in caplog.messages)
