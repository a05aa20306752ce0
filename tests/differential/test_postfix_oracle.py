"""Tests of the Postfix oracle harness against real Postfix 3.7.

They skip when Postfix is not installed (or not running as root), but fail
instead when the environment variable ``CI`` is set: CI must run them.  The
golden tests also check that ``tests/differential/golden/*.json`` still say
what Postfix says (regenerate with ``tests/oracle/record_goldens.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.differential.scenarios import SCENARIOS, Scenario
from tests.oracle.postfix import (
    MessageNotAcceptedError,
    PostfixInstance,
    Reply,
    parse_reply,
    postfix_available,
)
from tests.oracle.record_goldens import golden_path, run_scenario

pytestmark = pytest.mark.postfix

VIRTUAL_ALIAS = {
    "main_cf": {
        "virtual_alias_domains": "example.com",
        "virtual_alias_maps": "hash:$config_directory/virtual",
    },
    "files": {
        "virtual": "postmaster@example.com postmaster\n"
        "info@example.com joe\n"
        "sales@example.com jane, friend@remote.example\n",
        "aliases": "postmaster: root\nroot: /dev/null\njoe: /dev/null\njane: /dev/null\n",
    },
    "postmap": ["virtual"],
}

# Fields of report entries that depend on how this machine fails DNS
# lookups and TCP connections (see record_goldens.py).
NETWORK_FIELDS = ("status", "dsn", "text")


@pytest.fixture
def need_postfix() -> None:
    """Skip without Postfix/root, except under CI where that is a failure."""
    problem = None
    if not postfix_available():
        problem = "Postfix (/usr/sbin/postfix and friends) is not installed"
    elif os.geteuid() != 0:
        problem = "the Postfix oracle must run as root"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}, but CI is set: the differential tests must run")
        pytest.skip(problem)


def _stable(golden: dict[str, Any]) -> dict[str, Any]:
    """A golden without the machine-dependent parts of report entries."""
    golden = json.loads(json.dumps(golden))
    golden.pop("postfix_version", None)
    for query in golden["queries"]:
        for entry in query.get("verify", []):
            if entry.get("network_dependent"):
                for field in NETWORK_FIELDS:
                    entry.pop(field, None)
    return golden


# --------------------------------------------------------------- no Postfix
def test_parse_reply_single_line() -> None:
    reply = parse_reply(["550 5.1.1 <a@b>: Recipient address rejected: User unknown"])
    assert reply == Reply(550, "5.1.1", "<a@b>: Recipient address rejected: User unknown")


def test_parse_reply_multi_line_and_no_enhanced_code() -> None:
    assert parse_reply(["250-first", "250 second"]) == Reply(250, "", "first\nsecond")
    reply = parse_reply(["554-5.7.1 one", "554-5.7.1 two", "554 5.7.1 three"])
    assert reply == Reply(554, "5.7.1", "one\ntwo\nthree")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s["name"])
def test_every_scenario_has_a_golden(scenario: Scenario) -> None:
    path = golden_path(scenario["name"])
    assert path.is_file(), f"run tests/oracle/record_goldens.py {scenario['name']}"
    golden = json.loads(path.read_text())
    assert golden["config"]["main_cf"] == scenario["main_cf"]
    assert [q["name"] for q in golden["queries"]] == [q["name"] for q in scenario["queries"]]


# ------------------------------------------------------------ real Postfix
@pytest.mark.usefixtures("need_postfix")
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s["name"])
def test_golden_still_matches_postfix(scenario: Scenario, tmp_path: Path) -> None:
    golden = json.loads(golden_path(scenario["name"]).read_text())
    fresh = run_scenario(scenario, tmp_path)
    assert _stable(fresh) == _stable(golden)


@pytest.mark.usefixtures("need_postfix")
def test_relay_decisions_inside_outside_sasl(tmp_path: Path) -> None:
    with PostfixInstance(tmp_path, **VIRTUAL_ALIAS) as pf:  # type: ignore[arg-type]
        remote = ["user@remote.example"]
        assert pf.rcpt(remote, client_ip="127.0.0.1", sender="s@example.org") == [
            Reply(250, "2.1.5", "Ok")
        ]
        assert pf.rcpt(remote, client_ip="192.0.2.7", sender="s@example.org") == [
            Reply(454, "4.7.1", "<user@remote.example>: Relay access denied")
        ]
        assert pf.rcpt(
            remote, client_ip="192.0.2.7", sasl_user="alice", sender="s@example.org"
        ) == [Reply(250, "2.1.5", "Ok")]
        assert any("LOGIN=alice" in line for line in pf.last_transcript)
        pf.wait_for_log(r"sasl_method=XCLIENT, sasl_username=alice$")


@pytest.mark.usefixtures("need_postfix")
def test_reject_unauth_destination_is_permanent(tmp_path: Path) -> None:
    main_cf = dict(VIRTUAL_ALIAS["main_cf"])  # type: ignore[call-overload]
    main_cf["smtpd_relay_restrictions"] = (
        "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
    )
    with PostfixInstance(
        tmp_path,
        main_cf=main_cf,
        files=VIRTUAL_ALIAS["files"],
        postmap=["virtual"],  # type: ignore[arg-type]
    ) as pf:
        assert pf.rcpt(["x@remote.example"], client_ip="192.0.2.7") == [
            Reply(554, "5.7.1", "<x@remote.example>: Relay access denied")
        ]


@pytest.mark.usefixtures("need_postfix")
def test_verify_keeps_original_recipient_of_expanded_alias(tmp_path: Path) -> None:
    with PostfixInstance(tmp_path, **VIRTUAL_ALIAS) as pf:  # type: ignore[arg-type]
        report = pf.verify(["sales@example.com", "nobody@example.com"], sender="s@example.org")
        by_final = {e["recipient"]: e for e in report}
        assert set(by_final) == {
            "jane@mail.example.test",
            "friend@remote.example",
            "nobody@example.com",
        }
        jane = by_final["jane@mail.example.test"]
        assert jane["original_recipient"] == "sales@example.com"
        assert jane["status"] == "deliverable"
        assert jane["text"] == "delivery via local: delivers to file: /dev/null"
        assert (jane["transport"], jane["nexthop"], jane["agent"]) == (
            "local",
            "mail.example.test",
            "local",
        )
        friend = by_final["friend@remote.example"]
        assert friend["original_recipient"] == "sales@example.com"
        assert (friend["transport"], friend["nexthop"]) == ("smtp", "remote.example")
        nobody = by_final["nobody@example.com"]
        assert (nobody["status"], nobody["dsn"], nobody["transport"]) == (
            "undeliverable",
            "5.1.1",
            "error",
        )
        assert nobody["text"] == "User unknown in virtual alias table"
        assert pf.last_report is not None
        assert "Mail Delivery Status Report" in pf.last_report


@pytest.mark.usefixtures("need_postfix")
def test_verify_reports_alias_loop_as_not_accepted(tmp_path: Path) -> None:
    files = {"virtual": "a@example.com b@example.com\nb@example.com a@example.com\n"}
    with PostfixInstance(
        tmp_path,
        main_cf=VIRTUAL_ALIAS["main_cf"],  # type: ignore[arg-type]
        files=files,
        postmap=["virtual"],
    ) as pf:
        with pytest.raises(MessageNotAcceptedError, match="unreasonable virtual_alias_maps"):
            pf.verify(["a@example.com"], sender="s@example.org")
        assert not any((pf.queue_dir / "maildrop").iterdir())
        # The instance still works afterwards.
        assert pf.rcpt(["a@example.com"], data=True) == [Reply(250, "2.1.5", "Ok")]
        assert pf.last_data_reply == Reply(451, "4.6.0", "Alias expansion error")


@pytest.mark.usefixtures("need_postfix")
def test_resolve_transport_and_nexthop(tmp_path: Path) -> None:
    files = {"transport": "gw.example relay:[192.0.2.1]:2525\nerr.example error:5.7.1 nope\n"}
    with PostfixInstance(
        tmp_path,
        main_cf={
            "transport_maps": "hash:$config_directory/transport",
            "relay_domains": "gw.example",
        },
        files=files,
        postmap=["transport"],
    ) as pf:
        assert pf.resolve("u@gw.example")[:2] == ("relay", "[192.0.2.1]:2525")
        assert pf.resolve("u@gw.example").address_class == "relay"
        assert pf.resolve("u@err.example")[:2] == ("error", "5.7.1 nope")
        assert pf.resolve("u@mail.example.test")[:2] == ("local", "mail.example.test")
        assert pf.resolve("u@elsewhere.example").address_class == "default"


@pytest.mark.usefixtures("need_postfix")
def test_two_instances_run_side_by_side(tmp_path: Path) -> None:
    with (
        PostfixInstance(tmp_path / "one", myhostname="one.example.test") as one,
        PostfixInstance(tmp_path / "two", myhostname="two.example.test") as two,
    ):
        assert one.port != two.port
        assert one.root != two.root
        assert one.rcpt(["postmaster@one.example.test"]) == [Reply(250, "2.1.5", "Ok")]
        assert two.rcpt(["postmaster@one.example.test"], client_ip="192.0.2.7") == [
            Reply(454, "4.7.1", "<postmaster@one.example.test>: Relay access denied")
        ]


def _fail_inside(pf: PostfixInstance) -> None:
    """Enter the instance, note its master's pid, then blow up."""
    with pf:
        pid = pf._master_pid()
        assert pid is not None
        pf.stash_pid = pid  # type: ignore[attr-defined]
        raise RuntimeError("boom")


@pytest.mark.usefixtures("need_postfix")
def test_instance_is_stopped_and_removed_after_failure(tmp_path: Path) -> None:
    pf = PostfixInstance(tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        _fail_inside(pf)
    pid = pf.stash_pid  # type: ignore[attr-defined]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert pf.root is not None
    if not os.environ.get("VMAIL_ORACLE_KEEP"):
        assert not pf.root.exists()
    assert "daemon started" in (tmp_path / "maillog").read_text()
