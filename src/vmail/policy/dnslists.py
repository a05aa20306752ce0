"""DNS lists in restrictions: reject_rbl_client, reject_rhsbl_*, permit_dnswl_client and
permit_rhswl_client, with ``rbl_reply_maps``/``default_rbl_reply`` replies, as Postfix."""

from __future__ import annotations

import functools
import ipaddress

from vmail.core.errors import ConfigError, TableError
from vmail.policy.evaluation import (
    CLIENT,
    DUNNO,
    HELO,
    OK,
    RECIPIENT,
    REVERSE_CLIENT,
    SENDER,
    RestrictionChecks,
    State,
    namaddr,
)
from vmail.policy.rblreply import address_macros, expand_template, request_macros, split_reply
from vmail.protocol.smtp.hostnames import valid_hostname
from vmail.tables.memo import may_block

DNS_LISTS = {
    "reject_rbl_client",
    "permit_dnswl_client",
    "reject_rhsbl_client",
    "reject_rhsbl_reverse_client",
    "reject_rhsbl_helo",
    "reject_rhsbl_sender",
    "reject_rhsbl_recipient",
    "permit_rhswl_client",
}

_RBL_TXT_LIMIT = 500  # Postfix keeps this much of a DNS list's TXT records


class DnsListChecks(RestrictionChecks):
    """The DNS list restrictions of :class:`~vmail.policy.restrictions.RecipientPolicy`."""

    def _dns_list(self, state: State, restriction: str, spec: str) -> str:
        """reject_rbl_client, permit_dnswl_client, reject_rhsbl_* and permit_rhswl_client:
        ``domain`` or ``domain=127.0.0.2`` (only that answer counts; octets may be
        ``[2..11]`` or ``[2;4]``). Listed: the rejection of :meth:`_rbl_reject`, or OK
        for an allow list, which is ignored for a recipient we would not relay to. A DNS
        failure counts as not listed; for an allow list it also turns a later
        rejection into ``450 4.7.1 <name>: Client host rejected: Service unavailable``."""
        domain, _, wanted = spec.partition("=")
        subject = _dns_list_subject(state, restriction)
        if subject is None or self.dns is None:
            return DUNNO
        query_name, what, reply_class = subject
        allow = restriction.startswith("permit_")
        if allow and not self._may_allow(state):
            return DUNNO
        may_block()  # a DNS query: not on smtpd's event loop
        query = f"{query_name}.{domain}"
        answers = self.dns.lookup_a(query)
        if answers is None:
            self._warn(
                state,
                "%s: RBL lookup error: Host or domain name not found. Name service error"
                " for name=%s type=A: Host not found, try again",
                query,
                query,
            )
            if allow:
                why = f"<{what}>: {reply_class} rejected: Service unavailable"
                self._defer_if_reject(state, why)
            return DUNNO
        if not answers or (wanted and not any(_rbl_match(wanted, a) for a in answers)):
            return DUNNO
        if allow:
            return OK
        reason = " / ".join(self.dns.lookup_txt(query))[:_RBL_TXT_LIMIT]
        return self._rbl_reject(state, spec, what, reply_class, reason)

    def _may_allow(self, state: State) -> bool:
        """Whether an allow list (permit_dnswl_client, permit_rhswl_client) may permit:
        never for a recipient we would not relay to, as Postfix's safety."""
        recipient = state.recipient
        return not (state.at_rcpt and recipient) or self._auth_destination(state, recipient)

    def _rbl_reject(self, state: State, spec: str, what: str, reply_class: str, reason: str) -> str:
        """The rejection for a listed request: ``rbl_reply_maps``'s template for the list
        or ``default_rbl_reply`` (``554 5.7.1 Service unavailable; Client host [ADDR]
        blocked using DOMAIN; TXT``), see :mod:`.rblreply`; a result without a 4xx or
        5xx code is ``450 4.7.1 Service unavailable`` (with a warning), as in Postfix."""
        client = state.client
        values = {
            **request_macros(
                namaddr(client),
                client.address,
                client.name,
                client.reverse_name or client.name,
                client.helo,
            ),
            **address_macros("sender", state.sender),
            **address_macros("recipient", state.recipient),
            "rbl_code": str(self.code["maps_rbl_reject_code"]),
            "rbl_domain": spec.partition("=")[0],
            "rbl_reason": reason,
            "rbl_txt": reason,
            "rbl_what": what,
            "rbl_class": reply_class,
        }
        warn = functools.partial(self._warn, state)
        text = None
        template = self._rbl_template(state, spec)
        if template is not None:
            text = expand_template(template, values, warn)
            if text is None:
                warn("bad rbl reply template for domain %s: %s", spec, template)
        if text is None:
            text = expand_template(self.config.get("default_rbl_reply"), values, warn)
        reply = split_reply(text or "")
        if reply is None:
            warn("rbl response code configuration error: %s", text)
            return self._reject(state, 450, "4.7.1", "Service unavailable")
        code, dsn, rest = reply
        return self._reject(state, code, dsn or "4.7.1", rest or "Service unavailable")

    def _rbl_template(self, state: State, spec: str) -> str | None:
        """``rbl_reply_maps``'s template for a DNS list, keyed by the argument as written."""
        try:
            return self.context.maps("rbl_reply_maps").find(spec, trace=state.trace)
        except (ConfigError, TableError) as e:
            self._warn(state, "rbl_reply_maps: %s", e)
            self._config_error(state)


