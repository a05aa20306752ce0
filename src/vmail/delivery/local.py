"""The ``local`` delivery agent: local(8) for domains in ``mydestination``, without UNIX users.

vmail has no UNIX mailboxes, so local delivery is aliases(5) only. For each recipient:

1. Mail loop: a ``Delivered-To:`` header naming the recipient (case-insensitively)
   bounces ``5.4.6 mail forwarding loop for <recipient>``.
2. Expansion (all of it first, before anything is delivered): the local part, folded to
   lower case, is looked up in ``alias_maps`` (``user+ext``, then ``user``). Each item of
   the value is a ``|command``, a ``/file`` (``/dir/``: Maildir), an ``:include:/file``
   (read and expanded the same way, items one per line or comma-separated, ``#``
   comments), or an address; a local address is expanded again, a name found in its own
   expansion (or past 100 levels) is delivered as itself. A name that is no alias
   bounces ``5.1.1 unknown user: "name"`` (there is no mailbox to fall back to). When
   ``owner-<alias>`` exists, the deliveries of ``<alias>`` get the envelope sender
   ``owner-<alias>@$myorigin`` (``expand_owner_alias``: its expansion).
3. Restrictions: ``allow_mail_to_commands`` and ``allow_mail_to_files`` name the
   contexts (``alias``, ``forward``, ``include``) where commands and files are allowed;
   elsewhere they bounce ``5.7.1 mail to command is restricted`` / ``... file ...``.
4. Privileges: targets from ``alias_maps`` run as ``default_privs``; targets from an
   ``:include:`` file run as the file's owner (``default_privs`` when root owns it).
5. Delivery: commands through :mod:`.command` (``/bin/sh -c`` only when the command line
   needs a shell) with ``SENDER``, ``RECIPIENT``, ``LOCAL``, ``USER``, ``LOGNAME``,
   ``EXTENSION``, ``DOMAIN``, ``ORIGINAL_RECIPIENT`` and the client's ``CLIENT_*`` /
   ``SASL_*`` (characters outside ``command_expansion_filter`` become ``_``), input as
   local(8) writes it (``From `` line, ``Return-Path:``, ``X-Original-To:``,
   ``Delivered-To:`` per ``prepend_delivered_header``); files appended in mbox format under
   ``mailbox_delivery_lock`` (:mod:`.mbox`) or written as Maildir (:mod:`.maildir`).

Forwarding to a non-local address (``root: admin@example.net``) is a new message, as in
Postfix's local(8): one per envelope sender, handed to cleanup through the ``forwarder``
the queue manager gives the agent (this layer cannot reach cleanup itself), with
``Received: by HOST (NAME)`` and ``Delivered-To: <recipient>`` above the original
message; the recipient is then ``sent (forwarded as NEWID)``. Without a forwarder (an
agent built alone) such a recipient is deferred (``4.3.5``) with a warning.

One result per recipient: deferred if any target deferred, else bounced if any bounced
(the others were delivered), else sent.
"""

from __future__ import annotations

import itertools
import logging
import os
import pwd
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from vmail.config import MainConfig
from vmail.core.address import Address, AddressError, split_extension
from vmail.core.errors import ConfigError, MailError, TableError
from vmail.delivery.command import Command, command_failure, export_environment, run_command
from vmail.delivery.content import header_values, iter_content, split_headers
from vmail.delivery.mailcopy import CopyOptions, envelope_lines, mail_copy
from vmail.delivery.maildir import UniqueNames, deliver_maildir
from vmail.delivery.mbox import LockPolicy, deliver_mbox
from vmail.delivery.paths import MailboxPath, Owner
from vmail.delivery.request import (
    ContentSource,
    DeliveryRequest,
    DeliveryResult,
    MessageInfo,
    Status,
    failed,
    sent,
)
from vmail.delivery.status import errno_dsn
from vmail.rewrite.addrfind import split_result
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.resolve import Resolver
from vmail.tables import Maps

log = logging.getLogger("vmail.delivery.local")

CONFIG_ERROR = "mail system configuration error"
MAX_DEPTH = 100
DEFAULT_FILTER = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Postfix defaults of parameters the schema may not declare.
_DEFAULTS = {
    "default_privs": "nobody",
    "prepend_delivered_header": "command, file, forward",
    "mailbox_delivery_lock": "fcntl, dotlock",
    "command_expansion_filter": DEFAULT_FILTER,
    "local_command_shell": "",
    "command_execution_directory": "",
    "deliver_lock_attempts": "20",
    "deliver_lock_delay": "1",
    "stale_lock_time": "500",
}


