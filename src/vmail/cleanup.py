"""cleanup: the only way into the queue.

A server hands :class:`Cleanup` the envelope of one message (:class:`Submission`) and
gets a :class:`CleanupMessage`; it streams the content into it and calls
:meth:`CleanupMessage.commit`, which returns the queue ID once the queue file is durable
(only then may SMTP say 250). On the way, as Postfix's cleanup(8) and smtpd(8) do:

* each recipient is rewritten with ``canonical_maps`` and expanded with
  ``virtual_alias_maps``; the recipient as the client gave it is kept as the original
  recipient; duplicates are removed per (ORCPT, NOTIFY, original, final), ignoring case;
* a ``Received:`` header in Postfix's layout is prepended to the content (with the TLS
  details line when the server passes one);
* for submissions from clients in ``local_header_rewrite_clients`` (the server decides:
  ``Submission.local_rewrite``), local mail, or with ``always_add_missing_headers``,
  missing ``Message-Id:``, ``Date:`` and ``From:`` headers (``Resent-`` ones when the
  message has ``Resent-`` headers) are appended to the header section, as Postfix's
  cleanup does. Only the header line being read is held (at most
  ``header_size_limit`` bytes); the body streams through untouched.

* the message's content filter (``content_filter`` of the receiving listener, or
  ``FILTER`` from an access table or ``header_checks``, which wins) goes into its
  envelope for the queue manager; ``receive_override_options`` may turn off address
  mappings (``no_address_mappings``) and ``header_checks`` (``no_header_body_checks``).

An alias expansion failure (loops, limits, a failed table) raises
:class:`~vmail.core.errors.TemporaryError` with ``451 4.6.0 Alias expansion error`` before
anything is written. Message bodies are never buffered here (:meth:`Cleanup.store` takes a
message its caller already holds). Everything blocks on disk and table I/O: async callers use
``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path

from vmail.config import MainConfig
from vmail.core.address import Address, AddressError
from vmail.core.errors import PermanentError, TableError, TemporaryError
from vmail.core.headersection import HeaderSection, header_name, through_stages
from vmail.core.reply import Reply
from vmail.milter.chain import MilterChain, printable, to_reply
from vmail.milter.client import with_values
from vmail.milter.edits import EnvelopeEdits, MessageEdits
from vmail.milter.spec import milter_specs
from vmail.policy.contentchecks import ContentFilter, ContentTables
from vmail.policy.headerchecks import KNOWN, HeaderAction, HeaderChecks, Verdict
from vmail.queue import Envelope, QueueId, QueueWriter, Recipient, Spool
from vmail.queue import log as qlog
from vmail.queue.spool import HOLD
from vmail.rewrite.bcc import BccMaps
from vmail.rewrite.headeraddrs import HeaderRewriter
from vmail.rewrite.virtual import AliasExpansionError
from vmail.route import Router

ALIAS_EXPANSION_ERROR = Reply(451, "4.6.0", "Alias expansion error")
# receive_override_options that cleanup acts on (no_unknown_recipient_checks is smtpd's)
NO_ADDRESS_MAPPINGS = "no_address_mappings"
NO_HEADER_BODY_CHECKS = "no_header_body_checks"
BCC_NOTIFY = ("NEVER",)  # automatic BCC recipients: no bounces, no notices
LOOKUP_ERROR = Reply(451, "4.3.0", "Temporary lookup failure")
TOO_MANY_HOPS = Reply(554, "5.4.0", "Error: too many hops")


@dataclass(frozen=True)
class Rcpt:
    """One accepted RCPT TO: the address as given, with its DSN parameters."""

    address: str  # internal form, as the client gave it
    notify: tuple[str, ...] = ()
    orcpt: str = ""  # "type;value", e.g. "rfc822;bob@example.com"


@dataclass(frozen=True)
class Submission:
    """The envelope of one message as the SMTP server received it."""

    sender: str  # internal form; "" is the null sender
    recipients: Sequence[Rcpt]
    client_address: str = "127.0.0.1"
    client_name: str = "localhost"
    client_port: str = ""
    helo: str | None = None
    esmtp: bool = True
    tls: bool = False
    tls_info: str = ""  # "(using TLSv1.3 with cipher ... (256/256 bits))", for Received:
    tls_ccert: str = "(No client certificate requested)"  # the next line (client certificate)
    sasl_username: str | None = None
    auth_header: bool = False  # smtpd_sasl_authenticated_header: name the login in Received:
    local_rewrite: bool = False  # the client matches local_header_rewrite_clients
    envid: str = ""
    ret: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    arrival_time: float = field(default_factory=time.time)
    # "smtp"; "local" (sendmail, uid in local_uid); "bounce" (notices); "forward" (local(8)
    # sending an alias's mail on to non-local addresses)
    origin: str = "smtp"
    local_uid: int = 0
    hold: bool = False  # an access table said HOLD: queue it in hold, not incoming
    redirect: str | None = None  # ... REDIRECT: this replaces every recipient
    bcc: tuple[str, ...] = ()  # ... BCC: added recipients
    prepend: tuple[str, ...] = ()  # ... PREPEND: header lines above Received:
    filter: str = ""  # content_filter, or an access table's FILTER: "transport:nexthop"
    receive_options: frozenset[str] = frozenset()  # receive_override_options
    milters: MilterChain | None = None  # smtpd's milters: they see the message at its end
    milter_macros: Callable[[str], str | None] | None = None  # their macros (smtpd's values)
    queue_id: str | None = None  # the ID smtpd gave it at the first recipient, as Postfix

    @property
    def protocol(self) -> str:
        """``SMTP``, ``ESMTP``, ``ESMTPS``, ``ESMTPA`` or ``ESMTPSA`` (RFC 3848)."""
        if not self.esmtp:
            return "SMTP"
        return "ESMTP" + ("S" if self.tls else "") + ("A" if self.sasl_username else "")


_last_date: tuple[int, tuple[str, str], str] = (-1, ("", ""), "")  # the last second formatted


def mail_date(when: float) -> str:
    """Postfix's ``mail_date()``: ``Fri,  6 Nov 2026 08:35:42 +0000 (UTC)`` (``%e`` day)."""
    global _last_date
    second, zone = int(when), time.tzname
    last = _last_date
    if last[0] == second and last[1] == zone:
        return last[2]
    local = datetime.fromtimestamp(second).astimezone()
    text = local.strftime("%a, %e %b %Y %H:%M:%S %z (%Z)")
    _last_date = (second, zone, text)
    return text


