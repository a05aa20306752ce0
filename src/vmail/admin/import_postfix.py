"""Reading an existing Postfix virtual-domain setup into an :class:`ImportPlan`.

From ``DIR/main.cf``: the domains of ``virtual_mailbox_domains`` and an explicitly set
``virtual_alias_domains``; the entries of ``virtual_mailbox_maps`` (mailboxes; the value
is the maildir, relative to ``virtual_mailbox_base``) and of ``virtual_alias_maps``
(aliases; a key without ``@`` is the "this is a virtual alias domain" marker of
virtual(5)). Alias targets are made canonical as Postfix does (``joe`` becomes
``joe@$myorigin``). File tables are read from their source files, never compiled;
tables that cannot be listed (SQL, regexp, …) are reported as skipped.
"""

from __future__ import annotations

from pathlib import Path

from vmail.admin.importing import AliasImport, ImportPlan, MailboxImport
from vmail.config import MainConfig
from vmail.config.values import split_list
from vmail.core.address import Address, AddressError
from vmail.rewrite.addrfind import split_result
from vmail.rewrite.canonical import Canonicalizer
from vmail.tables import open_table
from vmail.tables.simple import DictTable
from vmail.tables.source import load_entries, read_source

FILE_TYPES = {"hash", "btree", "lmdb", "cdb", "dbm", "texthash"}


def plan_from_postfix(config_dir: Path) -> ImportPlan:
    """What the Postfix configuration in ``config_dir`` defines; ConfigError if unreadable."""
    config = MainConfig.load(config_dir)
    plan = ImportPlan()
    reader = _Reader(config, config_dir, plan)
    for parameter in ("virtual_mailbox_domains", "virtual_alias_domains"):
        if parameter == "virtual_alias_domains" and not config.is_set(parameter):
            continue  # the default ($virtual_alias_maps) is covered by the alias keys
        for item in config.get_list(parameter):
            if ":" in item:
                plan.domains.extend(k for k in reader.table_keys(parameter, item) if "@" not in k)
            elif item.startswith("/"):
                plan.domains.extend(reader.file_words(parameter, item))
            elif not item.startswith("!"):
                plan.domains.append(item)
    for spec in config.get_list("virtual_mailbox_maps"):
        for key, value in reader.table_entries("virtual_mailbox_maps", spec):
            if key.startswith("@") or "@" not in key:
                plan.skip("mailbox", key, "a catch-all mailbox has no place in the directory")
                continue
            plan.mailboxes.append(MailboxImport(key, maildir=value.strip().lstrip("/")))
    canonical = Canonicalizer(config)
    for spec in config.get_list("virtual_alias_maps"):
        for key, value in reader.table_entries("virtual_alias_maps", spec):
            if "@" not in key:
                plan.domains.append(key)
                continue
            try:
                goto = tuple(
                    canonical.rewrite(Address.parse(t)).internal for t in split_result(value)
                )
            except AddressError as e:
                plan.skip("alias", key, str(e))
                continue
            plan.aliases.append(AliasImport(key, goto))
    return plan


class _Reader:
    """Lists the entries of file-based tables named in main.cf."""

    def __init__(self, config: MainConfig, config_dir: Path, plan: ImportPlan) -> None:
        self.config = config
        self.config_dir = config_dir
        self.plan = plan

    def _path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.config_dir / path

    def table_entries(self, parameter: str, spec: str) -> list[tuple[str, str]]:
        table_type, _, name = spec.partition(":")
        if table_type == "proxy":
            return self.table_entries(parameter, name)
        if table_type == "inline":
            table = open_table(spec)
            return table.items() if isinstance(table, DictTable) else []
        if table_type not in FILE_TYPES:
            self.plan.skip("table", spec, f"{parameter}: {table_type}: tables cannot be listed")
            return []
        path = self._path(name)
        return list(load_entries(read_source(path), str(path)).items())

    def table_keys(self, parameter: str, spec: str) -> list[str]:
        return [key for key, _ in self.table_entries(parameter, spec)]

    def file_words(self, parameter: str, name: str) -> list[str]:
        words: list[str] = []
        for line in read_source(self._path(name)).splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                words.extend(split_list(line))
        return words