@dataclass(frozen=True)
class Target:
    """One end point of an expansion, with the context it came from."""

    kind: str  # command, file, forward, unknown, error
    value: str
    recipient: str  # the address whose expansion produced it
    sender: str
    context: str  # alias or include
    owner: tuple[int, int] | None = None  # privileges (None: default_privs)


@dataclass
class _Expansion:
    """Where an expansion is: sender, context, privileges, names being expanded."""

    sender: str
    context: str = "alias"
    owner: tuple[int, int] | None = None
    active: frozenset[str] = field(default_factory=frozenset)
    depth: int = 0


@dataclass(frozen=True)
class Forward:
    """A new message local(8) sends on to non-local addresses: the envelope sender, the
    recipients as (address, DSN NOTIFY, DSN ORCPT), the DSN envelope, and the content
    (the Delivered-To: header first, then the queued message)."""

    sender: str
    recipients: tuple[tuple[str, tuple[str, ...], str], ...]
    envid: str
    ret: str
    chunks: Iterable[bytes]


Forwarder = Callable[[Forward], str]
"""Queues a :class:`Forward` and returns its queue ID (raises MailError when it cannot)."""


class LocalAgent:
    """local(8) for one configuration snapshot; ``deliver_batch`` is thread-safe."""

    def __init__(
        self,
        config: MainConfig,
        context: RoutingContext | None = None,
        forwarder: Forwarder | None = None,
    ) -> None:
        self.config = config
        self.forwarder = forwarder
        self.context = context or RoutingContext(config)
        self.canonical = Canonicalizer(config)
        self.resolver = Resolver(self.context)
        self.delimiters = config.get("recipient_delimiter")
        self.myorigin = config.get("myorigin")
        self.allow_commands = set(self._list("allow_mail_to_commands"))
        self.allow_files = set(self._list("allow_mail_to_files"))
        self.delivered_contexts = set(self._list("prepend_delivered_header"))
        self.expand_owner = config.get_bool("expand_owner_alias")
        self.owner_special = config.get_bool("owner_request_special")
        self.time_limit = config.get_time("command_time_limit")
        self.limit = config.get_size("mailbox_size_limit")
        self.export = export_environment(config)
        self.filter = set(self._get("command_expansion_filter"))
        self.shell = self._get("local_command_shell")
        self.cwd = self._get("command_execution_directory") or None
        self.default_privs = _user_ids(self._get("default_privs"))
        self.lock = LockPolicy(
            tuple(self._list("mailbox_delivery_lock")),
            attempts=int(self._get("deliver_lock_attempts")),
            delay=float(self._get("deliver_lock_delay").rstrip("s") or 1),
            stale_after=float(self._get("stale_lock_time").rstrip("s") or 500),
        )
        self.names = UniqueNames()
        self.problem: str | None = None
        try:  # open the tables now: threads then share them without racing to open
            self.alias_maps = self.context.maps("alias_maps")
            self.context.domain_list("mydestination")
        except ConfigError as e:
            self.alias_maps = Maps("alias_maps", [])
            self.problem = str(e)
            log.error("alias_maps: %s", e)

    def _get(self, name: str) -> str:
        if self.config.is_known(name):
            return self.config.get(name)
        return self.config.raw(name) or _DEFAULTS[name]

    def _list(self, name: str) -> list[str]:
        if self.config.is_known(name):
            return self.config.get_list(name)
        return [p for p in self._get(name).replace(",", " ").split() if p]

    # -- delivery ------------------------------------------------------------------------

    def deliver_batch(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> list[DeliveryResult]:
        """Deliver to each recipient in turn (``local_destination_recipient_limit``)."""
        return [self.deliver(request, content) for request in requests]

    def deliver(self, request: DeliveryRequest, content: ContentSource) -> DeliveryResult:
        """Expand and deliver one recipient; ``content()`` is read once per delivery."""
        recipient = request.recipient
        header, _ = split_headers(content())
        quoted = Address.from_internal(recipient).external.lower()
        for seen in header_values(header, "Delivered-To"):
            if seen.lower() in (recipient.lower(), quoted):
                return failed("5.4.6", f"mail forwarding loop for {recipient}")
        if self.problem is not None:
            return failed("4.3.5", CONFIG_ERROR)
        try:
            targets = self.expand(request)
        except TableError as e:
            log.warning("table %s: lookup %s: %s", e.table, recipient, e.message)
            return failed("4.3.0", "alias database unavailable")
        forwards = [t for t in targets if t.kind == "forward"]
        if forwards and self.forwarder is None:
            log.warning(
                "%s: %s: forwarding to non-local %s is not supported by the local agent; "
                "use virtual_alias_maps",
                request.queue_id,
                recipient,
                ", ".join(t.value for t in forwards),
            )
            return failed("4.3.5", CONFIG_ERROR)
        unique = _unique(targets)
        results = [self._deliver_target(request, t, content) for t in unique if t not in forwards]
        if forwards:
            results.append(self._forward(request, [t for t in unique if t in forwards], content))
        return _combine(results)

    def _forward(
        self, request: DeliveryRequest, targets: list[Target], content: ContentSource
    ) -> DeliveryResult:
        """Send the message on to ``targets`` (non-local addresses): one new message per
        envelope sender, as Postfix's forward_append()/forward_send(); ``sent (forwarded
        as ID)``, or deferred when cleanup cannot take it."""
        assert self.forwarder is not None
        message = request.message or MessageInfo(request.queue_id, request.sender)
        delivered = b""
        if "forward" in self.delivered_contexts:
            delivered = f"Delivered-To: {request.recipient.lower()}\r\n".encode()
        by_sender: dict[str, list[Target]] = {}
        for target in targets:
            by_sender.setdefault(target.sender, []).append(target)
        queued = []
        for sender, group in by_sender.items():
            forward = Forward(
                sender,
                tuple((t.value, request.notify, request.orcpt) for t in group),
                message.envid,
                message.ret,
                itertools.chain((delivered,), iter_content(content())),
            )
            try:
                queued.append(self.forwarder(forward))
            except MailError as e:
                reply = e.reply
                return failed(reply.enhanced or "4.3.0", f"cannot forward: {reply.text}")
        return sent(f"forwarded as {', '.join(queued)}")

    def _deliver_target(
        self, request: DeliveryRequest, target: Target, content: ContentSource
    ) -> DeliveryResult:
        if target.kind == "unknown":
            return failed("5.1.1", f'unknown user: "{target.value}"')
        if target.kind == "loop":
            return failed("5.4.6", f"mail forwarding loop for {target.recipient}")
        if target.kind == "error":
            return failed(*target.value.split(" ", 1))
        allowed = self.allow_commands if target.kind == "command" else self.allow_files
        if target.context not in allowed:
            return failed("5.7.1", f"mail to {target.kind} is restricted")
        if target.kind == "command":
            return self._command(request, target, content)
        return self._file(request, target, content)

    def _ids(self, target: Target) -> tuple[int, int]:
        return target.owner or self.default_privs

    def _command(
        self, request: DeliveryRequest, target: Target, content: ContentSource
    ) -> DeliveryResult:
        options = CopyOptions(
            from_line=True,
            return_path=True,
            original_to=True,
            delivered_to="command" in self.delivered_contexts,
        )
        stream = mail_copy(
            iter_content(content()),
            options,
            sender=target.sender,
            original_recipient=request.original_recipient or request.recipient,
            recipient=request.recipient,
        )
        uid, gid = self._ids(target)
        command = Command(
            command_line=target.value,
            shell=self.shell,
            uid=uid,
            gid=gid,
            env=self.environment(request, target),
            export=self.export,
            cwd=self.cwd,
            time_limit=self.time_limit,
            process_name="local",
        )
        outcome = run_command(command, stream)
        failure = command_failure(outcome, target.value)
        return failure or sent(f"delivered to command: {target.value}")

    def environment(self, request: DeliveryRequest, target: Target) -> dict[str, str]:
        """local(8)'s variables for a command, filtered by ``command_expansion_filter``."""
        address = Address.from_internal(target.recipient)
        user, extension = split_extension(address.local.lower(), self.delimiters)
        message = request.message or MessageInfo(request.queue_id, request.sender)
        client = message.client
        env = {
            "SENDER": target.sender,
            "RECIPIENT": target.recipient,
            "LOCAL": address.local.lower(),
            "USER": user,
            "LOGNAME": user,
            "EXTENSION": extension[1:] if extension else "",
            "DOMAIN": address.domain,
            "ORIGINAL_RECIPIENT": request.original_recipient or request.recipient,
            "CLIENT_ADDRESS": client.get("address", ""),
            "CLIENT_HELO": client.get("helo", ""),
            "CLIENT_HOSTNAME": client.get("name", ""),
            "CLIENT_PROTOCOL": client.get("protocol", ""),
            "SASL_METHOD": client.get("sasl_method", ""),
            "SASL_SENDER": client.get("sasl_sender", ""),
            "SASL_USERNAME": client.get("sasl_username", ""),
        }
        return {k: "".join(c if c in self.filter else "_" for c in v) for k, v in env.items()}

    def _file(
        self, request: DeliveryRequest, target: Target, content: ContentSource
    ) -> DeliveryResult:
        path = target.value
        maildir = path.endswith("/")
        parent, _, name = path.rstrip("/").rpartition("/")
        mailbox = MailboxPath(parent or "/", (name,), maildir)
        uid, gid = self._ids(target)
        owner = Owner(uid, gid) if os.geteuid() == 0 else None
        denied = _permission_problem(path.rstrip("/"), owner)
        headers = envelope_lines(
            CopyOptions(
                return_path=True,
                original_to=True,
                delivered_to="file" in self.delivered_contexts,
            ),
            target.sender,
            request.original_recipient or request.recipient,
            request.recipient,
        )
        if denied:
            return failed(
                "5.2.0", f"cannot append message to file {path}: cannot open file: {denied}", path
            )
        kind = _file_kind(path)
        if kind == "executable":
            return failed("5.7.1", f"cannot append message to file {path}: file is executable")
        if kind == "device":
            return _write_device(path, content)
        try:
            if maildir:
                deliver_maildir(
                    mailbox,
                    content(),
                    headers=headers,
                    owner=owner,
                    limit=self.limit,
                    names=self.names,
                )
                return sent("delivered to maildir", mailbox.path)
            deliver_mbox(
                mailbox,
                content(),
                sender=target.sender,
                headers=headers,
                owner=owner,
                limit=self.limit,
                lock=self.lock,
                strict_owner=False,
            )
            return sent(f"delivered to file: {path}", path)
        except MailError as e:
            if maildir:
                return failed(e.reply.enhanced, f"maildir delivery failed: {e.reply.text}", path)
            return failed(
                e.reply.enhanced, f"cannot append message to file {path}: {e.reply.text}", path
            )

    # -- expansion -----------------------------------------------------------------------

    def expand(self, request: DeliveryRequest) -> list[Target]:
        """Every end point of ``request.recipient``'s alias expansion, in order."""
        targets: list[Target] = []
        state = _Expansion(sender=request.sender)
        self._expand_address(request.recipient, state, targets)
        return targets

    def _expand_address(self, recipient: str, state: _Expansion, out: list[Target]) -> None:
        address = Address.from_internal(recipient)
        name = address.local.lower()
        if state.depth > MAX_DEPTH:
            out.append(Target("loop", name, recipient, state.sender, state.context))
            return
        if name in state.active:
            out.append(Target("unknown", name, recipient, state.sender, state.context))
            return
        found = self._lookup(name)
        if found is None:
            out.append(Target("unknown", name, recipient, state.sender, state.context))
            return
        alias, value = found
        child = replace(
            state,
            context="alias",
            owner=None,
            active=state.active | {name, alias},
            depth=state.depth + 1,
            sender=self._owner_sender(alias) or state.sender,
        )
        self._expand_items(split_result(value), recipient, child, out)

    def _lookup(self, name: str) -> tuple[str, str] | None:
        maps = self.alias_maps
        value = maps.find(name)
        if value is not None:
            return name, value
        base, extension = split_extension(name, self.delimiters)
        if extension is not None:
            value = maps.find(base, partial=True)
            if value is not None:
                return base, value
        return None

    def _owner_sender(self, alias: str) -> str | None:
        """The envelope sender for ``alias``'s deliveries when ``owner-alias`` exists."""
        if not self.owner_special or alias.startswith("owner-"):
            return None
        owner = f"owner-{alias}"
        value = self.alias_maps.find(owner)
        if value is None:
            return None
        text = value if self.expand_owner else owner
        items = split_result(text)
        if not items:
            return None
        return self.canonical.rewrite(Address.parse(items[0])).internal

    def _expand_items(
        self, items: list[str], recipient: str, state: _Expansion, out: list[Target]
    ) -> None:
        for raw in items:
            item = _unquote(raw)
            if item.startswith("|"):
                out.append(
                    Target(
                        "command",
                        item[1:].strip(),
                        recipient,
                        state.sender,
                        state.context,
                        state.owner,
                    )
                )
            elif item.startswith("/"):
                out.append(
                    Target("file", item, recipient, state.sender, state.context, state.owner)
                )
            elif item.lower().startswith(":include:"):
                self._include(item[len(":include:") :].strip(), recipient, state, out)
            else:
                self._expand_target_address(item, state, out, recipient)

    def _expand_target_address(
        self, item: str, state: _Expansion, out: list[Target], recipient: str
    ) -> None:
        try:
            address = self.canonical.rewrite(Address.parse(item))
        except AddressError:
            out.append(
                Target(
                    "error",
                    f"5.1.3 bad address syntax: {item}",
                    recipient,
                    state.sender,
                    state.context,
                )
            )
            return
        if address.has_at and self.resolver.is_local(address.domain):
            self._expand_address(address.internal, state, out)
        else:
            out.append(Target("forward", address.internal, recipient, state.sender, state.context))

    def _include(self, path: str, recipient: str, state: _Expansion, out: list[Target]) -> None:
        if not path.startswith("/"):
            log.warning(":include: path %s is not absolute", path)
            out.append(
                Target("error", f"5.3.5 {CONFIG_ERROR}", recipient, state.sender, state.context)
            )
            return
        if state.depth > MAX_DEPTH:
            out.append(Target("loop", path, recipient, state.sender, state.context))
            return
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                st = os.fstat(f.fileno())
                text = f.read()
        except OSError as e:
            reason = e.strerror or str(e)
            dsn = errno_dsn(e.errno, "5.3.0")
            out.append(
                Target(
                    "error",
                    f"{dsn} cannot open include file {path}: {reason}",
                    recipient,
                    state.sender,
                    state.context,
                )
            )
            return
        owner = None if st.st_uid == 0 else (st.st_uid, st.st_gid)
        child = replace(state, context="include", owner=owner, depth=state.depth + 1)
        items: list[str] = []
        for line in text.splitlines():
            if line.lstrip().startswith("#") or not line.strip():
                continue
            items.extend(split_result(line))
        self._expand_items(items, recipient, child, out)


def _unquote(item: str) -> str:
    """``"|cmd arg"`` → ``|cmd arg`` (aliases(5) quotes commands and file names)."""
    if len(item) >= 2 and item.startswith('"') and item.endswith('"'):
        inner = item[1:-1]
        out: list[str] = []
        i = 0
        while i < len(inner):
            if inner[i] == "\\" and i + 1 < len(inner):
                i += 1
            out.append(inner[i])
            i += 1
        return "".join(out)
    return item


def _user_ids(name: str) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ConfigError(f"unknown default_privs user: {name}") from None
    if entry.pw_uid == 0:
        raise ConfigError("default_privs: unable to use privileged user: root")
    return entry.pw_uid, entry.pw_gid


def _permission_problem(path: str, owner: Owner | None) -> str | None:
    """Why ``owner`` could not write ``path`` (file or, if missing, its directory)."""
    if owner is None:
        return None
    try:
        st = os.stat(path)
        target_dir = False
    except FileNotFoundError:
        try:
            st = os.stat(os.path.dirname(path) or "/")
        except OSError as e:
            return e.strerror or str(e)
        target_dir = True
    except OSError as e:
        return e.strerror or str(e)
    if st.st_uid == owner.uid:
        bit = stat.S_IWUSR
    elif st.st_gid == owner.gid:
        bit = stat.S_IWGRP
    else:
        bit = stat.S_IWOTH
    if st.st_mode & bit and (not target_dir or st.st_mode & (bit >> 1)):
        return None  # writable (a directory must also be searchable)
    return "Permission denied"


def _file_kind(path: str) -> str:
    """``device`` (e.g. ``/dev/null``), ``executable`` (refused), or ``file``."""
    try:
        st = os.stat(path)
    except OSError:
        return "file"
    if stat.S_ISCHR(st.st_mode):
        return "device"
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
        return "executable"
    return "file"


def _write_device(path: str, content: ContentSource) -> DeliveryResult:
    """Copy the message to a character device such as ``/dev/null`` (no locking)."""
    try:
        with open(path, "ab", buffering=0) as out:
            for chunk in iter_content(content()):
                out.write(chunk)
    except OSError as e:
        reason = e.strerror or str(e)
        return failed(
            errno_dsn(e.errno, "5.2.0"), f"cannot append message to file {path}: {reason}"
        )
    return sent(f"delivered to file: {path}", path)


def _unique(targets: list[Target]) -> list[Target]:
    """Targets without repeats (same kind and value), first occurrence kept."""
    seen: set[tuple[str, str]] = set()
    out = []
    for target in targets:
        key = (target.kind, target.value)
        if key not in seen:
            seen.add(key)
            out.append(target)
    return out


def _combine(results: list[DeliveryResult]) -> DeliveryResult:
    for status in (Status.DEFERRED, Status.BOUNCED):
        for result in results:
            if result.status is status:
                return result
    if len(results) == 1:
        return results[0]
    return sent("; ".join(r.text for r in results))


__all__ = ["LocalAgent", "Target"]
