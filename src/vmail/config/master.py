"""``master.cf`` in Postfix syntax: one typed ``Service`` per logical line.

Each service line has eight fields, ``service type private unpriv chroot wakeup maxproc
command [args...]``, where ``-`` means the default. Arguments are split on whitespace;
``{ ... }`` keeps text with spaces together. ``-o name=value`` and ``-o { name = value }``
override main.cf for this service; in ``-o name= value`` the value is empty and ``value``
is an ordinary argument, as in Postfix. For ``pipe`` services the ``flags=``,
``user=user[:group]`` and ``argv=`` attributes are parsed; everything after ``argv=`` is
the command and its arguments.

Errors name the file and line. Use ``config.with_overrides(service.overrides,
service.override_locations)`` (or :meth:`Service.effective`) for a service's settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vmail.config.main import MainConfig, read_text, resolve_config_dir
from vmail.config.parser import LogicalLine, logical_lines
from vmail.core.errors import ConfigError, Location

SERVICE_TYPES = ("inet", "unix", "unix-dgram", "fifo", "pass")
FIELDS = ("service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit")
_WAKEUP = re.compile(r"(\d+)(\??)\Z")


@dataclass(frozen=True)
class PipeSpec:
    """The ``pipe`` delivery agent's attributes: flags, user[:group] and the command."""

    flags: str
    user: str
    group: str | None
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Service:
    """One master.cf service; the ``*_field`` attributes keep the text as written."""

    name: str
    type: str
    private_field: str
    unprivileged_field: str
    chroot_field: str
    wakeup_field: str
    process_limit_field: str
    command: str
    args: tuple[str, ...]
    location: Location
    overrides: dict[str, str] = field(default_factory=dict)
    override_locations: dict[str, Location] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name}/{self.type}"

    @property
    def private(self) -> bool:
        return _flag(self.private_field, default=True)

    @property
    def unprivileged(self) -> bool:
        return _flag(self.unprivileged_field, default=True)

    @property
    def chroot(self) -> bool:
        """Postfix 3.x's default is no chroot."""
        return _flag(self.chroot_field, default=False)

    @property
    def wakeup(self) -> int:
        """Wake-up interval in seconds (0: none)."""
        m = _WAKEUP.match(self.wakeup_field)
        return int(m.group(1)) if m else 0

    @property
    def wakeup_only_when_used(self) -> bool:
        """A trailing ``?`` on the wake-up time: wake only a service that was used."""
        return self.wakeup_field.endswith("?")

    def process_limit(self, config: MainConfig) -> int:
        """The maximal number of processes; ``-`` means $default_process_limit."""
        if self.process_limit_field == "-":
            return config.get_int("default_process_limit")
        return int(self.process_limit_field)

    @property
    def plain_args(self) -> tuple[str, ...]:
        """The command arguments without the ``-o`` overrides."""
        out: list[str] = []
        it = iter(self.args)
        for arg in it:
            if arg == "-o":
                next(it, None)
            else:
                out.append(arg)
        return tuple(out)

    @property
    def pipe(self) -> PipeSpec | None:
        """The pipe(8) attributes, or None for other commands."""
        if self.command != "pipe":
            return None
        return parse_pipe_args(self.plain_args, self.location)

    def effective(self, config: MainConfig) -> MainConfig:
        """main.cf settings as this service sees them (with its ``-o`` overrides)."""
        return config.with_overrides(self.overrides, self.override_locations)


def _flag(text: str, *, default: bool) -> bool:
    return default if text == "-" else text == "y"


@dataclass(frozen=True)
class MasterConfig:
    """All services of a master.cf file, in file order."""

    services: tuple[Service, ...]
    path: str = "master.cf"
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, text: str, filename: str = "master.cf") -> MasterConfig:
        warnings: list[str] = []
        services = tuple(parse_service(line) for line in logical_lines(text, filename, warnings))
        return cls(services, filename, tuple(warnings))

    @classmethod
    def load(cls, config_dir: Path | str | None = None) -> MasterConfig:
        """Read ``DIR/master.cf``; DIR defaults to $VMAIL_CONFIG_DIR, then /etc/vmail."""
        path = resolve_config_dir(config_dir) / "master.cf"
        return cls.from_text(read_text(path), str(path))

    def validate(self) -> MasterConfig:
        """Check what is parsed lazily (pipe attributes); raise ConfigError with file:line."""
        for service in self.services:
            _ = service.pipe
        return self

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def find(self, name: str, type_: str | None = None) -> list[Service]:
        """Services named ``name`` (of type ``type_`` when given), in file order."""
        return [s for s in self.services if s.name == name and type_ in (None, s.type)]

    def get(self, name: str, type_: str) -> Service | None:
        """The first ``name/type`` service, as Postfix's master uses it."""
        found = self.find(name, type_)
        return found[0] if found else None