def _dns_list_subject(state: State, restriction: str) -> tuple[str, str, str] | None:
    """What a DNS list is asked about: (name to prefix, what the reply names, class);
    an address's domain is asked about, and the reply names the address (as Postfix).
    None when there is nothing to ask: no such name, or (for the name lists) one that is
    not a host name or ends in a numeric label."""
    client = state.client
    if restriction in ("reject_rbl_client", "permit_dnswl_client"):
        try:
            pointer = ipaddress.ip_address(client.address).reverse_pointer
        except ValueError:
            return None
        reversed_address = pointer.removesuffix(".in-addr.arpa").removesuffix(".ip6.arpa")
        return reversed_address, client.address, CLIENT
    if restriction in ("reject_rhsbl_client", "permit_rhswl_client"):
        what, domain, reply_class = client.name, client.name, CLIENT
    elif restriction == "reject_rhsbl_reverse_client":
        reverse = client.reverse_name or client.name
        what, domain, reply_class = reverse, reverse, REVERSE_CLIENT
    elif restriction == "reject_rhsbl_helo":
        what, domain, reply_class = client.helo or "", client.helo or "", HELO
    else:  # sender, recipient: the address's domain
        sender = restriction == "reject_rhsbl_sender"
        what = (state.sender if sender else state.recipient) or ""
        domain, reply_class = what.rpartition("@")[2], SENDER if sender else RECIPIENT
    if reply_class in (CLIENT, REVERSE_CLIENT) and what == "unknown":
        return None
    name = domain.rstrip(".")
    if not valid_hostname(name) or name.rpartition(".")[2].isdigit():
        return None
    return name, what, reply_class


def _rbl_match(wanted: str, answer: str) -> bool:
    """Whether an A answer matches ``d.d.d.d`` whose octets may be ``[lo..hi]`` or
    ``[a;b;c]`` (Postfix's reply filter for DNS lists)."""
    octets, got = wanted.split("."), answer.split(".")
    if len(octets) != 4 or len(got) != 4:
        return False
    for pattern, value in zip(octets, got, strict=True):
        if pattern.startswith("[") and pattern.endswith("]"):
            inner = pattern[1:-1]
            if ".." in inner:
                low, _, high = inner.partition("..")
                if not (low.isdigit() and high.isdigit() and int(low) <= int(value) <= int(high)):
                    return False
            elif value not in inner.split(";"):
                return False
        elif pattern != value:
            return False
    return True


__all__ = ["DNS_LISTS", "DnsListChecks"]
