"""An immutable snapshot of ``main.cf`` read through the schema, with lazy expansion.

``MainConfig.load(dir)`` reads ``DIR/main.cf``; values stay as written and are expanded
on access (``get``), like Postfix. Loading checks syntax only; call :meth:`validate` at
startup to expand every parameter and check every typed value, which raises a
``ConfigError`` naming the file and line of the offending setting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vmail.config import hostinfo
from vmail.config.expand import MacroError, OnUndefined, expand, references
from vmail.config.parser import Entry, read_settings
from vmail.config.schema import PARAMETERS, Kind, lookup
from vmail.config.values import parse_bool, parse_int, parse_size, parse_time, split_list
from vmail.core.errors import ConfigError, Location

ENV_CONFIG_DIR = "VMAIL_CONFIG_DIR"
DEFAULT_CONFIG_DIR = "/etc/vmail"


def resolve_config_dir(config_dir: Path | str | None) -> Path:
    """The configuration directory: as given, else $VMAIL_CONFIG_DIR, else /etc/vmail."""
    return Path(config_dir or os.environ.get(ENV_CONFIG_DIR) or DEFAULT_CONFIG_DIR)


def read_text(path: Path) -> str:
    """A configuration file's text; ConfigError (naming the file) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("No such file or directory", Location(str(path))) from None
    except UnicodeDecodeError:
        raise ConfigError("not valid UTF-8 text", Location(str(path))) from None
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}", Location(str(path))) from None


