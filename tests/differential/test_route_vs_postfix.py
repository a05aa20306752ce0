"""vmail's routing compared with real Postfix 3.7 on the recorded scenarios.

The goldens in ``golden/`` were recorded from a private Postfix instance by
``tests/oracle/record_goldens.py``: the RCPT reply for each address and the ``sendmail
-bv`` delivery report (final recipient, original recipient, class, transport, next hop).
Here the same configuration and files are given to vmail's Router and everything that
does not depend on the network must be identical.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.oracle.postfix import write_files

from vmail.config import MainConfig
from vmail.core.address import Address, AddressError
from vmail.policy.evaluation import Client
from vmail.route import Router

GOLDEN = Path(__file__).parent / "golden"
# Postfix-instance plumbing that means nothing to vmail's routing.
INSTANCE_ONLY = {
    "config_directory",
    "meta_directory",
    "queue_directory",
    "data_directory",
    "mail_owner",
    "setgid_group",
    "maillog_file",
    "maillog_file_prefixes",
    "smtpd_authorized_xclient_hosts",
    "alias_database",
}
CLASSES = {"alias": "virtual_alias"}
_EXPANSION_FAILURE = re.compile(
    r"unreasonable virtual_alias_maps (?:map nesting|map expansion size|result) "
)


def _goldens() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


def _router(tmp_path: Path, config: dict[str, Any]) -> Router:
    settings = {
        k: v
        for k, v in {**config["base_main_cf"], **config["main_cf"]}.items()
        if k not in INSTANCE_ONLY
    }
    write_files(tmp_path, config["files"], config.get("sqlite", {}))
    return Router(MainConfig(settings, config_dir=tmp_path))


def _as_reported(router: Router, text: str) -> str:
    """An original recipient the way Postfix's ``sendmail -bv`` report shows it.

    The report's Original-Recipient is the address in canonical internal form
    (``joe`` -> ``joe@mail.example.test``, ``"a b"@d`` -> ``a b@d``,
    ``localhost!joe`` -> ``joe@localhost``), although the queue file and the log's
    ``orig_to=`` keep it as given and duplicate elimination uses that (recorded:
    ``joe@localhost.`` and ``localhost!joe`` stay two deliveries).  vmail keeps the
    address as given, so it is mapped here with vmail's own canonical rewriting; a
    wrong mapping can only make the comparison fail, never hide a delivery.
    """
    try:
        return router.canonical.rewrite(Address.parse(text)).internal
    except AddressError:
        return text


def _queries(path: Path) -> list[tuple[str, dict[str, Any]]]:
    golden = json.loads(path.read_text())
    return [(q["name"], q) for q in golden["queries"]]


CASES = [
    pytest.param(path, name, id=f"{path.stem}:{name}")
    for path in _goldens()
    for name, _ in _queries(path)
]


@pytest.mark.parametrize(("path", "query_name"), CASES)
def test_matches_postfix(tmp_path: Path, path: Path, query_name: str) -> None:
    golden = json.loads(path.read_text())
    query = next(q for q in golden["queries"] if q["name"] == query_name)
    router = _router(tmp_path, golden["config"])
    client = Client(
        query["client_ip"],
        query.get("client_name")
        or ("localhost" if query["client_ip"] == "127.0.0.1" else "unknown"),
        query.get("helo"),
        query.get("sasl_user"),
    )
    reports = router.route(query["addresses"], client, query["sender"] or None)

    got_rcpt = [(r.address, r.rcpt.code, r.rcpt.enhanced, r.rcpt.text) for r in reports]
    want_rcpt = [(r["address"], r["code"], r["enhanced"], r["text"]) for r in query["rcpt"]]
    assert got_rcpt == want_rcpt

    if "verify_error" in query:
        assert any(r.deferred is not None for r in reports)
        assert str(query["data"]["code"]) == "451"
        # the same limit was hit: nesting, expansion size or result length
        kind = _EXPANSION_FAILURE.match(query["verify_error"])
        assert kind is not None, query["verify_error"]
        notes = [n for r in reports if r.deferred is not None for n in r.notes]
        assert any(n.startswith(kind.group(0)) for n in notes), notes
        return
    if query.get("data") and query["data"]["code"] == 250:
        assert [r.deferred for r in reports] == [None] * len(reports)
    if "verify" not in query:
        return

    def reported(text: str) -> str:
        return _as_reported(router, text)

    accepted = {reported(r.address) for r in reports if r.rcpt.ok}
    # every report entry belongs to one of the addresses (so the mapping hides nothing)
    assert {v["original_recipient"] for v in query["verify"]} <= {
        reported(r.address) for r in reports
    }
    want = Counter(
        (
            v["recipient"],
            v["original_recipient"],
            v["transport"],
            v["nexthop"],
            CLASSES.get(v["address_class"], v["address_class"]),
        )
        for v in query["verify"]
        if v["original_recipient"] in accepted
    )
    got = Counter(
        (d.recipient, reported(d.original_recipient), d.transport, d.nexthop, d.address_class)
        for r in reports
        for d in r.deliveries
    )
    assert got == want
    statuses = {
        (v["recipient"], v["original_recipient"]): v["status"]
        for v in query["verify"]
        if not v["network_dependent"] and v["original_recipient"] in accepted
    }
    for r in reports:
        for d in r.deliveries:
            key = (d.recipient, reported(d.original_recipient))
            if key in statuses and statuses[key] != "deliverable":
                assert d.status == statuses[key], (key, d.detail)
