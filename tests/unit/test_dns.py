"""The MX resolver: dnspython answers mapped to Postfix's name service errors.

dnspython's resolve() is replaced (DNS is the one thing tests fake); the mapping of its
exceptions and answers is what is tested.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import dns.exception
import dns.resolver
import pytest

from vmail.dns import DnsLookupError, DnsPythonMxResolver, LookupStatus, MxRecord, native_addresses


class Text:
    def __init__(self, text: str) -> None:
        self.text = text

    def to_text(self) -> str:
        return self.text


def resolver(answers: dict[tuple[str, str], list[str] | type[Exception]]) -> DnsPythonMxResolver:
    result = DnsPythonMxResolver()

    def resolve(name: str, rtype: str, search: bool = False) -> list[Text]:
        answer = answers.get((name, rtype), dns.resolver.NXDOMAIN)
        if isinstance(answer, type):
            raise answer()
        return [Text(t) for t in answer]

    result._resolver.resolve = resolve  # type: ignore[method-assign,assignment]
    return result


def test_mx_records() -> None:
    r = resolver({("example.com", "MX"): ["10 mx1.example.com.", "20 mx2.example.com."]})
    assert r.lookup_mx("example.com") == [
        MxRecord(10, "mx1.example.com"),
        MxRecord(20, "mx2.example.com"),
    ]


def test_null_mx() -> None:
    assert resolver({("n.test", "MX"): ["0 ."]}).lookup_mx("n.test") == [MxRecord(0, "")]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (dns.resolver.NXDOMAIN, LookupStatus.NOT_FOUND),
        (dns.resolver.NoNameservers, LookupStatus.TRY_AGAIN),
        (dns.exception.Timeout, LookupStatus.TRY_AGAIN),
    ],
)
def test_mx_errors(error: type[Exception], status: LookupStatus) -> None:
    with pytest.raises(DnsLookupError) as info:
        resolver({("x.test", "MX"): error}).lookup_mx("x.test")
    assert info.value.status is status
    assert str(info.value) == f"Name service error for name=x.test type=MX: {status.value}"
    assert info.value.temporary == (status is LookupStatus.TRY_AGAIN)


def test_no_mx_is_empty() -> None:
    assert resolver({("x.test", "MX"): dns.resolver.NoAnswer}).lookup_mx("x.test") == []


def test_addresses() -> None:
    r = resolver({("h.test", "A"): ["192.0.2.1"], ("h.test", "AAAA"): ["2001:db8::1"]})
    assert r.lookup_addresses("h.test") == ["192.0.2.1", "2001:db8::1"]
    r = resolver({("h.test", "A"): dns.resolver.NoAnswer, ("h.test", "AAAA"): ["2001:db8::1"]})
    assert r.lookup_addresses("h.test") == ["2001:db8::1"]


@pytest.mark.parametrize(
    ("a", "aaaa", "status"),
    [
        (dns.resolver.NXDOMAIN, dns.resolver.NXDOMAIN, LookupStatus.NOT_FOUND),
        (dns.resolver.NXDOMAIN, dns.exception.Timeout, LookupStatus.TRY_AGAIN),
        (dns.resolver.NoAnswer, dns.resolver.NoAnswer, LookupStatus.NO_DATA),
    ],
)
def test_address_errors(a: type[Exception], aaaa: type[Exception], status: LookupStatus) -> None:
    with pytest.raises(DnsLookupError) as info:
        resolver({("h.test", "A"): a, ("h.test", "AAAA"): aaaa}).lookup_addresses("h.test")
    assert info.value.status is status


def test_native_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "127.0.0.1" in native_addresses("127.0.0.1")

    def fail(errno: int) -> Callable[..., object]:
        def getaddrinfo(*args: object, **kwargs: object) -> object:
            raise socket.gaierror(errno, "failed")

        return getaddrinfo

    monkeypatch.setattr(socket, "getaddrinfo", fail(socket.EAI_NONAME))
    with pytest.raises(DnsLookupError) as info:
        native_addresses("nowhere.invalid")
    assert info.value.status is LookupStatus.NOT_FOUND
    monkeypatch.setattr(socket, "getaddrinfo", fail(socket.EAI_AGAIN))
    with pytest.raises(DnsLookupError) as info:
        native_addresses("nowhere.invalid")
    assert info.value.temporary


def test_domain_exists_as_postfixs_reject_unknown_domain_asks() -> None:
    r = resolver(
        {
            ("mx.test", "MX"): ["10 mail.mx.test."],
            ("a.test", "MX"): [],
            ("a.test", "A"): ["192.0.2.1"],
            ("six.test", "MX"): [],
            ("six.test", "A"): [],
            ("six.test", "AAAA"): ["2001:db8::1"],
            ("bare.test", "MX"): [],
            ("bare.test", "A"): [],
            ("bare.test", "AAAA"): [],
            ("down.test", "MX"): dns.exception.Timeout,
            ("down.test", "A"): dns.exception.Timeout,
            ("down.test", "AAAA"): dns.exception.Timeout,
            ("half.test", "MX"): dns.exception.Timeout,
            ("half.test", "A"): ["192.0.2.2"],
        }
    )
    assert r.domain_exists("mx.test") is True
    assert r.domain_exists("a.test") is True
    assert r.domain_exists("six.test") is True
    assert r.domain_exists("bare.test") is False  # exists, but no record mail can use
    assert r.domain_exists("nx.test") is False
    assert r.domain_exists("down.test") is None
    assert r.domain_exists("half.test") is True


def test_dns_list_lookups() -> None:
    r = resolver(
        {
            ("2.0.0.127.bl.test", "A"): ["127.0.0.2"],
            ("2.0.0.127.bl.test", "TXT"): ['"listed" " here"', '"say \\"hi\\" \\0651"'],
            ("down.bl.test", "A"): dns.exception.Timeout,
            ("empty.bl.test", "A"): dns.resolver.NoAnswer,
        }
    )
    assert r.lookup_a("2.0.0.127.bl.test") == ["127.0.0.2"]
    assert r.lookup_a("9.0.0.127.bl.test") == []  # NXDOMAIN: not listed
    assert r.lookup_a("empty.bl.test") == []
    assert r.lookup_a("down.bl.test") is None
    assert r.lookup_txt("2.0.0.127.bl.test") == ["listed here", 'say "hi" A1']
    assert r.lookup_txt("9.0.0.127.bl.test") == []


def test_no_resolver_configuration_falls_back_to_a_local_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = dns.resolver.Resolver

    def unconfigured(configure: bool = True) -> dns.resolver.Resolver:
        if configure:
            raise dns.resolver.NoResolverConfiguration("no /etc/resolv.conf")
        return real(configure=False)

    monkeypatch.setattr(dns.resolver, "Resolver", unconfigured)
    assert DnsPythonMxResolver()._resolver.nameservers == ["127.0.0.1"]


def test_name_servers() -> None:
    r = resolver({("zone.test", "NS"): ["ns1.zone.test.", "ns2.zone.test."]})
    assert r.lookup_ns("zone.test") == ["ns1.zone.test", "ns2.zone.test"]
    with pytest.raises(DnsLookupError) as info:
        r.lookup_ns("nx.test")
    assert info.value.status is LookupStatus.NOT_FOUND
    # how Postfix words a host it looked up with getaddrinfo
    assert info.value.resolver_text == "Name or service not known"