@dataclass(frozen=True)
class MainConfig:
    """Parameter values as written in main.cf (plus overrides), read through the schema."""

    settings: Mapping[str, str]
    locations: Mapping[str, Location] = field(default_factory=dict)
    config_dir: Path | None = None
    warnings: tuple[str, ...] = ()
    # expanded values already asked for: the mappings above never change after
    # construction, and the delivery path asks for the same few parameters per message
    _expanded: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_entries(
        cls, entries: Iterable[Entry], config_dir: Path | None = None, warnings: Iterable[str] = ()
    ) -> MainConfig:
        settings: dict[str, str] = {}
        locations: dict[str, Location] = {}
        for e in entries:
            settings[e.name] = e.value
            locations[e.name] = e.location
        return cls(settings, locations, config_dir, tuple(warnings))

    @classmethod
    def from_text(
        cls, text: str, filename: str = "main.cf", config_dir: Path | None = None
    ) -> MainConfig:
        parsed = read_settings(text, filename)
        return cls.from_entries(parsed.entries, config_dir, parsed.warnings)

    @classmethod
    def load(cls, config_dir: Path | str | None = None) -> MainConfig:
        """Read ``DIR/main.cf``; DIR defaults to $VMAIL_CONFIG_DIR, then /etc/vmail."""
        directory = resolve_config_dir(config_dir)
        path = directory / "main.cf"
        return cls.from_text(read_text(path), str(path), directory)

    def with_overrides(
        self, overrides: Mapping[str, str], locations: Mapping[str, Location] | None = None
    ) -> MainConfig:
        """A copy with some parameters replaced (master.cf ``-o``, tests, CLI)."""
        merged_locations = dict(self.locations)
        for name in overrides:
            if locations and name in locations:
                merged_locations[name] = locations[name]
            else:
                merged_locations.pop(name, None)
        return MainConfig(
            {**self.settings, **overrides}, merged_locations, self.config_dir, self.warnings
        )

    # -- raw and expanded values --------------------------------------------------

    def raw(self, name: str) -> str | None:
        """The unexpanded value: as set, else the default, else None (unknown)."""
        if name in self.settings:
            return self.settings[name]
        host_default = self._host_default(name)
        if host_default is not None:
            return host_default
        param = lookup(name)
        return param.default if param else None

    def default(self, name: str) -> str | None:
        """The default value (unexpanded), ignoring what main.cf sets for ``name``."""
        host_default = self._host_default(name)
        if host_default is not None:
            return host_default
        param = lookup(name)
        return param.default if param else None

    def _host_default(self, name: str) -> str | None:
        if name == "myhostname":
            domain = self.settings.get("mydomain")
            if domain is not None:
                domain = self._expand(domain, ("myhostname", "mydomain"))
            return hostinfo.default_myhostname(domain)
        if name == "mydomain":
            return hostinfo.default_mydomain(self._expand("$myhostname", ("mydomain",)))
        if name == "mynetworks":
            return hostinfo.mynetworks(self._expand("$mynetworks_style", ("mynetworks",)))
        if name == "config_directory" and self.config_dir is not None:
            return str(self.config_dir)
        return None

    def _expand(self, value: str, stack: tuple[str, ...]) -> str:
        return expand(value, self.raw, stack=stack)

    def get(self, name: str, on_undefined: OnUndefined | None = None) -> str:
        """The fully expanded value ('' when the parameter is unknown and unset)."""
        if on_undefined is None:
            known = self._expanded.get(name)
            if known is None:
                known = self._expanded[name] = self._get(name, None)
            return known
        return self._get(name, on_undefined)

    def _get(self, name: str, on_undefined: OnUndefined | None) -> str:
        raw = self.raw(name)
        if raw is None:
            return ""
        param = lookup(name)
        if param is not None and param.raw:
            return raw
        try:
            return expand(raw, self.raw, stack=(name,), on_undefined=on_undefined)
        except MacroError as e:
            raise ConfigError(f"parameter {name}: {e.message}", self.locations.get(name)) from None

    @property
    def mail_name(self) -> str:
        """The name in banners, ``Received:`` and notices: ``mail_name`` when main.cf sets
        it, else ``vmail`` (``postconf -d`` still shows Postfix's default)."""
        return self.get("mail_name") if self.is_set("mail_name") else "vmail"

    def is_set(self, name: str) -> bool:
        return name in self.settings

    def is_known(self, name: str) -> bool:
        """Whether the schema declares ``name`` (per-transport names by their suffix)."""
        return lookup(name) is not None

    # -- typed values ---------------------------------------------------------------

    def _typed_error(self, name: str, err: ConfigError) -> ConfigError:
        return ConfigError(err.message, self.locations.get(name))

    def get_bool(self, name: str) -> bool:
        try:
            return parse_bool(name, self.get(name))
        except ConfigError as e:
            raise self._typed_error(name, e) from None

    def get_int(self, name: str) -> int:
        try:
            return parse_int(name, self.get(name))
        except ConfigError as e:
            raise self._typed_error(name, e) from None

    def get_size(self, name: str) -> int:
        try:
            return parse_size(name, self.get(name))
        except ConfigError as e:
            raise self._typed_error(name, e) from None

    def get_time(self, name: str) -> int:
        """Seconds; a bare number uses the parameter's default time unit."""
        param = lookup(name)
        unit = param.time_unit if param else "s"
        try:
            return parse_time(name, self.get(name), unit)
        except ConfigError as e:
            raise self._typed_error(name, e) from None

    def get_list(self, name: str) -> list[str]:
        try:
            return split_list(self.get(name))
        except ConfigError as e:
            raise self._typed_error(name, e) from None

    def kind(self, name: str) -> Kind | None:
        param = lookup(name)
        return param.kind if param else None

    # -- checks -------------------------------------------------------------------

    def problems(self) -> list[ConfigError]:
        """Every setting that does not expand or does not parse as its kind.

        Settings are checked in file order, then the defaults of declared parameters
        (a default can break when it refers to a bad setting).
        """
        names = sorted(self.settings, key=self._order) + sorted(
            n for n in PARAMETERS if n not in self.settings
        )
        found: list[ConfigError] = []
        for name in names:
            try:
                self._check(name)
            except ConfigError as e:
                found.append(e)
        return found

    def _order(self, name: str) -> tuple[str, int]:
        loc = self.locations.get(name)
        return (loc.filename, loc.line) if loc else ("", 0)

    def _check(self, name: str) -> None:
        kind = self.kind(name)
        if kind is Kind.BOOL:
            self.get_bool(name)
        elif kind is Kind.INT:
            self.get_int(name)
        elif kind is Kind.SIZE:
            self.get_size(name)
        elif kind is Kind.TIME:
            self.get_time(name)
        elif kind is Kind.LIST:
            self.get_list(name)
        else:
            self.get(name)

    def validate(self) -> MainConfig:
        """Raise the first of :meth:`problems`; return self when there is none."""
        found = self.problems()
        if found:
            raise found[0]
        return self

    def referenced_names(self, extra_values: Iterable[str] = ()) -> set[str]:
        """Names referred to with ``$`` by any setting, declared default or extra value."""
        names: set[str] = set()
        for value in (*self.settings.values(), *extra_values):
            names |= references(value)
        return names

    def unused_parameters(
        self, known: Iterable[str] = (), extra_values: Iterable[str] = ()
    ) -> list[str]:
        """Settings Postfix would call "unused": unknown and not referenced by any ``$name``.

        ``known`` adds names that are valid here (per-transport parameters of master.cf
        services); ``extra_values`` are other values that may refer to settings (master.cf
        ``-o`` values). Restriction class names in ``smtpd_restriction_classes`` are used.
        """
        valid = set(PARAMETERS) | set(known) | self.referenced_names(extra_values)
        if "smtpd_restriction_classes" in self.settings:
            valid |= set(split_list(self.settings["smtpd_restriction_classes"]))
        return [name for name in self.settings if name not in valid]
