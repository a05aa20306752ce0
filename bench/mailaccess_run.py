"""What the IMAP and POP3 benches share: options, building both servers, the report, profiling.

:func:`servers` builds vmail (and a private Dovecot unless ``--no-dovecot`` or it is not
installed) under one temporary root, gives each a hard-linked copy of the cached corpus in
the ``big@example.com`` INBOX, drops any index, and starts them. :func:`report` prints each
figure for both servers and the vmail/Dovecot ratio, then one JSON line.
:func:`profiled` runs one extra, unmeasured action under ``py-spy record`` on vmail's master.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from mailaccess_corpus import corpus, drop_indexes, link_copy
from mailaccess_measure import DEFAULT_KIT
from mailaccess_servers import OWNER, DovecotAccess, VmailAccess, login_users
from smtp_bench import machine, summarize_profile

BIG = "big@example.com"
APPENDER = "app@example.com"


def common_options(parser: argparse.ArgumentParser, messages: int) -> None:
    parser.add_argument("--messages", type=int, default=messages, help="messages in the folder")
    parser.add_argument("--no-dovecot", action="store_true", help="measure vmail only")
    parser.add_argument("--users", type=int, default=20, help="small mailboxes for logins/IDLE")
    parser.add_argument("--kit", type=Path, default=DEFAULT_KIT, help="peer kit directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks of vmail: FILE.*")


def servers(args: argparse.Namespace, root: Path, built: list[Any]) -> None:
    """Both servers, set up with the corpus in BIG's INBOX, started; each is put in ``built``
    before it starts, so that :func:`stop` reaches it even if a later step fails."""
    source = corpus(args.kit, args.messages, OWNER)
    users = [BIG, APPENDER, *login_users(args.users)]
    vmail = VmailAccess(root / "vmail", users)
    vmail.setup()
    built.append(vmail)
    if not args.no_dovecot and DovecotAccess.available():
        config = vmail.config_dir
        dovecot = DovecotAccess(
            root / "dovecot", vmail.hashes, config / "vmail.crt", config / "vmail.key"
        )
        dovecot.setup()
        built.append(dovecot)
    elif not args.no_dovecot:
        print("no /usr/sbin/dovecot (or not root): measuring vmail only", flush=True)
    for server in built:
        fresh_copy(server, source)
        server.start()
        print(f"{server.name}: {server.ports}", flush=True)


def fresh_copy(server: Any, source: Path) -> None:
    """BIG's INBOX becomes a new link copy of the corpus, without any index."""
    link_copy(source, server.maildir(BIG), OWNER)
    drop_indexes(server.maildir(BIG))


def stop(built: list[Any], root: Path, keep: bool) -> None:
    for server in built:
        server.stop()
    if keep:
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


def ratio(vmail: Any, dovecot: Any) -> str:
    if isinstance(vmail, (int, float)) and isinstance(dovecot, (int, float)) and dovecot:
        return f"{vmail / dovecot:.2f}x"
    return "-"


def report(title: str, rows: dict[str, dict[str, dict[str, Any]]], extra: dict[str, Any]) -> None:
    """Each figure for each server and vmail/Dovecot, then the JSON line."""
    print(f"\n{title}")
    print(f"{'measurement':22} {'figure':20} {'vmail':>12} {'dovecot':>12} {'ratio':>8}")
    for what, by_server in rows.items():
        vmail, dovecot = by_server.get("vmail", {}), by_server.get("dovecot", {})
        for name, value in vmail.items():
            if isinstance(value, list) or name in ("tls",):
                continue
            other = dovecot.get(name, "-")
            print(f"{what:22} {name:20} {value!s:>12} {other!s:>12} {ratio(value, other):>8}")
        for server, figures in by_server.items():
            for error in figures.get("errors", [])[:2]:
                print(f"{'':22} {server} error: {error}")
    summary = {"bench": title, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine()}
    summary.update(extra)
    summary["results"] = rows
    print(json.dumps(summary))


def profiled(
    vmail: VmailAccess, output: Path, action: Callable[[], Coroutine[Any, Any, Any]]
) -> list[str]:
    """Run ``action`` once more under py-spy on vmail's master; the hottest functions."""
    spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if spy is None:
        return ["py-spy not found: .venv/bin/pip install py-spy"]
    command = [spy, "record", "--pid", str(vmail.pids()[0]), "--rate", "250", "--gil"]
    sampler = subprocess.Popen(
        [*command, "--format", "raw", "--output", str(output), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    asyncio.run(action())
    sampler.send_signal(signal.SIGINT)
    sampler.wait(60)
    if not output.exists():
        return [f"py-spy wrote nothing to {output}"]
    return summarize_profile(output)