def received_header(
    sub: Submission, myhostname: str, mail_name: str, queue_id: str | None
) -> bytes:
    """Postfix's ``Received:`` header, CRLF line ends; empty for
    notices the mail system generates itself (``origin="bounce"``).

    ``for <rcpt>`` appears only when the message has exactly one recipient; otherwise the
    date follows ``id ...;`` on a line of its own. Mail from ``vmail sendmail``
    (``origin="local"``) gets pickup's ``Received: by HOST (NAME, from userid UID)``.
    """
    if sub.origin == "bounce":
        return b""
    date = mail_date(sub.arrival_time)
    if sub.origin == "forward":  # Postfix's local(8) forward_send()
        lines = [f"Received: by {myhostname} ({mail_name})", f"\tid {queue_id}; {date}"]
        return ("\r\n".join(lines) + "\r\n").encode()
    if sub.origin == "local":
        lines = [
            f"Received: by {myhostname} ({mail_name}, from userid {sub.local_uid})",
            f"\tid {queue_id}; {date}",
        ]
        return ("\r\n".join(lines) + "\r\n").encode()
    addr = sub.client_address
    literal = f"IPv6:{addr}" if ":" in addr else addr
    lines = [
        f"Received: from {sub.helo or sub.client_name} ({sub.client_name} [{literal}])",
    ]
    if sub.tls_info:
        lines += [f"\t{sub.tls_info}", f"\t{sub.tls_ccert}"]
    if sub.auth_header and sub.sasl_username:
        lines.append(f"\t(Authenticated sender: {_CONTROL.sub('?', sub.sasl_username)})")
    by = f"\tby {myhostname} ({mail_name}) with {sub.protocol}"
    if queue_id:  # none before a before-queue filter (smtpd_proxy_filter)
        by += f" id {queue_id}"
    if len(sub.recipients) == 1:
        rcpt = Address.from_internal(sub.recipients[0].address).external
        lines += [by, f"\tfor <{rcpt}>; {date}"]
    else:
        lines += [by + ";", f"\t{date}"]
    return ("\r\n".join(lines) + "\r\n").encode()


