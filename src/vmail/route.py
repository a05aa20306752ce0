"""What happens to mail for an address: the engine behind ``vmail route``.

For a client (address, SASL login) and a message with several recipients, this runs the
same steps the mail path runs: the RCPT decision (:mod:`vmail.policy.restrictions`),
canonical rewriting and virtual alias expansion (cleanup), duplicate elimination, address
resolution (transport and next hop), and what the delivery agent would do (for
``virtual``: the mailbox path, or the bounce). Every table lookup is recorded.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field, replace

from vmail.config import MainConfig
from vmail.core.address import Address, AddressError
from vmail.core.errors import TableError
from vmail.core.reply import Reply
from vmail.dns import Resolver as DNSResolver
from vmail.policy.evaluation import Client
from vmail.policy.restrictions import RecipientPolicy
from vmail.rewrite.addrfind import find_address
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.canonicalmaps import CanonicalMaps
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.local_aliases import LocalAliasExpander, LocalTarget
from vmail.rewrite.resolve import Resolution, Resolver
from vmail.rewrite.virtual import EXPANSION_ERROR, AliasExpansionError, VirtualAliasExpander
from vmail.tables.base import LookupEvent, Trace
from vmail.tables.maps import query

DELIVERABLE = "deliverable"
UNDELIVERABLE = "undeliverable"
DEFERRED = "deferred"
DISCARDED = "discarded"


# the envelope sender of the route() call in progress (None: not given)
_sender: contextvars.ContextVar[str | None] = contextvars.ContextVar("route_sender", default=None)


@dataclass(frozen=True)
class Delivery:
    """One final recipient of the message and what its delivery agent would do."""

    recipient: str
    original_recipient: str
    address_class: str
    transport: str
    nexthop: str
    status: str
    detail: str
    mailbox: str | None = None
    bounce: Reply | None = None


@dataclass
class RecipientReport:
    """Everything ``vmail route`` says about one address given on the command line."""

    address: str
    rcpt: Reply
    deliveries: list[Delivery] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    deferred: Reply | None = None
    lookups: list[LookupEvent] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Router:
    """Routing decisions for one configuration snapshot (reusable across calls)."""

    def __init__(self, config: MainConfig, dns: DNSResolver | None = None) -> None:
        self.config = config
        self.context = RoutingContext(config)
        self.canonical = Canonicalizer(config)
        self.resolver = Resolver(self.context)
        self.canonical_maps = CanonicalMaps(self.context, self.canonical, self.resolver.is_local)
        self.policy = RecipientPolicy(self.context, self.resolver, self.canonical, dns)
        self.expander = VirtualAliasExpander(self.context, self.canonical, self.resolver.is_local)
        self.virtual_transport = config.get("virtual_transport").partition(":")[0]
        self.local = LocalAliasExpander(
            self.context.maps("alias_maps"),
            self._unix_user_exists,
            self.canonical,
            self.resolver.is_local,
            config.get("recipient_delimiter"),
        )

    def _unix_user_exists(self, name: str, trace: Trace | None) -> bool:
        """local(8) delivers to UNIX accounts that are not aliases."""
        return query(self.context.table("unix:passwd.byname"), name, trace) is not None

    def route(
        self, addresses: list[str], client: Client | None = None, sender: str | None = None
    ) -> list[RecipientReport]:
        """Route several recipients of one message (duplicates are removed across them)."""
        client = client or Client()
        seen: set[tuple[str, str]] = set()
        token = _sender.set(sender)  # for sender-dependent relayhosts, deep in _deliver
        try:
            with self.resolver.message_cache():
                return [self._route_one(text, client, sender, seen) for text in addresses]
        finally:
            _sender.reset(token)

    def _route_one(
        self, text: str, client: Client, sender: str | None, seen: set[tuple[str, str]]
    ) -> RecipientReport:
        trace = Trace()
        text = text.strip()
        if text.startswith("<") and text.endswith(">"):
            text = text[1:-1]
        rcpt = self.policy.check_recipient(client, sender, text, trace)
        report = RecipientReport(text, rcpt)
        if rcpt.ok:
            try:
                self._deliveries(report, text, seen, trace)
            except AliasExpansionError as e:
                report.deferred = Reply(451, "4.6.0", "Alias expansion error")
                report.notes.append(e.reason)
        report.lookups = trace.events
        return report

    def _deliveries(
        self, report: RecipientReport, text: str, seen: set[tuple[str, str]], trace: Trace
    ) -> None:
        try:
            given = Address.parse(text)
            recipient = self.canonical.rewrite(given)
        except AddressError as e:
            report.rcpt = Reply(501, "5.1.3", "Bad recipient address syntax")
            report.notes.append(str(e))
            return
        try:
            recipient = self.canonical_maps.map(recipient, "envelope_recipient", trace)
        except TableError as e:
            report.deferred = Reply(451, "4.3.0", "Temporary lookup failure")
            report.notes.append(str(e))
            return
        original = text
        # Postfix keeps the original recipient as given but in internal (unquoted) form,
        # and eliminates duplicates on (original, final) ignoring case: "bob"@example.com
        # and bob@example.com are one recipient, joe@localhost. and localhost!joe are two.
        original_key = given.internal.lower()
        for final in self.expander.expand(recipient, trace).recipients:
            key = (final.internal.lower(), original_key)
            if key in seen:
                report.duplicates.append(final.external)
                continue
            seen.add(key)
            report.deliveries.extend(self._deliver(final, original, trace))

    def _deliver(self, final: Address, original: str, trace: Trace) -> list[Delivery]:
        try:
            resolution = self.resolver.resolve(final, trace, _sender.get())
        except TableError as e:
            return [
                Delivery(
                    final.external,
                    original,
                    "",
                    "",
                    "",
                    DEFERRED,
                    f"address resolver lookup failure: {e}",
                    bounce=Reply(451, "4.3.0", "Temporary lookup failure"),
                )
            ]
        return self._agent(resolution, final, original, trace)

    def _agent(
        self, resolution: Resolution, final: Address, original: str, trace: Trace
    ) -> list[Delivery]:
        """What the transport's delivery agent would do."""
        transport, nexthop = resolution.transport, resolution.nexthop
        common = Delivery(
            recipient=resolution.recipient.external,
            original_recipient=original,
            address_class=resolution.address_class.value,
            transport=transport,
            nexthop=nexthop,
            status=DELIVERABLE,
            detail=f"delivery via {transport}[{nexthop}]",
        )
        if transport in ("error", "retry"):
            dsn, _, text = nexthop.partition(" ")
            if not (dsn[:1].isdigit() and dsn.count(".") == 2):
                dsn, text = ("4.3.0" if transport == "retry" else "5.0.0"), nexthop
            code = 450 if transport == "retry" or dsn.startswith("4") else 550
            status = DEFERRED if code < 500 else UNDELIVERABLE
            return [replace(common, status=status, detail=text, bounce=Reply(code, dsn, text))]
        if transport == "discard":
            return [replace(common, status=DISCARDED, detail=f"discarded: {nexthop}")]
        if transport == self.virtual_transport == "virtual":
            return [self._virtual(common, resolution.recipient, trace)]
        if transport == "local":
            return self._local(common, resolution.recipient, trace)
        return [common]

    def _local(self, common: Delivery, recipient: Address, trace: Trace) -> list[Delivery]:
        """local(8): aliases(5) expansion, then mailbox, file, command or forwarding."""
        try:
            targets = self.local.expand(recipient, trace)
        except TableError as e:
            return [
                replace(
                    common,
                    status=DEFERRED,
                    detail=f"alias_maps lookup failure: {e}",
                    bounce=Reply(451, "4.3.0", "Temporary lookup failure"),
                )
            ]
        deliveries: list[Delivery] = []
        for target in targets:
            deliveries.extend(self._local_target(common, target, trace))
        return deliveries

    def _local_target(self, common: Delivery, target: LocalTarget, trace: Trace) -> list[Delivery]:
        local = replace(common, recipient=target.recipient.external)
        if target.kind == "forward":
            forwarded = []
            for final in self.expander.expand(target.recipient, trace).recipients:
                forwarded.extend(self._deliver(final, common.original_recipient, trace))
            return forwarded
        if target.kind == "unknown":
            text = f'unknown user: "{target.target}"'
            return [
                replace(local, status=UNDELIVERABLE, detail=text, bounce=Reply(550, "5.1.1", text))
            ]
        detail = (
            "delivers to mailbox"
            if target.kind == "mailbox"
            else (f"delivers to {target.kind}: {target.target}")
        )
        return [replace(local, status=DELIVERABLE, detail=detail)]

    def _virtual(self, common: Delivery, recipient: Address, trace: Trace) -> Delivery:
        """virtual(8): look up the mailbox path; unknown users bounce."""
        maps = self.context.maps("virtual_mailbox_maps")
        try:
            found = find_address(
                maps,
                recipient,
                delimiters=self.config.get("recipient_delimiter"),
                is_local=self.resolver.is_local,
                trace=trace,
            )
        except TableError as e:
            return replace(
                common,
                status=DEFERRED,
                detail=f"virtual_mailbox_maps lookup failure: {e}",
                bounce=Reply(451, "4.3.0", "Temporary lookup failure"),
            )
        if found is None:
            text = f'unknown user: "{recipient.internal.lower()}"'
            return replace(
                common, status=UNDELIVERABLE, detail=text, bounce=Reply(550, "5.1.1", text)
            )
        path = found.value
        kind = "maildir" if path.endswith("/") else "mailbox"
        return replace(common, status=DELIVERABLE, detail=f"delivers to {kind}", mailbox=path)


__all__ = ["EXPANSION_ERROR", "Client", "Delivery", "RecipientReport", "Router"]
