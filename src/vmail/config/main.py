"""An immutable, typed snapshot of ``main.cf`` with lazy ``$name`` expansion."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vmail.config.expand import expand
from vmail.config.parser import Entry, parse_main_cf
from vmail.config.schema import PARAMETERS, Kind
from vmail.config.values import parse_bool, parse_int, parse_time, split_list
from vmail.core.errors import ConfigError, Location

ENV_CONFIG_DIR = "VMAIL_CONFIG_DIR"


def _host_fqdn() -> str:
    name = socket.getfqdn()
    return name if "." in name else f"{name}.localdomain"


@dataclass(frozen=True)
class MainConfig:
    """Parameter values as written in main.cf (plus overrides), read through the schema."""

    settings: Mapping[str, str]
    locations: Mapping[str, Location] = field(default_factory=dict)
    config_dir: Path | None = None
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_entries(cls, entries: list[Entry], config_dir: Path | None = None) -> MainConfig:
        settings: dict[str, str] = {}
        locations: dict[str, Location] = {}
        for e in entries:
            settings[e.name] = e.value
            locations[e.name] = e.location
        return cls(settings, locations, config_dir)

    @classmethod
    def from_text(
        cls, text: str, filename: str = "main.cf", config_dir: Path | None = None
    ) -> MainConfig:
        return cls.from_entries(parse_main_cf(text, filename), config_dir)

    @classmethod
    def load(cls, config_dir: Path | str | None = None) -> MainConfig:
        """Read ``DIR/main.cf``; DIR defaults to $VMAIL_CONFIG_DIR, then /etc/vmail."""
        directory = Path(config_dir or os.environ.get(ENV_CONFIG_DIR) or "/etc/vmail")
        path = directory / "main.cf"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("no such file", Location(str(path))) from None
        except OSError as e:
            raise ConfigError(f"cannot read: {e.strerror}", Location(str(path))) from None
        return cls.from_text(text, str(path), directory)

    def with_overrides(self, overrides: Mapping[str, str]) -> MainConfig:
        """A copy with some parameters replaced (master.cf ``-o``, tests, CLI)."""
        return MainConfig({**self.settings, **overrides}, self.locations, self.config_dir)

    # -- raw and expanded values --------------------------------------------------

    def raw(self, name: str) -> str | None:
        """The unexpanded value: as set, else the schema default, else None."""
        if name in self.settings:
            return self.settings[name]
        if name == "myhostname":
            return _host_fqdn()
        if name == "mydomain":
            host = self.get("myhostname")
            return host.partition(".")[2] or "localdomain"
        if name == "config_directory" and self.config_dir is not None:
            return str(self.config_dir)
        param = PARAMETERS.get(name)
        return param.default if param else None

    def get(self, name: str) -> str:
        """The fully expanded value ('' when the parameter is unknown and unset)."""
        raw = self.raw(name)
        if raw is None:
            return ""
        try:
            return expand(raw, self.raw, _stack=(name,))
        except ConfigError as e:
            raise ConfigError(f"parameter {name}: {e.message}", self.locations.get(name)) from None

    def is_set(self, name: str) -> bool:
        return name in self.settings

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

    def get_time(self, name: str) -> int:
        param = PARAMETERS.get(name)
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
        param = PARAMETERS.get(name)
        return param.kind if param else None
