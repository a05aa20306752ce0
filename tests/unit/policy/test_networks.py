from __future__ import annotations

from pathlib import Path

import pytest

from vmail.core.errors import ConfigError
from vmail.policy.networks import NetworkList, parse_network
from vmail.tables import open_table


@pytest.mark.parametrize(
    ("items", "ip", "expected"),
    [
        (["127.0.0.0/8"], "127.0.0.1", True),
        (["127.0.0.0/8"], "192.0.2.7", False),
        (["192.0.2.7"], "192.0.2.7", True),
        (["[::1]/128"], "::1", True),
        (["[2001:db8::]/32"], "2001:db8::5", True),
        (["!192.0.2.7", "192.0.2.0/24"], "192.0.2.7", False),
        (["!192.0.2.7", "192.0.2.0/24"], "192.0.2.8", True),
        (["cidr:{ {192.0.2.0/24 OK} }"], "192.0.2.99", True),
        (["inline:{192.0.2.1=ok}"], "192.0.2.1", True),
    ],
)
def test_match(items: list[str], ip: str, expected: bool) -> None:
    assert NetworkList("mynetworks", items, open_table).match(ip) is expected


def test_file_of_networks(tmp_path: Path) -> None:
    path = tmp_path / "nets"
    path.write_text("# ours\n10.1.0.0/16 10.2.0.0/16\n")
    assert NetworkList("mynetworks", [str(path)], open_table).match("10.2.3.4")


def test_bad_network_in_file(tmp_path: Path) -> None:
    path = tmp_path / "nets"
    path.write_text("10.1.0.0/99\n")
    with pytest.raises(ConfigError, match="bad network"):
        NetworkList("mynetworks", [str(path)], open_table)


def test_parse_network_rejects_names() -> None:
    assert parse_network("mail.example.com") is None
