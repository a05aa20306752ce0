"""Bounce templates: Postfix's defaults as ``postconf -b`` expands them, template files."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.bounce.templates import (
    DEFAULTS,
    DELAY,
    FAILURE,
    SUCCESS,
    expand_text,
    load_templates,
    parse_template_file,
)
from vmail.config import MainConfig
from vmail.core.errors import ConfigError

# `postconf -b` of Postfix 3.7 with myhostname = vm.localdomain (delay_warning_time = 0h)
POSTCONF_DELAY = """\
This is the mail system at host vm.localdomain.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 0 hour(s).
It will be retried until it is 5 day(s) old.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system
"""
POSTCONF_FAILURE_START = """\
This is the mail system at host vm.localdomain.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.
"""


def cfg(**settings: str) -> MainConfig:
    values = {"myhostname": "vm.localdomain", **settings}
    return MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in values.items()))


def test_defaults_match_postconf_b() -> None:
    config = cfg()
    assert expand_text(DEFAULTS[DELAY].text, config) == POSTCONF_DELAY
    assert expand_text(DEFAULTS[FAILURE].text, config).startswith(POSTCONF_FAILURE_START)
    success = expand_text(DEFAULTS[SUCCESS].text, config)
    assert success.endswith("\n\n                   The mail system\n")
    assert DEFAULTS[FAILURE].subject == "Undelivered Mail Returned to Sender"
    assert DEFAULTS[DELAY].subject == "Delayed Mail (still being retried)"
    assert DEFAULTS[SUCCESS].subject == "Successful Mail Delivery Report"


def test_time_units_round_down() -> None:
    config = cfg(delay_warning_time="90m", maximal_queue_lifetime="2w")
    text = "$delay_warning_time_hours $delay_warning_time_minutes $maximal_queue_lifetime_days"
    assert expand_text(text + " $$ ${mail_name}", config) == "1 90 14 $ Postfix"


def test_unknown_parameter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown parameter \\$no_such_thing"):
        expand_text("$no_such_thing", cfg())


TEMPLATE_FILE = """\
# site templates
failure_template = <<EOF
Charset: us-ascii
from: Postmaster <postmaster>
Subject: Your mail bounced
Postmaster-Subject: PM copy

Sorry, $myhostname could not deliver it.
EOF

verify_template = <<END
Subject: ignored
END
"""


def test_template_file_overrides_some_templates(tmp_path: Path) -> None:
    path = tmp_path / "bounce.cf"
    path.write_text(TEMPLATE_FILE)
    templates = load_templates(cfg(bounce_template_file=str(path)))
    failure = templates[FAILURE]
    assert (failure.subject, failure.sender, failure.postmaster_subject) == (
        "Your mail bounced",
        "Postmaster <postmaster>",
        "PM copy",
    )
    assert failure.text == "Sorry, $myhostname could not deliver it.\n"
    assert templates[DELAY] == DEFAULTS[DELAY]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("failure_template = <<EOF\nSubject: x\n\ntext\n", "missing 'EOF'"),
        ("bogus = 1\n", "expected 'NAME_template"),
        ("delay_template = <<EOF\nX-Header: 1\n\ntext\nEOF\n", "unknown header"),
    ],
)
def test_malformed_template_files(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_template_file(text)


def test_unreadable_template_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bounce_template_file"):
        load_templates(cfg(bounce_template_file=str(tmp_path / "missing.cf")))