def tokenize(text: str, location: Location) -> list[str]:
    """Split on whitespace; ``{ ... }`` (nesting allowed) stays one token, braces kept."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            if text[j] == "{":
                depth = 0
                while j < n:
                    depth += {"{": 1, "}": -1}.get(text[j], 0)
                    if depth == 0:
                        break
                    j += 1
                if j >= n:
                    raise ConfigError(f'missing "}}" in "{text[i:]}"', location)
            j += 1
        tokens.append(text[i:j])
        i = j
    return tokens


def _unbrace(token: str) -> str:
    if token.startswith("{") and token.endswith("}"):
        return token[1:-1].strip()
    return token


def parse_service(line: LogicalLine) -> Service:
    """Parse one master.cf logical line into a Service; ConfigError with file:line."""
    loc = line.location
    tokens = tokenize(line.text, loc)
    if len(tokens) < 8:
        raise ConfigError("bad field count", loc)
    name, type_, private, unpriv, chroot, wakeup, maxproc, command, *args = tokens
    if type_ not in SERVICE_TYPES:
        raise ConfigError(f'invalid type field "{type_}" in "{line.text}"', loc)
    for label, value in (("private", private), ("unprivileged", unpriv), ("chroot", chroot)):
        if value not in ("y", "n", "-"):
            raise ConfigError(f'invalid {label} field "{value}" in "{line.text}"', loc)
    if wakeup != "-" and not _WAKEUP.match(wakeup):
        raise ConfigError(f'invalid wakeup field "{wakeup}" in "{line.text}"', loc)
    if maxproc != "-" and not maxproc.isdigit():
        raise ConfigError(f'invalid process_limit field "{maxproc}" in "{line.text}"', loc)
    overrides: dict[str, str] = {}
    for index, arg in enumerate(args):
        if arg != "-o" or (index > 0 and args[index - 1] == "-o"):
            continue
        if index + 1 >= len(args):
            raise ConfigError(f'missing value after -o in "{line.text}"', loc)
        setting = _unbrace(args[index + 1])
        oname, sep, ovalue = setting.partition("=")
        if not sep or not oname.strip():
            raise ConfigError(f'bad -o option "{args[index + 1]}": need name=value', loc)
        overrides[oname.strip()] = ovalue.strip()
    return Service(
        name,
        type_,
        private,
        unpriv,
        chroot,
        wakeup,
        maxproc,
        command,
        tuple(args),
        loc,
        overrides,
        dict.fromkeys(overrides, loc),
    )


def parse_pipe_args(args: tuple[str, ...], location: Location) -> PipeSpec:
    """The ``flags=``, ``user=`` and ``argv=`` attributes of a pipe service."""
    flags, user, group = "", "", None
    argv: tuple[str, ...] = ()
    for index, arg in enumerate(args):
        key, sep, value = _unbrace(arg).partition("=")
        if not sep:
            raise ConfigError(f'pipe: bad attribute "{arg}" (expected name=value)', location)
        if key == "argv":
            argv = (value, *(_unbrace(a) for a in args[index + 1 :]))
            break
        if key == "flags":
            flags = value
        elif key == "user":
            user, colon, grp = value.partition(":")
            group = grp if colon else None
        elif key not in ("size", "eol", "null_sender", "directory", "umask", "recipient_limit"):
            raise ConfigError(f'pipe: unknown attribute "{key}"', location)
    if not argv or not argv[0]:
        raise ConfigError("pipe: missing argv= command", location)
    if not user:
        raise ConfigError("pipe: missing user= attribute", location)
    return PipeSpec(flags, user, group, argv)
