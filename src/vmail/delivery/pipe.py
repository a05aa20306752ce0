"""The ``pipe`` delivery agent: Postfix's pipe(8) for one master.cf service.

The service line gives ``flags=``, ``user=name[:group]`` and ``argv=command...``, and
optionally ``size=``, ``eol=``, ``null_sender=`` and ``directory=``. One batch (the
recipients of one message for this transport and next hop) is one command run:

1. Checks, each failing the whole batch: a configuration problem (unknown flag or
   macro, unknown user, ``user=`` with root privileges or the mail system owner's)
   defers ``4.3.5 mail system configuration error``, as does ``D`` or ``O`` with more
   than one recipient; a message over ``size=`` bounces ``5.2.3 message too large``;
   with ``D``, a ``Delivered-To:`` header naming the recipient (case-insensitively)
   bounces ``5.4.6 mail forwarding loop for <recipient>``.
2. argv macros: ``$name``, ``${name}`` and ``$(name)``; ``$$`` is a ``$``. An argument
   that uses ``recipient``, ``original_recipient``, ``user``, ``extension``, ``mailbox``
   or ``domain`` is repeated once per recipient (an empty ``user`` drops that copy).
   Flag ``q`` quotes the local part of ``sender``, ``recipient`` and
   ``original_recipient``; ``u`` folds recipient local parts to lower case, ``h`` their
   domains and ``nexthop``. The null sender expands to ``null_sender`` (``MAILER-DAEMON``).
3. The command runs without a shell (:mod:`.command`) as ``user=`` (when vmail is
   root), with ``<service>_time_limit`` (``$command_time_limit``), in ``directory=``
   (default ``$queue_directory`` when it exists). Its input is the message as
   :mod:`.mailcopy` writes it for the flags ``BDFOR.>`` and ``eol=``.
4. Success: ``2.0.0 delivered via <service> service`` plus `` (output)`` when the
   command printed something (first 100 characters). Failure: :func:`command_failure`.
   Every recipient of the batch gets the same result.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import re
from collections.abc import Sequence
from dataclasses import dataclass

from vmail.config import MainConfig
from vmail.config.master import Service
from vmail.core.address import Address, split_extension
from vmail.core.errors import ConfigError
from vmail.delivery.command import Command, command_failure, export_environment, run_command
from vmail.delivery.content import header_values, iter_content, split_headers
from vmail.delivery.mailcopy import CopyOptions, mail_copy
from vmail.delivery.request import (
    ContentSource,
    DeliveryRequest,
    DeliveryResult,
    MessageInfo,
    failed,
    sent,
)

log = logging.getLogger("vmail.delivery.pipe")

CONFIG_ERROR = "mail system configuration error"
FLAGS = "BDFORXhqu.>"
PER_RECIPIENT = frozenset(
    {"recipient", "original_recipient", "user", "extension", "mailbox", "domain"}
)
GLOBAL_MACROS = frozenset(
    {
        "sender",
        "nexthop",
        "queue_id",
        "size",
        "client_address",
        "client_helo",
        "client_hostname",
        "client_port",
        "client_protocol",
        "sasl_method",
        "sasl_sender",
        "sasl_username",
    }
)
_MACRO = re.compile(r"\$(?:\$|\{(\w+)\}|\((\w+)\)|(\w+))")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
# MessageInfo.client keys for the ${client_*} and ${sasl_*} macros.
_CLIENT_KEYS = {
    "client_address": "address",
    "client_helo": "helo",
    "client_hostname": "name",
    "client_port": "port",
    "client_protocol": "protocol",
    "sasl_method": "sasl_method",
    "sasl_sender": "sasl_sender",
    "sasl_username": "sasl_username",
}


class PipeConfigError(Exception):
    """The service's attributes cannot be used; the text is Postfix's fatal message."""


def unescape(text: str) -> str:
    """C-style backslash escapes (``\\n``, ``\\r``, ``\\t``..., ``\\ddd``, ``\\\\``)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        octal = re.match(r"[0-7]{1,3}", text[i + 1 :])
        if octal:
            out.append(chr(int(octal.group(0), 8)))
            i += 1 + len(octal.group(0))
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


@dataclass(frozen=True)
class PipeAttributes:
    """The parsed service attributes."""

    flags: str
    uid: int
    gid: int
    argv: tuple[str, ...]
    size_limit: int = 0
    eol: str = "\n"
    null_sender: str = "MAILER-DAEMON"
    directory: str | None = None


