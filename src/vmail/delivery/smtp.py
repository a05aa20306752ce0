"""The ``smtp`` and ``lmtp`` delivery agents: Postfix's smtp(8) and lmtp(8).

:class:`SmtpAgent` delivers a batch (recipients of one message with the same next hop)
the way smtp(8) does:

1. The next hop (:mod:`.nexthop`) gives the servers: MX records sorted by preference
   (equal ones shuffled), the domain's own addresses when it has no MX, or the one host
   or socket named. DNS failures defer (``4.4.3``) or bounce (``5.4.4``) with Postfix's
   ``Host or domain name not found. Name service error for name=... type=MX: ...``.
2. Servers are tried in order (at most ``smtp_mx_address_limit`` addresses and
   ``smtp_mx_session_limit`` sessions) while the failure is soft: a refused connection,
   a 4xx (or 5xx, see ``smtp_skip_5xx_greeting``) greeting, a lost connection. A hard
   failure bounces the recipients still open; the last soft one defers them.
3. A session (:mod:`.smtp_session`) says EHLO/LHLO and STARTTLS per
   ``smtp_tls_security_level``; a transaction (:mod:`.smtp_transaction`) gives each
   recipient its outcome with Postfix's texts (``host mx[192.0.2.1] said: 550 ... (in
   reply to RCPT TO command)``).
4. A connection that completed its transaction is parked (:mod:`.smtp_cache`) for
   ``smtp_connection_cache_time_limit`` and reused, after RSET, by the next batch for
   the same next hop.

The same class serves lmtp(8) with ``lmtp=True`` (``lmtp_*`` parameters, LHLO, one
reply per recipient after the message, ``unix:`` sockets, no MX lookups).
"""

from __future__ import annotations

import logging
import os
import random
import ssl
from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby

from vmail.config import MainConfig
from vmail.core.errors import ConfigError, TableError
from vmail.delivery.content import iter_content
from vmail.delivery.nexthop import Nexthop, NexthopError, parse_nexthop
from vmail.delivery.outbound import Outbound
from vmail.delivery.request import (
    ContentSource,
    DeliveryRequest,
    DeliveryResult,
    MessageInfo,
    Status,
)
from vmail.delivery.smtp_cache import Cached, ConnectionCache
from vmail.delivery.smtp_client import ClientConnection, ClientError
from vmail.delivery.smtp_sasl import SaslPolicy, authenticate
from vmail.delivery.smtp_session import (
    SessionSettings,
    SiteFailure,
    Target,
    Timeouts,
    TlsFallback,
    TlsPolicy,
    open_session,
)
from vmail.delivery.smtp_transaction import run_transaction
from vmail.dns import DnsLookupError, DnsPythonMxResolver, MxResolver, native_addresses
from vmail.rewrite.context import RoutingContext

log = logging.getLogger("vmail.delivery.smtp")

# lmtp(8) names for the parameters smtp(8) calls smtp_helo_*.
_LMTP_NAMES = {"helo_name": "lhlo_name", "helo_timeout": "lhlo_timeout"}
_TLS_LEVELS = {
    "none": ("none", False),
    "may": ("may", False),
    "dane": ("may", False),
    "encrypt": ("encrypt", False),
    "dane-only": ("encrypt", False),
    "fingerprint": ("encrypt", False),
    "verify": ("encrypt", True),
    "secure": ("encrypt", True),
}


