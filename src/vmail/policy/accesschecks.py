"""Access tables in restrictions: check_{client,reverse_client_hostname,helo,sender,
recipient}_access (and their _a/_mx/_ns forms), check_sasl_access, check_ccert_access,
permit_tls_clientcerts and permit_tls_all_clientcerts, searched with Postfix's keys."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from vmail.core.address import Address, AddressError
from vmail.core.errors import ConfigError, TableError
from vmail.policy.access import address_keys, host_keys, network_keys, parse_action
from vmail.policy.clientcerts import Certificate, access_spec
from vmail.policy.dnsaccess import SERVER_TYPES
from vmail.policy.evaluation import (
    CLIENT,
    CLIENT_CERT,
    DUNNO,
    HELO,
    OK,
    RECIPIENT,
    REVERSE_CLIENT,
    SASL_LOGIN,
    SENDER,
    RestrictionChecks,
    State,
    namaddr,
)
from vmail.tables import Table
from vmail.tables.maps import query
from vmail.tables.memo import may_block

# what the check_*_access restrictions look up: check_client_access, check_client_a_access, ...
_ACCESS_SUBJECTS = ("client", "reverse_client_hostname", "helo", "sender", "recipient")
NEEDS_TABLE = {
    f"check_{subject}{suffix}_access"
    for subject in _ACCESS_SUBJECTS
    for suffix in ("", *(f"_{rtype}" for rtype in SERVER_TYPES))
} | {"check_sasl_access", "check_ccert_access"}


class AccessChecks(RestrictionChecks):
    """The access table restrictions of :class:`~vmail.policy.restrictions.RecipientPolicy`."""

    def _check_access(self, state: State, restriction: str, spec: str) -> str:
        """check_*_access: search the table for what the restriction names (see
        :meth:`_access_subject`) and apply the entry found, as Postfix does."""
        if restriction == "check_ccert_access":
            return self._check_ccert(state, restriction, spec)
        try:
            table = self.context.table(spec)
        except ConfigError as e:
            self._warn(state, "%s: cannot open table %s: %s", restriction, spec, e)
            self._config_error(state)
        kind = restriction[len("check_") : -len("_access")]
        if kind == "sasl":
            return self._check_sasl(state, restriction, table)
        subject, _, rtype = kind.rpartition("_")
        if rtype in SERVER_TYPES:
            return self._check_servers(state, restriction, table, subject, rtype)
        found = self._access_subject(state, kind)
        if found is None:
            return DUNNO
        text, name, reply_class = found
        keys = self._access_keys(state, kind, text)
        value = None if keys is None else self._find(state, table, keys, name, reply_class)
        if value is None:
            return DUNNO
        result = self._apply(state, parse_action(value), name, reply_class)
        if kind == "reverse_client_hostname":
            self._forbid_ok(state, restriction, result, text)
        return result

    def _access_subject(self, state: State, kind: str) -> tuple[str, str, str] | None:
        """What a check_KIND_access restriction looks up, whom its replies name, and as
        what: the client (``name[addr]``, as ``Client host``), the unverified reverse name
        (``Unverified Client host``), the HELO name, the sender (``""``: the null sender)
        or the recipient; None when the request has none."""
        client = state.client
        if kind == "client":
            return client.name, namaddr(client), CLIENT
        if kind == "reverse_client_hostname":
            reverse = client.reverse_name or client.name
            return reverse, reverse, REVERSE_CLIENT
        if kind == "helo":
            return None if client.helo is None else (client.helo, client.helo, HELO)
        if kind == "sender":
            return None if state.sender is None else (state.sender, state.sender, SENDER)
        return (state.recipient, state.recipient, RECIPIENT) if state.recipient else None

    def _access_keys(self, state: State, kind: str, text: str) -> list[tuple[str, bool]] | None:
        """The keys of check_KIND_access in Postfix's order: a client's name and parent
        domains, then its address and networks; a HELO name and parent domains; an
        address's keys (after canonical rewriting), the null sender as
        ``smtpd_null_access_lookup_key``. None for an address that cannot be parsed."""
        if kind in ("client", "reverse_client_hostname"):
            names = host_keys(text, self.access_parent_style)
            return [*names, *network_keys(state.client.address)]
        if kind == "helo":
            return list(host_keys(text, self.access_parent_style))
        if not text:
            return [(self.null_sender_key, False)]
        try:
            address = self.canonical.rewrite(Address.parse(text))
        except AddressError:
            return None
        return list(address_keys(address, self.delimiters, self.access_parent_style))

    def _check_sasl(self, state: State, restriction: str, table: Table) -> str:
        """check_sasl_access: the SASL login name is the key (no parent domains or
        networks); nothing for a client that did not log in. Needs
        ``smtpd_sasl_auth_enable``, else it is ignored with a warning, as in Postfix."""
        if not self.sasl_enabled:
            self._warn(state, "restriction `%s' ignored: no SASL support", restriction)
            return DUNNO
        login = state.client.sasl_username
        if not login:
            return DUNNO
        name = "".join(c if c.isprintable() else "_" for c in login)
        value = self._find(state, table, [(login, False)], name, SASL_LOGIN)
        if value is None:
            return DUNNO
        return self._apply(state, parse_action(value), name, SASL_LOGIN)

    def _certificate(self, state: State, restriction: str) -> Certificate | None:
        """The client's certificate; None (with Postfix's warning when a TLS client was
        not asked for one) when it sent none."""
        client = state.client
        if client.certificate is None and client.encrypted and not self.ask_ccert:
            self._warn(state, '%s is requested, but "smtpd_tls_ask_ccert = no"', restriction)
        return client.certificate

    def _tls_clientcerts(self, state: State, restriction: str) -> str:
        """permit_tls_clientcerts: the certificate's or its public key's fingerprint is in
        ``relay_clientcerts`` (verified or not); permit_tls_all_clientcerts also permits
        any verified certificate. A table that fails gives a temporary failure."""
        cert = self._certificate(state, restriction)
        if cert is None:
            return DUNNO
        if cert.verified and restriction == "permit_tls_all_clientcerts":
            return OK
        try:
            maps = self.context.maps("relay_clientcerts")
            for key in (cert.fingerprint, cert.pkey_fingerprint):
                if maps.find(key, trace=state.trace) is not None:
                    return OK
        except ConfigError as e:
            self._warn(state, "relay_clientcerts: %s", e)
            self._config_error(state)
        except TableError:
            self._warn(
                state,
                "relay_clientcerts: lookup error for fingerprint '%s', pkey fingerprint %s",
                cert.fingerprint,
                cert.pkey_fingerprint,
            )
            self._tempfail(state, state.reply_name, CLIENT_CERT)
        return DUNNO

    def _check_ccert(self, state: State, restriction: str, argument: str) -> str:
        """check_ccert_access: the fingerprints in the search order (certificate, then
        public key) are looked up; replies name the subject's common name."""
        try:
            spec, order = access_spec(argument)
            table = self.context.table(spec)
        except ConfigError as e:
            self._warn(state, "%s: %s", restriction, e)
            self._config_error(state)
        cert = self._certificate(state, restriction)
        if cert is None:
            return DUNNO
        name = "".join(c if c.isprintable() else "_" for c in cert.subject_cn)
        keys = [(cert.key(search), False) for search in order]
        value = self._find(state, table, keys, name, CLIENT_CERT)
        if value is None:
            return DUNNO
        return self._apply(state, parse_action(value), name, CLIENT_CERT)

    def _check_servers(
        self, state: State, restriction: str, table: Table, kind: str, rtype: str
    ) -> str:
        """check_KIND_{a,mx,ns}_access: the table is searched for the servers behind the
        name (see :mod:`.dnsaccess`); the first entry found decides. OK is refused (451
        4.3.5, with Postfix's warnings): these tables may reject or exempt (DUNNO) a host,
        not permit a request. A client without a name, or no sender, is not looked up."""
        found = self._access_subject(state, kind)
        if found is None or self.server_keys is None:
            return DUNNO
        text, name, reply_class = found
        if not text or (reply_class in (CLIENT, REVERSE_CLIENT) and text == "unknown"):
            return DUNNO
        may_block()  # DNS queries: not on smtpd's event loop
        warn = functools.partial(self._warn, state)
        for keys in self.server_keys.search(text, rtype, warn, f"{reply_class} {name}"):
            value = self._find(state, table, keys, name, reply_class)
            if value is not None:
                result = self._apply(state, parse_action(value), name, reply_class)
                self._forbid_ok(state, restriction, result, text)
                return result
        return DUNNO

    def _forbid_ok(self, state: State, restriction: str, result: str, target: str) -> None:
        """Postfix's forbid_allowlist: a restriction that may not permit gave OK (DISCARD,
        which ends the evaluation too, is allowed): a configuration error."""
        if result != OK or any(action.verb == "discard" for action in state.actions):
            return
        self._warn(state, "restriction %s returns OK for %s", restriction, target)
        self._warn(state, "this is not allowed for security reasons")
        self._warn(state, "use DUNNO instead of OK if you want to make an exception")
        self._config_error(state)

    def _find(
        self,
        state: State,
        table: Table,
        keys: Iterable[tuple[str, bool]],
        name: str,
        reply_class: str,
    ) -> str | None:
        for key, partial in keys:
            if partial and table.pattern:
                continue  # pattern tables only see the full key, as in Maps
            try:
                value = query(table, key, state.trace)
            except TableError:
                self._tempfail(state, name, reply_class)
            if value is not None:
                return value
        return None


__all__ = ["NEEDS_TABLE", "AccessChecks"]
