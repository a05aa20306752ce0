"""smtpd restriction lists evaluated for RCPT TO, DATA and end of data, with Postfix's replies.

With ``smtpd_delay_reject = no`` the client, HELO and sender lists run at connect, HELO
and MAIL instead (:meth:`RecipientPolicy.check_early`). Otherwise, at RCPT time vmail
evaluates, like Postfix with ``smtpd_delay_reject = yes``:
``smtpd_client_restrictions``, ``smtpd_helo_restrictions``,
``smtpd_sender_restrictions``, then ``smtpd_relay_restrictions`` and
``smtpd_recipient_restrictions``; a ``defer_if_permit`` left pending turns acceptance into
a deferral; finally the implicit ``reject_unlisted_recipient``
(``smtpd_reject_unlisted_recipient``). The first REJECT ends the evaluation; ``permit``
ends only the list it is in. A table that cannot be searched gives
``451 4.3.0 <addr>: Temporary lookup failure``.

``smtpd_data_restrictions`` run at DATA (or the first BDAT) and
``smtpd_end_of_data_restrictions`` once the content is in, before it is queued; their
generic restrictions name ``<DATA>: Data command`` and ``<END-OF-MESSAGE>: End-of-data``,
and recipient checks see the recipient only when there is exactly one (as Postfix).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterator

from vmail.config.hostinfo import interface_addresses
from vmail.config.values import split_list
from vmail.core.address import Address, AddressError
from vmail.core.errors import ConfigError, TableError
from vmail.core.reply import Reply
from vmail.dns import Resolver as DNSResolver
from vmail.policy.access import Action, parse_action
from vmail.policy.accesschecks import NEEDS_TABLE, AccessChecks
from vmail.policy.delegation import query_policy
from vmail.policy.dnsaccess import ServerKeys, ip_versions
from vmail.policy.dnslists import DNS_LISTS, DnsListChecks
from vmail.policy.evaluation import (
    ACCEPTED,
    CLIENT,
    DATA,
    DATA_CLASS,
    DUNNO,
    END_OF_DATA,
    END_OF_DATA_CLASS,
    ETRN,
    HELO,
    OK,
    RECIPIENT,
    SENDER,
    Client,
    MessageAction,
    RejectedError,
    State,
    namaddr,
)
from vmail.policy.mxbackup import MxBackup
from vmail.policy.networks import LOOPBACK_NETWORKS, NetworkList
from vmail.policy.senderlogin import RESTRICTIONS as LOGIN_RESTRICTIONS
from vmail.policy.senderlogin import SenderLogins
from vmail.protocol.smtp.hostnames import is_ip_address, valid_address_literal, valid_hostname
from vmail.rewrite.addrfind import find_address
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.resolve import AddressClass, Resolution, Resolver
from vmail.tables import Maps
from vmail.tables.base import Trace
from vmail.tables.memo import may_block

log = logging.getLogger("vmail.policy")


# the per-server settings of "check_policy_service { endpoint, name=value, ... }": the
# smtpd_policy_service_* parameters without their prefix
POLICY_SETTINGS = frozenset(
    {
        "default_action",
        "max_idle",
        "max_ttl",
        "policy_context",
        "request_limit",
        "retry_delay",
        "timeout",
        "try_limit",
    }
)


class RecipientPolicy(AccessChecks, DnsListChecks):
    """Decides the RCPT TO reply for one configuration."""

    def __init__(
        self,
        context: RoutingContext,
        resolver: Resolver,
        canonical: Canonicalizer,
        dns: DNSResolver | None = None,
    ) -> None:
        self.context = context
        self.config = context.config
        self.resolver = resolver
        self.canonical = canonical
        self.dns = dns
        config = self.config
        self.delimiters = config.get("recipient_delimiter")
        networks = config.get_list("mynetworks") or list(LOOPBACK_NETWORKS)
        self.mynetworks = NetworkList("mynetworks", networks, context.table)
        self.access_parent_style = "smtpd_access_maps" in config.get_list(
            "parent_domain_matches_subdomains"
        )
        self.sasl_enabled = config.get_bool("smtpd_sasl_auth_enable")
        self.ask_ccert = config.get_bool("smtpd_tls_ask_ccert")
        self.null_sender_key = config.get("smtpd_null_access_lookup_key")
        self.inet_addresses = interface_addresses(config.get_list("inet_interfaces"))
        versions = ip_versions(config.get_list("inet_protocols"))
        self.server_keys = ServerKeys(dns, self.access_parent_style, versions) if dns else None
        self.mx_backup = self._mx_backup_check(dns, resolver, versions)
        self.stages = [config.get_list(p) for p in _STAGES]
        # smtpd_delay_reject = no: client, HELO and sender restrictions run at connect,
        # HELO/EHLO and MAIL (check_early), and RCPT runs only relay and recipient ones
        self.delay_reject = config.get_bool("smtpd_delay_reject")
        self.data_restrictions = config.get_list("smtpd_data_restrictions")
        self.end_of_data_restrictions = config.get_list("smtpd_end_of_data_restrictions")
        self.restriction_classes = set(config.get_list("smtpd_restriction_classes"))
        self.code = {name: config.get_int(name) for name in _CODES}
        self.reject_unlisted = config.get_bool("smtpd_reject_unlisted_recipient")
        # after a content filter: the first smtpd checked the recipients already
        self.unlisted_checks = "no_unknown_recipient_checks" not in config.get_list(
            "receive_override_options"
        )
        self.soft_bounce = config.get_bool("soft_bounce")
        self.allow_untrusted_routing = config.get_bool("allow_untrusted_routing")
        self.show_table = config.get_bool("show_user_unknown_table_name")
        self.double_bounce = config.get("double_bounce_sender").lower()
        self.tempfail_action = config.get("unknown_address_tempfail_action").lower()
        self.sender_logins = SenderLogins(
            lambda: context.maps("smtpd_sender_login_maps"), self.delimiters, resolver.is_local
        )

    def _mx_backup_check(
        self, dns: DNSResolver | None, resolver: Resolver, versions: frozenset[int]
    ) -> MxBackup | None:
        """permit_mx_backup's test (None without DNS)."""
        if dns is None:
            return None
        config, table = self.config, self.context.table
        networks = config.get_list("permit_mx_backup_networks")
        return MxBackup(
            dns,
            resolver.is_local,
            self.inet_addresses | interface_addresses(config.get_list("proxy_interfaces")),
            NetworkList("permit_mx_backup_networks", networks, table) if networks else None,
            versions,
        )

    # -- public --------------------------------------------------------------------

    def check_recipient(
        self,
        client: Client,
        sender: str | None,
        recipient: str,
        trace: Trace | None = None,
        *,
        accepted: int = 0,
        actions: list[MessageAction] | None = None,
    ) -> Reply:
        """The reply to ``RCPT TO:<recipient>`` (recipient as given, without brackets);
        ``accepted`` recipients of the transaction came before it. Access table actions
        that apply to the message (HOLD, DISCARD, REDIRECT, BCC, PREPEND) or only log
        (WARN, INFO) are added to ``actions``."""
        state = State(client, sender, recipient, trace, recipient_count=accepted)
        if not recipient:
            return Reply(501, "5.1.3", "Bad recipient address syntax")
        reply = self._evaluate(state, recipient)
        if actions is not None:
            actions.extend(state.actions)
        # logged once the decision is complete: smtpd may start it inline and, when a
        # lookup would wait (WouldBlockError), run it again in a thread
        _log_warnings(state)
        return reply

    def check_early(
        self, parameter: str, command: str, client: Client, sender: str | None = None
    ) -> Reply | None:
        """With ``smtpd_delay_reject = no``: one of the stages before RCPT
        (``smtpd_client_restrictions`` at ``CONNECT``, ``smtpd_helo_restrictions`` at
        ``HELO``/``EHLO`` with ``client.helo`` the name given, ``smtpd_sender_restrictions``
        at ``MAIL``): the refusal, or None. Access table actions for the message are not
        taken there."""
        state = State(client, sender, None, None, at_rcpt=False, command=command)
        subject = _subject(state, parameter)
        restrictions = self.stages[_STAGES.index(parameter)]
        if subject is None or not restrictions:
            return None
        state.reply_name, reply_class = subject
        return self._refusal(state, restrictions, reply_class)

    def check_etrn(self, client: Client, site: str) -> Reply | None:
        """``smtpd_etrn_restrictions`` for ``ETRN site``: the reply refusing it, or None.
        Replies name the site as Postfix's do (``<site>: Etrn command rejected: ...``)."""
        restrictions = self.config.get_list("smtpd_etrn_restrictions")
        if not restrictions:
            return None
        return self._refusal(State(client, None, None, None, reply_name=site), restrictions, ETRN)

    def check_data(self, client: Client, sender: str, recipients: list[str]) -> Reply | None:
        """``smtpd_data_restrictions`` at DATA: the reply refusing it, or None."""
        return self._check_message(
            self.data_restrictions, client, sender, recipients, DATA, DATA_CLASS
        )

    def check_end_of_data(self, client: Client, sender: str, recipients: list[str]) -> Reply | None:
        """``smtpd_end_of_data_restrictions`` once the content is in: the refusal, or None."""
        return self._check_message(
            self.end_of_data_restrictions,
            client,
            sender,
            recipients,
            END_OF_DATA,
            END_OF_DATA_CLASS,
        )

    def _check_message(
        self,
        restrictions: list[str],
        client: Client,
        sender: str,
        recipients: list[str],
        reply_name: str,
        reply_class: str,
    ) -> Reply | None:
        if not restrictions:
            return None
        recipient = recipients[0] if len(recipients) == 1 else None
        state = State(
            client,
            sender,
            recipient,
            None,
            reply_name=reply_name,
            recipient_count=len(recipients),
            at_rcpt=False,
        )
        return self._refusal(state, restrictions, reply_class)

    def _refusal(self, state: State, restrictions: list[str], reply_class: str) -> Reply | None:
        """One restriction list outside RCPT: its refusal, a pending defer_if_permit, or
        None (then the command goes ahead)."""
        try:
            self._run(state, restrictions, reply_class)
            return state.defer_if_permit
        except RejectedError as r:
            return r.reply
        finally:
            _log_warnings(state)

    # -- evaluation ----------------------------------------------------------------

    def _evaluate(self, state: State, recipient: str) -> Reply:
        try:
            stages = zip(_STAGES, self.stages, strict=True)
            for parameter, restrictions in stages if self.delay_reject else list(stages)[3:]:
                subject = _subject(state, parameter)
                if subject is not None:  # (the HELO stage, without a HELO, as Postfix)
                    state.reply_name, reply_class = subject
                    self._run(state, restrictions, reply_class)
            if state.defer_if_permit is not None:
                return state.defer_if_permit
            if self.reject_unlisted:
                self._reject_unlisted(state, recipient)
        except RejectedError as r:
            return r.reply
        return ACCEPTED

    def _run(self, state: State, restrictions: list[str], reply_class: str) -> str:
        """Evaluate one restriction list; OK or DUNNO, or raise RejectedError."""
        items = iter(restrictions)
        for name in items:
            low = name.lower()
            if low in NEEDS_TABLE:
                result = self._check_access(
                    state, low, self._argument(state, items, name, "a table")
                )
            elif low == "sleep":  # Postfix's tarpit restriction: wait, then go on
                seconds = self._argument(state, items, name, "a number of seconds")
                if not seconds.isdigit():
                    self._warn(state, "restriction sleep needs a number of seconds")
                    self._config_error(state)
                may_block()
                time.sleep(int(seconds))
                result = DUNNO
            elif low == "check_policy_service":
                spec = self._argument(state, items, name, "a server")
                result = self._policy_service(state, spec, reply_class)
            elif low in DNS_LISTS:
                result = self._dns_list(state, low, self._argument(state, items, name, "a domain"))
            else:
                result = self._restriction(state, low, reply_class)
            if low != "warn_if_reject":
                # warn_if_reject covers only the restriction right after it, whatever
                # that restriction decides (recorded: a non-matching access table in
                # between leaves a later REJECT in force).
                state.warn_if_reject = False
            if result == OK:
                return OK
        return DUNNO

    def _argument(self, state: State, items: Iterator[str], name: str, what: str) -> str:
        """The list item after a restriction that takes one (a configuration error when
        the list ends there)."""
        argument = next(items, None)
        if argument is None:
            self._warn(state, "restriction %s needs %s argument", name, what)
            self._config_error(state)
        return argument

    def _restriction(self, state: State, name: str, reply_class: str) -> str:
        recipient = state.recipient or ""
        # the generic restrictions name the stage's subject (Postfix's reply_name/class)
        rejected = f"<{state.reply_name}>: {reply_class} rejected:"
        if name == "permit":
            return OK
        if name == "dunno":
            return DUNNO
        if name == "reject":
            code = self.code["reject_code"]
            return self._reject(state, code, "5.7.1", f"{rejected} Access denied")
        if name == "defer":
            return self._reject(
                state, self.code["defer_code"], "4.3.2", f"{rejected} Try again later"
            )
        if name == "defer_if_permit":
            self._defer_if_permit(state, f"{rejected} defer_if_permit requested", "4.7.0")
            return DUNNO
        if name == "defer_if_reject":
            self._defer_if_reject(state, f"{rejected} defer_if_reject requested", "4.7.0")
            return DUNNO
        if name == "warn_if_reject":
            state.warn_if_reject = True
            return DUNNO
        if name == "permit_mynetworks":
            return OK if self._in_mynetworks(state) else DUNNO
        if name == "permit_sasl_authenticated":
            return OK if state.client.sasl_username else DUNNO
        if name == "permit_inet_interfaces":
            return OK if self._on_inet_interfaces(state.client.address) else DUNNO
        if name in ("permit_tls_clientcerts", "permit_tls_all_clientcerts"):
            return self._tls_clientcerts(state, name)
        if name == "reject_plaintext_session":
            if state.client.encrypted:
                return DUNNO
            code = self.code["plaintext_reject_code"]
            return self._reject(state, code, "4.7.1", "Session encryption is required")
        if name in _NEEDS_RECIPIENT and not recipient:
            return DUNNO  # DATA or end of data with several recipients: nothing to check
        if name == "permit_auth_destination":
            return OK if self._auth_destination(state, recipient) else DUNNO
        if name == "permit_mx_backup":
            return OK if self._mx_backup(state, recipient) else DUNNO
        if name in ("reject_unauth_destination", "defer_unauth_destination"):
            if self._auth_destination(state, recipient):
                return DUNNO
            code, dsn = self.code["relay_domains_reject_code"], "5.7.1"
            if name == "defer_unauth_destination":  # the same reply, made temporary
                code, dsn = 400 + code % 100, "4.7.1"
            return self._reject(state, code, dsn, f"<{recipient}>: Relay access denied")
        if name == "reject_unlisted_recipient":
            self._reject_unlisted(state, recipient)
            return DUNNO
        if name == "reject_unlisted_sender":
            if state.sender:
                self._reject_unlisted(state, state.sender, SENDER)
            return DUNNO
        if name == "reject_unauth_pipelining":
            if not state.client.improper_pipelining:
                return DUNNO
            return self._reject(
                state, 503, "5.5.0", f"{rejected} Improper use of SMTP command pipelining"
            )
        if name == "reject_multi_recipient_bounce":
            # at RCPT: a recipient was accepted before this one; later: more than one
            if state.sender != "" or state.recipient_count <= (0 if state.at_rcpt else 1):
                return DUNNO
            code = self.code["multi_recipient_bounce_reject_code"]
            return self._reject(state, code, "5.5.3", f"{rejected} Multi-recipient bounce")
        if name == "reject_non_fqdn_recipient":
            return self._non_fqdn(state, recipient, RECIPIENT)
        if name == "reject_non_fqdn_sender":
            return self._non_fqdn(state, state.sender or "", SENDER) if state.sender else DUNNO
        if name == "reject_unknown_recipient_domain":
            return self._unknown_domain(state, recipient, RECIPIENT)
        if name == "reject_unknown_sender_domain":
            if not state.sender:
                return DUNNO
            return self._unknown_domain(state, state.sender, SENDER)
        if name in _HELO_SYNTAX:
            return self._helo_syntax(state, _HELO_SYNTAX[name])
        if name in ("reject_unknown_helo_hostname", "reject_unknown_hostname"):
            return self._unknown_helo(state)
        if name in ("reject_unknown_client_hostname", "reject_unknown_client"):
            return self._unknown_client(state, state.client.name, "4.7.25", "hostname")
        if name == "reject_unknown_reverse_client_hostname":
            reverse = state.client.reverse_name or state.client.name
            return self._unknown_client(state, reverse, "4.7.1", "reverse hostname")
        if name in LOGIN_RESTRICTIONS:
            return self._sender_login(state, name)
        if name in _IGNORED_AT_RCPT:
            state.notes.append(f"{name}: not evaluated at RCPT time by vmail")
            return DUNNO
        if name in self.restriction_classes:
            return self._run(state, self.config.get_list(name), reply_class)
        self._warn(state, "unknown smtpd restriction: %s", name)
        self._config_error(state)
        return DUNNO

    # -- individual checks ---------------------------------------------------------

    def _on_inet_interfaces(self, address: str) -> bool:
        """permit_inet_interfaces: the client has one of our inet_interfaces addresses."""
        try:
            return ipaddress.ip_address(address) in self.inet_addresses
        except ValueError:
            return False

    def _in_mynetworks(self, state: State) -> bool:
        try:
            return self.mynetworks.match(state.client.address, state.client.name)
        except TableError:
            self._tempfail(state, state.client.address, CLIENT)
            return False

    def _sender_login(self, state: State, name: str) -> str:
        """Postfix's reject_*_sender_login_mismatch (553 5.7.1); the null sender passes."""
        sender = state.sender
        if not sender:
            return DUNNO
        login = state.client.sasl_username
        try:
            address = self.canonical.rewrite(Address.parse(sender))
            why = self.sender_logins.mismatch(name, address, login, state.trace)
        except AddressError:
            return DUNNO
        except TableError:
            self._tempfail(state, sender, SENDER)
        except ConfigError as e:
            self._warn(state, "smtpd_sender_login_maps: %s", e)
            self._config_error(state)
        if why is None:
            return DUNNO
        return self._reject(state, 553, "5.7.1", f"<{sender}>: {SENDER} rejected: {why}")

    def _parse(self, state: State, text: str) -> Address:
        try:
            return self.canonical.rewrite(Address.parse(text))
        except AddressError:
            raise RejectedError(Reply(501, "5.1.3", "Bad recipient address syntax")) from None

    def _resolve(self, state: State, text: str, reply_class: str) -> Resolution:
        """Resolve an address once per request (Postfix's smtpd caches resolutions too)."""
        resolution = state.resolutions.get(text)
        if resolution is None:
            address = self._parse(state, text)
            try:
                resolution = self.resolver.resolve(address, state.trace)
            except TableError:
                self._tempfail(state, text, reply_class)
            state.resolutions[text] = resolution
        return resolution

    def _auth_destination(self, state: State, recipient: str) -> bool:
        """Postfix's permit_auth_destination: we are the final destination or relay for it."""
        resolution = self._resolve(state, recipient, RECIPIENT)
        if resolution.routed and not self.allow_untrusted_routing:
            return False
        return resolution.address_class.final or resolution.address_class is AddressClass.RELAY

    def _mx_backup(self, state: State, recipient: str) -> bool:
        """Postfix's permit_mx_backup: our domains and relay domains, or a domain this
        machine is a backup MX host of (see :mod:`.mxbackup`)."""
        resolution = self._resolve(state, recipient, RECIPIENT)
        if resolution.routed and not self.allow_untrusted_routing:
            return False
        address_class = resolution.address_class
        if address_class.final or address_class is AddressClass.RELAY:
            return True
        domain = resolution.recipient.domain
        if self.mx_backup is None or not domain or domain.startswith("["):
            return False
        may_block()  # DNS queries: not on smtpd's event loop
        rejected = f"<{recipient}>: {RECIPIENT} rejected:"
        return self.mx_backup.permits(
            domain, lambda why: self._defer_if_reject(state, f"{rejected} {why}", "4.4.4")
        )

    def _reject_unlisted(self, state: State, recipient: str, reply_class: str = RECIPIENT) -> None:
        """Postfix's check_rcpt_maps: unknown users in our own domains are rejected (the
        sender too with reject_unlisted_sender: ``5.1.0 ... Sender address rejected``).
        ``receive_override_options = no_unknown_recipient_checks`` turns it off."""
        if not self.unlisted_checks:
            return
        default_dsn = "5.1.1" if reply_class == RECIPIENT else "5.1.0"
        resolution = self._resolve(state, recipient, reply_class)
        try:
            final = resolution.recipient
            if (
                self._listed(final, "virtual_alias_maps", state)
                or self._listed(final, "canonical_maps", state)
                or self._listed(final, "recipient_canonical_maps", state)
            ):
                return
            if resolution.transport in ("error", "retry"):
                code_dsn, _, text = resolution.nexthop.partition(" ")
                dsn = code_dsn if code_dsn[:1].isdigit() else default_dsn
                text = text if code_dsn[:1].isdigit() else resolution.nexthop
                if resolution.transport == "retry":
                    code = 450
                elif resolution.address_class is AddressClass.VIRTUAL_ALIAS:
                    code = self.code["unknown_virtual_alias_reject_code"]
                else:
                    code = 550
                self._reject(state, code, dsn, f"<{recipient}>: {reply_class} rejected: {text}")
                return
            self._unlisted_in_class(
                state, recipient, resolution.address_class, final, reply_class, default_dsn
            )
        except TableError:
            self._tempfail(state, recipient, reply_class)

    def _unlisted_in_class(
        self,
        state: State,
        recipient: str,
        address_class: AddressClass,
        final: Address,
        reply_class: str,
        dsn: str,
    ) -> None:
        if address_class is AddressClass.LOCAL:
            parameter, code_param, table = (
                "local_recipient_maps",
                "unknown_local_recipient_reject_code",
                "local recipient table",
            )
            local = final.local.lower()
            if local in ("postmaster", "mailer-daemon", self.double_bounce):
                return
        elif address_class is AddressClass.VIRTUAL:
            parameter, code_param, table = (
                "virtual_mailbox_maps",
                "unknown_virtual_mailbox_reject_code",
                "virtual mailbox table",
            )
        elif address_class is AddressClass.RELAY:
            parameter, code_param, table = (
                "relay_recipient_maps",
                "unknown_relay_recipient_reject_code",
                "relay recipient table",
            )
        else:
            return
        if not self.context.maps(parameter) or self._listed(final, parameter, state):
            return
        suffix = f" in {table}" if self.show_table else ""
        self._reject(
            state,
            self.code[code_param],
            dsn,
            f"<{recipient}>: {reply_class} rejected: User unknown{suffix}",
        )

    def _listed(self, address: Address, parameter: str, state: State) -> bool:
        maps: Maps = self.context.maps(parameter)
        if not maps:
            return False
        found = find_address(
            maps,
            address,
            delimiters=self.delimiters,
            is_local=self.resolver.is_local,
            trace=state.trace,
        )
        return found is not None

    def _non_fqdn(self, state: State, text: str, reply_class: str) -> str:
        if reply_class == RECIPIENT and text.lower() == "postmaster":
            return DUNNO  # RFC 5321 requires accepting a bare <postmaster>; Postfix does
        address = Address.parse(text)
        domain = address.domain
        if address.has_at and (domain.startswith("[") or "." in domain.rstrip(".")):
            return DUNNO
        return self._reject(
            state,
            self.code["non_fqdn_reject_code"],
            "5.5.2",
            f"<{text}>: {reply_class} rejected: need fully-qualified address",
        )

    def _unknown_domain(self, state: State, text: str, reply_class: str) -> str:
        resolution = self._resolve(state, text, reply_class)
        if resolution.address_class.final or resolution.address_class is AddressClass.RELAY:
            return DUNNO
        domain = resolution.recipient.domain
        if not domain or domain.startswith("["):
            return DUNNO
        if self.dns is not None:
            may_block()  # a DNS query: not on smtpd's event loop
        exists = self.dns.domain_exists(domain) if self.dns is not None else None
        dsn = "4.1.2" if reply_class == RECIPIENT else "4.1.8"
        message = f"<{text}>: {reply_class} rejected: Domain not found"
        if exists is None:
            if self.tempfail_action == "defer_if_permit":
                self._defer_if_permit(state, message, dsn)
                return DUNNO
            return self._reject(state, self.code["defer_code"], dsn, message)
        if exists:
            return DUNNO
        return self._reject(state, self.code["unknown_address_reject_code"], dsn, message)

    def _helo_syntax(self, state: State, fqdn: bool) -> str:
        """Postfix's reject_invalid_helo_hostname (``fqdn`` False) and
        reject_non_fqdn_helo_hostname: an address literal must hold a valid address, a
        name (one trailing dot dropped) must be a valid host name, or for the first an IP
        address too; the second also wants a dot."""
        helo = state.client.helo
        if helo is None:
            return DUNNO
        prefix = f"<{helo}>: {HELO} rejected:"
        if helo.startswith("["):
            if valid_address_literal(helo):
                return DUNNO
            code = self.code["invalid_hostname_reject_code"]
            return self._reject(state, code, "5.5.2", f"{prefix} invalid ip address")
        name = helo[:-1] if len(helo) > 1 and helo.endswith(".") else helo
        if fqdn:
            if valid_hostname(name) and "." in name:
                return DUNNO
            code = self.code["non_fqdn_reject_code"]
            return self._reject(state, code, "5.5.2", f"{prefix} need fully-qualified hostname")
        if valid_hostname(name) or is_ip_address(name):
            return DUNNO
        code = self.code["invalid_hostname_reject_code"]
        return self._reject(state, code, "5.5.2", f"{prefix} Invalid name")

    def _unknown_helo(self, state: State) -> str:
        """Postfix's reject_unknown_helo_hostname: the HELO name has no A, AAAA or MX
        record (address literals are not looked up)."""
        helo = state.client.helo
        if helo is None or helo.startswith("[") or self.dns is None:
            return DUNNO
        may_block()  # a DNS query: not on smtpd's event loop
        exists = self.dns.domain_exists(helo.rstrip("."))
        if exists:
            return DUNNO
        message = f"<{helo}>: {HELO} rejected: Host not found"
        if exists is None:
            self._defer_if_permit(state, message, "4.7.1")
            return DUNNO
        return self._reject(state, self.code["unknown_hostname_reject_code"], "4.7.1", message)

    def _unknown_client(self, state: State, name: str, dsn: str, what: str) -> str:
        """Postfix's reject_unknown_client_hostname (the name smtpd verified) and
        reject_unknown_reverse_client_hostname (any reverse name): ``unknown`` fails."""
        if name and name != "unknown":
            return DUNNO
        address = state.client.address
        text = f"{CLIENT} rejected: cannot find your {what}, [{address}]"
        return self._reject(state, self.code["unknown_client_reject_code"], dsn, text)

    def _policy_service(self, state: State, spec: str, reply_class: str) -> str:
        """check_policy_service: ask the server (see :mod:`.delegation`) and apply its
        action as an access table's, naming the stage's subject."""
        endpoint, *options = split_list(spec)  # "{ name = value }" may hold spaces
        overrides = {}
        for option in options:
            name, equals, value = (part.strip() for part in option.partition("="))
            if not equals or name not in POLICY_SETTINGS:
                self._warn(state, 'check_policy_service %s: bad setting "%s"', endpoint, option)
                self._config_error(state)
            overrides[f"smtpd_policy_service_{name}"] = value
        config = self.config.with_overrides(overrides) if overrides else self.config
        may_block()  # a network query: not on smtpd's event loop
        client = state.client
        stage = state.command or ("RCPT" if state.at_rcpt else state.reply_name)
        attributes = {  # those Postfix 3.7 sends, in its order
            "request": "smtpd_access_policy",
            "protocol_state": stage,
            "protocol_name": "ESMTP",
            "client_address": client.address,
            "client_name": client.name,
            "client_port": "",
            "reverse_client_name": client.reverse_name or client.name,
            "server_address": "",
            "server_port": "",
            "helo_name": client.helo or "",
            "sender": state.sender or "",
            "recipient": state.recipient or "",
            "recipient_count": str(state.recipient_count),
            "queue_id": "",
            "instance": client.instance,
            "size": "0",
            "etrn_domain": "",
            "stress": "",
            "sasl_method": "",
            "sasl_username": client.sasl_username or "",
            "sasl_sender": "",
            "ccert_subject": "",
            "ccert_issuer": "",
            "ccert_fingerprint": "",
            "ccert_pubkey_fingerprint": "",
            "encryption_protocol": "",
            "encryption_cipher": "",
            "encryption_keysize": "0",
            "policy_context": config.get("smtpd_policy_service_policy_context"),
        }
        action = query_policy(config, endpoint, attributes)
        return self._apply(state, parse_action(action), state.reply_name, reply_class)

    def _apply(self, state: State, action: Action, name: str, reply_class: str) -> str:
        prefix = f"<{name}>: {reply_class} rejected: "
        verb = action.verb
        if verb == "OK":
            return OK
        if verb in ("HOLD", "DISCARD"):  # the whole message; DISCARD also ends the list
            what = action.text or f"triggers {verb} action"
            state.actions.append(MessageAction(verb.lower(), f"<{name}>: {reply_class} {what}"))
            return OK if verb == "DISCARD" else DUNNO
        if verb in ("WARN", "INFO"):  # only logged
            text = action.text or f"<{name}>: {reply_class} triggers {verb} action"
            state.actions.append(MessageAction(verb.lower(), text))
            return DUNNO
        if verb == "FILTER" and ":" in action.text:  # a content filter for the message
            text = f"<{name}>: {reply_class} triggers FILTER {action.text}"
            state.actions.append(MessageAction("filter", text, action.text))
            return DUNNO
        if verb in ("REDIRECT", "BCC") and action.text:  # another recipient for the message
            text = f"<{name}>: {reply_class} triggers {verb} {action.text}"
            state.actions.append(MessageAction(verb.lower(), text, action.text))
            return DUNNO
        if verb == "PREPEND" and action.text:  # a header for the message (not logged)
            state.actions.append(MessageAction("prepend", "", action.text))
            return DUNNO
        if verb in ("DUNNO", "PREPEND", "REDIRECT", "FILTER", "BCC"):
            return DUNNO
        if verb == "REJECT":
            return self._reject(
                state,
                self.code["access_map_reject_code"],
                action.dsn or "5.7.1",
                prefix + (action.text or "Access denied"),
            )
        if verb == "DEFER":
            return self._reject(
                state,
                self.code["access_map_defer_code"],
                action.dsn or "4.7.1",
                prefix + (action.text or "Access denied"),
            )
        if verb == "DEFER_IF_PERMIT":
            self._defer_if_permit(state, prefix + (action.text or "Service unavailable"))
            return DUNNO
        if verb == "DEFER_IF_REJECT":
            self._defer_if_reject(state, prefix + (action.text or "Service unavailable"))
            return DUNNO
        if verb == "CODE":
            default_dsn = "4.7.1" if action.code < 500 else "5.7.1"
            return self._reject(
                state,
                action.code,
                action.dsn or default_dsn,
                prefix + (action.text or "Access denied"),
            )
        return self._run(state, list(action.restrictions), reply_class)

    # -- outcomes ------------------------------------------------------------------


