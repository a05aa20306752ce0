"""Benchmark of file lookup tables: ``vmail postmap`` compile time and warm lookup latency.

Usage: ``python bench/tables_bench.py [--entries N] [--lookups N] [--dir DIR]``

Generates an N-entry virtual(5) table (``userN@domainM.example  userN@mailbox.example``),
compiles it with ``vmail postmap`` (in-process, as the CLI does), then measures lookups
through ``open_table`` + ``Maps.find`` for keys that exist and keys that do not.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from vmail.cli.main import main as vmail_main
from vmail.tables import Maps, open_table


def generate(path: Path, entries: int) -> None:
    with path.open("w") as f:
        for n in range(entries):
            f.write(f"user{n}@domain{n % 1000}.example  user{n}@mailbox.example\n")


def measure(maps: Maps, keys: list[str]) -> list[float]:
    times: list[float] = []
    clock = time.perf_counter_ns
    for key in keys:
        t0 = clock()
        maps.find(key)
        times.append((clock() - t0) / 1000)
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        source = Path(tmp) / "virtual"
        t0 = time.perf_counter()
        generate(source, args.entries)
        gen = time.perf_counter() - t0

        t0 = time.perf_counter()
        rc = vmail_main(["postmap", f"hash:{source}"])
        compile_s = time.perf_counter() - t0
        assert rc == 0

        t0 = time.perf_counter()
        maps = Maps("virtual_alias_maps", [open_table(f"hash:{source}")])
        open_ms = (time.perf_counter() - t0) * 1000

        rng = random.Random(1)
        hits = [
            f"user{n}@domain{n % 1000}.example"
            for n in (rng.randrange(args.entries) for _ in range(args.lookups))
        ]
        misses = [f"nobody{n}@domain{n % 1000}.example" for n in range(args.lookups)]
        measure(maps, hits[:1000] + misses[:1000])  # warm up
        assert maps.find(hits[0]) is not None
        assert maps.find(misses[0]) is None
        hit_t = measure(maps, hits)
        miss_t = measure(maps, misses)

        size_mb = (source.with_name("virtual.vmdb")).stat().st_size / 1e6
        print(f"entries                {args.entries:>12,}")
        print(f"generate source        {gen:>10.2f} s")
        print(f"vmail postmap compile  {compile_s:>10.2f} s   ({size_mb:.0f} MB .vmdb)")
        print(f"open_table             {open_ms:>10.2f} ms")
        print(f"{'lookup (µs)':<22} {'p50':>8} {'p99':>8} {'mean':>8}")
        for name, t in (("hit", hit_t), ("miss", miss_t)):
            print(f"{name:<22} {pct(t, 0.5):>8.2f} {pct(t, 0.99):>8.2f} {statistics.mean(t):>8.2f}")


if __name__ == "__main__":
    main()