class Cleanup:
    """Turns submissions into queue files for one configuration snapshot."""

    def __init__(
        self,
        config: MainConfig,
        router: Router,
        spool: Spool,
        *,
        on_commit: Callable[[QueueId], None] | None = None,
    ) -> None:
        self.config = config
        self.router = router
        self.spool = spool
        self.on_commit = on_commit  # e.g. the queue manager's notify(); must be thread-safe
        self.myhostname = config.get("myhostname")
        self.mail_name = config.mail_name
        self.always_add = config.is_known("always_add_missing_headers") and config.get_bool(
            "always_add_missing_headers"
        )
        self.header_limit = config.get_size("header_size_limit") or 102400
        self.hop_limit = config.get_int("hopcount_limit")
        maps = router.context.maps
        self.content_checks = ContentTables(
            HeaderChecks(maps("header_checks")),
            HeaderChecks(maps("mime_header_checks")),
            HeaderChecks(maps("nested_header_checks")),
            HeaderChecks(maps("body_checks")),
            config.get_size("body_checks_size_limit"),
            not config.get_bool("disable_mime_input_processing"),
        )
        self.bcc = BccMaps(router.context, router.resolver.is_local)
        self.remote_header_domain = config.get("remote_header_rewrite_domain")
        self.drop_headers = frozenset(
            name.lower().encode() for name in config.get_list("message_drop_headers")
        )
        self.local_milters = milter_specs(config, "non_smtpd_milters")
        self.milter_header_checks = HeaderChecks(maps("milter_header_checks"))
        self.local_macros = with_values(
            {  # the macros of local submissions (no SMTP session)
                "{j}": self.myhostname,
                "{daemon_name}": config.get("milter_macro_daemon_name"),
                "{daemon_addr}": "127.0.0.1",
                "{v}": config.get("milter_macro_v"),
                "{_}": "localhost [127.0.0.1]",
                "{client_addr}": "127.0.0.1",
                "{client_name}": "localhost",
                "{client_port}": "0",
                "{client_ptr}": "localhost",
            }
        )

    def expand(
        self,
        recipients: Sequence[Rcpt],
        redirect: str | None = None,
        *,
        mappings: bool = True,
        sender: str | None = None,
    ) -> tuple[Recipient, ...]:
        """Canonical rewriting, virtual alias expansion and duplicate removal (blocks).
        With ``redirect`` (an access table's REDIRECT) each recipient is replaced by that
        address and keeps its own as the original recipient, as in Postfix. Without
        ``mappings`` (``receive_override_options = no_address_mappings``, before a content
        filter) recipients are kept as given, for the filter's reinjection to expand.
        With ``sender`` (mail from outside), the automatic BCC recipients are added
        (:mod:`vmail.rewrite.bcc`)."""
        out: list[Recipient] = []
        seen: set[tuple[str, tuple[str, ...], str, str]] = set()
        bcc = self.bcc if mappings and sender is not None else None
        with self.router.resolver.message_cache():
            try:
                if bcc and sender:
                    self._add_bcc(bcc.for_sender(self._canonical(sender)), out, seen)
                for rcpt in recipients:
                    given = Address.from_internal(redirect or rcpt.address)
                    rewritten = self._rewrite(given) if mappings else given
                    self._add(rcpt, given, rewritten, mappings, out, seen)
                    if bcc:
                        self._add_bcc(bcc.for_recipient(rewritten), out, seen)
                if bcc:
                    self._add_bcc(bcc.always or None, out, seen)
            except AliasExpansionError as e:
                raise TemporaryError(ALIAS_EXPANSION_ERROR) from e
            except TableError as e:
                raise TemporaryError(LOOKUP_ERROR) from e
            except AddressError as e:
                raise TemporaryError(ALIAS_EXPANSION_ERROR) from e
        return tuple(out)

    def _canonical(self, address: str) -> Address:
        return self.router.canonical.rewrite(Address.from_internal(address))

    def _rewrite(self, recipient: Address) -> Address:
        """Canonical form, then the canonical maps for envelope recipients."""
        canonical = self.router.canonical.rewrite(recipient)
        return self.router.canonical_maps.map(canonical, "envelope_recipient")

    def _sender(self, sender: str) -> str:
        """The envelope sender after ``sender_canonical_maps``/``canonical_maps``."""
        maps = self.router.canonical_maps
        if not sender or not maps.applies("envelope_sender"):
            return sender
        try:
            return maps.map(self._canonical(sender), "envelope_sender").internal
        except TableError as e:
            raise TemporaryError(LOOKUP_ERROR) from e

    def _header_rewriter(self, sub: Submission, mappings: bool) -> HeaderSection | None:
        """The header rewriting (:mod:`vmail.rewrite.headeraddrs`) this message gets, if
        any: ``message_drop_headers`` left out; addresses made complete for local clients
        (or with ``remote_header_rewrite_domain``), and mapped unless ``mappings`` is off."""
        if sub.origin == "bounce":
            return None
        local = sub.local_rewrite or sub.origin == "local"
        remote_domain = self.remote_header_domain
        maps = self.router.canonical_maps if mappings else None
        mapped = maps is not None and (
            maps.applies("header_sender") or maps.applies("header_recipient")
        )
        if not (local or remote_domain or mapped):
            if not self.drop_headers:
                return None
            return HeaderRewriter(self.header_limit, None, self.drop_headers)
        canonical = self.router.canonical

        def rewriter(kind: str) -> Callable[[Address], Address]:
            def rewrite(address: Address) -> Address:
                if local:
                    address = canonical.rewrite(address)
                elif remote_domain and not address.has_at:
                    address = Address(address.local, remote_domain)
                return maps.map(address, kind) if maps is not None else address

            return rewrite

        rewrites = (rewriter("header_sender"), rewriter("header_recipient"))
        return HeaderRewriter(self.header_limit, rewrites, self.drop_headers)

    def _add(
        self,
        rcpt: Rcpt,
        given: Address,
        rewritten: Address,
        mappings: bool,
        out: list[Recipient],
        seen: set[tuple[str, tuple[str, ...], str, str]],
    ) -> None:
        """Append the final recipients of one given recipient that are not there yet."""
        finals = self.router.expander.expand(rewritten).recipients if mappings else (given,)
        for final in finals:
            key = (rcpt.orcpt, rcpt.notify, given.internal.lower(), final.internal.lower())
            if key in seen:
                continue
            seen.add(key)
            out.append(Recipient(final.internal, rcpt.address, rcpt.notify, rcpt.orcpt))

    def _add_bcc(
        self,
        address: str | None,
        out: list[Recipient],
        seen: set[tuple[str, tuple[str, ...], str, str]],
    ) -> None:
        """A BCC recipient (NOTIFY=NEVER), expanded like the others."""
        if address is None:
            return
        given = Address.from_internal(address)
        rcpt = Rcpt(given.internal, BCC_NOTIFY)
        self._add(rcpt, given, self.router.canonical.rewrite(given), True, out, seen)

    def edit_envelope(
        self, envelope: Envelope, edits: EnvelopeEdits, *, mappings: bool = True
    ) -> Envelope:
        """The envelope after the milters' requests (blocks): deleted recipients go with
        all their expansions (matched by the address the client gave, as Postfix does);
        added ones are rewritten and expanded like automatic BCC recipients (with their
        ``NOTIFY=`` and ``ORCPT=``); a new sender goes through the canonical maps."""
        recipients = list(envelope.recipients)
        for address in edits.deleted:
            gone = _internal(address)
            recipients = [r for r in recipients if (r.original or r.address) != gone]
        added = []
        for address, args in edits.added:
            notify, orcpt = _dsn_args(args)
            added.append(Rcpt(_internal(address), notify, orcpt))
        recipients += self._more(recipients, added, mappings)
        sender = envelope.sender
        if edits.sender is not None:
            sender = _internal(edits.sender[0])
            sender = self._sender(sender) if mappings else sender
        return replace(envelope, sender=sender, recipients=tuple(recipients))

    def _more(
        self, recipients: Sequence[Recipient], added: Sequence[Rcpt], mappings: bool
    ) -> list[Recipient]:
        """The expansions of ``added`` that ``recipients`` does not have yet (blocks)."""
        if not added:
            return []
        have = {(r.orcpt, r.notify, r.original.lower(), r.address.lower()) for r in recipients}
        more = []
        for recipient in self.expand(added, mappings=mappings):
            key = (
                recipient.orcpt,
                recipient.notify,
                recipient.original.lower(),
                recipient.address.lower(),
            )
            if key not in have:
                have.add(key)
                more.append(recipient)
        return more

    def retarget(self, envelope: Envelope, verdict: Verdict, *, mappings: bool = True) -> Envelope:
        """The envelope after header or body checks said REDIRECT (every recipient goes,
        and the address takes the first one's place and original recipient: one delivery,
        as in Postfix) or BCC (recipients added, ``NOTIFY=NEVER``) (blocks)."""
        recipients = list(envelope.recipients)
        if verdict.redirect and recipients:
            first = recipients[0]
            given = Rcpt(first.original or first.address, first.notify, first.orcpt)
            recipients = list(self.expand([given], _internal(verdict.redirect), mappings=mappings))
        bcc = [Rcpt(_internal(address), BCC_NOTIFY) for address in verdict.bcc]
        recipients += self._more(recipients, bcc, mappings)
        return replace(envelope, recipients=tuple(recipients))

    def open(self, sub: Submission) -> CleanupMessage:
        """Expand the recipients, start the queue file and write ``Received:`` (blocks).

        Raises :class:`TemporaryError` (alias expansion, lookup or queue write error).
        """
        client = {"name": sub.client_name, "address": sub.client_address}
        if sub.client_port:
            client["port"] = sub.client_port
        if sub.helo:
            client["helo"] = sub.helo
        client["protocol"] = sub.protocol
        if sub.sasl_username:
            client["sasl_username"] = sub.sasl_username
        mappings = NO_ADDRESS_MAPPINGS not in sub.receive_options
        sender = self._sender(sub.sender) if mappings else sub.sender
        envelope = Envelope(
            sender=sender,
            recipients=self.expand(
                [*sub.recipients, *(Rcpt(address) for address in sub.bcc)],
                sub.redirect,
                mappings=mappings,
                sender=None if sub.origin == "bounce" else sender,
            ),
            arrival_time=sub.arrival_time,
            client=client,
            envid=sub.envid,
            ret=sub.ret,
            attributes=dict(sub.attributes),
            filter=sub.filter,
        )
        writer = self.spool.writer(envelope, queue_id=sub.queue_id)
        checks = None
        if (
            self.content_checks
            and sub.origin not in ("bounce", "forward")  # mail the system made or relays
            and NO_HEADER_BODY_CHECKS not in sub.receive_options
        ):
            checks = ContentFilter(
                self.content_checks, self.header_limit, partial(_report, writer.planned_id, sub)
            )
        stages: list[HeaderSection] = [] if checks is None else [checks]
        if self.always_add or sub.local_rewrite or sub.origin == "local":
            # first: a dropped Resent-Bcc: still makes the added headers Resent- ones
            stages.append(
                MissingHeaders(
                    envelope.sender,
                    sub.arrival_time,
                    writer.planned_id,
                    self.myhostname,
                    self.header_limit,
                )
            )
        rewriter = self._header_rewriter(sub, mappings)
        if rewriter is not None:
            stages.append(rewriter)
        hops = self.hop_limit if sub.origin != "bounce" else 0
        message = CleanupMessage(
            writer, self.on_commit, stages, self.spool.queue_dir(HOLD), checks, hops
        )
        message.retarget = partial(self.retarget, mappings=mappings)
        chain, macros, emulate = sub.milters, sub.milter_macros, False
        if chain is None and sub.origin == "local" and self.local_milters:
            # non_smtpd_milters: cleanup plays the SMTP session, from localhost
            chain = MilterChain(self.local_milters, log)
            macros, emulate = self.local_macros, True
        if chain is not None and "no_milters" not in sub.receive_options:
            message.milters = MilterStep(
                chain,
                with_values({"{i}": writer.planned_id}, macros),  # only cleanup knows i
                partial(_milter_log, writer.planned_id, sub),
                partial(self.edit_envelope, mappings=mappings),
                (sub.sender, tuple(r.address for r in sub.recipients)) if emulate else None,
                MilterHeaderChecks(
                    self.milter_header_checks, partial(_milter_header_log, writer.planned_id, sub)
                )
                if self.milter_header_checks
                else None,
            )
        if sub.hold:
            message.hold()
        try:
            header = received_header(sub, self.myhostname, self.mail_name, writer.planned_id)
            # through the checks, as Postfix's smtpd hands its Received: to cleanup (a
            # submission service may IGNORE it to hide the client's address)
            message.write("".join(f"{line}\r\n" for line in sub.prepend).encode() + header)
        except BaseException:
            writer.abort()
            raise
        return message

    def store(self, sub: Submission, chunks: Iterable[bytes]) -> QueueId:
        """Queue a whole message held in memory: open, write and commit in one call (blocks).

        Servers use this for small messages so that one worker-thread call does all the
        blocking work. Raises :class:`TemporaryError` as :meth:`open` and
        :meth:`CleanupMessage.commit` do; nothing is left in the queue then.
        """
        message = self.open(sub)
        try:
            for chunk in chunks:
                message.write(chunk)
        except BaseException:
            message.abort()
            raise
        return message.commit()


