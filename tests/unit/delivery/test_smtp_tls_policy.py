"""smtp_tls_policy_maps / lmtp_tls_policy_maps: per-destination TLS levels and attributes.

The expected texts were compared with the real Postfix 3.7.11 (a private instance,
tests/oracle/postfix.py, relaying through ``transport_maps`` to SmtpSink servers with
and without STARTTLS, the same certificate and ``texthash:`` policy table). Its log said:

* ``encrypt``, no STARTTLS: ``dsn=4.7.4, status=deferred (TLS is required, but was not
  offered by host 127.0.0.1[127.0.0.1])``; with STARTTLS: ``status=sent``.
* a bad entry: ``warning: smtp_tls_policy_maps, next-hop destination
  "[127.0.0.1]:47645": invalid security level "bogus"``, then ``warning: TLS policy
  lookup for [127.0.0.1]:47645/127.0.0.1: client TLS configuration problem`` and
  ``relay=none, dsn=4.7.5, status=deferred (client TLS configuration problem)``; no
  connection is made. Likewise ``invalid attribute name: "foo"``, ``malformed
  attribute/value pair "ciphers": missing '=' after attribute name``, ``attribute
  "match" invalid at security level "encrypt"``, ``"servername=-bad-" specifies an
  invalid hostname``, ``attribute "connection_reuse" has bad value: "maybe"``.
* ``fail:down`` as the table: ``warning: fail:down lookup error for "[127.0.0.1]:45219"``,
  ``...: policy table lookup error``, then the same 4.7.5 deferral.
* ``none ciphers=high``: ``ignoring attribute "ciphers=high" with TLS disabled``; sent.
* verify/secure/fingerprint mismatches and an untrusted CA or trust anchor all give
  ``dsn=4.7.5 (Server certificate not verified)`` after a completed handshake (QUIT
  follows); Postfix 3.7's smtp(8) has no "not trusted" text.
* ``protocols=bogus`` (even at ``may``) or ``ciphers=bogus``: ``warning:
  127.0.0.1[127.0.0.1]:59711: Invalid TLS protocol list "bogus": aborting TLS session``
  (``invalid cipher grade: "bogus"``) after STARTTLS, then ``4.7.5 (Cannot start TLS:
  handshake failure)`` with no plaintext retry.
* ``dane``: ``warning: [127.0.0.1]:49323: dane configured with dnssec lookups disabled``,
  then sent with TLS; ``dane-only``: the same warning, then the 4.7.5 deferral.
* key order (smtp -v, a chroot hosts file for ``mx.sub.order.test``): ``maps_find:
  smtp_tls_policy_maps: mx.sub.order.test: not found``, then ``.sub.order.test = may``.
* lmtp: ``TLS is required, but was not offered by host mail.example.test[/path/enc.sock]``;
  a ``may`` UNIX socket: ``warning: smtp_connect_local: opportunistic TLS encryption is
  not appropriate for unix-domain destinations.`` and plaintext delivery.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.unit.delivery.smtp_sink import FakeDns, SmtpSink
from tests.unit.delivery.test_smtp import MESSAGE, content, make_agent, requests
from tests.unit.delivery.test_smtp_tls import cert_files, server_context
from vmail.config import MainConfig
from vmail.delivery.request import DeliveryResult, Status
from vmail.delivery.smtp import SmtpAgent
from vmail.delivery.tls_policy import TlsPolicyError, lookup_keys, protocol_range

__all__ = ["cert_files"]  # the fixture, shared with test_smtp_tls
cert_files_for = cert_files.__wrapped__  # type: ignore[attr-defined]  # a second certificate

Certs = tuple[Path, Path]
CONFIG_PROBLEM: tuple[Status, str, str, str | None] = (
    Status.DEFERRED,
    "4.7.5",
    "client TLS configuration problem",
    "none",
)
NOT_VERIFIED = "Server certificate not verified"


def hop(sink: SmtpSink) -> str:
    return f"[127.0.0.1]:{sink.port}"


def send(sink: SmtpSink, policy: str = "", **params: str) -> DeliveryResult:
    """Deliver one message to ``sink`` with ``policy`` as its table entry."""
    if policy:
        params.setdefault("smtp_tls_policy_maps", f"inline:{{ {{ {hop(sink)} = {policy} }} }}")
    agent = make_agent(None, **params)
    try:
        [result] = agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
    finally:
        agent.close()
    return result


def outcome(result: DeliveryResult) -> tuple[Status, str, str, str | None]:
    return (result.status, result.dsn, result.text, result.relay)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def fingerprint(cert: Path, digest: str = "sha256") -> str:
    der = x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(serialization.Encoding.DER)
    return ":".join(f"{b:02X}" for b in hashlib.new(digest, der).digest())


# -- which keys ---------------------------------------------------------------------------


def test_lookup_keys() -> None:
    assert lookup_keys("mx.sub.example.com") == [
        "mx.sub.example.com",
        ".sub.example.com",
        ".example.com",
        ".com",
    ]
    assert lookup_keys("example.com") == ["example.com", ".com"]
    assert lookup_keys("[mx.example.com]") == ["[mx.example.com]"]
    assert lookup_keys("[mx.example.com]:587") == ["[mx.example.com]:587"]
    assert lookup_keys("example.com:2525") == ["example.com:2525"]
    assert lookup_keys("192.0.2.1") == ["192.0.2.1"]
    assert lookup_keys("localhost") == ["localhost"]


def test_parent_domain_entry_matches_after_the_exact_name() -> None:
    table = "inline:{ .sub.order.test=may, .order.test=encrypt, sub.order.test=verify }"
    agent = make_agent(smtp_tls_security_level="secure", smtp_tls_policy_maps=table)
    assert agent.tls_policy("mx.sub.order.test").level == "may"
    assert agent.tls_policy("sub.order.test").level == "verify"
    assert agent.tls_policy("Other.Order.Test").level == "encrypt"
    assert agent.tls_policy("order.test").level == "secure"  # ".test" not in the table
    # only the exact key for [host] and host:port; none of them is found here
    assert agent.tls_policy("[mx.sub.order.test]").level == "secure"
    assert agent.tls_policy("mx.sub.order.test:25").level == "secure"


def test_policy_replaces_the_global_level(cert_files: Certs) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, "none", smtp_tls_security_level="encrypt")
    assert result.status == Status.SENT
    assert "STARTTLS" not in sink.commands


# -- levels ---------------------------------------------------------------------------


def test_encrypt_without_starttls_defers() -> None:
    with SmtpSink() as sink:
        result = send(sink, "encrypt")
    assert outcome(result) == (
        Status.DEFERRED,
        "4.7.4",
        "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]",
        f"127.0.0.1[127.0.0.1]:{sink.port}",
    )
    assert sink.messages == []


def test_encrypt_with_starttls_sends(cert_files: Certs) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, "encrypt")
    assert result.status == Status.SENT
    assert sink.sessions[0].tls
    assert sink.sessions[0].messages == [MESSAGE]


def test_may_without_starttls_sends_in_plaintext() -> None:
    with SmtpSink() as sink:
        result = send(sink, "may", smtp_tls_security_level="encrypt")
    assert result.status == Status.SENT


def test_none_ignores_attributes_with_a_warning(
    cert_files: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, "none ciphers=high")
    assert result.status == Status.SENT
    assert "STARTTLS" not in sink.commands
    assert warnings_of(caplog) == [
        f'smtp_tls_policy_maps, next-hop destination "{hop(sink)}": '
        'ignoring attribute "ciphers=high" with TLS disabled'
    ]


@pytest.mark.parametrize(
    ("policy", "warning"),
    [
        ("bogus", 'invalid security level "bogus"'),
        ("encrypt foo=bar", 'invalid attribute name: "foo"'),
        (
            "encrypt ciphers",
            "malformed attribute/value pair \"ciphers\": missing '=' after attribute name",
        ),
        ("encrypt match=x", 'attribute "match" invalid at security level "encrypt"'),
        ("encrypt tafile=/x.pem", 'attribute "tafile" invalid at security level "encrypt"'),
        ("encrypt servername=-bad-", '"servername=-bad-" specifies an invalid hostname'),
        ("encrypt connection_reuse=maybe", 'attribute "connection_reuse" has bad value: "maybe"'),
        ("encrypt ciphers=high ciphers=low", 'attribute "ciphers" is specified multiple times'),
        ("verify ciphers=", 'attribute "ciphers" has empty value'),
    ],
)
def test_bad_entry_defers_without_connecting(
    cert_files: Certs, caplog: pytest.LogCaptureFixture, policy: str, warning: str
) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, policy)
    assert outcome(result) == CONFIG_PROBLEM
    assert sink.sessions == []
    assert warnings_of(caplog) == [
        f'smtp_tls_policy_maps, next-hop destination "{hop(sink)}": {warning}',
        f"TLS policy lookup for {hop(sink)}/127.0.0.1: client TLS configuration problem",
    ]


def test_failing_table_defers(cert_files: Certs, caplog: pytest.LogCaptureFixture) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, smtp_tls_policy_maps="fail:down")
    assert outcome(result) == CONFIG_PROBLEM
    assert sink.sessions == []
    assert warnings_of(caplog) == [
        f'fail:down lookup error for "{hop(sink)}"',
        f'smtp_tls_policy_maps, next-hop destination "{hop(sink)}": policy table lookup error',
        f"TLS policy lookup for {hop(sink)}/127.0.0.1: client TLS configuration problem",
    ]


def test_dane_without_dnssec_is_may(cert_files: Certs, caplog: pytest.LogCaptureFixture) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, "dane")
    assert result.status == Status.SENT
    assert sink.sessions[0].tls
    assert warnings_of(caplog) == [f"{hop(sink)}: dane configured with dnssec lookups disabled"]


def test_dane_only_without_dnssec_defers(
    cert_files: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, "dane-only")
    assert outcome(result) == CONFIG_PROBLEM
    assert sink.sessions == []
    assert (
        warnings_of(caplog)[0] == f"{hop(sink)}: dane-only configured with dnssec lookups disabled"
    )


# -- certificate checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "sent"),
    [
        ("verify match=sink.test", True),
        ("verify match=other.test:sink.test", True),
        ("verify", False),  # smtp_tls_verify_cert_match = hostname: 127.0.0.1
        ("verify match=other.test", False),
        ("secure match=.test", True),
        ("secure match=.sink.test", False),  # a proper subdomain only
        ("secure", False),  # nexthop, dot-nexthop: 127.0.0.1
        ("secure match=hostname", False),
    ],
)
def test_verify_and_secure_match(cert_files: Certs, policy: str, sent: bool) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, policy, smtp_tls_CAfile=str(cert_files[0]))
    if sent:
        assert result.status == Status.SENT
        return
    assert (result.status, result.dsn, result.text) == (Status.DEFERRED, "4.7.5", NOT_VERIFIED)
    assert sink.sessions[0].commands[-2:] == ["STARTTLS", "QUIT"]
    assert sink.messages == []


def test_secure_matches_nexthop_and_hostname(cert_files: Certs) -> None:
    dns = FakeDns(hosts={"sink.test": ["127.0.0.1"]})
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        nexthop = f"[sink.test]:{sink.port}"
        for policy in ("secure", "verify", "secure match=nexthop", "verify match=hostname"):
            table = f"inline:{{ {{ {nexthop} = {policy} }} }}"
            agent = make_agent(dns, smtp_tls_policy_maps=table, smtp_tls_CAfile=str(cert_files[0]))
            [result] = agent.deliver_batch(requests(nexthop, "a@remote.test"), content)
            assert result.status == Status.SENT, policy


def test_untrusted_certificate_is_not_verified(
    cert_files: Certs, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = cert_files_for(tmp_path_factory)[0]  # a certificate that did not sign the server's
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        via_ca = send(sink, "verify match=sink.test", smtp_tls_CAfile=str(other))
        via_ta = send(sink, f"verify tafile={other} match=sink.test")
        via_own_ta = send(sink, f"secure tafile={cert_files[0]} match=sink.test")
    for result in (via_ca, via_ta):
        assert (result.status, result.dsn, result.text) == (Status.DEFERRED, "4.7.5", NOT_VERIFIED)
    assert via_own_ta.status == Status.SENT


def test_fingerprint(cert_files: Certs, caplog: pytest.LogCaptureFixture) -> None:
    right = fingerprint(cert_files[0])
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        ok = send(sink, f"fingerprint match=AA:BB|{right}")
        bad = send(sink, "fingerprint match=AA:BB")
        md5 = send(
            sink,
            f"fingerprint match={fingerprint(cert_files[0], 'md5')}",
            smtp_tls_fingerprint_digest="md5",
        )
        default = send(sink, "fingerprint", smtp_tls_fingerprint_cert_match=right.lower())
        none = send(sink, "fingerprint")
    assert ok.status == md5.status == default.status == Status.SENT
    assert (bad.status, bad.dsn, bad.text) == (Status.DEFERRED, "4.7.5", NOT_VERIFIED)
    assert outcome(none) == CONFIG_PROBLEM
    assert (
        f"nexthop domain {hop(sink)}: configured at fingerprint security level,"
        " but with no fingerprints to match."
    ) in warnings_of(caplog)


def test_public_key_fingerprint(cert_files: Certs) -> None:
    cert = x509.load_pem_x509_certificate(cert_files[0].read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    digest = hashlib.sha256(spki).hexdigest()
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        assert send(sink, f"fingerprint match={digest}").status == Status.SENT


def test_servername_is_sent_as_sni(cert_files: Certs) -> None:
    seen: list[str | None] = []
    context = server_context(cert_files)
    context.sni_callback = lambda _sock, name, _ctx: seen.append(name)
    with SmtpSink(tls_context=context) as sink:
        send(sink, "encrypt servername=mail.example.test")
        send(sink, "encrypt")
        send(sink, "encrypt servername=hostname")  # the host is 127.0.0.1: no SNI
    assert seen == ["mail.example.test", None, None]


# -- protocols and ciphers ------------------------------------------------------------------


def test_protocol_range() -> None:
    v = ssl.TLSVersion
    assert protocol_range(">=TLSv1.2") == (v.TLSv1_2, v.TLSv1_3)
    assert protocol_range("!SSLv2, !SSLv3") == (v.TLSv1, v.TLSv1_3)
    assert protocol_range("!SSLv2:!SSLv3:!TLSv1:!TLSv1.1") == (v.TLSv1_2, v.TLSv1_3)
    assert protocol_range("TLSv1.2 tlsv1.3") == (v.TLSv1_2, v.TLSv1_3)
    assert protocol_range("<=TLSv1.2") == (v.SSLv3, v.TLSv1_2)
    assert protocol_range("!TLSv1.2, !TLSv1.3, !TLSv1.1, !TLSv1, !SSLv3") is None
    with pytest.raises(ValueError, match="bogus"):
        protocol_range("bogus")


def test_protocols_attribute(cert_files: Certs) -> None:
    server = server_context(cert_files)
    server.maximum_version = ssl.TLSVersion.TLSv1_2
    with SmtpSink(tls_context=server) as sink:
        tls13 = send(sink, "encrypt protocols=>=TLSv1.3")
        tls12 = send(sink, "encrypt protocols=!SSLv2:!SSLv3:TLSv1.2")
    assert (tls13.status, tls13.dsn, tls13.text) == (
        Status.DEFERRED,
        "4.7.5",
        "Cannot start TLS: handshake failure",
    )
    assert tls12.status == Status.SENT


@pytest.mark.parametrize(
    ("policy", "warning"),
    [
        ("may protocols=bogus", 'Invalid TLS protocol list "bogus": aborting TLS session'),
        ("encrypt protocols=bogus", 'Invalid TLS protocol list "bogus": aborting TLS session'),
        ("encrypt ciphers=bogus", 'invalid cipher grade: "bogus"'),
    ],
)
def test_bad_protocols_or_ciphers_abort_tls(
    cert_files: Certs, caplog: pytest.LogCaptureFixture, policy: str, warning: str
) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        result = send(sink, policy)
    assert (result.status, result.dsn, result.text) == (
        Status.DEFERRED,
        "4.7.5",
        "Cannot start TLS: handshake failure",
    )
    assert len(sink.sessions) == 1  # no plaintext retry, even at "may"
    assert sink.sessions[0].commands[-1] == "STARTTLS"
    assert warnings_of(caplog) == [f"127.0.0.1[127.0.0.1]:{sink.port}: {warning}"]


def test_ciphers_and_exclude(cert_files: Certs) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        high = send(sink, "encrypt ciphers=high exclude=3DES:RC4")
        tls12_none = send(sink, "encrypt protocols=TLSv1.2 exclude=ECDHE")
    assert high.status == Status.SENT
    assert tls12_none.status == Status.DEFERRED  # no TLSv1.2 cipher left for an EC key


# -- connection reuse ------------------------------------------------------------------------


def test_tls_connections_are_reused_only_with_connection_reuse(cert_files: Certs) -> None:
    with SmtpSink(tls_context=server_context(cert_files)) as sink:
        for policy in ("encrypt", "encrypt connection_reuse=yes"):
            table = f"inline:{{ {{ {hop(sink)} = {policy} }} }}"
            agent = make_agent(smtp_tls_policy_maps=table)
            for _ in range(2):
                [result] = agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
                assert result.status == Status.SENT
            agent.close()
    assert [len(s.messages) for s in sink.sessions] == [1, 1, 2]


def test_parked_connection_is_not_used_under_another_policy() -> None:
    with SmtpSink() as sink:
        agent = make_agent(smtp_tls_security_level="may")
        [first] = agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
        # the table now asks for encrypt: the parked plaintext connection must not do
        table = SmtpAgent(
            MainConfig.from_text(f"smtp_tls_policy_maps = inline:{{ {hop(sink)}=encrypt }}\n")
        ).tls._maps
        agent.tls._maps = table
        [second] = agent.deliver_batch(requests(hop(sink), "a@remote.test"), content)
        agent.close()
    assert first.status == Status.SENT
    assert (second.status, second.dsn) == (Status.DEFERRED, "4.7.4")
    assert len(sink.sessions) == 2
    assert "RSET" not in sink.commands


# -- lmtp ---------------------------------------------------------------------------------


def lmtp_agent(**params: str) -> SmtpAgent:
    settings = {"myhostname": "client.test", **params}
    config = MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    return SmtpAgent(config, lmtp=True, service_name="lmtp")


def test_lmtp_policy_maps() -> None:
    with SmtpSink(lmtp=True) as sink:
        table = f"inline:{{ {{ {hop(sink)} = encrypt }} }}"
        ignored = lmtp_agent(smtp_tls_policy_maps=table)
        [plain] = ignored.deliver_batch(requests(f"inet:{hop(sink)}", "a@x.test"), content)
        agent = lmtp_agent(lmtp_tls_policy_maps=table)
        [result] = agent.deliver_batch(requests(f"inet:{hop(sink)}", "a@x.test"), content)
        ignored.close()
    assert plain.status == Status.SENT
    assert (result.status, result.dsn, result.text) == (
        Status.DEFERRED,
        "4.7.4",
        "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]",
    )


def test_lmtp_unix_socket(
    tmp_path: Path, cert_files: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    may_path, enc_path = tmp_path / "may.sock", tmp_path / "enc.sock"
    table = f"inline:{{ {may_path}=may, {enc_path}=encrypt }}"
    tls = server_context(cert_files)
    with (
        SmtpSink(lmtp=True, unix_path=may_path, tls_context=tls) as may,
        SmtpSink(lmtp=True, unix_path=enc_path) as enc,
    ):
        agent = lmtp_agent(lmtp_tls_policy_maps=table)
        [sent] = agent.deliver_batch(requests(f"unix:{may_path}", "a@x.test"), content)
        [deferred] = agent.deliver_batch(requests(f"unix:{enc_path}", "a@x.test"), content)
        agent.close()
    assert sent.status == Status.SENT
    assert "STARTTLS" not in may.commands
    assert (
        "smtp_connect_local: opportunistic TLS encryption is not appropriate"
        " for unix-domain destinations."
    ) in warnings_of(caplog)
    assert (deferred.status, deferred.dsn, deferred.text) == (
        Status.DEFERRED,
        "4.7.4",
        f"TLS is required, but was not offered by host client.test[{enc_path}]",
    )
    assert enc.messages == []


def test_lmtp_unix_socket_bad_policy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "dane.sock"
    with SmtpSink(lmtp=True, unix_path=path) as sink:
        agent = lmtp_agent(lmtp_tls_policy_maps=f"inline:{{ {path}=dane }}")
        [result] = agent.deliver_batch(requests(f"unix:{path}", "a@x.test"), content)
    assert outcome(result) == CONFIG_PROBLEM
    assert sink.sessions == []
    assert warnings_of(caplog) == [
        f'{path}: the "dane" security level is invalid for delivery via unix-domain sockets',
        f"TLS policy lookup error for client.test/{path}: client TLS configuration problem",
    ]


def test_tls_policy_error_defaults() -> None:
    error = TlsPolicyError()
    assert (error.dsn, error.reason) == ("4.7.5", "client TLS configuration problem")
