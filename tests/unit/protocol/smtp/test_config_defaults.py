"""SessionConfig's defaults are the main.cf schema's, except vmail's documented safer ones."""

from __future__ import annotations

from vmail.config.main import MainConfig
from vmail.protocol.smtp import SessionConfig

SAME = [
    "message_size_limit",
    "smtpd_recipient_limit",
    "smtpd_recipient_overshoot_limit",
    "smtpd_soft_error_limit",
    "line_length_limit",
    "smtpd_sasl_response_limit",
]


def test_numeric_defaults_match_the_schema() -> None:
    main = MainConfig.from_entries([])
    defaults = SessionConfig()
    for name in SAME:
        assert str(getattr(defaults, name)) == main.get(name), name
    assert defaults.smtpd_hard_error_limit == 20  # ${stress?{1}:{20}} without stress
    assert defaults.smtpd_junk_command_limit == 100  # ${stress?{1}:{100}}
