"""Quota warnings: parsing mail_quota_warning, crossing thresholds, running commands."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.delivery.paths import Owner
from vmail.delivery.quota_warning import (
    QuotaWarning,
    crossed,
    expand,
    parse_warnings,
    run_warning,
)

ROOT = os.geteuid() == 0


def warnings_of(value: str) -> tuple[QuotaWarning, ...]:
    config = MainConfig.from_text(f"mail_quota_warning = {value}\n")
    return parse_warnings(config.get_list("mail_quota_warning"))


def test_braced_and_following_argument_forms() -> None:
    assert warnings_of(
        "{ 95=/usr/local/bin/quota-warning 95 %u }, 80%=/bin/warn 80 '%d x', 50=/bin/true"
    ) == (
        QuotaWarning(95.0, ("/usr/local/bin/quota-warning", "95", "%u")),
        QuotaWarning(80.0, ("/bin/warn", "80", "'%d", "x'")),  # no braces: plain words
        QuotaWarning(50.0, ("/bin/true",)),
    )
    assert warnings_of("{ 90=/bin/warn '%d x' }") == (QuotaWarning(90.0, ("/bin/warn", "%d x")),)
    assert warnings_of("") == ()


@pytest.mark.parametrize("value", ["/bin/warn 80", "{ 80= }", "{ 80=/bin/warn 'open }", "x=/a"])
def test_malformed_entries_are_config_errors(value: str) -> None:
    with pytest.raises(ConfigError):
        warnings_of(value)


def test_crossing_picks_the_first_threshold_passed() -> None:
    rules = (QuotaWarning(95, ("a",)), QuotaWarning(80, ("b",)))
    assert crossed(rules, 1000, 700, 850) == rules[1]
    assert crossed(rules, 1000, 700, 960) == rules[0]  # both passed: the first listed
    assert crossed(rules, 1000, 800, 900) is None  # already at 80% before
    assert crossed(rules, 1000, 799, 800) == rules[1]  # reaching it exactly counts
    assert crossed(rules, 1000, 100, 200) is None
    assert crossed(rules, None, 0, 10**9) is None  # no limit, no warnings


def test_expand_variables() -> None:
    assert expand(["%u", "%n", "%d", "100%%", "%x", "%"], "user+x@example.com") == [
        "user+x@example.com",
        "user+x",
        "example.com",
        "100%",
        "%x",
        "%",
    ]


def test_command_runs_without_a_shell(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    script = f"import sys; open({str(out)!r}, 'w').write(repr(sys.argv[1:]))"
    rule = QuotaWarning(80, (sys.executable, "-c", script, "%u", "$(id)", "a b;c"))
    caplog.set_level(logging.INFO, "vmail.delivery.quota_warning")
    run_warning(rule, "u@example.com", None, queue_id="4ABC").join(10)
    assert out.read_text() == repr(["u@example.com", "$(id)", "a b;c"])
    assert "4ABC: to=<u@example.com>, quota warning 80%:" in caplog.text
    assert caplog.text.rstrip().endswith(": done")


def test_failures_and_timeouts_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "vmail.delivery.quota_warning")
    fail = QuotaWarning(90, (sys.executable, "-c", "import sys; sys.exit('no mail for you')"))
    run_warning(fail, "u@example.com", None).join(10)
    assert "exit status 1: no mail for you" in caplog.text
    slow = QuotaWarning(90, (sys.executable, "-c", "import time; time.sleep(30)"))
    run_warning(slow, "u@example.com", None, timeout=0.5).join(10)
    assert "killed after 0.5s" in caplog.text
    run_warning(QuotaWarning(90, ("/nonexistent/warn",)), "u@example.com", None).join(10)
    assert "cannot run" in caplog.text


@pytest.mark.skipif(not ROOT, reason="changing the user needs root")
def test_runs_as_the_mail_owner() -> None:
    where = Path(tempfile.mkdtemp(prefix="vmail-warning-"))  # pytest's tmp is 0700
    try:
        where.chmod(0o777)
        rule = QuotaWarning(
            80, ("/bin/sh", "-c", 'echo "$(id -u) $(id -g)" > "$0/ids"', str(where))
        )
        run_warning(rule, "u@example.com", Owner(65534, 65534)).join(10)
        assert (where / "ids").read_text() == "65534 65534\n"
    finally:
        shutil.rmtree(where)
