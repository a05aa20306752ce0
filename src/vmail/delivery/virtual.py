"""The ``virtual`` delivery agent: virtual(8) for one recipient at a time.

For each recipient (folded to lower case for every decision):

1. mail loop: a ``Delivered-To:`` header in the message that already names the
   recipient bounces with ``5.4.6 mail forwarding loop for <recipient>``. (Postfix's
   local(8) does this; virtual(8) 3.7 does not — vmail adds it, as its own mailstore
   and Sieve redirects can send a message around; ``loop_detection=False`` turns it off.)
2. ``virtual_mailbox_maps``, searched as virtual(5) says: ``user+ext@domain``,
   ``user@domain``, ``@domain`` (pattern tables see only the full address). Not found:
   bounce ``5.1.1 unknown user: "<recipient>"``. The table fails: defer ``4.3.5 mail
   system configuration error`` (virtual(8)'s status and text).
3. ``virtual_uid_maps`` / ``virtual_gid_maps`` in the same order; missing, a uid below
   ``virtual_minimum_uid`` or a gid ≤ 0 defers with ``4.3.5``. Numbers are read like
   C's ``atol`` (leading digits; ``static:abc`` is 0).
4. The path ``$virtual_mailbox_base/<result>`` (:mod:`.paths`); a trailing ``/`` means
   Maildir (:mod:`.maildir`), otherwise mbox (:mod:`.mbox`). A path that would leave the
   base defers with ``4.3.5``.
5. Writing fails: the status from the errno (:mod:`.status`) decides: ``5.2.2`` (over
   ``virtual_mailbox_limit`` or quota) bounces, ``4.x.x`` defers; the text is prefixed
   ``maildir delivery failed:`` or ``delivery failed to mailbox <path>:``.

6. Maildir++ quota (:mod:`.maildir_quota`): the limit in bytes is looked up in
   ``virtual_mailbox_quota_maps`` in the same order (not found or 0: unlimited; a table
   failure defers with ``4.3.5``); with that parameter empty, the limits in the
   mailbox's ``maildirsize`` apply. A full mailbox bounces with ``5.2.2 maildir delivery
   failed: Quota exceeded (mailbox for user is full)``, as Dovecot's LMTP does with
   ``quota_full_tempfail = no``. A delivered message is added to ``maildirsize`` when the
   mailbox has one, and a delivery that crosses a ``mail_quota_warning`` threshold runs
   that warning's command (:mod:`.quota_warning`).

Success is ``2.0.0 delivered to maildir`` / ``delivered to mailbox``, Postfix's words.

Table answers that were found are remembered for :data:`CACHE_TTL` seconds per
(parameter, recipient) (every message to a mailbox asks the same three questions;
Postfix's proxymap/trivial-rewrite keep similar short-lived answers). A mailbox changed in,
or removed from, a table is therefore seen at most that long after the change; "not
found" and failed lookups are never cached, so a new mailbox is seen at once. A reload
builds a new agent and starts afresh.

Files are written as the recipient's uid/gid when running as root (``fchown`` of every
created file and directory, see :mod:`.maildir`), else as the current user.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from vmail.config import MainConfig
from vmail.core.address import Address
from vmail.core.errors import ConfigError, MailError, TableError
from vmail.core.ttlcache import TtlCache
from vmail.delivery.content import Content, delivery_headers, header_values, split_headers
from vmail.delivery.maildir import MaildirResult, UniqueNames, deliver_maildir
from vmail.delivery.maildir_quota import DeliveryQuota, mailbox_lock
from vmail.delivery.mbox import LockPolicy, deliver_mbox
from vmail.delivery.paths import MailboxPathError, Owner, file_owner, mailbox_path
from vmail.delivery.quota_warning import crossed, parse_warnings, run_warning
from vmail.delivery.request import DeliveryRequest, DeliveryResult, Status, failed, sent
from vmail.mailstore.errors import MailstoreError
from vmail.rewrite.addrfind import find_address
from vmail.rewrite.context import RoutingContext
from vmail.tables import Maps

log = logging.getLogger("vmail.delivery.virtual")

CONFIG_ERROR = "mail system configuration error"
CACHE_TTL = 1.0  # seconds a found table answer is reused
CACHE_SIZE = 4096  # answers remembered; more start the cache over
QUOTA_MAPS = "virtual_mailbox_quota_maps"


_ATOL = re.compile(r"\s*([+-]?\d+)")


def atol(text: str) -> int:
    """C's ``atol``: the leading decimal number, 0 when there is none."""
    match = _ATOL.match(text)
    return int(match.group(1)) if match else 0


