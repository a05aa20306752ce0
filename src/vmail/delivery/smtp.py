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
3. A session (:mod:`.smtp_session`) says EHLO/LHLO and STARTTLS per the next hop's TLS
   policy (:mod:`.tls_policy`: ``smtp_tls_policy_maps``, else
   ``smtp_tls_security_level``); a transaction (:mod:`.smtp_transaction`) gives each
   recipient its outcome with Postfix's texts (``host mx[192.0.2.1] said: 550 ... (in
   reply to RCPT TO command)``).
4. A connection that completed its transaction is parked (:mod:`.smtp_cache`) for
   ``smtp_connection_cache_time_limit`` and reused, after RSET, by the next batch for
   the same next hop and TLS policy (a TLS connection only with ``connection_reuse``).

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
from vmail.delivery.smtp_filters import EhloDiscards, ReplyFilter
from vmail.delivery.smtp_sasl import SaslPolicy, authenticate
from vmail.delivery.smtp_session import (
    SessionSettings,
    SiteFailure,
    Target,
    Timeouts,
    TlsFallback,
    open_session,
)
from vmail.delivery.smtp_transaction import run_transaction
from vmail.delivery.tls_policy import (
    LEVELS,
    ClientSettings,
    TlsPolicies,
    TlsPolicy,
    TlsPolicyError,
)
from vmail.dns import DnsLookupError, DnsPythonMxResolver, MxResolver, native_addresses
from vmail.rewrite.context import RoutingContext
from vmail.tables import Maps

log = logging.getLogger("vmail.delivery.smtp")

CacheKey = tuple[str, bool, str, TlsPolicy]

