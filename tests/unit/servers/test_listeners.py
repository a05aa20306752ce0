"""Where master.cf inet services listen."""

from __future__ import annotations

import pytest

from vmail.config import MainConfig
from vmail.config.master import MasterConfig
from vmail.core.errors import ConfigError
from vmail.servers.listeners import Endpoint, endpoints


def _endpoints(name: str, interfaces: str = "all") -> list[Endpoint]:
    service = MasterConfig.from_text(f"{name} inet n - n - - smtpd\n").services[0]
    return endpoints(service, MainConfig.from_text(f"inet_interfaces = {interfaces}\n"))


def test_port_forms() -> None:
    assert _endpoints("smtp") == [Endpoint(None, 25)]
    assert _endpoints("submission") == [Endpoint(None, 587)]
    assert _endpoints("2525") == [Endpoint(None, 2525)]
    assert _endpoints("127.0.0.1:0") == [Endpoint("127.0.0.1", 0)]
    assert _endpoints("[::1]:2525") == [Endpoint("::1", 2525)]


def test_inet_interfaces() -> None:
    assert _endpoints("smtp", "loopback-only") == [Endpoint("127.0.0.1", 25)]
    assert _endpoints("smtp", "192.0.2.1, 127.0.0.1") == [
        Endpoint("192.0.2.1", 25),
        Endpoint("127.0.0.1", 25),
    ]


@pytest.mark.parametrize("name", ["nosuchservice", "99999"])
def test_bad_ports(name: str) -> None:
    with pytest.raises(ConfigError):
        _endpoints(name)
