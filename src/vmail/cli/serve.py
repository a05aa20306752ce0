"""``vmail serve``: run the mail system in the foreground until SIGTERM or SIGINT.

Every ``inet`` service of master.cf gets its listener, and the queue manager with its
delivery agents starts in a delivery process forked once root has been dropped (see
:mod:`vmail.servers.app` for the process model). Without ``-c`` or
``$VMAIL_CONFIG_DIR``, and with no ``/etc/vmail/main.cf`` (for other users than root:
``~/.vmail``), the configuration ``vmail init`` writes is created first, so a fresh
machine gets a working server from one command.

Started as root, vmail binds its ports and then runs as ``mail_owner`` when main.cf sets
it, else as the owner of ``queue_directory`` (``vmail init`` gives it the mailbox
owner); root-owned spools are refused. SIGHUP (``vmail reload``) re-reads the
configuration; SIGUSR1 (``vmail sendmail``, ``postqueue -f``) runs the queue now;
SIGTERM (``vmail stop``) stops accepting, lets sessions and deliveries in
progress finish, and exits 0. The process ID is written to
``$queue_directory/pid/master.pid``. Logs go to ``maillog_file`` when set, else stderr,
in Postfix's layout (``Nov 27 09:30:00 HOST vmail/smtpd[PID]: text``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import pkgutil
import pwd
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vmail.cli.control import PID_FILE
from vmail.cli.maillog import LineHandler, PostfixFormatter
from vmail.config import MainConfig
from vmail.config.main import DEFAULT_CONFIG_DIR
from vmail.config.master import MasterConfig
from vmail.core.errors import VmailError
from vmail.core.privread import install_privileged_reader

if TYPE_CHECKING:
    from vmail.servers.app import MailSystem


class ServeError(VmailError):
    """vmail serve cannot start."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this subcommand's options."""
    parser.add_argument(
        "--ports-file",
        metavar="FILE",
        help="write the bound ports as JSON ({service: port}) once listening (for tests)",
    )
    parser.add_argument(
        "--no-client-lookup",
        action="store_true",
        help="do not look up client host names (they appear as 'unknown')",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail as well")


def run(args: argparse.Namespace) -> int:
    from vmail.delivery.command import install_spawner
    from vmail.delivery.spawn import Spawner
    from vmail.servers.app import MailSystem  # the server stack loads only for serve
    from vmail.servers.tls import tls_files

    config_dir = _config_dir(args.config_dir)
    config = MainConfig.load(config_dir).validate()
    _setup_logging(config, verbose=args.verbose)
    ports_file = Path(args.ports_file).absolute() if args.ports_file else None
    upgrade_schema(config)
    owner = _run_as(config)
    # root's helper that starts pipe(8) user= and local(8) default_privs commands after
    # root is dropped; forked before any listener or thread exists, it ends with vmail
    # (it also reads the TLS keys only root may read, for reloads: see core.privread)
    spawner = None
    if owner is not None:
        master = MasterConfig.load(config_dir).validate()
        services = [service.effective(config) for service in master]
        spawner = Spawner(readable=tls_files([config, *services])).start()
    install_spawner(spawner)
    install_privileged_reader(spawner.read_file if spawner is not None else None)
    try:
        system = MailSystem(
            config_dir,
            peername_lookup=not args.no_client_lookup,
            notify_ports=(lambda ports: _write_ports(ports_file, ports)) if ports_file else None,
            owner=owner,
        )
        return asyncio.run(_serve(system, config))
    finally:
        install_spawner(None)
        install_privileged_reader(None)
        if spawner is not None:
            spawner.close()


def upgrade_schema(config: MainConfig) -> None:
    """Bring the directory database's schema up to date, as ``vmail init`` does, so that a
    newer vmail finds the tables and indexes it expects. A failure is logged and the mail
    services start anyway (lookups report their own errors)."""
    if not config.is_set("vmail_database"):
        return
    from sqlalchemy.exc import SQLAlchemyError

    from vmail.directory.database import database_url, open_database
    from vmail.directory.schema import upgrade_database

    log = logging.getLogger("vmail.master")
    try:
        url = database_url(config)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            return  # never create it here (as root, it would be root's): vmail init does
        engine = open_database(url)
        try:
            result = upgrade_database(engine)
        finally:
            engine.dispose()
    except (VmailError, SQLAlchemyError, OSError) as e:
        log.error("directory database schema not brought up to date: %s", e)
        return
    if result.action != "current":
        was = f" (was {result.previous})" if result.previous else ""
        log.info("directory database schema %s: revision %s%s", result.action, result.revision, was)


def _config_dir(given: str | None) -> Path:
    """The configuration directory; the embedded default is created when missing."""
    if given or os.environ.get("VMAIL_CONFIG_DIR"):
        return Path(given or os.environ["VMAIL_CONFIG_DIR"]).absolute()
    path = Path(DEFAULT_CONFIG_DIR) if os.geteuid() == 0 else Path.home() / ".vmail"
    if not (path / "main.cf").is_file():
        from vmail.cli import init

        print(f"vmail serve: no configuration in {path}; creating it (vmail init)", flush=True)
        init_args = argparse.Namespace(
            directory=str(path),
            config_dir=None,
            database=None,
            data_dir=None,
            hostname=None,
            uid=None,
            gid=None,
            standard_ports=False,
            force=False,
        )
        init.run(init_args)
    return path


async def _serve(system: MailSystem, config: MainConfig) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reloads: list[asyncio.Task[bool]] = []
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(
        signal.SIGHUP, lambda: reloads.append(loop.create_task(system.reload()))
    )
    loop.add_signal_handler(signal.SIGUSR1, system.wake)
    await system.start(accept=False)
    pid_file = Path(config.get("queue_directory")) / PID_FILE
    _write_pid(pid_file, system.owner)
    if system.owner is not None:
        _drop_privileges(*system.owner)
    system.start_delivery()
    await system.accept()  # only now: no client is ever served with root's rights
    try:
        await stop.wait()
    finally:
        await system.stop()
        for task in reloads:
            task.cancel()
        try:
            pid_file.unlink(missing_ok=True)
        except OSError as e:
            logging.getLogger("vmail.master").warning("cannot remove %s: %s", pid_file, e.strerror)
    return 0


def _run_as(config: MainConfig) -> tuple[int, int] | None:
    """As root: the uid and gid to continue as (mail_owner, else the queue's owner)."""
    if os.geteuid() != 0:
        return None
    if config.is_set("mail_owner"):
        name = config.get("mail_owner")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ServeError(f"mail_owner: unknown user: {name}") from None
        uid, gid = entry.pw_uid, entry.pw_gid
    else:
        queue_directory = Path(config.get("queue_directory"))
        try:
            info = queue_directory.stat()
        except OSError as e:
            raise ServeError(
                f"queue_directory {queue_directory}: {e.strerror} (vmail init creates it)"
            ) from None
        uid, gid = info.st_uid, info.st_gid
    if uid == 0:
        raise ServeError(
            "refusing to run as root: set mail_owner or give queue_directory another owner"
        )
    return uid, gid


# modules the standard library imports lazily on paths a running server takes (host name
# encoding in getaddrinfo, MIME parts of notices...), imported while still root
LAZY_STDLIB = (
    "encodings.idna",
    "encodings.punycode",
    "encodings.ascii",
    "encodings.latin_1",
    "email.mime.text",
    "email.generator",
    "email.headerregistry",
    "email.policy",
    "_strptime",  # datetime.strptime
)


def _preload() -> None:
    """Import every vmail module and the lazy stdlib ones before root is dropped.

    After ``setuid`` the interpreter may no longer be able to read its own library (a
    Python installed under a home directory that is 0700); a lazy import there would
    then fail in the middle of a session.
    """
    import encodings

    import vmail

    for name in LAZY_STDLIB:
        importlib.import_module(name)
    # Every codec: message text in any charset is decoded for IMAP SEARCH, mUTF-7 folder
    # names need UTF-16.
    for codec in pkgutil.iter_modules(encodings.__path__, "encodings."):
        with contextlib.suppress(ImportError, LookupError):
            importlib.import_module(codec.name)
    for module in pkgutil.walk_packages(vmail.__path__, "vmail."):
        if ".migrations." not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)


