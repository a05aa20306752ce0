#!/usr/bin/env python3
"""Directory lookups at scale: SQL tables from ``vmail init`` over 100,000 mailboxes.

Creates a configuration with ``vmail init`` (SQLite directory), bulk-loads N mailboxes
(with their alias rows, as the admin service writes them) over N/100 domains plus N/10
forwarding aliases, then measures warm lookup latency through the generated ``sqlite:``
``.cf`` tables — the queries Postfix and vmail run for every RCPT — and the full
``vmail route`` decision for a mailbox address.

    .venv/bin/python bench/directory_bench.py [--mailboxes 100000] [--lookups 20000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert

from vmail.cli.main import main as vmail
from vmail.config import MainConfig
from vmail.directory.database import database_url, open_database
from vmail.directory.models import Alias, Domain, Mailbox
from vmail.policy.restrictions import Client
from vmail.route import Router
from vmail.tables import open_table
from vmail.tables.base import TableContext

HASH = "{PLAIN}not-a-real-password"


def load(config_dir: Path, mailboxes: int) -> None:
    engine = open_database(database_url(MainConfig.load(config_dir)))
    domains = max(1, mailboxes // 100)
    with engine.begin() as c:
        c.execute(
            insert(Domain), [{"domain": f"d{i}.example", "transport": ""} for i in range(domains)]
        )
        rows = [(f"u{i}", f"d{i % domains}.example") for i in range(mailboxes)]
        c.execute(insert(Mailbox), [
            {"username": f"{u}@{d}", "password": HASH, "maildir": f"{d}/{u}/",
             "local_part": u, "domain": d} for u, d in rows
        ])  # fmt: skip
        c.execute(insert(Alias), [
            {"address": f"{u}@{d}", "goto": f"{u}@{d}", "domain": d} for u, d in rows
        ])  # fmt: skip
        c.execute(insert(Alias), [
            {"address": f"fwd{i}@{d}", "goto": f"u{i}@{d}", "domain": d}
            for i, (_, d) in enumerate(rows[: mailboxes // 10])
        ])  # fmt: skip


def timed(fn: Callable[[str], object], keys: list[str]) -> tuple[float, float]:
    samples = []
    for key in keys:
        start = time.perf_counter()
        fn(key)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1e6, samples[int(len(samples) * 0.99)] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vmail-dir-bench-") as tmp:
        config_dir = Path(tmp) / "etc"
        if vmail(["init", str(config_dir), "--hostname", "mail.example.net"]) != 0:
            raise SystemExit("vmail init failed")
        start = time.perf_counter()
        load(config_dir, args.mailboxes)
        print(f"load {args.mailboxes:,} mailboxes: {time.perf_counter() - start:.1f} s")
        rng = random.Random(7)
        domains = max(1, args.mailboxes // 100)
        hits = [f"u{i}@d{i % domains}.example" for i in
                (rng.randrange(args.mailboxes) for _ in range(args.lookups))]  # fmt: skip
        misses = [f"nobody{i}@d{i % domains}.example" for i in range(args.lookups)]
        context = TableContext(base_dir=config_dir)
        print(f"{'lookup (us)':44} {'p50':>8} {'p99':>8}")
        for name in ("virtual_mailbox_maps", "virtual_alias_maps", "virtual_mailbox_domains"):
            table = open_table(f"sqlite:{config_dir / (name + '.cf')}", context)
            keys = [h.split("@")[1] for h in hits] if name.endswith("domains") else hits
            timed(table.lookup, keys[:1000])  # warm up
            for label, sample in (("hit", keys), ("miss", misses)):
                p50, p99 = timed(table.lookup, sample)
                print(f"{name + '.cf ' + label:44} {p50:8.1f} {p99:8.1f}")
        router = Router(MainConfig.load(config_dir))
        client = Client("192.0.2.7", "unknown")
        p50, p99 = timed(lambda a: router.route([a], client), hits)
        print(f"{'route (RCPT + expansion + resolve + maildir)':44} {p50:8.1f} {p99:8.1f}")


if __name__ == "__main__":
    main()
