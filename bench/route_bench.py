#!/usr/bin/env python3
"""Benchmark ``vmail route`` on a large virtual alias table with 3-level alias chains.

Builds (in a temporary directory) a virtual alias table of N entries (default 1,000,000):
N/3 chains ``aI@example.com -> bI@example.com -> cI@example.com -> mailbox cI``, compiles it
with ``vmail postmap``, then routes random chain heads through the same Router the SMTP
server will use and reports compile time and per-address routing latency.

    .venv/bin/python bench/route_bench.py [--entries 1000000] [--routes 50000] [--warmup 50000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vmail.config import MainConfig
from vmail.policy.restrictions import Client
from vmail.route import Router

MAIN_CF = """\
myhostname = mail.example.net
mydestination = localhost
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.com
virtual_mailbox_base = /var/mail/vhosts
virtual_mailbox_maps = hash:{dir}/vmailbox
virtual_alias_maps = hash:{dir}/virtual
alias_maps =
local_recipient_maps =
"""


def build(directory: Path, entries: int) -> int:
    chains = entries // 3
    with open(directory / "virtual", "w") as f:
        for i in range(chains):
            f.write(f"a{i}@example.com b{i}@example.com\n")
            f.write(f"b{i}@example.com c{i}@example.com\n")
            f.write(f"c{i}@example.com c{i}@example.com\n")
    with open(directory / "vmailbox", "w") as f:
        for i in range(chains):
            f.write(f"c{i}@example.com example.com/c{i}/\n")
    (directory / "main.cf").write_text(MAIN_CF.replace("{dir}", str(directory)))
    return chains


def postmap(directory: Path, name: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "vmail", "postmap", f"hash:{directory / name}"], check=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--routes", type=int, default=50_000)
    parser.add_argument("--warmup", type=int, default=50_000, help="unmeasured routes first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vmail-route-bench-") as tmp:
        directory = Path(tmp)
        chains = build(directory, args.entries)
        compile_s = postmap(directory, "virtual")
        postmap(directory, "vmailbox")
        router = Router(MainConfig.load(directory))
        client = Client("192.0.2.7", "unknown")
        rng = random.Random(1)
        heads = [f"a{rng.randrange(chains)}@example.com" for _ in range(args.routes)]
        report = router.route([heads[0]], client)[0]
        if report.rcpt.code != 250 or not report.deliveries[0].mailbox:
            raise SystemExit(f"unexpected route: {report}")
        for _i in range(args.warmup):
            router.route([f"a{rng.randrange(chains)}@example.com"], client)
        samples = []
        for address in heads:
            start = time.perf_counter()
            router.route([address], client)
            samples.append(time.perf_counter() - start)
        samples.sort()
        p50 = statistics.median(samples) * 1e6
        p99 = samples[int(len(samples) * 0.99)] * 1e6
        print(f"virtual alias table: {args.entries:,} entries ({chains:,} 3-level chains)")
        print(f"vmail postmap compile: {compile_s:.2f} s")
        print(
            f"route (RCPT verdict + 3-level expansion + resolve + mailbox): "
            f"p50 {p50:.0f} us, p99 {p99:.0f} us, {len(samples) / sum(samples):,.0f} routes/s"
        )


if __name__ == "__main__":
    main()