log = logging.getLogger("vmail.cleanup")
HEADER_PEEK_LIMIT = 65536  # bytes of header kept for the message-id log line
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*((?:[^\r\n]|\r?\n[ \t])*)", re.I | re.M)
_FOLD = re.compile(rb"\r?\n[ \t]+")
_RECEIVED = re.compile(rb"^received[ \t]*:", re.I | re.M)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class HeaderPeek:
    """The content's header section (at most :data:`HEADER_PEEK_LIMIT` bytes), kept while
    it streams past, for the ``message-id=`` line Postfix's cleanup logs."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._open = True

    def feed(self, chunk: bytes) -> None:
        if self._open:
            start = max(0, len(self._head) - 3)  # only where the new bytes can end it
            self._head += chunk
            if self._head.find(b"\r\n\r\n", start) >= 0 or len(self._head) >= HEADER_PEEK_LIMIT:
                self._open = False

    def _section(self) -> bytes:
        head = bytes(self._head)
        if head.startswith(b"\r\n"):
            return b""  # no header section at all
        end = head.find(b"\r\n\r\n")
        return head[: end + 2] if end >= 0 else head

    def message_id(self) -> str:
        """The first Message-ID header's value, unfolded; empty if there is none."""
        found = _MESSAGE_ID.search(self._section())
        if found is None:
            return ""
        return _FOLD.sub(b" ", found.group(1)).strip().decode("utf-8", "replace")

    def hops(self) -> int:
        """How many ``Received:`` headers the header section has (cleanup's hop count)."""
        return len(_RECEIVED.findall(self._section()))


