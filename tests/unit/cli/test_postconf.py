"""vmail postconf against real Postfix 3.7 postconf on the same files (and alone)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vmail.cli.main import main
from vmail.config.schema import VMAIL_ONLY, VMAIL_PREFIXES

POSTCONF = "/usr/sbin/postconf"
needs_postfix = pytest.mark.skipif(
    not Path(POSTCONF).exists(), reason="real Postfix postconf is not installed"
)

MAIN_CF = """\
# vmail test configuration
compatibility_level = 3.6
myhostname = mail.example.org
mydomain = example.org
myorigin = $mydomain
relayhost = [smtp.example.net]:587
mydestination = $myhostname, localhost.$mydomain,
    localhost
  # comment between continuation lines
    other.example
virtual_mailbox_domains = example.com, ${bogus_user_param}
bogus_user_param = example.net
unused_thing = 42
smtpd_banner = $myhostname   ESMTP\t$mail_name
smtpd_restriction_classes = strict
strict = reject_unknown_sender_domain
smtpd_recipient_restrictions = permit_mynetworks, check_sender_access hash:/etc/x, strict
message_size_limit = 52428800
maximal_queue_lifetime = 2d
smtputf8_enable = no
relay_domains = ${{$compatibility_level} <level {2} ? {$mydestination} : {}}
x_value = ${relayhost?{has relay}:{direct}}
recipient_delimiter = +
relayhost = [smtp2.example.net]
"""

MASTER_CF = """\
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
  -o smtpd_tls_security_level=encrypt -o master_only=$unused_thing
  -o bogus_override=1
