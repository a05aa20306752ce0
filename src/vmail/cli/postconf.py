"""``vmail postconf``: print configuration parameters and services as Postfix's postconf(1).

Supported: no arguments (every parameter), named parameters, ``-n`` (only what main.cf
sets), ``-d`` (defaults), ``-h`` (values only), ``-x`` (expanded values), ``-M``
(master.cf services, optionally ``name`` or ``name/type``), ``-F`` (master.cf fields),
``-P`` (master.cf ``-o`` parameters) and ``-f`` (fold ``-M`` output). Output format,
alphabetical order, warnings and exit codes follow Postfix 3.7; deliberate differences:
only the parameters in vmail's schema are listed, and defaults that depend on
``compatibility_level`` are shown with their level-3.6 value rather than as an expression.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable

from vmail.config.main import ENV_CONFIG_DIR, MainConfig, resolve_config_dir
from vmail.config.master import FIELDS, MasterConfig, Service
from vmail.config.schema import PARAMETERS, lookup, service_parameters
from vmail.core.errors import ConfigError

PROGRAM = "postconf"
_COLUMNS = (11, 17, 25, 33, 41, 49, 57)
_FOLD_WIDTH = 80


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this subcommand's options (``-h`` is postconf's, so help is ``--help`` only)."""
    parser.conflict_handler = "resolve"
    parser._optionals.conflict_handler = "resolve"  # where argparse keeps -h/--help
    flag = parser.add_argument
    flag("-n", dest="non_default", action="store_true", help="only parameters set in main.cf")
    flag("-d", dest="defaults", action="store_true", help="default values")
    flag("-h", dest="values_only", action="store_true", help="values only, without names")
    flag("-x", dest="expand", action="store_true", help="expand $name in values")
    flag("-M", dest="services", action="store_true", help="master.cf services")
    flag("-F", dest="fields", action="store_true", help="master.cf service fields")
    flag("-P", dest="service_params", action="store_true", help="master.cf -o parameters")
    flag("-f", dest="fold", action="store_true", help="fold long -M lines")
    flag("names", nargs="*", metavar="NAME", help="parameters (or services with -M/-F/-P)")


def warn(message: str) -> None:
    print(f"{PROGRAM}: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    explicit = getattr(args, "config_dir", None) or os.environ.get(ENV_CONFIG_DIR)
    directory = resolve_config_dir(getattr(args, "config_dir", None))
    config = MainConfig.load(directory)
    if explicit and not config.is_set("config_directory"):
        config = MainConfig(
            {**config.settings, "config_directory": str(directory)},
            config.locations,
            config.config_dir,
            config.warnings,
        )
    if not args.defaults:
        for message in config.warnings:
            warn(message)
    master = _load_master(directory)
    if args.fields:
        _check_field_requests(args.names)
    if args.services or args.fields or args.service_params:
        _check_unused(config, master, main_cf=False)
        if args.services:
            return _print_services(master, args.names, fold=args.fold)
        if args.fields:
            return _print_fields(master, args.names, values_only=args.values_only)
        return _print_service_params(master, args.names, values_only=args.values_only)
    return _print_parameters(config, master, args)


def _load_master(directory: object) -> MasterConfig:
    path = resolve_config_dir(str(directory)) / "master.cf"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        warn(f"open {path}: No such file or directory")
        return MasterConfig((), str(path))
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}", None) from None
    master = MasterConfig.from_text(text, str(path))
    for message in master.warnings:
        warn(message)
    return master


# -- parameters -------------------------------------------------------------------------


def _service_names(master: MasterConfig) -> dict[str, str]:
    """Per-transport parameter names from master.cf delivery services, with defaults."""
    names: dict[str, str] = {}
    for service in master:
        for param in service_parameters(service.name, service.command):
            names.setdefault(param.name, param.default)
    return names


def _check_unused(
    config: MainConfig, master: MasterConfig, *, main_cf: bool = True, master_cf: bool = True
) -> set[str]:
    """Warn about unused settings as Postfix does; return the user-defined names in use.

    Postfix checks main.cf only when it prints parameters and master.cf ``-o`` names
    except for ``-d``; ``main_cf``/``master_cf`` select which warnings to give.
    """
    override_values = [v for s in master for v in s.overrides.values()]
    known = set(_service_names(master))
    for name in config.unused_parameters(known, override_values) if main_cf else ():
        location = config.locations.get(name)
        filename = location.filename if location else "main.cf"
        warn(f"{filename}: unused parameter: {name}={config.settings[name]}")
    referenced = config.referenced_names(override_values)
    valid = set(PARAMETERS) | known | referenced
    for service in master if master_cf else ():
        for name, value in service.overrides.items():
            if name not in valid:
                warn(f"{master.path}: unused parameter: {name}={value}")
    return {n for n in config.settings if n not in PARAMETERS and n not in known} & (
        referenced | _restriction_classes(config)
    )


def _restriction_classes(config: MainConfig) -> set[str]:
    return set(config.get_list("smtpd_restriction_classes"))