def _report(queue_id: str, sub: Submission, what: str, line: str, action: HeaderAction) -> None:
    """Postfix's cleanup line for an action of header, MIME header, nested header or
    body checks (``what``: header or body): ``ID: reject: header Subject: x from
    NAME[ADDR]; from=<...> to=<...> proto=ESMTP helo=<...>: 5.7.1 text``."""
    if action.verb not in KNOWN:
        log.warning("%s: %s_checks: unsupported action %s", queue_id, what, action.verb)
        return
    if action.verb == "IGNORE":
        return  # not logged by Postfix either
    verb = "warning" if action.verb == "WARN" else action.verb.lower()
    to = f" to=<{sub.recipients[-1].address}>" if sub.recipients else ""  # the last one
    helo = f" helo=<{sub.helo}>" if sub.helo else ""
    text = " ".join(action.reject_reply()) if action.verb == "REJECT" else action.text
    log.info(
        "%s: %s: %s %s from %s[%s]; from=<%s>%s proto=%s%s%s",
        queue_id,
        verb,
        what,
        _CONTROL.sub("?", line),  # as Postfix's printable() shows line breaks and tabs
        sub.client_name,
        sub.client_address,
        sub.sender,
        to,
        sub.protocol,
        helo,
        f": {text}" if text else "",
    )