def _extra_attributes(args: Sequence[str]) -> dict[str, str]:
    """``size=``, ``eol=``, ``null_sender=``, ``directory=`` (before ``argv=``)."""
    out: dict[str, str] = {}
    for arg in args:
        text = arg[1:-1].strip() if arg.startswith("{") and arg.endswith("}") else arg
        key, _sep, value = text.partition("=")
        if key == "argv":
            break
        out[key] = value
    return out


def parse_attributes(service: Service, mail_owner: str) -> PipeAttributes:
    """The pipe(8) attributes of ``service``; PipeConfigError with Postfix's wording."""
    spec = service.pipe
    if spec is None:
        raise PipeConfigError(f"service {service.name} does not run pipe")
    for flag in spec.flags:
        if flag not in FLAGS:
            raise PipeConfigError(f"unknown flag: {flag} (ignored)")
    try:
        entry = pwd.getpwnam(spec.user)
    except KeyError:
        raise PipeConfigError(f"get_service_attr: unknown username: {spec.user}") from None
    uid, gid = entry.pw_uid, entry.pw_gid
    if spec.group:
        try:
            gid = grp.getgrnam(spec.group).gr_gid
        except KeyError:
            raise PipeConfigError(f"get_service_attr: unknown group: {spec.group}") from None
    if uid == 0:
        raise PipeConfigError("user= command-line attribute specifies root privileges")
    if gid == 0:
        raise PipeConfigError("user= command-line attribute specifies privileged group id 0")
    try:
        owner = pwd.getpwnam(mail_owner)
    except KeyError:
        owner = None
    if owner is not None and uid == owner.pw_uid:
        raise PipeConfigError(
            f"user= command-line attribute specifies mail system owner {mail_owner}"
        )
    extra = _extra_attributes(service.plain_args)
    size_text = extra.get("size", "0")
    if not size_text.isdigit():
        raise PipeConfigError(f"get_service_attr: bad size= value: {size_text}")
    for arg in spec.argv:
        for match in _MACRO.finditer(arg):
            name = match.group(1) or match.group(2) or match.group(3)
            if name and name not in PER_RECIPIENT | GLOBAL_MACROS:
                raise PipeConfigError(
                    f'file master.cf: service {service.name}: unknown macro name: "{name}"'
                )
    return PipeAttributes(
        flags=spec.flags,
        uid=uid,
        gid=gid,
        argv=spec.argv,
        size_limit=int(size_text),
        eol=unescape(extra.get("eol", "\\n")),
        null_sender=extra.get("null_sender", "MAILER-DAEMON"),
        directory=extra.get("directory") or None,
    )