class VirtualAgent:
    """virtual(8) for one configuration snapshot; ``deliver`` is thread-safe."""

    def __init__(
        self,
        config: MainConfig,
        context: RoutingContext | None = None,
        *,
        loop_detection: bool = True,
        hostname: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._cache: TtlCache[tuple[str, str], str] = TtlCache(CACHE_TTL, CACHE_SIZE, clock)
        self.context = context or RoutingContext(config)
        self.base = config.get("virtual_mailbox_base")
        if not self.base.startswith("/"):
            raise ConfigError(
                f"do not specify relative pathname: virtual_mailbox_base = {self.base}",
                config.locations.get("virtual_mailbox_base"),
            )
        self.limit = config.get_size("virtual_mailbox_limit")
        message_limit = config.get_size("message_size_limit")
        if self.limit and not message_limit:
            raise ConfigError(
                "configuration error: virtual_mailbox_limit is limited but "
                "message_size_limit is unlimited"
            )
        if self.limit and self.limit < message_limit:
            raise ConfigError(
                "configuration error: virtual_mailbox_limit is smaller than message_size_limit"
            )
        self.minimum_uid = config.get_int("virtual_minimum_uid")
        self.delimiters = config.get("recipient_delimiter")
        self.loop_detection = loop_detection
        self.names = UniqueNames(hostname)
        self.lock = LockPolicy(
            tuple(config.get_list("virtual_mailbox_lock")),
            attempts=self._int("deliver_lock_attempts", 20),
            delay=float(self._time("deliver_lock_delay", 1)),
            stale_after=float(self._time("stale_lock_time", 500)),
        )
        self.quota_from_file = not config.get_list(QUOTA_MAPS)
        self.quota_warnings = parse_warnings(config.get_list("mail_quota_warning"))
        self.strict_owner = (
            config.get_bool("strict_mailbox_ownership")
            if config.is_known("strict_mailbox_ownership")
            else True
        )

    def _int(self, name: str, default: int) -> int:
        return self.config.get_int(name) if self.config.is_known(name) else default

    def _time(self, name: str, default: int) -> int:
        return self.config.get_time(name) if self.config.is_known(name) else default

    # -- lookups -----------------------------------------------------------------------

    def _find(self, parameter: str, user: Address) -> str | None:
        key = (parameter, user.internal)
        cached = self._cache.get(key, None)
        if cached is not None:
            return cached
        maps: Maps = self.context.maps(parameter)
        found = find_address(
            maps, user, delimiters=self.delimiters, is_local=lambda _d: False, localpart=False
        )
        if found is None:
            return None
        self._cache.put(key, found.value)
        return found.value

    # -- delivery ----------------------------------------------------------------------

    async def deliver_async(self, request: DeliveryRequest, content: Content) -> DeliveryResult:
        """:meth:`deliver` in a worker thread (disk I/O never runs on the event loop)."""
        return await asyncio.to_thread(self.deliver, request, content)

    def deliver(self, request: DeliveryRequest, content: Content) -> DeliveryResult:
        """Deliver ``content`` (read once, streamed) to one recipient."""
        user_text = request.recipient.lower()
        user = Address.from_internal(user_text)
        if self.loop_detection:
            header, content = split_headers(content)
            quoted = user.external
            for seen in header_values(header, "Delivered-To"):
                if seen.lower() in (quoted, user_text):
                    return failed("5.4.6", f"mail forwarding loop for {request.recipient}")
        try:
            value = self._find("virtual_mailbox_maps", user)
        except TableError as e:
            log.warning("table %s: lookup %s: %s", e.table, user_text, e.message)
            return failed("4.3.5", CONFIG_ERROR)
        if value is None:
            return failed("5.1.1", f'unknown user: "{user_text}"')
        ids = self._owner_ids(user, user_text)
        if isinstance(ids, DeliveryResult):
            return ids
        try:
            mailbox = mailbox_path(self.base, value)
        except MailboxPathError as e:
            log.warning("recipient %s: bad mailbox path: %s", user_text, e)
            return failed("4.3.5", CONFIG_ERROR)
        owner = file_owner(*ids)
        headers = delivery_headers(request.sender, request.original_recipient, request.recipient)
        try:
            if mailbox.maildir:
                limit = self._quota_limit(user, user_text)
                if isinstance(limit, DeliveryResult):
                    return limit
                quota = DeliveryQuota(
                    Path(mailbox.path), limit, from_file=self.quota_from_file, owner=owner
                )
                # Check, place and count one message at a time per mailbox, so concurrent
                # deliveries cannot all fit in the space that is left.
                with mailbox_lock(mailbox.path) if limit or self.quota_from_file else nullcontext():
                    result = deliver_maildir(
                        mailbox,
                        content,
                        headers=headers,
                        owner=owner,
                        limit=self.limit,
                        names=self.names,
                        stable_name=self._stable_name(request),
                        look_first=request.recovered,
                        check=quota.check,
                    )
                    self._count(request, quota, result, owner)
                return sent("delivered to maildir", mailbox.path)
            deliver_mbox(
                mailbox,
                content,
                sender=request.sender,
                headers=headers,
                owner=owner,
                limit=self.limit,
                lock=self.lock,
                strict_owner=self.strict_owner,
            )
            return sent("delivered to mailbox", mailbox.path)
        except MailError as e:
            prefix = (
                "maildir delivery failed: "
                if mailbox.maildir
                else f"delivery failed to mailbox {mailbox.path}: "
            )
            return failed(e.reply.enhanced, prefix + e.reply.text, mailbox.path)

    def _quota_limit(self, user: Address, user_text: str) -> int | DeliveryResult:
        """The mailbox's quota in bytes (0: none or unknown), or the deferral."""
        if self.quota_from_file:
            return 0
        try:
            value = self._find(QUOTA_MAPS, user)
        except TableError as e:
            log.warning("table %s: lookup %s: %s", e.table, user_text, e.message)
            return failed("4.3.5", CONFIG_ERROR)
        return max(atol(value), 0) if value is not None else 0

    def _count(
        self,
        request: DeliveryRequest,
        quota: DeliveryQuota,
        result: MaildirResult,
        owner: Owner | None,
    ) -> None:
        """Add a new message to ``maildirsize`` and run a quota warning it calls for."""
        if result.existing:
            return  # counted (or not) by the attempt that delivered it
        try:
            after = quota.record(result.size)
        except MailstoreError as e:
            log.warning(
                "%s: to=<%s>, maildirsize update failed: %s", request.queue_id, request.recipient, e
            )
            return
        if after is None:
            return
        warning = crossed(
            self.quota_warnings, after.storage_limit, after.bytes - result.size, after.bytes
        )
        if warning is not None:
            run_warning(warning, request.recipient.lower(), owner, queue_id=request.queue_id)

    def _stable_name(self, request: DeliveryRequest) -> str | None:
        """The Maildir base name of this delivery, the same on every attempt."""
        if not request.delivery_key:
            return None
        arrival = request.message.arrival_time if request.message is not None else 0.0
        return f"{int(arrival)}.{request.delivery_key}.{self.names.hostname}"

    def _owner_ids(self, user: Address, user_text: str) -> tuple[int, int] | DeliveryResult:
        """The uid and gid for ``user``, or the deferral virtual(8) gives."""
        ids: list[int] = []
        for parameter, minimum, what in (
            ("virtual_uid_maps", self.minimum_uid, "uid"),
            ("virtual_gid_maps", 1, "gid"),
        ):
            try:
                value = self._find(parameter, user)
            except TableError as e:
                log.warning("table %s: lookup %s: %s", e.table, user_text, e.message)
                return failed("4.3.5", CONFIG_ERROR)
            if value is None:
                log.warning("recipient %s: not found in %s", user_text, parameter)
                return failed("4.3.5", CONFIG_ERROR)
            number = atol(value)
            if number < minimum:
                log.warning("recipient %s: bad %s %s in %s", user_text, what, value, parameter)
                return failed("4.3.5", CONFIG_ERROR)
            ids.append(number)
        return ids[0], ids[1]


__all__ = ["DeliveryRequest", "DeliveryResult", "Status", "VirtualAgent", "atol"]