@dataclass(frozen=True)
class MilterStep:
    """The milters' turn at the end of a message, as Postfix's cleanup gives it: they
    read the message as it will be queued (cleanup's own ``Received:`` hidden), their
    edits are made to the queue file and envelope, and their decision is taken."""

    chain: MilterChain
    macros: Callable[[str], str | None]
    report: Callable[[str, str], None]  # (action, text): cleanup's log line
    edit_envelope: Callable[[Envelope, EnvelopeEdits], Envelope]
    emulate: tuple[str, tuple[str, ...]] | None = None  # non_smtpd_milters: sender, rcpts
    header_checks: MilterHeaderChecks | None = None  # milter_header_checks

    def run(self, writer: QueueWriter, held: bool = False) -> str | None:
        """None to queue, ``H`` to hold, ``D`` to drop (blocks); raises a MailError
        with the milter's reply when it refused the message. ``held``: the message goes
        to hold anyway (a milter's hold is not logged again)."""
        if self.emulate is None:
            return self._message(writer, None, held)
        try:
            return self._message(writer, self._envelope_events(*self.emulate), held)
        finally:
            self.chain.disconnect()

    def _envelope_events(self, sender: str, recipients: tuple[str, ...]) -> str | None:
        """The SMTP events of a local submission, as Postfix's cleanup emulates them:
        ESMTP from localhost/127.0.0.1. A milter must not refuse a recipient here (a
        configuration error: the message stays with the sender)."""
        chain, envelope = self.chain, {"{mail_addr}": _external(sender)}
        macros = with_values(envelope, self.macros)  # {rcpt_addr} is set per recipient

        answer = chain.connect("localhost", "127.0.0.1", 0, macros)
        answer = answer or chain.helo("localhost", macros)
        # addresses without <>, as Postfix's cleanup sends them
        answer = answer or chain.mail([_external(sender)], macros)
        if answer is None:
            for recipient in recipients:
                envelope["{rcpt_addr}"] = _external(recipient)
                refused = chain.rcpt([_external(recipient)], macros)
                if refused is not None and refused[:1] in ("4", "5"):
                    log.warning(
                        "milter configuration error: can't reject recipient in a "
                        "non-SMTP submission: %s",
                        refused,
                    )
                    raise TemporaryError(LOOKUP_ERROR)
            answer = chain.data(macros)
        return answer

    def _message(self, writer: QueueWriter, answer: str | None, held: bool) -> str | None:
        checks = self.header_checks
        edits = MessageEdits(writer.content(), checks)
        if answer is None or answer == "H":
            hold = answer == "H"
            answer = self.chain.message(edits, self.macros, log)
            answer = "H" if hold and answer is None else answer
        if checks is not None and checks.verdict.outcome is not None:
            # what milter_header_checks decided wins (logged there, not again)
            outcome = checks.verdict.outcome
            if outcome.verb == "REJECT":
                raise PermanentError(Reply(550, *outcome.reject_reply()))
            if outcome.verb == "DISCARD":
                return "D"
            held = True
            answer = "H" if answer is None else answer
        if answer == "D":
            self.report("milter-discard", "milter triggers DISCARD action")
            return "D"
        if answer not in (None, "H"):
            reply = MILTER_CLOSING if answer == "S" else to_reply(answer)
            text = str(MILTER_CLOSING)[4:] if answer == "S" else printable(answer[4:])
            self.report("milter-reject", text)
            raise (TemporaryError if reply.temporary else PermanentError)(reply)
        if edits.changed:
            writer.replace_content(edits.content())
        envelope = edits.envelope
        if envelope.added or envelope.deleted or envelope.sender is not None:
            writer.envelope = self.edit_envelope(writer.envelope, envelope)
        if answer == "H" and not held:
            self.report("milter-hold", "milter triggers HOLD action")
        return answer


MILTER_CLOSING = Reply(421, "4.7.0", "Server closing connection")


class MilterHeaderChecks:
    """``milter_header_checks``: the headers milters add or change, checked as
    ``header_checks`` checks the client's (Postfix's cleanup_milter_header_checks): the
    header to write, or None to leave it out; what the actions decide for the message
    is in :attr:`verdict`. PREPEND is logged and not done, as in Postfix."""

    def __init__(self, checks: HeaderChecks, log_line: Callable[[str, str, str], None]) -> None:
        self.checks = checks
        self.log_line = log_line  # (action, header, text)
        self.verdict = Verdict()

    def __call__(self, header: bytes) -> bytes | None:
        if self.verdict.stopped:
            return header
        key = header.removesuffix(b"\r\n").replace(b"\r\n", b"\n")
        line = key.decode("utf-8", "surrogateescape")
        action = self.checks.check(line)
        if action is None:
            return header
        verb = action.verb
        if verb not in KNOWN:
            log.warning("milter_header_checks: unsupported action %s", verb)
            return header
        if verb == "BCC":
            return header  # Postfix's milter_header_checks: no effect, not logged
        if verb != "IGNORE":
            text = " ".join(action.reject_reply()) if verb == "REJECT" else action.text
            self.log_line("warning" if verb == "WARN" else verb.lower(), line, text)
        if verb == "PREPEND":
            log.warning("the milter_header/body_checks prepend action is not implemented")
            return header
        out: list[bytes] = []
        self.verdict.apply(action, header, out)
        return b"".join(out) or None