def _drop_privileges(uid: int, gid: int) -> None:
    _preload()
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    logging.getLogger("vmail.master").info("running as uid %d gid %d", uid, gid)


def _write_pid(path: Path, owner: tuple[int, int] | None) -> None:
    """``pid/master.pid`` (Postfix's layout: the PID right-aligned in 10 columns)."""
    path.parent.mkdir(mode=0o755, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid():>10}\n")
    tmp.replace(path)
    if owner is not None:  # so that the server can remove it after dropping root
        os.chown(path.parent, *owner)
        os.chown(path, *owner)


def _write_ports(path: Path | None, ports: dict[str, int]) -> None:
    if path is None:
        return
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(ports, sort_keys=True) + "\n")
        tmp.replace(path)
    except OSError as e:
        logging.getLogger("vmail.master").warning("cannot write %s: %s", path, e.strerror)


def _setup_logging(config: MainConfig, *, verbose: bool) -> None:
    # vmail's records use none of these: no os.getpid(), thread lookup or frame walk each
    logging.logProcesses = False
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the formatter shows no file or line: no findCaller() either
    target = config.get("maillog_file")
    if target and target != "/dev/stdout":
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    else:
        stream = sys.stdout if target == "/dev/stdout" else sys.stderr
        stream.flush()
        fd = stream.fileno()
    name = "vmail"
    if config.is_set("syslog_name"):
        name = config.get("syslog_name")
    handler = LineHandler(fd)
    handler.setFormatter(PostfixFormatter(config.get("myhostname"), name))
    root = logging.getLogger("vmail")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
