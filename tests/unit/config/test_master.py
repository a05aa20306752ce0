"""master.cf: service lines, overrides, pipe attributes, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.config.master import MasterConfig
from vmail.core.errors import ConfigError

SAMPLE = """\
# comment
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  # a comment inside the entry
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
  -o smtpd_tls_security_level=encrypt
pickup    unix  n       -       y       60      1       pickup
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
odd       unix  -       -       n       -       -       smtp -o a= b
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail:mail argv=/usr/bin/maildrop -d ${recipient} {a b}
"""


def test_services() -> None:
    master = MasterConfig.from_text(SAMPLE, "/c/master.cf")
    assert [s.key for s in master] == [
        "smtp/inet",
        "submission/inet",
        "pickup/unix",
        "tlsmgr/unix",
        "odd/unix",
        "maildrop/unix",
    ]
    sub = master.get("submission", "inet")
    assert sub is not None
    assert sub.location.line == 3
    assert sub.overrides == {
        "syslog_name": "postfix/submission",
        "smtpd_client_restrictions": "permit_sasl_authenticated, reject",
        "smtpd_tls_security_level": "encrypt",
    }
    assert sub.private is False
    assert sub.unprivileged is True
    assert sub.chroot is True
    assert sub.plain_args == ()
    pickup = master.get("pickup", "unix")
    assert pickup is not None
    assert (pickup.wakeup, pickup.wakeup_only_when_used) == (60, False)
    assert pickup.process_limit(MainConfig.from_text("")) == 1
    tlsmgr = master.get("tlsmgr", "unix")
    assert tlsmgr is not None
    assert (tlsmgr.wakeup, tlsmgr.wakeup_only_when_used) == (1000, True)
    smtp = master.get("smtp", "inet")
    assert smtp is not None
    assert smtp.process_limit(MainConfig.from_text("")) == 100
    assert smtp.chroot is True
    odd = master.get("odd", "unix")
    assert odd is not None
    assert odd.overrides == {"a": ""}
    assert odd.plain_args == ("b",)


def test_pipe() -> None:
    master = MasterConfig.from_text(SAMPLE).validate()
    pipe = master.find("maildrop")[0].pipe
    assert pipe is not None
    assert pipe.flags == "DRXhu"
    assert (pipe.user, pipe.group) == ("vmail", "mail")
    assert pipe.argv == ("/usr/bin/maildrop", "-d", "${recipient}", "a b")
    assert master.find("smtp")[0].pipe is None


def test_effective_config() -> None:
    master = MasterConfig.from_text(SAMPLE, "/c/master.cf")
    config = MainConfig.from_text("smtpd_tls_security_level = may\nmyhostname = h.example\n")
    sub = master.find("submission", "inet")[0]
    effective = sub.effective(config)
    assert effective.get("smtpd_tls_security_level") == "encrypt"
    assert effective.get_list("smtpd_client_restrictions") == [
        "permit_sasl_authenticated",
        "reject",
    ]
    assert effective.locations["smtpd_tls_security_level"].filename == "/c/master.cf"
    assert config.get("smtpd_tls_security_level") == "may"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("smtp bogus n - y - - smtpd\n", 1, 'invalid type field "bogus"'),
        ("# c\nsmtp inet n - y - smtpd\n", 2, "bad field count"),
        ("smtp inet n - y - x smtpd\n", 1, 'invalid process_limit field "x"'),
        ("smtp inet n - y 10 -1 smtpd\n", 1, 'invalid process_limit field "-1"'),
        ("smtp inet n - y x - smtpd\n", 1, 'invalid wakeup field "x"'),
        ("smtp inet n - y -5 - smtpd\n", 1, 'invalid wakeup field "-5"'),
        ("smtp inet x - y - - smtpd\n", 1, 'invalid private field "x"'),
        ("smtp inet n x y - - smtpd\n", 1, 'invalid unprivileged field "x"'),
        ("smtp inet n - q - - smtpd\n", 1, 'invalid chroot field "q"'),
        ("a unix - - n - - smtp\nsmtp inet n - y - - smtpd -o\n", 2, "missing value after -o"),
        ("smtp inet n - y - - smtpd -o novalue\n", 1, 'bad -o option "novalue"'),
        ("smtp inet n - y - - smtpd -o {a=b\n", 1, 'missing "}"'),
    ],
)
def test_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        MasterConfig.from_text(text, "/c/master.cf")
    assert str(info.value).startswith(f"/c/master.cf:{line}: ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("flags=R argv=/bin/x", "missing user="),
        ("user=x", "missing argv="),
        ("user=x bogus argv=/bin/x", 'bad attribute "bogus"'),
        ("user=x colour=red argv=/bin/x", 'unknown attribute "colour"'),
    ],
)
def test_pipe_errors(args: str, message: str) -> None:
    master = MasterConfig.from_text(f"x unix - n n - - pipe {args}\n", "/c/master.cf")
    with pytest.raises(ConfigError, match=message) as info:
        master.validate()
    assert str(info.value).startswith("/c/master.cf:1: ")


def test_load(tmp_path: Path) -> None:
    (tmp_path / "master.cf").write_text(SAMPLE)
    assert len(MasterConfig.load(tmp_path).services) == 6
    with pytest.raises(ConfigError, match="No such file"):
        MasterConfig.load(tmp_path / "nowhere")