def _milter_header_log(queue_id: str, sub: Submission, action: str, line: str, text: str) -> None:
    """``ID: milter-header-warning: header X-Spam: yes from NAME[ADDR]; from=<...>
    to=<...> proto=ESMTP helo=<...>: text`` (Postfix's cleanup_milter_hbc_log)."""
    shown = _CONTROL.sub("?", line)[:60]
    log.info("%s: milter-header-%s: header %s %s: %s", queue_id, action, shown, _whom(sub), text)


def _milter_log(queue_id: str, sub: Submission, action: str, text: str) -> None:
    """``ID: milter-reject: END-OF-MESSAGE from NAME[ADDR]: 5.7.1 Command rejected;
    from=<...> to=<...> proto=ESMTP helo=<...>`` (Postfix's cleanup_milter_apply)."""
    client, _, envelope = _whom(sub).partition("; ")
    log.info("%s: %s: END-OF-MESSAGE %s: %s; %s", queue_id, action, client, text, envelope)


def _whom(sub: Submission) -> str:
    """``from NAME[ADDR]; from=<...> to=<...> proto=... helo=<...>`` of cleanup's milter
    lines: the last recipient; for local mail localhost and no protocol or HELO."""
    to = f" to=<{sub.recipients[-1].address}>" if sub.recipients else ""
    helo = f" helo=<{sub.helo}>" if sub.helo else ""
    proto = f" proto={sub.protocol}" if sub.origin == "smtp" else ""
    name, address = (sub.client_name, sub.client_address) if sub.origin == "smtp" else LOCALHOST
    return f"from {name}[{address}]; from=<{sub.sender}>{to}{proto}{helo}"


LOCALHOST = ("localhost", "127.0.0.1")  # the client cleanup plays for non_smtpd_milters


def _external(address: str) -> str:
    return Address.from_internal(address).external if address else ""


def _internal(address: str) -> str:
    """A milter's address (``<user@domain>`` or bare, external form) in internal form."""
    try:
        return Address.parse(address).internal
    except AddressError:
        return address.strip().removeprefix("<").removesuffix(">")


def _dsn_args(args: str) -> tuple[tuple[str, ...], str]:
    """NOTIFY= and ORCPT= of a milter's added recipient; the others are ignored."""
    notify: tuple[str, ...] = ()
    orcpt = ""
    for arg in args.split():
        name, _, value = arg.partition("=")
        if name.upper() == "NOTIFY" and value:
            notify = tuple(word.upper() for word in value.split(","))
        elif name.upper() == "ORCPT" and value:
            orcpt = value
    return notify, orcpt


class MissingHeaders(HeaderSection):
    """Streams the content, appending missing Message-Id:/Date:/From: at the header's end.

    Header lines pass through as they complete; only an incomplete line is held, and a
    line longer than ``limit`` ends the header section (as Postfix's header_size_limit
    does). The first empty or non-header line starts the body.
    """

    def __init__(
        self, sender: str, arrival_time: float, queue_id: str, myhostname: str, limit: int
    ) -> None:
        super().__init__(limit)
        self.sender = sender
        self.arrival_time = arrival_time
        self.queue_id = queue_id
        self.myhostname = myhostname
        self.seen: set[str] = set()
        self._any_header = False

    def header_line(self, line: bytes, out: list[bytes]) -> bool:
        if not self._header_line(line):
            self.end(out)
            return False
        out.append(line)
        return True

    def end(self, out: list[bytes]) -> None:
        out.append(self.added())
        self.in_header = False

    def finish(self) -> bytes:
        """What is left at the end of the content."""
        if not self.in_header:
            return b""
        self.in_header = False
        partial = self.take_partial()
        if partial and self._header_line(partial + b"\r\n"):
            return partial + b"\r\n" + self.added()
        return self.added() + partial

    def _header_line(self, line: bytes) -> bool:
        """Record a header line's name; False for the empty or non-header line ending them."""
        if line[:1] in (b" ", b"\t"):
            return self._any_header
        name = header_name(line)
        if name is None:
            return False
        self.seen.add(name.decode("ascii").lower())
        self._any_header = True
        return True

    def added(self) -> bytes:
        """The headers Postfix's cleanup would add, in its order."""
        resent = "Resent-" if any(n.startswith("resent-") for n in self.seen) else ""
        lines = []
        if f"{resent}message-id".lower() not in self.seen:
            stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(self.arrival_time))
            lines.append(f"{resent}Message-Id: <{stamp}.{self.queue_id}@{self.myhostname}>")
        if f"{resent}date".lower() not in self.seen:
            lines.append(f"{resent}Date: {mail_date(self.arrival_time)}")
        if f"{resent}from".lower() not in self.seen:
            sender = Address.from_internal(self.sender).external if self.sender else "MAILER-DAEMON"
            lines.append(f"{resent}From: {sender}")
        return "".join(line + "\r\n" for line in lines).encode()