# lmtp(8) names for the parameters smtp(8) calls smtp_helo_*.
_LMTP_NAMES = {
    "helo_name": "lhlo_name",
    "helo_timeout": "lhlo_timeout",
    "discard_ehlo_keywords": "discard_lhlo_keywords",
    "discard_ehlo_keyword_address_maps": "discard_lhlo_keyword_address_maps",
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
        # the agent's tables (TLS policy, EHLO discards, reply filter, SASL passwords),
        # each opened on first use and shared by the delivery threads
        self.context = RoutingContext(config)
        self._dns = dns
        self.tls_problem = ""
        self.tls = self._tls_policies()
        self.settings = SessionSettings(
            lmtp=lmtp,
            helo_name=self._get("helo_name", "$myhostname"),
            myhostname=config.get("myhostname"),
            timeouts=self._timeouts(),
            tls=TlsPolicy(),  # each delivery uses its next hop's policy
            skip_5xx_greeting=self._bool("skip_5xx_greeting", True),
            always_send_ehlo=self._bool("always_send_ehlo", True),
            never_send_ehlo=self._bool("never_send_ehlo", False),
            line_limit=self._int("line_length_limit", 998),
            bind_address=self._get("bind_address", ""),
            bind_address6=self._get("bind_address6", ""),
            ehlo_discards=self._ehlo_discards(),
            reply_filter=self._reply_filter(),
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

    def _tls_policies(self) -> TlsPolicies:
        level = self._get("tls_security_level", "").strip().lower()
        if not level:
            if self._bool("enforce_tls", False):
                level = "encrypt"
            elif self._bool("use_tls", False):
                level = "may"
            else:
                level = "none"
        if level not in LEVELS:
            raise ConfigError(f"{self._name('tls_security_level')}: unknown TLS level: {level}")
        parameter = self._name("tls_policy_maps")
        context = self.context

        def maps() -> Maps:
            return context.maps(parameter)  # opened on first use, then cached

        has_maps = bool(self._list("tls_policy_maps", ""))
        dnssec = self._get("dns_support_level", "").strip().lower() == "dnssec"
        tls = TlsPolicies(
            ClientSettings(
                level=level,
                parameter=parameter,
                ciphers=self._get("tls_ciphers", "medium"),
                mandatory_ciphers=self._get("tls_mandatory_ciphers", "medium"),
                exclude_ciphers=" ".join(self._list("tls_exclude_ciphers", "")),
                mandatory_exclude_ciphers=" ".join(self._list("tls_mandatory_exclude_ciphers", "")),
                protocols=" ".join(self._list("tls_protocols", ">=TLSv1")),
                mandatory_protocols=" ".join(self._list("tls_mandatory_protocols", ">=TLSv1")),
                verify_match=" ".join(self._list("tls_verify_cert_match", "hostname")),
                secure_match=" ".join(
                    self._list(
                        "tls_secure_cert_match", "nexthop" if self.lmtp else "nexthop, dot-nexthop"
                    )
                ),
                fingerprint_match=" ".join(self._list("tls_fingerprint_cert_match", "")),
                fingerprint_digest=self._get("tls_fingerprint_digest", "sha256").strip().lower(),
                servername=self._get("tls_servername", "").strip(),
                servername_parameter=self._name("tls_servername"),
                connection_reuse=self._bool("tls_connection_reuse", False),
                trust_anchor_files=" ".join(self._list("tls_trust_anchor_file", "")),
                cafile=self._get("tls_CAfile", ""),
                capath=self._get("tls_CApath", ""),
                cert_file=self._get("tls_cert_file", ""),
                key_file=self._get("tls_key_file", ""),
                dnssec=dnssec and "dns" in (w.lower() for w in self._list("host_lookup", "dns")),
            ),
            maps if has_maps else None,
        )
        if level != "none" or has_maps:
            try:
                tls.check_client_certificate()
            except (OSError, ssl.SSLError) as e:
                log.warning("%s: cannot set up TLS: %s", self.service_name, e)
                self.tls_problem = str(e)
        return tls

    def _sasl_policy(self) -> SaslPolicy:
        if not self._bool("sasl_auth_enable", False):
            return SaslPolicy()
        context = self.context
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

    def _ehlo_discards(self) -> EhloDiscards | None:
        words = " ".join(self._list("discard_ehlo_keywords", ""))
        has_maps = bool(self._list("discard_ehlo_keyword_address_maps", ""))
        if not words and not has_maps:
            return None
        parameter = self._name("discard_ehlo_keyword_address_maps")
        context = self.context

        def maps() -> Maps:
            return context.maps(parameter)  # opened on first use, then cached

        return EhloDiscards(words, parameter, maps if has_maps else None)

    def _reply_filter(self) -> ReplyFilter | None:
        spec = self._get("reply_filter", "").strip()
        if not spec:
            return None
        context = self.context
        return ReplyFilter(spec, lambda: context.table(spec))  # opened on first use

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

    def cache_key(self, nexthop: str, policy: TlsPolicy) -> CacheKey:
        """Where connections for ``nexthop`` opened under ``policy`` are parked."""
        return (self.service_name, self.lmtp, nexthop, policy)

    def tls_policy(self, nexthop: str) -> TlsPolicy:
        """The TLS policy for a next hop (raises TlsPolicyError or NexthopError)."""
        hop = self.parse(nexthop)
        destination = nexthop.strip()
        if self.lmtp and destination[:5].lower() in ("unix:", "inet:"):
            destination = destination[5:]
        domain = self.settings.myhostname if hop.is_unix else hop.host
        return self.tls.lookup(destination, domain, unix=hop.is_unix)

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
        self._policies: dict[str, TlsPolicy | TlsPolicyError] = {}

    @property
    def pending(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]

    def run(self) -> None:
        agent = self.agent
        if agent.tls_problem:
            self.site_failure(SiteFailure("4.7.0", "client TLS configuration problem", "none"))
            return
        if self._use_policy(self.nexthop):
            self._try_cached(agent.cache_key(self.nexthop, self.settings.tls))
        if not self.pending:
            return
        self._try(self.nexthop)
        for relay in agent.fallback_relays:
            if not self.pending or relay == self.nexthop:
                break
            self._try(relay)

    def _use_policy(self, nexthop: str, targets: Sequence[Target] = ()) -> bool:
        """Take the TLS policy of ``nexthop`` for the next sessions; False when it has none.

        As smtp(8), a destination without a usable policy is not connected to: each of its
        servers gets a warning and the mail defers (``4.7.5``).
        """
        policy = self._policies.get(nexthop)
        if policy is None:
            try:
                policy = self.agent.tls_policy(nexthop)
            except TlsPolicyError as e:
                policy = e
            except NexthopError:
                return False  # _resolve() reports it
            self._policies[nexthop] = policy
        if isinstance(policy, TlsPolicyError):
            for target in targets:
                where = f"for {nexthop}/{target.hostname}"
                if target.unix_path:
                    where = f"error for {target.hostname}/{target.address}"
                log.warning("TLS policy lookup %s: %s", where, policy.reason)
            if targets:
                self.site_failure(SiteFailure(policy.dsn, policy.reason, "none"))
            return False
        self.settings = replace(self.agent.settings, tls=policy)
        return True

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

    def _try(self, nexthop: str) -> None:
        """Try the servers in order while recipients are open (within the session limit)."""
        targets = self._resolve(nexthop)
        if not targets or not self._use_policy(nexthop, targets):
            return
        key = self.agent.cache_key(self.nexthop, self.settings.tls)
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
            if e.warning:
                log.warning("%s: %s", self.message.queue_id, e.warning)
            if e.dsn.endswith(".4.6"):
                log.warning("host %s replied to HELO/EHLO with my own hostname", target.relay)
            self.site_failure(e)
            return None

    def _try_cached(self, key: CacheKey) -> None:
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
        key: CacheKey,
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
                self._park(key, conn, target, entry)
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
            if outcome.failure.warning:  # a table failed (smtp_reply_filter): QUIT, as Postfix
                log.warning("%s: %s", self.message.queue_id, outcome.failure.warning)
                conn.quit(self.settings.timeouts.quit)
                self.site_failure(outcome.failure, left)
                return
            self.site_failure(outcome.failure, left)
        if outcome.broken:
            conn.close()
            return
        self._park(key, conn, target, entry)

    def _park(
        self, key: CacheKey, conn: ClientConnection, target: Target, entry: Cached | None
    ) -> None:
        """Keep the connection for reuse; a TLS one only with ``connection_reuse``."""
        if conn.tls and not self.settings.tls.reuse:
            conn.quit(self.settings.timeouts.quit)
            return
        self.agent.cache.park(key, entry or Cached(conn, target, self.agent.cache.clock()))

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
