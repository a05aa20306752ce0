#!/usr/bin/env python3
"""Benchmark ``vmail serve`` against a private Postfix 3.7 in the same run: SMTP in, Maildir out.

Builds both servers fresh in a temporary directory (vmail: ``vmail init`` with a SQLite
directory and N mailboxes; Postfix: a private instance with virtual(8) and a hash
virtual_mailbox_maps for the same mailboxes, on a free loopback port), drives each with the
peer kit's ``smtp_load.py`` (same client, same seed), waits until every accepted message is
a file in its Maildir, and reports per server: delivered msg/s, p50/p99 of the SMTP
transaction (MAIL FROM to the reply after DATA), server CPU ms per message (whole process
tree, reaped children included), peak RSS/PSS, and the ratios vmail/Postfix. fsync stays on.
Prints a table, then one JSON line with every figure.

    .venv/bin/python bench/smtp_bench.py [--messages 2000] [--concurrency 20] [--size 2048]
        [--no-postfix] [--matrix] [--profile FILE] [--main-cf LINE ...]

``--matrix`` runs concurrency 1, 20 and 100 with 2 KB and 1 MB messages (1 MB cells send
``--messages-1mb``). ``--profile FILE`` adds one unmeasured vmail run of the default load
sampled by py-spy (``.venv/bin/pip install py-spy``) and prints the hottest functions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smtp_bench_measure import DEFAULT_KIT, Kit, Load, Result, measure
from smtp_bench_servers import PostfixServer, VmailServer

KIB, MIB = 1024, 1024 * 1024
MATRIX_CONCURRENCY = (1, 20, 100)
MATRIX_SIZES = (2 * KIB, MIB)
RATIO_FIELDS = (
    ("delivered_msgs_per_s", "delivered msg/s"),
    ("accepted_msgs_per_s", "accepted msg/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("server_cpu_ms_per_msg", "CPU ms/msg"),
    ("peak_rss_kib", "peak RSS"),
    ("peak_pss_kib", "peak PSS"),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--messages", type=int, default=2000, help="messages per run")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent SMTP sessions")
    parser.add_argument("--size", type=int, default=2048, help="message size in bytes")
    parser.add_argument("--mailboxes", type=int, default=20, help="mailboxes; one random each")
    parser.add_argument("--no-postfix", action="store_true", help="measure vmail only")
    parser.add_argument(
        "--main-cf",
        action="append",
        default=[],
        metavar="LINE",
        help="a main.cf line for both servers, e.g. 'smtpd_milters = inet:127.0.0.1:8891'",
    )
    parser.add_argument("--matrix", action="store_true", help="concurrency 1/20/100 x 2 KB/1 MB")
    parser.add_argument("--messages-1mb", type=int, default=200, help="messages per 1 MB cell")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured messages first")
    parser.add_argument("--kit", type=Path, default=DEFAULT_KIT, help="peer kit directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks of vmail here")
    args = parser.parse_args()
    for name in ("messages", "concurrency", "size", "mailboxes", "messages_1mb"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.size < 512:
        parser.error("--size must be at least 512 (the load generator's headers)")
    return args


def loads(args: argparse.Namespace) -> list[Load]:
    if not args.matrix:
        return [Load(args.messages, args.concurrency, args.size, args.mailboxes)]
    cells = []
    for size in MATRIX_SIZES:
        count = args.messages if size < MIB else args.messages_1mb
        for concurrency in MATRIX_CONCURRENCY:
            cells.append(Load(max(count, concurrency), concurrency, size, args.mailboxes))
    return cells


def figure(result: dict[str, Any], name: str) -> float:
    if name in ("p50_ms", "p99_ms"):
        return float(result["latency"].get(name, 0.0))
    return float(result[name])


def ratios(vmail: dict[str, Any], postfix: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, _label in RATIO_FIELDS:
        base = figure(postfix, name)
        out[name] = round(figure(vmail, name) / base, 2) if base else None
    return out


def size_label(size: int) -> str:
    return f"{size / MIB:g} MB" if size >= MIB else f"{size / KIB:g} KB"


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'server':8} {'size':>7} {'conc':>4} {'msgs':>5} {'ok':>5} {'deliv/s':>8} "
        f"{'accept/s':>8} {'p50 ms':>7} {'p99 ms':>8} {'CPU ms/msg':>10} {'sys%':>4} "
        f"{'RSS MiB':>8} {'PSS MiB':>8} {'procs':>5}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        latency = row["latency"]
        ok = "yes" if row["all_delivered"] and not row["failed"] else "NO"
        print(
            f"{row['server']:8} {size_label(row['size']):>7} {row['concurrency']:>4} "
            f"{row['messages']:>5} {ok:>5} {row['delivered_msgs_per_s']:>8.1f} "
            f"{row['accepted_msgs_per_s']:>8.1f} {latency.get('p50_ms', 0):>7.2f} "
            f"{latency.get('p99_ms', 0):>8.2f} {row['server_cpu_ms_per_msg']:>10.2f} "
            f"{100 * row['server_sys_s'] / max(row['server_cpu_s'], 1e-9):>4.0f} "
            f"{row['peak_rss_kib'] / KIB:>8.1f} {row['peak_pss_kib'] / KIB:>8.1f} "
            f"{row['server_processes']:>5}"
        )
        if "ratio" in row:
            ratio = row["ratio"]
            cells = ", ".join(
                f"{label} {ratio[name]}" for name, label in RATIO_FIELDS if ratio[name] is not None
            )
            print(f"{'':8} vmail/Postfix: {cells}")
        for error in row["errors"][:3]:
            print(f"{'':8} error: {error}")


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def profile(kit: Kit, server: VmailServer, load: Load, output: Path) -> list[str]:
    """One extra vmail run under py-spy; the hottest functions (self and inclusive).

    ``--gil`` keeps only samples of the thread holding the GIL: Python CPU time, not threads
    blocked in fsync() or waiting for work (the kernel's share is in ``server_sys_s``).
    """
    spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if spy is None:
        return ["py-spy not found: .venv/bin/pip install py-spy"]
    command = [spy, "record", "--pid", str(server.pids()[0]), "--rate", "250", "--gil"]
    sampler = subprocess.Popen(
        [*command, "--format", "raw", "--output", str(output), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    measure(kit, server, load)
    sampler.send_signal(signal.SIGINT)
    sampler.wait(60)
    return summarize_profile(output)


def summarize_profile(collapsed: Path, top: int = 15) -> list[str]:
    """Self and inclusive shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [frame.strip() for frame in stack.split(";")]
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    ours = Counter({frame: n for frame, n in inclusive.items() if "vmail/" in frame})
    lines = [f"py-spy --gil: {total} samples"]
    for title, counter in (("self", own), ("inclusive (vmail frames)", ours)):
        lines.append(f"top {top} by {title} time:")
        lines.extend(
            f"  {count * 100 / max(1, total):5.1f}%  {frame}"
            for frame, count in counter.most_common(top)
        )
    return lines


def main() -> int:
    args = parse_args()
    kit = Kit(args.kit)
    with_postfix = not args.no_postfix and PostfixServer.available()
    if not args.no_postfix and not with_postfix:
        print("smtp_bench: no /usr/sbin/postfix (or not root): measuring vmail only")
    root = Path(tempfile.mkdtemp(prefix="vmail-smtp-bench-"))
    root.chmod(0o755)
    servers: list[VmailServer | PostfixServer] = [VmailServer(root / "vmail", args.mailboxes)]
    if with_postfix:
        servers.append(PostfixServer(root / "postfix", args.mailboxes))
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        for server in servers:
            server.root.mkdir()
            server.setup()
            if args.main_cf:
                with open(server.main_cf, "a") as main_cf:
                    main_cf.write("".join(f"{line}\n" for line in args.main_cf))
            server.start()
            print(f"{server.name}: listening on 127.0.0.1:{server.port}", flush=True)
            if args.warmup:
                measure(kit, server, Load(args.warmup, min(10, args.warmup), 2048, args.mailboxes))
        for load in loads(args):
            cell: dict[str, dict[str, Any]] = {}
            for server in servers:
                result: Result = measure(kit, server, load)
                cell[server.name] = result.as_dict()
                rows.append(cell[server.name])
                print(
                    f"{server.name}: {size_label(load.size)} c{load.concurrency}: "
                    f"{result.delivered}/{result.messages} delivered, "
                    f"{result.delivered_per_s:.0f} msg/s",
                    flush=True,
                )
            if "postfix" in cell:
                cell["vmail"]["ratio"] = ratios(cell["vmail"], cell["postfix"])
        if args.profile:
            vmail_server = servers[0]
            assert isinstance(vmail_server, VmailServer)
            notes = profile(kit, vmail_server, loads(args)[0], args.profile)
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print_table(rows)
    for note in notes:
        print(note)
    summary = {
        "bench": "smtp_bench",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "mailboxes": args.mailboxes,
        "runs": rows,
    }
    print(json.dumps(summary, sort_keys=False))
    failed = any(row["failed"] or not row["all_delivered"] for row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