def _log_warnings(state: State) -> None:
    """Log what a decision found wrong on its way (see :meth:`RecipientPolicy._warn`)."""
    for message, args in state.warnings:
        log.warning(message, *args)


def _subject(state: State, parameter: str) -> tuple[str, str] | None:
    """Whom a restriction stage's replies name, and as what (Postfix's reply_name and
    reply_class); None when the stage is skipped: HELO restrictions without a HELO."""
    if parameter == "smtpd_client_restrictions":
        return namaddr(state.client), CLIENT
    if parameter == "smtpd_helo_restrictions":
        return None if state.client.helo is None else (state.client.helo, HELO)
    if parameter == "smtpd_sender_restrictions":
        return state.sender or "", SENDER
    return state.recipient or "", RECIPIENT


_STAGES = (
    "smtpd_client_restrictions",
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
)

_CODES = (
    "reject_code",
    "defer_code",
    "relay_domains_reject_code",
    "access_map_reject_code",
    "access_map_defer_code",
    "non_fqdn_reject_code",
    "unknown_address_reject_code",
    "unknown_local_recipient_reject_code",
    "unknown_virtual_alias_reject_code",
    "unknown_virtual_mailbox_reject_code",
    "unknown_relay_recipient_reject_code",
    "multi_recipient_bounce_reject_code",
    "invalid_hostname_reject_code",
    "unknown_hostname_reject_code",
    "unknown_client_reject_code",
    "maps_rbl_reject_code",
    "plaintext_reject_code",
)


_NEEDS_RECIPIENT = {
    "permit_auth_destination",
    "reject_unauth_destination",
    "defer_unauth_destination",
    "reject_unlisted_recipient",
    "reject_non_fqdn_recipient",
    "reject_unknown_recipient_domain",
    "permit_mx_backup",
}


# restriction -> whether it wants a fully-qualified name (else: a valid one)
_HELO_SYNTAX = {
    "reject_invalid_helo_hostname": False,
    "reject_invalid_hostname": False,  # the names before Postfix 2.3
    "reject_non_fqdn_helo_hostname": True,
    "reject_non_fqdn_hostname": True,
}

_IGNORED_AT_RCPT = {
    "reject_unverified_recipient",
    "reject_unverified_sender",
}


__all__ = ["Client", "MessageAction", "RecipientPolicy"]  # the first two from .evaluation
