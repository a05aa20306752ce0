"""A DNS resolver for restriction tests: fixed answers, no network."""

from __future__ import annotations

from typing import ClassVar

from vmail.dns import DnsLookupError, LookupStatus, MxRecord


class FakeDNS:
    """Known domains exist, ``broken.example`` fails, everything else does not exist;
    the DNS lists ``bl.test`` and ``wl.test`` list 192.0.2.7 (the outside client) and the
    names ``spam.example`` and ``good.example`` (see ``LISTED``, ``TXT``); ``down.test``
    fails. The MX, NS and address records of
    ``ZONE`` (a copy of what the Postfix comparison served) answer the check_*_mx_access
    family and permit_mx_backup; names under ``fail.test`` fail."""

    LISTED: ClassVar[dict[str, list[str]]] = {
        "7.2.0.192.bl.test": ["127.0.0.2"],
        "7.2.0.192.wl.test": ["127.0.0.5"],
        "spam.example.bl.test": ["127.0.1.2"],
        "good.example.bl.test": ["127.0.0.2"],
        "good.example.wl.test": ["127.0.0.2"],
        "sp.example.bl.test": ["127.0.0.3"],
        "good.example.bad.test": ["127.0.0.2"],
        "good.example.und.test": ["127.0.0.2"],
    }
    TXT: ClassVar[dict[str, list[str]]] = {
        "7.2.0.192.bl.test": ["see https://bl.test/q"],
        "7.2.0.192.wl.test": ["see https://bl.test/q"],
        "spam.example.bl.test": ["see https://bl.test/q"],
        "good.example.bl.test": ["listed good"],
        "sp.example.bl.test": ['a $rbl_code b" c', "second one"],
    }
    ZONE: ClassVar[dict[tuple[str, str], list[str]]] = {
        ("mx.test", "MX"): ["10 mx1.mx.test", "20 mx2.other.test"],
        ("mx1.mx.test", "A"): ["192.0.2.11"],
        ("mx2.other.test", "A"): ["198.51.100.22"],
        ("host.test", "A"): ["192.0.2.33"],
        ("nullmx.test", "MX"): ["0 "],
        ("zone.test", "NS"): ["ns1.zone.test"],
        ("ns1.zone.test", "A"): ["192.0.2.44"],
        ("sub.zone.test", "A"): ["192.0.2.45"],
        ("backup.test", "MX"): ["10 primary.far.test", "20 mx.me.test"],
        ("primary.far.test", "A"): ["198.51.100.1"],
        ("mx.me.test", "A"): ["192.0.2.10"],
        ("primary.test", "MX"): ["10 mx.me.test"],
        ("brokenmx.test", "MX"): ["10 nowhere.test", "20 mx.me.test"],
        ("failmx.test", "MX"): ["10 x.fail.test", "20 mx.me.test"],
        ("namebackup.test", "MX"): ["10 primary.far.test", "20 mail.example.net"],
        ("lit.test", "MX"): ["10 192.0.2.99"],
    }

    def domain_exists(self, domain: str) -> bool | None:
        if domain == "broken.example":
            return None
        return domain in {"exists.example"}

    def lookup_a(self, name: str) -> list[str] | None:
        return None if name.endswith(".down.test") else self.LISTED.get(name, [])

    def lookup_txt(self, name: str) -> list[str]:
        return self.TXT.get(name, [])

    def _records(self, name: str, rtype: str) -> list[str]:
        if name.endswith("fail.test"):
            raise DnsLookupError(name, rtype, LookupStatus.TRY_AGAIN)
        found = self.ZONE.get((name, rtype))
        if found is not None:
            return found
        if any(n == name or n.endswith("." + name) for n, _ in self.ZONE):
            return []
        raise DnsLookupError(name, rtype, LookupStatus.NOT_FOUND)

    def lookup_mx(self, domain: str) -> list[MxRecord]:
        pairs = (record.split(" ") for record in self._records(domain, "MX"))
        return [MxRecord(int(preference), host) for preference, host in pairs]

    def lookup_ns(self, domain: str) -> list[str]:
        return self._records(domain, "NS")

    def lookup_host(self, host: str) -> list[str]:
        found = self._records(host, "A")
        if not found:
            raise DnsLookupError(host, "A", LookupStatus.NO_DATA)
        return found

    lookup_addresses = lookup_host
