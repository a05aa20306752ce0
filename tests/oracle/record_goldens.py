"""Regenerate ``tests/differential/golden/*.json`` from real Postfix.

Usage (as root, with Postfix installed; the system instance is not used)::

    .venv/bin/python tests/oracle/record_goldens.py [SCENARIO ...]

Every scenario of ``tests/differential/scenarios.py`` (or only those named)
is run against a fresh private Postfix instance and its answers are written
to ``tests/differential/golden/<name>.json``.  ``run_scenario`` is also used
by the differential tests to check that the goldens still match Postfix.

Golden file layout::

    scenario, description, postfix_version
    config: main_cf (the scenario's overrides), files, postmap, master_cf,
            sqlite (database name -> SQL script; only if any),
            base_main_cf (the harness defaults; the instance directory is
            written as ${instance_dir})
    queries: [ {name, addresses, client_ip, sasl_user, sender, helo,
                rcpt: [{address, code, enhanced, text}],
                data: {code, enhanced, text} | absent,
                verify: [report entries, sorted] | absent,
                verify_error: text | absent} ]

Report entries carry ``network_dependent: true`` when they were produced by
smtp(8)/lmtp(8) without a "delivery via" text: their ``status``, ``dsn`` and
``text`` depend on how the machine fails name lookups and connections, while
``recipient``, ``original_recipient``, ``transport`` and ``nexthop`` do not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.differential.scenarios import SCENARIOS, Query, Scenario  # noqa: E402
from tests.oracle.postfix import (  # noqa: E402
    POSTCONF,
    MessageNotAcceptedError,
    PostfixInstance,
    base_main_cf,
)

GOLDEN_DIR = REPO / "tests" / "differential" / "golden"
NETWORK_TRANSPORTS = frozenset({"smtp", "relay", "lmtp"})
INSTANCE_PLACEHOLDER = "${instance_dir}"


def postfix_version() -> str:
    """The installed Postfix's mail_version."""
    out = subprocess.run(
        [POSTCONF, "-d", "-h", "mail_version"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _sort_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (
        str(entry.get("original_recipient")),
        str(entry.get("recipient")),
        str(entry.get("text")),
    )


def normalise_report(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort report entries and mark the machine-dependent ones."""
    out = []
    for entry in entries:
        entry = dict(entry)
        entry["network_dependent"] = (
            entry.get("agent") is None and entry.get("transport") in NETWORK_TRANSPORTS
        )
        out.append(entry)
    return sorted(out, key=_sort_key)


def run_query(pf: PostfixInstance, query: Query) -> dict[str, Any]:
    """Ask a running instance one query; return its golden record."""
    helo = query.get("helo", "client.example")
    replies = pf.rcpt(
        query["addresses"],
        client_ip=query["client_ip"],
        sasl_user=query["sasl_user"],
        sender=query["sender"],
        helo=helo,
        client_name=query.get("client_name"),
        data=query.get("data", False),
    )
    record: dict[str, Any] = {
        "name": query["name"],
        "addresses": query["addresses"],
        "client_ip": query["client_ip"],
        "client_name": query.get("client_name"),
        "sasl_user": query["sasl_user"],
        "sender": query["sender"],
        "helo": helo,
        "rcpt": [
            {"address": a, "code": r.code, "enhanced": r.enhanced, "text": r.text}
            for a, r in zip(query["addresses"], replies, strict=True)
        ],
    }
    if query.get("data"):
        d = pf.last_data_reply
        record["data"] = (
            None
            if d is None
            else {
                "code": d.code,
                "enhanced": d.enhanced,
                "text": d.text,
            }
        )
        if d is not None and d.code == 250:
            record["data"]["text"] = "Ok: queued as QUEUEID" if "queued as" in d.text else d.text
    if query["verify"]:
        try:
            record["verify"] = normalise_report(pf.verify(query["addresses"], query["sender"]))
        except MessageNotAcceptedError as e:
            record["verify_error"] = str(e)
    return record


def run_scenario(scenario: Scenario, base_dir: Path | None = None) -> dict[str, Any]:
    """Run every query of ``scenario`` on a fresh instance; return the golden dict."""
    with PostfixInstance(
        base_dir,
        main_cf=scenario["main_cf"],
        files=scenario["files"],
        postmap=scenario["postmap"],
        master_cf=scenario["master_cf"],
        sqlite=scenario.get("sqlite", {}),
    ) as pf:
        assert pf.root is not None
        base = {
            k: v.replace(str(pf.root), INSTANCE_PLACEHOLDER)
            for k, v in base_main_cf(pf.root).items()
        }
        queries = [run_query(pf, q) for q in scenario["queries"]]
    return {
        "scenario": scenario["name"],
        "description": scenario["description"],
        "postfix_version": postfix_version(),
        "config": {
            "main_cf": scenario["main_cf"],
            "files": scenario["files"],
            "postmap": scenario["postmap"],
            "master_cf": scenario["master_cf"],
            **({"sqlite": scenario["sqlite"]} if scenario.get("sqlite") else {}),
            "base_main_cf": base,
        },
        "queries": queries,
    }


def golden_path(name: str) -> Path:
    """Where the golden of scenario ``name`` lives."""
    return GOLDEN_DIR / f"{name}.json"


def dump(golden: dict[str, Any]) -> str:
    """Serialise a golden the way it is stored (stable, diff-friendly)."""
    return json.dumps(golden, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Record the goldens of the named scenarios (all if none are named)."""
    wanted = set(argv)
    unknown = wanted - {s["name"] for s in SCENARIOS}
    if unknown:
        print(f"unknown scenario(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for scenario in SCENARIOS:
        if wanted and scenario["name"] not in wanted:
            continue
        golden = run_scenario(scenario)
        golden_path(scenario["name"]).write_text(dump(golden))
        print(f"wrote {golden_path(scenario['name']).relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
