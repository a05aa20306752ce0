#!/usr/bin/env python3
"""Benchmark ``vmail serve``'s IMAP against a private Dovecot 2.3 on the same Maildirs, same run.

Both servers get a hard-linked copy of one cached corpus (``--messages``, default 100,000,
generated once under /tmp by the peer kit's generator) as the INBOX of big@example.com, the
same ``{SHA512-CRYPT}`` password hashes, and a credential cache (vmail's built-in one;
Dovecot ``auth_cache_size = 10M``, ``auth_cache_ttl = 60s``). Measured, per server:

* ``logins``: 8 clients looping connect + LOGIN + LOGOUT: logins/s, server CPU per login;
* ``open``: SELECT + FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), first open (no
  ``vmail.index.sqlite*`` / ``dovecot.index*`` / uidlist), warm (a second session) and a
  third session (Dovecot decides what its cache keeps from how fields were used);
* ``search``: UID SEARCH HEADER Subject needle; STORE +FLAGS / -FLAGS.SILENT on 1:1000;
* ``append``: APPEND of 1,000 4 KiB messages, one client;
* ``idle``: PSS (and RSS) per connection with ``--idle`` sessions in IDLE, plain and IMAPS,
  on a restarted server warmed up first (one IDLE session per user, a few in the other
  mode): the growth per session, not the server's one-off growth after its first logins.

    .venv/bin/python bench/imap_bench.py [--messages N] [--no-dovecot] [--only WHAT,...]
        [--idle N] [--profile FILE]

``--profile FILE`` re-runs each selected step but IDLE (open: first and warm) for vmail under
py-spy, not measured, into FILE.<step> (e.g. FILE.open-first) and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailaccess_corpus import corpus, warm_page_cache
from mailaccess_measure import Probe, append, idle, logins, open_and_fetch, search_store
from mailaccess_run import (
    APPENDER,
    BIG,
    common_options,
    fresh_copy,
    profiled,
    report,
    servers,
    stop,
)
from mailaccess_servers import OWNER, PASSWORD, login_users

WHAT = ("logins", "open", "search", "append", "idle")
PROFILED = ("logins", "open-first", "open-warm", "search", "append")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    common_options(parser, 100_000)
    parser.add_argument("--only", default=",".join(WHAT), help=f"comma list of {', '.join(WHAT)}")
    parser.add_argument("--idle", type=int, default=5000, help="concurrent IDLE sessions")
    parser.add_argument("--logins", type=int, default=2000, help="logins in the login test")
    args = parser.parse_args()
    args.only = [item.strip() for item in args.only.split(",") if item.strip()]
    unknown = set(args.only) - set(WHAT)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    return args


async def measure(args: argparse.Namespace, server: Any, what: str) -> dict[str, Any]:
    probe = Probe(args.kit, server)
    users = login_users(args.users)
    if what == "logins":
        return await logins(probe, users, PASSWORD, args.logins, 8)
    if what == "open-first":
        warm_page_cache(server.maildir(BIG))
        return await open_and_fetch(probe, BIG, PASSWORD)
    if what in ("open-warm", "open-third"):
        return await open_and_fetch(probe, BIG, PASSWORD)
    if what == "search":
        return await search_store(probe, BIG, PASSWORD, "needle")
    if what == "append":
        return await append(probe, APPENDER, PASSWORD, 1000)
    tls = "imaps" if what == "idle-imaps" else ""
    server.restart()  # "before" is a fresh server
    return await idle(probe, users, PASSWORD, args.idle, tls)


def steps(only: list[str]) -> list[str]:
    out: list[str] = []
    for what in only:
        if what == "open":
            out += ["open-first", "open-warm", "open-third"]
        elif what == "idle":
            out += ["idle-plain", "idle-imaps"]
        else:
            out.append(what)
    return out


def main() -> int:
    args = parse_args()
    root = Path(tempfile.mkdtemp(prefix="vmail-imap-bench-"))
    root.chmod(0o755)
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    notes: list[str] = []
    built: list[Any] = []
    try:
        servers(args, root, built)
        for what in steps(args.only):
            rows[what] = {}
            for server in built:
                rows[what][server.name] = asyncio.run(measure(args, server, what))
                print(f"{server.name} {what}: {rows[what][server.name]}", flush=True)
        if args.profile:
            notes = profile(args, built[0])
    finally:
        stop(built, root, args.keep)
    report("imap_bench", rows, {"messages": args.messages, "idle": args.idle})
    for note in notes:
        print(note)
    return 0


def profile(args: argparse.Namespace, vmail: Any) -> list[str]:
    """Unmeasured vmail re-runs under py-spy of the selected steps that can be profiled."""
    notes: list[str] = []
    source = corpus(args.kit, args.messages, OWNER)
    for what in [step for step in steps(args.only) if step in PROFILED]:
        if what == "open-first":
            fresh_copy(vmail, source)
            vmail.restart()  # its cached view of the replaced folder would be stale
        output = Path(f"{args.profile}.{what}")
        notes.append(f"--- vmail {what} ({output})")
        notes += profiled(vmail, output, partial(measure, args, vmail, what))
    return notes


if __name__ == "__main__":
    sys.exit(main())