def _print_parameters(config: MainConfig, master: MasterConfig, args: argparse.Namespace) -> int:
    for name in sorted(config.settings, key=lambda n: config.locations.get(n) is None):
        config.get(name)  # Postfix refuses to run with a malformed $ reference anywhere
    quiet = args.defaults
    user_defined = _check_unused(config, master, main_cf=not quiet, master_cf=not quiet)
    per_service = _service_names(master)
    listed = {n for n, p in PARAMETERS.items() if not p.hidden} | set(per_service)
    if not args.defaults:
        listed |= user_defined

    def known(name: str) -> bool:
        if name in PARAMETERS or name in per_service:
            return True
        return not args.defaults and name in user_defined

    defaults = MainConfig({})
    source = defaults if args.defaults else config

    if args.names:
        names: Iterable[str] = args.names
    else:
        names = sorted(listed)
    for name in names:
        if not known(name):
            warn(f"{name}: unknown parameter")
            continue
        if args.non_default and not config.is_set(name):
            continue
        value = _value(source, name, per_service, expand=args.expand)
        _print_setting(name, value, values_only=args.values_only)
    return 0


def _value(config: MainConfig, name: str, per_service: dict[str, str], *, expand: bool) -> str:
    raw = config.raw(name)
    if raw is None:
        raw = per_service.get(name, "")
    if not expand:
        return raw
    param = lookup(name)
    if param is not None and param.raw:
        return raw
    where = next(iter(config.locations.values()), None)
    filename = where.filename if where else "main.cf"

    def undefined(ref: str) -> None:
        warn(f"{filename}: undefined parameter: {ref}")

    return config.with_overrides({name: raw}).get(name, on_undefined=undefined)


def _print_setting(name: str, value: str, *, values_only: bool) -> None:
    text = " ".join(value.split())
    if values_only:
        print(text)
    else:
        print(f"{name} = {text}" if text else f"{name} =")


# -- master.cf --------------------------------------------------------------------------


def _matches(service: Service, request: str) -> bool:
    parts = request.split("/")
    if len(parts) == 1:
        return service.name == parts[0]
    return service.name == parts[0] and service.type == parts[1]


def _print_services(master: MasterConfig, requests: list[str], *, fold: bool) -> int:
    for request in requests:
        if not any(_matches(s, request) for s in master):
            warn(f'unmatched request: "{request}"')
    for service in master:
        if requests and not any(_matches(service, r) for r in requests):
            continue
        print(format_service(service, fold=fold))
    return 0


def _render_args(service: Service) -> list[str]:
    """Arguments as Postfix prints them: ``-o name=value``, braced when the value has spaces."""
    out: list[str] = []
    args = list(service.args)
    i = 0
    while i < len(args):
        if args[i] == "-o" and i + 1 < len(args):
            token = args[i + 1]
            inner = token[1:-1].strip() if token.startswith("{") and token.endswith("}") else token
            name, _, value = inner.partition("=")
            name, value = name.strip(), value.strip()
            if token.startswith("{"):
                setting = f"{name}={value}"
                out.append(
                    f"-o {{{setting}}}" if any(c.isspace() for c in setting) else f"-o {setting}"
                )
            else:
                out.append(f"-o {token}")
            i += 2
        else:
            out.append(args[i])
            i += 1
    return out


def _leading_fields(service: Service) -> tuple[str, ...]:
    """The seven master.cf fields before the command, as written (``-`` for defaults)."""
    return (
        service.name,
        service.type,
        service.private_field,
        service.unprivileged_field,
        service.chroot_field,
        service.wakeup_field,
        service.process_limit_field,
    )


def format_service(service: Service, *, fold: bool = False) -> str:
    """One master.cf line in postconf -M layout (fields padded to Postfix's columns)."""
    fields = _leading_fields(service)
    line = ""
    for text, column in zip(fields, _COLUMNS, strict=True):
        line += text
        line += " " * max(1, column - len(line))
    line += service.command
    rendered = _render_args(service)
    if not fold:
        return " ".join([line, *rendered])
    lines = [line]
    after_option = False
    for arg in rendered:
        if arg.startswith("-o ") or after_option or len(lines[-1]) + 1 + len(arg) >= _FOLD_WIDTH:
            lines.append("    " + arg)
        else:
            lines[-1] += " " + arg
        after_option = arg.startswith("-o ")
    return "\n".join(lines)


def _field_values(service: Service) -> list[tuple[str, str]]:
    values = _leading_fields(service)
    command = " ".join([service.command, *_render_args(service)])
    return [*zip(FIELDS, values, strict=True), ("command", command)]


def _check_field_requests(requests: list[str]) -> None:
    """Postfix rejects an unknown field name in ``-F name/type/field`` before any output."""
    for request in requests:
        parts = request.split("/")
        if len(parts) > 2 and parts[2] not in (*FIELDS, "command"):
            raise ConfigError(f'invalid service attribute name: "{parts[2]}"')


def _print_fields(master: MasterConfig, requests: list[str], *, values_only: bool) -> int:
    rows = [(f"{s.key}/{f}", v) for s in master for f, v in _field_values(s)]
    return _print_rows(rows, requests, values_only=values_only)


def _print_service_params(master: MasterConfig, requests: list[str], *, values_only: bool) -> int:
    rows = [(f"{s.key}/{n}", v) for s in master for n, v in sorted(s.overrides.items())]
    return _print_rows(rows, requests, values_only=values_only)


def _print_rows(rows: list[tuple[str, str]], requests: list[str], *, values_only: bool) -> int:
    if not requests:
        selected = rows
    else:
        selected = []
        for request in requests:
            hits = [r for r in rows if r[0] == request or r[0].startswith(request + "/")]
            if not hits:
                warn(f'unmatched request: "{request}"')
            selected.extend(hits)
    for key, value in selected:
        _print_setting(key, value, values_only=values_only)
    return 0