class SmtpAgent:
    """smtp(8)/lmtp(8): delivers batches to SMTP or LMTP servers. Thread-safe."""

    def __init__(
        self,
        config: MainConfig,
        *,
        lmtp: bool = False,
        dns: MxResolver | None = None,
        service_name: str = "smtp",
    ) -> None:
        self.config = config
        self.lmtp = lmtp
        self.prefix = "lmtp" if lmtp else "smtp"
        self.service_name = service_name
        self._dns = dns
        self.tls_problem = ""
        self.settings = SessionSettings(
            lmtp=lmtp,
            helo_name=self._get("helo_name", "$myhostname"),
            myhostname=config.get("myhostname"),
            timeouts=self._timeouts(),
            tls=self._tls_policy(),
            skip_5xx_greeting=self._bool("skip_5xx_greeting", True),
            always_send_ehlo=self._bool("always_send_ehlo", True),
            never_send_ehlo=self._bool("never_send_ehlo", False),
            line_limit=self._int("line_length_limit", 998),
            bind_address=self._get("bind_address", ""),
            bind_address6=self._get("bind_address6", ""),
        )
        self.default_port = self._int("tcp_port", 24) if lmtp else 25
        self.address_limit = self._int("mx_address_limit", 5)
        self.session_limit = self._int("mx_session_limit", 2)
        self.host_lookup = [w.lower() for w in self._list("host_lookup", "dns")]
        self.queue_directory = config.get("queue_directory")
        self.sasl = self._sasl_policy()
        self.fallback_relays = [] if lmtp else self._list("fallback_relay", "")
        # smtp_*_checks and smtp_generic_maps (lmtp_ for lmtp) on the way out
        self.outbound = Outbound(config, self.prefix)
        self.cache = ConnectionCache(
            self._time("connection_cache_time_limit", 2),
            self._time("connection_reuse_time_limit", 300),
            self.settings.timeouts.quit,
        )

    # -- configuration ----------------------------------------------------------------

    def _name(self, name: str) -> str:
        if self.lmtp:
            name = _LMTP_NAMES.get(name, name)
        return f"{self.prefix}_{name}"

    def _present(self, full: str) -> bool:
        """Whether the schema declares ``full`` or main.cf/master.cf sets it anyway."""
        return self.config.is_known(full) or self.config.is_set(full)

    def _get(self, name: str, default: str) -> str:
        full = self._name(name)
        if self._present(full):
            return self.config.get(full)
        return self.config.get(default[1:]) if default.startswith("$") else default

    def _int(self, name: str, default: int) -> int:
        full = self._name(name)
        return self.config.get_int(full) if self._present(full) else default

    def _bool(self, name: str, default: bool) -> bool:
        full = self._name(name)
        return self.config.get_bool(full) if self._present(full) else default

    def _time(self, name: str, default: int) -> int:
        full = self._name(name)
        return self.config.get_time(full) if self._present(full) else default

    def _list(self, name: str, default: str) -> list[str]:
        full = self._name(name)
        if self._present(full):
            return self.config.get_list(full)
        return default.replace(",", " ").split()

    def _timeouts(self) -> Timeouts:
        def limit(name: str, default: int) -> float | None:
            seconds = self._time(name, default)
            return float(seconds) if seconds > 0 else None

        return Timeouts(
            connect=limit("connect_timeout", 30),
            helo=limit("helo_timeout", 300),
            mail=limit("mail_timeout", 300),
            rcpt=limit("rcpt_timeout", 300),
            data_init=limit("data_init_timeout", 120),
            data_xfer=limit("data_xfer_timeout", 180),
            data_done=limit("data_done_timeout", 600),
            rset=limit("rset_timeout", 20),
            quit=limit("quit_timeout", 300),
            starttls=limit("starttls_timeout", 300),
        )

    def _tls_policy(self) -> TlsPolicy:
        level = self._get("tls_security_level", "").strip().lower()
        if not level:
            if self._bool("enforce_tls", False):
                level = "encrypt"
            elif self._bool("use_tls", False):
                level = "may"
            else:
                level = "none"
        if level not in _TLS_LEVELS:
            raise ConfigError(f"{self._name('tls_security_level')}: unknown TLS level: {level}")
        level, verify = _TLS_LEVELS[level]
        if level == "none":
            return TlsPolicy()
        try:
            context = self._tls_context(verify)
        except (OSError, ssl.SSLError) as e:
            log.warning("%s: cannot set up TLS: %s", self.service_name, e)
            self.tls_problem = str(e)
            context = None
        server_name = self._get("tls_servername", "") or None
        return TlsPolicy(level, context, server_name, verify)

    def _sasl_policy(self) -> SaslPolicy:
        if not self._bool("sasl_auth_enable", False):
            return SaslPolicy()
        context = RoutingContext(self.config)
        parameter = self._name("sasl_password_maps")

        def lookup(keys: Sequence[str]) -> str | None:
            maps = context.maps(parameter)  # opened on first use, then cached
            for key in keys:
                value = maps.find(key)
                if value is not None:
                    return value
            return None

        options = frozenset(self._list("sasl_security_options", "noplaintext, noanonymous"))
        tls_options = frozenset(self._list("sasl_tls_security_options", ",".join(options)))
        mechanisms = tuple(self._list("sasl_mechanism_filter", ""))
        return SaslPolicy(lookup, options, tls_options, mechanisms)

    def _tls_context(self, verify: bool) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cafile = self._get("tls_CAfile", "") or None
        capath = self._get("tls_CApath", "") or None
        if verify:
            if cafile or capath:
                context.load_verify_locations(cafile=cafile, capath=capath)
            else:
                context.load_default_certs()
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        cert_file = self._get("tls_cert_file", "")
        if cert_file:
            key_file = self._get("tls_key_file", "") or cert_file
            context.load_cert_chain(cert_file, key_file)
        return context

    # -- delivery ---------------------------------------------------------------------

    def deliver_batch(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> list[DeliveryResult]:
        if not requests:
            return []
        first = requests[0]
        nexthop = first.nexthop or first.recipient.rpartition("@")[2]
        message = first.message or MessageInfo(first.queue_id, first.sender)
        delivery = _Delivery(self, requests, content, message, nexthop)
        delivery.run()
        return delivery.finish()

    def close(self) -> None:
        """Close the idle cached connections."""
        self.cache.close()

    def cache_key(self, nexthop: str) -> tuple[str, bool, str]:
        return (self.service_name, self.lmtp, nexthop)

    # -- finding servers --------------------------------------------------------------

    def parse(self, nexthop: str) -> Nexthop:
        return parse_nexthop(nexthop, lmtp=self.lmtp, default_port=self.default_port)

    def targets(self, hop: Nexthop) -> list[Target]:
        """The servers to try, in order; raises DnsLookupError or SiteFailure."""
        if hop.is_unix:
            path = hop.unix_path
            if not os.path.isabs(path) and self.queue_directory:
                path = os.path.join(self.queue_directory, path)
            hostname = self.settings.myhostname
            return [Target(hostname, hop.unix_path, unix_path=path)]
        if hop.is_address:
            return [Target(hop.host, hop.host, hop.port)]
        if not hop.mx:
            return [Target(hop.host, a, hop.port) for a in self.addresses(hop.host)]
        targets = self._mx_targets(hop)
        return targets[: self.address_limit] if self.address_limit > 0 else targets

    def _mx_targets(self, hop: Nexthop) -> list[Target]:
        records = self.resolver.lookup_mx(hop.host)
        if not records:
            return [Target(hop.host, a, hop.port) for a in self.addresses(hop.host)]
        if all(not r.exchange for r in records):
            text = f"Domain {hop.host} does not accept mail (nullMX)"
            raise SiteFailure("5.1.0", text, "none")
        ordered = []
        for _, same in groupby(sorted(records), key=lambda r: r.preference):
            group = list(same)
            random.shuffle(group)
            ordered += group
        best = ordered[0].preference
        targets: list[Target] = []
        errors: list[DnsLookupError] = []
        for record in ordered:
            if not record.exchange:
                continue
            try:
                addresses = self.addresses(record.exchange)
            except DnsLookupError as e:
                errors.append(e)
                continue
            best_mx = record.preference == best
            targets += [Target(record.exchange, a, hop.port, best_mx=best_mx) for a in addresses]
        if not targets:
            raise next((e for e in errors if e.temporary), errors[-1])
        return targets

    @property
    def resolver(self) -> MxResolver:
        if self._dns is None:
            self._dns = DnsPythonMxResolver()
        return self._dns

    def addresses(self, host: str) -> list[str]:
        """The host's addresses per ``smtp_host_lookup`` (dns, native or both)."""
        error: DnsLookupError | None = None
        for method in self.host_lookup or ["dns"]:
            try:
                if method == "native":
                    return native_addresses(host)
                return self.resolver.lookup_addresses(host)
            except DnsLookupError as e:
                error = error if error and error.temporary else e
        assert error is not None
        raise error


class _Delivery:
    """The state of one batch: final results, and the latest soft failure of open ones.

    As smtp(8) does, a soft failure (a 4xx reply to MAIL, RCPT or DATA, a refused or
    lost connection) leaves the recipient open for the next server; only when no
    server is left does it become the recipient's (deferred) result. A hard failure
    of a whole server bounces every open recipient at once.
    """

    def __init__(
        self,
        agent: SmtpAgent,
        requests: Sequence[DeliveryRequest],
        content: ContentSource,
        message: MessageInfo,
        nexthop: str,
    ) -> None:
        self.agent = agent
        self.settings = agent.settings
        self.requests = requests
        self.content = content
        self.message = message
        self.nexthop = nexthop
        self.results: list[DeliveryResult | None] = [None] * len(requests)
        self.soft: list[DeliveryResult | None] = [None] * len(requests)

    @property
    def pending(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]

    def run(self) -> None:
        agent = self.agent
        if agent.tls_problem:
            self.site_failure(SiteFailure("4.7.0", "client TLS configuration problem", "none"))
            return
        key = agent.cache_key(self.nexthop)
        self._try_cached(key)
        if not self.pending:
            return
        self._try(self._resolve(self.nexthop), key)
        for relay in agent.fallback_relays:
            if not self.pending or relay == self.nexthop:
                break
            self._try(self._resolve(relay), key)

    def _resolve(self, nexthop: str) -> list[Target]:
        """The servers for ``nexthop``; [] (and the failure recorded) when there are none."""
        agent = self.agent
        try:
            return agent.targets(agent.parse(nexthop))
        except NexthopError as e:
            text = f"mail system configuration error: {e}"
            self.site_failure(SiteFailure("4.3.5", text, "none"))
        except DnsLookupError as e:
            dsn = "4.4.3" if e.temporary else "5.4.4"
            self.site_failure(SiteFailure(dsn, f"Host or domain name not found. {e}", "none"))
        except SiteFailure as e:
            self.site_failure(e)
        return []

    def _try(self, targets: list[Target], key: tuple[str, bool, str]) -> None:
        """Try the servers in order while recipients are open (within the session limit)."""
        sessions = 0
        for target in targets:
            if not self.pending or sessions >= self.agent.session_limit > 0:
                break
            conn = self._open(target)
            if conn is not None:
                sessions += 1
                self._transact(conn, target, key)

    def _open(self, target: Target) -> ClientConnection | None:
        try:
            try:
                conn = open_session(target, self.settings, self.nexthop)
            except TlsFallback:
                conn = open_session(target, self.settings, self.nexthop, use_tls=False)
            try:
                authenticate(
                    conn, target, self.agent.sasl, self.nexthop, self.settings.timeouts.helo
                )
            except SiteFailure:
                conn.quit(self.settings.timeouts.quit)
                raise
            return conn
        except SiteFailure as e:
            if e.dsn.endswith(".4.6"):
                log.warning("host %s replied to HELO/EHLO with my own hostname", target.relay)
            self.site_failure(e)
            return None

    def _try_cached(self, key: tuple[str, bool, str]) -> None:
        """Deliver over a parked connection, if there is one that still answers RSET."""
        while (entry := self.agent.cache.take(key)) is not None:
            try:
                reply = entry.conn.command("RSET", self.settings.timeouts.rset)
            except ClientError:
                entry.conn.close()
                continue
            if reply.code // 100 != 2:
                entry.conn.quit(self.settings.timeouts.quit)
                continue
            self._transact(entry.conn, entry.target, key, entry)
            return

    def _transact(
        self,
        conn: ClientConnection,
        target: Target,
        key: tuple[str, bool, str],
        entry: Cached | None = None,
    ) -> None:
        open_ = self.pending
        chosen = [self.requests[i] for i in open_]
        content = iter_content(self.content())
        outbound = self.agent.outbound
        if outbound.active:
            try:
                generic = outbound.generic
                if generic is not None:  # the addresses as they leave the machine
                    chosen = [
                        replace(
                            request,
                            sender=generic.map_internal(request.sender),
                            recipient=generic.map_internal(request.recipient),
                        )
                        for request in chosen
                    ]
                content = outbound.content(content, self.message.queue_id)
            except TableError as e:
                failure = SiteFailure("4.3.0", f"table {e.table} lookup failure", target.relay)
                self.site_failure(failure, open_)
                self.agent.cache.park(key, entry or Cached(conn, target, self.agent.cache.clock()))
                return
        outcome = run_transaction(conn, target, self.settings, chosen, self.message, content)
        for i, result in zip(open_, outcome.results, strict=True):
            if result is None:
                continue
            if result.status is Status.DEFERRED:
                self.soft[i] = result
            else:
                self.results[i] = result
        if outcome.failure is not None:
            left = [i for i, r in zip(open_, outcome.results, strict=True) if r is None]
            self.site_failure(outcome.failure, left)
        if outcome.broken:
            conn.close()
            return
        if entry is None:
            entry = Cached(conn, target, self.agent.cache.clock())
        self.agent.cache.park(key, entry)

    def site_failure(self, failure: SiteFailure, indices: list[int] | None = None) -> None:
        """A failure for the open recipients (or ``indices``): kept if soft, else final."""
        status = Status.DEFERRED if failure.dsn.startswith("4") else Status.BOUNCED
        result = DeliveryResult(status, failure.dsn, failure.text, relay=failure.relay)
        for i in self.pending if indices is None else indices:
            if status is Status.DEFERRED:
                self.soft[i] = result
            else:
                self.results[i] = result

    def finish(self) -> list[DeliveryResult]:
        """The results; open recipients get their latest soft failure."""
        fallback = DeliveryResult(Status.DEFERRED, "4.4.1", "no server was tried", relay="none")
        return [r or s or fallback for r, s in zip(self.results, self.soft, strict=True)]
