"""``vmail init [DIR]``: create a ready-to-run configuration directory.

DIR defaults to ``-c DIR``, then ``$VMAIL_CONFIG_DIR``, then ``/etc/vmail``. It gets
``main.cf`` and ``master.cf`` (Postfix syntax, after the virtual-user how-to), the SQL
``.cf`` maps for PostfixAdmin's tables, and a self-signed certificate and key; the data
directory gets the mail store, the spool and (for SQLite) the database, whose tables are
created or brought up to date. See ``docs/init.md``.

Running it again changes nothing an admin wrote: existing files are kept and reported,
and the database is only migrated; ``--force`` rewrites the files (and the certificate).
When main.cf already exists, its ``vmail_database``, ``vmail_data_directory`` and
``myhostname`` are used unless options say otherwise. Errors are one line and exit 1.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from sqlalchemy.engine import URL

from vmail.cli import init_templates as templates
from vmail.cli.init_files import InitError, Writer
from vmail.cli.init_tls import CERT_MODE, KEY_MODE, self_signed
from vmail.config import MainConfig
from vmail.config.hostinfo import default_myhostname
from vmail.config.main import DEFAULT_CONFIG_DIR, resolve_config_dir
from vmail.directory.database import database_url, open_database, parse_database_url
from vmail.directory.schema import describe, upgrade_database

SYSTEM_DATA_DIR = Path("/var/lib/vmail")
HOWTO_ID = 5000  # the how-to's vmail user and group


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this subcommand's options."""
    parser.add_argument(
        "directory", nargs="?", metavar="DIR", help="configuration directory to create"
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="directory database: sqlite:///PATH (default: DATA_DIR/vmail.db), "
        "postgresql://USER:PASSWORD@HOST[:PORT]/DB or mysql://USER:PASSWORD@HOST[:PORT]/DB",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="mail store, spool and SQLite database (default: /var/lib/vmail for "
        "/etc/vmail, else DIR/data)",
    )
    parser.add_argument("--hostname", help="myhostname and the certificate's name")
    parser.add_argument(
        "--uid", type=int, help="owner of the mailboxes (default: yours; 5000 as root)"
    )
    parser.add_argument(
        "--gid", type=int, help="group of the mailboxes (default: yours; 5000 as root)"
    )
    parser.add_argument(
        "--standard-ports",
        action="store_true",
        help="listen on 25/587/465 instead of 2525/5587/4465 (needs root)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args: argparse.Namespace) -> int:
    setup = _setup(args)
    writer = Writer(force=args.force)
    as_root = os.geteuid() == 0
    owner = (setup.uid, setup.gid) if as_root else None

    writer.directory(setup.config_dir, 0o755)
    writer.directory(setup.data_dir, 0o750, owner)
    writer.directory(setup.data_dir / templates.MAIL_DIR, 0o700, owner)
    writer.directory(setup.data_dir / templates.SPOOL_DIR, 0o700, owner)
    _database(setup, writer, owner)

    secret = 0o640  # the .cf files (and a main.cf naming a server) may hold a password
    group = setup.gid if as_root else None  # vmail serve reads them after dropping root
    for name in templates.MAPS:
        path = setup.config_dir / f"{name}.cf"
        writer.file(path, templates.sql_cf(setup, name), secret, group=group)
    main_mode = 0o644 if setup.database.password is None else secret
    writer.file(setup.config_dir / "main.cf", templates.main_cf(setup), main_mode, group=group)
    writer.file(setup.config_dir / "master.cf", templates.master_cf(setup), 0o644)
    _certificate(setup, writer, group)

    for step in writer.steps:
        print(step)
    return 0


def _setup(args: argparse.Namespace) -> templates.Setup:
    """What to create, from the options, an existing main.cf and the defaults."""
    config_dir = Path(args.directory) if args.directory else resolve_config_dir(args.config_dir)
    config_dir = config_dir.absolute()
    if config_dir.exists() and not config_dir.is_dir():
        raise InitError(f"{config_dir} exists and is not a directory")
    existing = _existing_config(config_dir) if not args.force else None

    if args.data_dir:
        data_dir = Path(args.data_dir).absolute()
    elif existing is not None and existing.is_set("vmail_data_directory"):
        data_dir = Path(existing.get("vmail_data_directory"))
    elif config_dir == Path(DEFAULT_CONFIG_DIR):
        data_dir = SYSTEM_DATA_DIR
    else:
        data_dir = config_dir / "data"

    if args.database:
        database = parse_database_url(args.database, Path.cwd())
    elif existing is not None and existing.is_set("vmail_database"):
        database = database_url(existing)
    else:
        database = URL.create("sqlite", database=str(data_dir / templates.DATABASE_FILE))

    hostname = args.hostname or (
        existing.get("myhostname") if existing is not None else default_myhostname(None)
    )
    uid = args.uid if args.uid is not None else _static_id(existing, "virtual_uid_maps")
    gid = args.gid if args.gid is not None else _static_id(existing, "virtual_gid_maps")
    if uid is None:
        uid = HOWTO_ID if os.geteuid() == 0 else os.getuid()
    if gid is None:
        gid = HOWTO_ID if os.geteuid() == 0 else os.getgid()
    if uid <= 0 or gid <= 0:
        raise InitError("mailboxes cannot belong to root: give --uid and --gid above 0")
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", hostname):
        raise InitError(f"bad host name {hostname!r} (give --hostname)")
    return templates.Setup(config_dir, data_dir, hostname, uid, gid, database, args.standard_ports)


def _existing_config(config_dir: Path) -> MainConfig | None:
    if not (config_dir / "main.cf").is_file():
        return None
    return MainConfig.load(config_dir)


def _static_id(config: MainConfig | None, name: str) -> int | None:
    if config is None:
        return None
    match = re.fullmatch(r"static:(\d+)", config.get(name).strip())
    return int(match.group(1)) if match else None


def _database(setup: templates.Setup, writer: Writer, owner: tuple[int, int] | None) -> None:
    """Create the database's tables, or bring them up to date."""
    sqlite_file = Path(setup.database.database or "") if setup.dialect == "sqlite" else None
    new_file = sqlite_file is not None and not sqlite_file.exists()
    if new_file and sqlite_file is not None:
        _create_private_file(sqlite_file, owner)
    engine = open_database(setup.database)
    try:
        result = upgrade_database(engine)
    except Exception:
        if new_file and sqlite_file is not None:
            sqlite_file.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    status = {"current": "kept", "adopted": "adopted", "upgraded": "upgraded"}.get(
        result.action, "created"
    )
    note = f"schema revision {result.revision}"
    if result.action == "adopted":
        note += ", PostfixAdmin tables kept as they are"
    elif result.action == "current":
        note += ", up to date"
    writer.note(f"database {describe(engine)}", status, note)


def _create_private_file(path: Path, owner: tuple[int, int] | None) -> None:
    """An empty SQLite file readable by its owner only (SQLite would honour the umask)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        if owner is not None:
            os.chown(path, *owner)
    except OSError as e:
        raise InitError(f"cannot create database file {path}: {e.strerror}") from None


def _certificate(setup: templates.Setup, writer: Writer, group: int | None) -> None:
    """The certificate and key, made together: both are kept if either exists."""
    cert = setup.config_dir / templates.CERT_FILE
    key = setup.config_dir / templates.KEY_FILE
    if writer.exists(cert) or writer.exists(key):
        for path in (cert, key):
            there = path.exists()
            writer.note(
                str(path),
                "kept" if there else "missing",
                "exists; --force makes a new pair" if there else "its partner exists; use --force",
            )
        return
    cert_pem, key_pem = self_signed(setup.hostname)
    writer.file(key, key_pem, KEY_MODE if group is None else 0o640, "private key", group)
    writer.file(cert, cert_pem, CERT_MODE, f"self-signed certificate for {setup.hostname}")