class PipeAgent:
    """pipe(8) for one master.cf service; ``deliver_batch`` is thread-safe."""

    def __init__(self, config: MainConfig, service: Service) -> None:
        self.service = service
        self.name = service.name
        self.config = service.effective(config)
        self.problem: str | None = None
        self.attributes: PipeAttributes | None = None
        try:
            self.attributes = parse_attributes(service, self.config.get("mail_owner"))
        except (PipeConfigError, ConfigError) as e:
            self.problem = str(e)
            log.error("fatal: pipe: %s", e)
        self.time_limit = self.config.get_time(f"{self.name}_time_limit")
        self.delimiters = self.config.get("recipient_delimiter")
        self.export = export_environment(self.config)
        queue_directory = self.config.get("queue_directory")
        self.default_cwd = queue_directory if os.path.isdir(queue_directory) else None

    def deliver_batch(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> list[DeliveryResult]:
        """Run the command once for the whole batch; one result per request."""
        if not requests:
            return []
        result = self._deliver(requests, content)
        return [result] * len(requests)

    def _deliver(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> DeliveryResult:
        attrs = self.attributes
        if attrs is None:
            return failed("4.3.5", CONFIG_ERROR)
        for flag in "DO":
            if flag in attrs.flags and len(requests) > 1:
                log.warning(
                    "pipe flag `%s' requires %s_destination_recipient_limit = 1", flag, self.name
                )
                return failed("4.3.5", CONFIG_ERROR)
        first = requests[0]
        message = first.message or MessageInfo(first.queue_id, first.sender)
        if attrs.size_limit and message.size > attrs.size_limit:
            return failed("5.2.3", "message too large")
        if "D" in attrs.flags:
            header, _ = split_headers(content())
            wanted = first.recipient.lower()
            quoted = Address.from_internal(first.recipient).external.lower()
            if any(v.lower() in (wanted, quoted) for v in header_values(header, "Delivered-To")):
                return failed("5.4.6", f"mail forwarding loop for {first.recipient}")
        sender = first.sender or attrs.null_sender
        argv = self.expand_argv(attrs, requests, message, sender)
        options = copy_options(attrs)
        stream = mail_copy(
            iter_content(content()),
            options,
            sender=sender,
            original_recipient=first.original_recipient,
            recipient=first.recipient,
        )
        command = Command(
            argv=tuple(argv),
            uid=attrs.uid,
            gid=attrs.gid,
            export=self.export,
            cwd=attrs.directory or self.default_cwd,
            time_limit=self.time_limit,
            process_name="pipe",
        )
        outcome = run_command(command, stream)
        failure = command_failure(outcome, command.name)
        if failure is not None:
            return failure
        said = outcome.output.strip()
        suffix = f" ({said[:100]})" if said else ""
        return sent(f"delivered via {self.name} service{suffix}")

    # -- argv macros ---------------------------------------------------------------------

    def expand_argv(
        self,
        attrs: PipeAttributes,
        requests: Sequence[DeliveryRequest],
        message: MessageInfo,
        sender: str,
    ) -> list[str]:
        """The command's argument vector for this batch (see the module docstring)."""
        flags = attrs.flags
        common = {
            "sender": _quote(sender) if sender and "q" in flags else sender,
            "nexthop": requests[0].nexthop.lower() if "h" in flags else requests[0].nexthop,
            "queue_id": requests[0].queue_id,
            "size": str(message.size),
        }
        for macro, key in _CLIENT_KEYS.items():
            common[macro] = message.client.get(key, "")
        out: list[str] = []
        for arg in attrs.argv:
            used = {m.group(1) or m.group(2) or m.group(3) for m in _MACRO.finditer(arg)}
            if not used & PER_RECIPIENT:
                out.append(_substitute(arg, common))
                continue
            for request in requests:
                values = self._recipient_values(request, flags)
                if "user" in used and not values["user"]:
                    continue  # pipe(8): an empty user name suppresses the argument
                out.append(_substitute(arg, {**common, **values}))
        return out

    def _recipient_values(self, request: DeliveryRequest, flags: str) -> dict[str, str]:
        """Per-recipient macro values."""
        fold = _folder(flags)
        plain = fold(request.recipient)
        address = Address.from_internal(plain)
        local = address.local
        user, extension = split_extension(local, self.delimiters)
        original = request.original_recipient or request.recipient
        return {
            "recipient": fold(_quote(request.recipient) if "q" in flags else request.recipient),
            "original_recipient": fold(_quote(original) if "q" in flags else original),
            "user": user,
            "extension": extension[1:] if extension else "",
            "mailbox": local,
            "domain": address.domain,
        }


def copy_options(attrs: PipeAttributes) -> CopyOptions:
    """mail_copy() options for the service's flags and ``eol=``."""
    flags = attrs.flags
    return CopyOptions(
        from_line="F" in flags,
        return_path="R" in flags,
        original_to="O" in flags,
        delivered_to="D" in flags,
        quote_from=">" in flags,
        dot_stuff="." in flags,
        blank_line="B" in flags,
        eol=attrs.eol.encode("latin-1", "replace"),
    )


def _quote(address: str) -> str:
    """RFC 5322 quoting of the local part (the ``q`` flag)."""
    return Address.from_internal(address).external


def _folder(flags: str) -> _Fold:
    return _Fold(user="u" in flags, host="h" in flags)


@dataclass(frozen=True)
class _Fold:
    """Case folding of the local part (``u``) and domain (``h``) of an address."""

    user: bool
    host: bool

    def __call__(self, address: str) -> str:
        local, at, domain = address.rpartition("@")
        if not at:
            return address.lower() if self.user else address
        if self.user:
            local = local.lower()
        if self.host:
            domain = domain.lower()
        return f"{local}@{domain}"


def _substitute(arg: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return "$" if name is None else values.get(name, "")

    return _MACRO.sub(one, arg)


__all__ = ["PipeAgent", "PipeAttributes", "PipeConfigError", "parse_attributes", "unescape"]
