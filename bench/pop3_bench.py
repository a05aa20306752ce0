#!/usr/bin/env python3
"""Benchmark ``vmail serve``'s POP3 against a private Dovecot 2.3 on the same maildrop, same run.

Both servers get a hard-linked copy of one cached corpus (``--messages``, default 1,000) as
the INBOX of big@example.com, without any index, and the same ``{SHA512-CRYPT}`` hashes.
Each pass is the peer kit's POP3 client on a new connection: USER/PASS, STAT, RETR of every
message (16 in flight when PIPELINING is offered), QUIT without DELE. Pass 1 is the first
access (no index), the figure reported as "warm" is the median of passes 2..``--passes``.

    .venv/bin/python bench/pop3_bench.py [--messages 1000] [--passes 4] [--no-dovecot]
        [--profile FILE]

``--profile FILE`` re-runs one warm vmail pass under py-spy (not measured) into FILE.warm.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailaccess_measure import Probe, pop3_retr
from mailaccess_run import BIG, common_options, profiled, report, servers, stop
from mailaccess_servers import PASSWORD


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    common_options(parser, 1000)
    parser.add_argument("--passes", type=int, default=4, help="passes (first + warm ones)")
    args = parser.parse_args()
    if args.passes < 2:
        parser.error("--passes must be at least 2")
    return args


def passes(args: argparse.Namespace, server: Any) -> dict[str, dict[str, Any]]:
    """The first pass and the median of the warm ones."""
    probe = Probe(args.kit, server)
    runs = [asyncio.run(pop3_retr(probe, BIG, PASSWORD)) for _ in range(args.passes)]
    warm = {
        name: round(statistics.median(run[name] for run in runs[1:]), 4)
        for name in runs[0]
        if isinstance(runs[0][name], (int, float))
    }
    return {"first": runs[0], "warm": warm}


def main() -> int:
    args = parse_args()
    root = Path(tempfile.mkdtemp(prefix="vmail-pop3-bench-"))
    root.chmod(0o755)
    rows: dict[str, dict[str, dict[str, Any]]] = {"first": {}, "warm": {}}
    notes: list[str] = []
    built: list[Any] = []
    try:
        servers(args, root, built)
        for server in built:
            result = passes(args, server)
            for phase, figures in result.items():
                rows[phase][server.name] = figures
            print(f"{server.name}: {result}", flush=True)
        if args.profile:
            vmail = built[0]
            output = Path(f"{args.profile}.warm")
            notes = [f"--- vmail POP3 warm pass ({output})"]
            notes += profiled(
                vmail, output, lambda: pop3_retr(Probe(args.kit, vmail), BIG, PASSWORD)
            )
    finally:
        stop(built, root, args.keep)
    report("pop3_bench", rows, {"messages": args.messages, "passes": args.passes})
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