pickup    unix  n       -       y       60      1       pickup
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
relay     unix  -       -       y       -       -       smtp -o a= b
postlog   unix-dgram n  -       n       -       1       postlogd
virtual   unix  -       n       n       -       -       virtual
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
a-very-long-service-name unix - n n - 2 pipe flags=R user=scalemail argv=/usr/lib/scalemail/bin/scalemail-store ${nexthop} ${user} ${extension}
"""


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    (tmp_path / "main.cf").write_text(MAIN_CF)
    (tmp_path / "master.cf").write_text(MASTER_CF)
    return tmp_path


def run_vmail(
    confdir: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    code = main(["postconf", "-c", str(confdir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_postfix(confdir: Path, args: list[str]) -> tuple[int, str, str]:
    """Run real postconf as "postconf" (its messages start with argv[0])."""
    proc = subprocess.run(
        ["postconf", "-c", str(confdir), *args],
        executable=POSTCONF,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def warnings(err: str) -> set[str]:
    """Distinct warning lines (Postfix repeats some of them once per internal pass)."""
    return {line for line in err.splitlines() if line.startswith("postconf: warning:")}


# Parameters where vmail deliberately differs from `postconf` output:
# compatibility-level expressions are shown with their 3.6 value.
COMPAT = {
    # vmail's safer defaults (README, "deliberate differences"), and one that follows them
    "disable_vrfy_command",
    "smtpd_forbid_bare_newline",
    "smtpd_forbid_bare_newline_exclusions",  # -x expands $mynetworks, host-derived here
    "append_dot_mydomain",
    "compatibility_level",
    "config_directory",
    "lmtp_tls_fingerprint_digest",
    "mynetworks",
    "mynetworks_style",
    "relay_domains",
    "fast_flush_domains",  # $relay_domains: -x expands it as relay_domains differs
    "respectful_logging",
    "smtp_tls_fingerprint_digest",
    "smtpd_relay_before_recipient_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_tls_fingerprint_digest",
    "smtputf8_enable",
    "proxy_read_maps",
    "smtpd_client_event_limit_exceptions",
}


@needs_postfix
@pytest.mark.postfix
@pytest.mark.parametrize(
    "args",
    [
        ["-n"],
        ["-nx"],
        ["-nh"],
        ["relayhost", "myorigin", "no_such_param", "bogus_user_param", "unused_thing"],
        ["-h", "mydestination"],
        ["-x", "mydestination", "x_value", "relay_domains", "smtpd_banner"],
        ["-xh", "virtual_mailbox_domains"],
        ["-d", "relayhost", "maximal_queue_lifetime", "bogus_user_param", "myorigin"],
        ["-d", "maildrop_time_limit", "virtual_destination_recipient_limit", "smtp_time_limit"],
        ["maildrop_destination_concurrency_limit", "pickup_destination_concurrency_limit"],
        ["-M"],
        ["-Mf"],
        ["-M", "submission/inet", "maildrop", "nothere/unix", "smtp"],
        ["-F"],
        ["-F", "submission/inet/command", "pickup/unix/wakeup", "x/y"],
        ["-F", "submission/inet/command", "x/y/z"],
        ["-F", "pickup", "tlsmgr/unix"],
        ["-P", "pickup/unix/bogus", "relay/unix/nothere"],
        ["-Fh", "tlsmgr/unix/wakeup"],
        ["-P"],
        ["-P", "submission/inet/smtpd_tls_security_level", "relay/unix"],
    ],
)
def test_same_as_postfix(
    confdir: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    ours = run_vmail(confdir, args, capsys)
    theirs = run_postfix(confdir, args)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert warnings(ours[2]) <= warnings(theirs[2])
    assert {w for w in warnings(theirs[2]) if "overriding earlier entry" not in w} <= warnings(
        ours[2]
    )


@needs_postfix
@pytest.mark.postfix
@pytest.mark.parametrize("args", [[], ["-x"], ["-d"], ["-dx"]])
def test_listing_is_a_subset_of_postfix(
    confdir: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """All-parameter listings: vmail lists only its schema, in the same order and format.

    vmail-only parameters (``vmail_``, ``imapd_``… prefixes) are not Postfix's to know.
    """
    code, out, _ = run_vmail(confdir, args, capsys)
    pcode, pout, _ = run_postfix(confdir, args)
    assert code == pcode == 0
    ours = [
        line
        for line in out.splitlines()
        if line.split(" =")[0] not in COMPAT
        and not line.startswith(VMAIL_PREFIXES)
        and line.split(" =")[0] not in VMAIL_ONLY
    ]
    theirs = set(pout.splitlines())
    assert [line for line in ours if line not in theirs] == []
    assert ours == sorted(ours, key=lambda line: line.split(" =")[0])
    assert len(out.splitlines()) > 400


@needs_postfix
@pytest.mark.postfix
@pytest.mark.parametrize(
    "main_cf",
    [
        "relayhost = $a\na = $b\nb = $relayhost\n",
        "relayhost = a$-b\n",
        "relayhost = ${x\n",
        "relayhost = ${x?{a}:{b}:{c}}\n",
        "justaline\n",
        "= 1\n",
    ],
)
def test_fatal_errors_exit_like_postfix(
    tmp_path: Path, main_cf: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "main.cf").write_text(main_cf)
    (tmp_path / "master.cf").write_text("")
    code, out, err = run_vmail(tmp_path, ["-n"], capsys)
    pcode, pout, _ = run_postfix(tmp_path, ["-n"])
    assert (code, out) == (pcode, pout) == (1, "")
    assert "Traceback" not in err
    assert f"{tmp_path}/main.cf:1: " in err


def test_missing_main_cf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_vmail(tmp_path, ["-n"], capsys)
    assert (code, out) == (1, "")
    assert err == f"vmail postconf: fatal: {tmp_path}/main.cf: No such file or directory\n"


def test_missing_master_cf_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.cf").write_text("relayhost = x\n")
    code, out, err = run_vmail(tmp_path, ["-n"], capsys)
    assert code == 0
    assert out == f"config_directory = {tmp_path}\nrelayhost = x\n"
    assert err == f"postconf: warning: open {tmp_path}/master.cf: No such file or directory\n"


def test_bad_master_cf(confdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (confdir / "master.cf").write_text("smtp inet n - y - smtpd\n")
    code, _, err = run_vmail(confdir, ["-M"], capsys)
    assert code == 1
    assert err.splitlines()[-1] == f"vmail postconf: fatal: {confdir}/master.cf:1: bad field count"


def test_unknown_and_unused_warnings(confdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_vmail(confdir, ["relayhost", "nope"], capsys)
    assert code == 0
    assert out == "relayhost = [smtp2.example.net]\n"
    lines = err.splitlines()
    assert "postconf: warning: nope: unknown parameter" in lines
    assert f"postconf: warning: {confdir}/main.cf: unused parameter: unused_thing=42" not in lines
    assert f"postconf: warning: {confdir}/master.cf: unused parameter: bogus_override=1" in lines
    assert (
        f"postconf: warning: {confdir}/main.cf, line 24: overriding earlier entry: relayhost=[smtp.example.net]:587"
        in lines
    )


def test_console_script(confdir: Path) -> None:
    exe = shutil.which("vmail") or str(Path(sys.executable).with_name("vmail"))
    proc = subprocess.run(
        [exe, "postconf", "-c", str(confdir), "-h", "myorigin"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "$mydomain\n")