class CleanupMessage:
    """One message being written; call :meth:`write` per chunk, then :meth:`commit`."""

    def __init__(
        self,
        writer: QueueWriter,
        on_commit: Callable[[QueueId], None] | None = None,
        stages: Sequence[HeaderSection] = (),
        hold_dir: Path | None = None,
        checks: ContentFilter | None = None,
        hop_limit: int = 0,
    ) -> None:
        self._writer = writer
        self._on_commit = on_commit
        self._hold_dir = hold_dir  # the hold queue: HOLD said by an access table or header
        self._hold = False  # an access table said HOLD (header_checks may say so later)
        self._stages = stages  # content checks, missing headers, header rewriting, in order
        self._checks = checks  # the first stage, if any: what it decided for the message
        self._hop_limit = hop_limit  # hopcount_limit: Received: headers (ours too); 0: none
        self._peek = HeaderPeek()
        self.queue_id: QueueId = writer.planned_id
        self.milters: MilterStep | None = None  # the milters see the message at its end
        # REDIRECT and BCC of the content checks: the envelope they make
        self.retarget: Callable[[Envelope, Verdict], Envelope] | None = None

    def hold(self) -> None:
        """Queue the message in ``hold`` when it is committed."""
        self._hold = True

    def write(self, chunk: bytes) -> None:
        """Append content (CRLF line ends, dot-unstuffed) (blocks)."""
        self._append(chunk)

    def _append(self, chunk: bytes, *, last: bool = False) -> None:
        """Through the stages to the queue file; ``last``: the stages give what they hold."""
        try:
            chunk = through_stages(self._stages, chunk, last=last)
        except TableError as e:  # a check table, or a canonical map in header rewriting
            raise TemporaryError(LOOKUP_ERROR) from e
        if chunk:
            self._peek.feed(chunk)
            self._writer.write(chunk)

    def commit(self) -> QueueId:
        """Make the queue file durable and return its ID (blocks); TemporaryError on
        failure, PermanentError when header or body checks said REJECT. A message they
        DISCARDed is dropped and its ID returned as if it was queued."""
        try:
            self._append(b"", last=True)
            outcome = self._checks.verdict.outcome if self._checks is not None else None
            if outcome is not None and outcome.verb == "REJECT":
                dsn, text = outcome.reject_reply()
                raise PermanentError(Reply(550, dsn, text))
            if outcome is not None and outcome.verb == "DISCARD":
                self._writer.abort()
                return self.queue_id
            if self._hop_limit and self._peek.hops() >= self._hop_limit:  # a mail loop
                log.warning("%s: message rejected: hopcount exceeded", self.queue_id)
                raise PermanentError(TOO_MANY_HOPS)
            held = self._hold or (outcome is not None and outcome.verb == "HOLD")
            if self.milters is not None:
                said = self.milters.run(self._writer, held)
                if said == "D":
                    self._writer.abort()
                    return self.queue_id
                held = held or said == "H"
            for verdict in self._verdicts():
                self._envelope_actions(verdict)
            self.queue_id = self._writer.commit(self._hold_dir if held else None)
        except BaseException:
            self._writer.abort()
            raise
        log.info(qlog.message_id(self.queue_id, self._peek.message_id()))
        if self._on_commit is not None and not held:  # held mail is not for qmgr
            self._on_commit(self.queue_id)
        return self.queue_id

    def _verdicts(self) -> list[Verdict]:
        """What the header and body checks and ``milter_header_checks`` decided."""
        checks = self.milters.header_checks if self.milters is not None else None
        return [c.verdict for c in (self._checks, checks) if c is not None]

    def _envelope_actions(self, verdict: Verdict) -> None:
        """A verdict's FILTER, REDIRECT and BCC, into the envelope (blocks)."""
        if verdict.filter:
            self._writer.envelope = replace(self._writer.envelope, filter=verdict.filter)
        if (verdict.redirect or verdict.bcc) and self.retarget is not None:
            self._writer.envelope = self.retarget(self._writer.envelope, verdict)

    def abort(self) -> None:
        """Forget the message (removes the partial queue file)."""
        self._writer.abort()


__all__ = [
    "ALIAS_EXPANSION_ERROR",
    "Cleanup",
    "CleanupMessage",
    "HeaderPeek",
    "MissingHeaders",
    "Rcpt",
    "Submission",
    "mail_date",
    "received_header",
]
