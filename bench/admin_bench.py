#!/usr/bin/env python3
"""Benchmark the admin service's paginated lists with many mailboxes (issue 6: < 100 ms).

Fills a SQLite directory with N mailboxes (default 100,000, over D domains, each with its
own alias row, plus one alias per 10 mailboxes and a log row per mailbox) with bulk Core
inserts, then times one page of 50 (COUNT included) for the lists the web UI and the API
show: default sort, sorted by name descending, a search, one domain, a domain admin's
domains, the alias list (mailbox rows hidden), the log, and the dashboard overview.

    .venv/bin/python bench/admin_bench.py [--mailboxes 100000] [--domains 100] [--repeat 21]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert

from vmail.admin import Actor, AdminService, ListQuery
from vmail.directory.database import open_database
from vmail.directory.models import Alias, Domain, DomainAdmin, Log, Mailbox
from vmail.directory.schema import upgrade_database

BATCH = 10_000
HASH = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"  # never verified here


def domain_name(i: int) -> str:
    return f"d{i:04d}.example"


def fill(engine: Engine, mailboxes: int, domains: int) -> None:
    """Bulk-insert ``domains`` domains and ``mailboxes`` mailboxes (+ alias and log rows)."""
    start = datetime(2026, 1, 1)
    with engine.begin() as c:
        c.execute(insert(Domain), [{"domain": domain_name(i)} for i in range(domains)])
        c.execute(
            insert(DomainAdmin),
            [{"username": "da@d0000.example", "domain": domain_name(i)} for i in range(5)],
        )
        for first in range(0, mailboxes, BATCH):
            boxes, aliases, logs = [], [], []
            for n in range(first, min(first + BATCH, mailboxes)):
                domain = domain_name(n % domains)
                user = f"user{n:06d}@{domain}"
                when = start + timedelta(seconds=n)
                boxes.append(
                    {
                        "username": user,
                        "password": HASH,
                        "name": f"Person {(n * 7919) % mailboxes:06d}",
                        "maildir": f"{domain}/user{n:06d}/",
                        "quota": (n % 10) * 1024 * 1024,
                        "local_part": f"user{n:06d}",
                        "domain": domain,
                        "created": when,
                        "modified": when,
                    }
                )
                aliases.append({"address": user, "goto": user, "domain": domain})
                if n % 10 == 0:
                    aliases.append(
                        {"address": f"alias{n:06d}@{domain}", "goto": user, "domain": domain}
                    )
                logs.append(
                    {
                        "timestamp": when,
                        "username": "bench (cli)",
                        "domain": domain,
                        "action": "create_mailbox",
                        "data": user,
                    }
                )
            c.execute(insert(Mailbox), boxes)
            c.execute(insert(Alias), aliases)
            c.execute(insert(Log), logs)


def cases(svc: AdminService) -> dict[str, Callable[[], object]]:
    cli = Actor.cli("bench")
    da = Actor.domain_admin("da@d0000.example", {domain_name(i) for i in range(5)})
    return {
        "mailboxes, by address": lambda: svc.page_mailboxes(cli, ListQuery()),
        "mailboxes, page 1000": lambda: svc.page_mailboxes(cli, ListQuery(offset=50_000)),
        "mailboxes, by name desc": lambda: svc.page_mailboxes(
            cli, ListQuery(sort="name", descending=True)
        ),
        "mailboxes, search": lambda: svc.page_mailboxes(cli, ListQuery(q="user0123")),
        "mailboxes, one domain": lambda: svc.page_mailboxes(
            cli, ListQuery(sort="name"), domain=domain_name(7)
        ),
        "mailboxes, domain admin": lambda: svc.page_mailboxes(da, ListQuery(sort="quota")),
        "aliases (no mailbox rows)": lambda: svc.page_aliases(cli, ListQuery()),
        "log, newest first": lambda: svc.page_log(cli, ListQuery()),
        "log, domain admin": lambda: svc.page_log(da, ListQuery()),
        "domains": lambda: svc.page_domains(cli, ListQuery()),
        "overview": lambda: svc.overview(cli),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/vmail.db")
        upgrade_database(engine)
        began = time.perf_counter()
        fill(engine, args.mailboxes, args.domains)
        print(f"filled {args.mailboxes:,} mailboxes in {time.perf_counter() - began:.1f} s")
        svc = AdminService(engine)
        print(f"{'list (page of 50)':32} {'median ms':>10} {'max ms':>10}")
        for name, run in cases(svc).items():
            run()  # warm the page cache
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                run()
                times.append((time.perf_counter() - t) * 1000)
            print(f"{name:32} {statistics.median(times):10.1f} {max(times):10.1f}")
        engine.dispose()


if __name__ == "__main__":
    main()
